//! stage_weighted (SPEC §4.4): won_to_date plus each deal open at the
//! snapshot with a close date in the quarter, times its stage's
//! probability at that instant.

use polars::prelude::*;

use super::Answer;

/// A deal's weight in the open pipeline (a column of the state at the snapshot).
pub fn open_weight() -> Expr {
    col("state_probability")
}

pub fn answer() -> Answer {
    Answer {
        forecast: col("won_to_date") + col("stage_weighted_open"),
        open_in_scope: col("open_in_quarter"),
    }
}
