//! forecast_submissions (SPEC §1): what each rep says they will close in a
//! quarter, in the reporting currency.

use polars::prelude::*;

use super::parse::ValueType::*;
use super::validate::{Reason, Reference, Rules};
use super::{req, TableSpec};
use crate::calendar::FiscalCalendar;

pub const SPEC: TableSpec = TableSpec {
    name: "forecast_submissions",
    required: false,
    columns: &[
        req("rep_id", Text),
        req("quarter_start", Date),
        req("submitted_at", Timestamp),
        req("amount", Number),
    ],
    key: &["rep_id", "quarter_start", "submitted_at"],
};

pub fn rules(calendar: &FiscalCalendar, reps: LazyFrame) -> Rules {
    Rules {
        checks: vec![
            (Reason::NegativeAmount, col("amount").lt(lit(0.0))),
            (
                Reason::InvalidQuarterStart,
                calendar.is_quarter_start_expr(col("quarter_start")).not(),
            ),
        ],
        references: vec![Reference {
            column: "rep_id",
            parent: reps,
        }],
        ..Default::default()
    }
}
