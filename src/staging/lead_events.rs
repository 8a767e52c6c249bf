//! lead_events (SPEC §1): what a lead did (visited pricing, opened an email).
//! No key: the same event may happen twice; only exact copies collapse.

use super::parse::ValueType::*;
use super::validate::{Reference, Rules};
use super::{req, TableSpec};
use crate::config::Config;

pub const SPEC: TableSpec = TableSpec {
    name: "lead_events",
    rules,
    required: false,
    columns: &[
        req("lead_id", Text),
        req("event_type", Text),
        req("occurred_at", Timestamp),
    ],
    key: &[],
};

pub fn rules(_: &Config) -> Rules {
    Rules {
        references: vec![Reference {
            column: "lead_id",
            parent: &super::leads::SPEC,
            takes: &[],
        }],
        ..Default::default()
    }
}
