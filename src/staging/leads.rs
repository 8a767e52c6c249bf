//! leads (SPEC §1): prospects, optionally assigned to a rep.

use super::parse::ValueType::*;
use super::validate::{Reference, Rules};
use super::{opt, req, TableSpec};
use crate::config::Config;

pub const SPEC: TableSpec = TableSpec {
    name: "leads",
    rules,
    required: false,
    columns: &[
        req("lead_id", Text),
        req("created_at", Timestamp),
        opt("rep_id", Text),
        opt("source", Text),
        opt("matches_persona", Bool),
        opt("data_inaccurate", Bool),
    ],
    key: &["lead_id"],
};

/// The assigned rep is checked only when present.
pub fn rules(_: &Config) -> Rules {
    Rules {
        references: vec![Reference {
            column: "rep_id",
            parent: &super::reps::SPEC,
            takes: &[],
        }],
        ..Default::default()
    }
}
