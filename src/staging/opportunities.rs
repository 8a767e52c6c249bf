//! opportunities (SPEC §1): the current state of every deal.

use polars::prelude::*;

use super::parse::ValueType::*;
use super::validate::{Fx, Reason, Reference, Rules};
use super::{opt, req, string_set, TableSpec};
use crate::config::Config;

pub const SPEC: TableSpec = TableSpec {
    name: "opportunities",
    rules,
    required: true,
    columns: &[
        req("opportunity_id", Text),
        req("rep_id", Text),
        opt("account_id", Text),
        req("created_date", Date),
        req("close_date", Date),
        req("stage", Text),
        req("amount", Number),
        opt("currency", Text),
        opt("deal_type", Text),
        opt("lead_id", Text),
    ],
    key: &["opportunity_id"],
};

pub const DEAL_TYPES: [&str; 4] = ["new_business", "upsell", "cross_sell", "renewal"];

pub fn rules(config: &Config) -> Rules {
    let stages: Vec<&str> = config.stages.iter().map(|s| s.name.as_str()).collect();
    Rules {
        unparsable: vec![col("deal_type")
            .is_not_null()
            .and(col("deal_type").is_in(string_set(&DEAL_TYPES), false).not())],
        checks: vec![
            (Reason::NegativeAmount, col("amount").lt(lit(0.0))),
            (Reason::DateOrder, col("close_date").lt(col("created_date"))),
            (
                Reason::UnknownStage,
                col("stage").is_in(string_set(&stages), false).not(),
            ),
        ],
        references: vec![Reference {
            column: "rep_id",
            parent: &super::reps::SPEC,
            takes: &[],
        }],
        fx: Some(Fx {
            currency: "currency",
            date: "close_date",
            reporting: config.reporting_currency.clone(),
        }),
        ..Default::default()
    }
}
