//! reps (SPEC §1): one row per rep; the parent of most other tables.

use polars::prelude::*;

use super::parse::ValueType::*;
use super::validate::{Reason, Rules};
use super::{opt, req, TableSpec};
use crate::config::Config;

pub const SPEC: TableSpec = TableSpec {
    name: "reps",
    rules,
    required: true,
    columns: &[
        req("rep_id", Text),
        opt("rep_name", Text),
        req("team", Text),
        opt("region", Text),
        req("level", Text),
        req("hire_date", Date),
        opt("end_date", Date),
    ],
    key: &["rep_id"],
};

pub fn rules(_: &Config) -> Rules {
    Rules {
        checks: vec![(Reason::DateOrder, col("end_date").lt(col("hire_date")))],
        ..Default::default()
    }
}
