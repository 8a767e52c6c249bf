//! opportunity_history (SPEC §1): each change of a deal's stage, amount or
//! close date. Amounts are in the opportunity's currency, converted at the
//! rate on the row's own close_date.

use polars::prelude::*;

use super::parse::ValueType::*;
use super::validate::{Fx, Reason, Reference, Rules};
use super::{req, string_set, TableSpec};
use crate::config::Config;

pub const SPEC: TableSpec = TableSpec {
    name: "opportunity_history",
    rules,
    required: false,
    columns: &[
        req("opportunity_id", Text),
        req("changed_at", Timestamp),
        req("stage", Text),
        req("amount", Number),
        req("close_date", Date),
    ],
    key: &["opportunity_id", "changed_at"],
};

/// The parent is the valid opportunities, with their `currency`.
pub fn rules(config: &Config) -> Rules {
    let stages: Vec<&str> = config.stages.iter().map(|s| s.name.as_str()).collect();
    Rules {
        checks: vec![
            (Reason::NegativeAmount, col("amount").lt(lit(0.0))),
            (
                Reason::UnknownStage,
                col("stage").is_in(string_set(&stages), false).not(),
            ),
        ],
        references: vec![Reference {
            column: "opportunity_id",
            parent: &super::opportunities::SPEC,
            // The history is in its opportunity's currency.
            takes: &["currency"],
        }],
        fx: Some(Fx {
            currency: "currency",
            date: "close_date",
            reporting: config.reporting_currency.clone(),
        }),
        ..Default::default()
    }
}
