//! forecast_submissions (SPEC §1): what each rep says they will close in a
//! quarter, in the reporting currency.

use polars::prelude::*;

use super::parse::ValueType::*;
use super::validate::{Reason, Reference, Rules};
use super::{req, TableSpec};
use crate::calendar::FiscalCalendar;
use crate::config::Config;

pub const SPEC: TableSpec = TableSpec {
    name: "forecast_submissions",
    rules,
    required: false,
    columns: &[
        req("rep_id", Text),
        req("quarter_start", Date),
        req("submitted_at", Timestamp),
        req("amount", Number),
    ],
    key: &["rep_id", "quarter_start", "submitted_at"],
};

pub fn rules(config: &Config) -> Rules {
    let calendar = FiscalCalendar::new(config.fiscal_year_start_month);
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
            parent: &super::reps::SPEC,
            takes: &[],
        }],
        ..Default::default()
    }
}
