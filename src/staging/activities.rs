//! activities (SPEC §1): calls, emails, meetings... logged by reps.

use polars::prelude::*;

use super::parse::ValueType::*;
use super::validate::{Reason, Reference, Rules};
use super::{opt, req, string_set, TableSpec};
use crate::config::Config;

pub const SPEC: TableSpec = TableSpec {
    name: "activities",
    rules,
    required: false,
    columns: &[
        req("activity_id", Text).checked_only(),
        req("rep_id", Text),
        req("activity_type", Text),
        req("started_at", Timestamp),
        opt("duration_minutes", Number),
        opt("opportunity_id", Text),
        opt("lead_id", Text),
    ],
    key: &["activity_id"],
};

pub fn rules(config: &Config) -> Rules {
    let types: Vec<&str> = config.activity_types.keys().map(String::as_str).collect();
    Rules {
        checks: vec![
            (Reason::NegativeAmount, col("duration_minutes").lt(lit(0.0))),
            (
                Reason::UnknownActivityType,
                col("activity_type").is_in(string_set(&types), false).not(),
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
