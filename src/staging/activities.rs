//! activities (SPEC §1): calls, emails, meetings... logged by reps.

use polars::prelude::*;

use super::parse::ValueType::*;
use super::validate::{OneOf, Reason, Rules, Values};
use super::{opt, req, TableSpec};
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
    Rules {
        checks: vec![(Reason::NegativeAmount, col("duration_minutes").lt(lit(0.0)))],
        // Held as Enums: the performance mart groups millions of
        // activities by rep and tests each one's type.
        one_of: vec![
            OneOf {
                column: "activity_type",
                values: Values::Given(config.activity_types.keys().cloned().collect()),
                reason: Reason::UnknownActivityType,
            },
            OneOf {
                column: "rep_id",
                values: Values::KeysOf(&super::reps::SPEC),
                reason: Reason::UnknownReference,
            },
        ],
        ..Default::default()
    }
}
