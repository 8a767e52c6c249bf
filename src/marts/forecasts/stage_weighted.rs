//! stage_weighted (SPEC §4.4): won_to_date plus each deal open at the
//! snapshot with a close date in the quarter, times its stage's
//! probability at that instant.

use polars::prelude::*;

use super::method_rows;
use crate::domain::ForecastMethod;

/// A deal's weight in the open pipeline (a column of the state at the snapshot).
pub fn open_weight() -> Expr {
    col("state_probability")
}

pub fn forecast(rows: LazyFrame) -> LazyFrame {
    method_rows(
        rows,
        ForecastMethod::StageWeighted,
        col("won_to_date") + col("stage_weighted_open"),
        col("open_in_quarter"),
    )
}
