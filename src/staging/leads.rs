//! leads (SPEC §1): prospects, optionally assigned to a rep.

use polars::prelude::*;

use super::parse::ValueType::*;
use super::validate::{Reference, Rules};
use super::{opt, req, TableSpec};

pub const SPEC: TableSpec = TableSpec {
    name: "leads",
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
pub fn rules(reps: LazyFrame) -> Rules {
    Rules {
        references: vec![Reference {
            column: "rep_id",
            parent: reps,
        }],
        ..Default::default()
    }
}
