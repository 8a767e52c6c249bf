//! quotas (SPEC §1): a rep's quota for one month, in the reporting currency.

use polars::prelude::*;

use super::parse::ValueType::*;
use super::validate::{Reason, Reference, Rules};
use super::{req, TableSpec};
use crate::config::Config;

pub const SPEC: TableSpec = TableSpec {
    name: "quotas",
    rules,
    required: false,
    columns: &[
        req("rep_id", Text),
        req("month", Date),
        req("quota_amount", Number),
    ],
    key: &["rep_id", "month"],
};

pub fn rules(_: &Config) -> Rules {
    Rules {
        checks: vec![
            (Reason::NegativeAmount, col("quota_amount").lt(lit(0.0))),
            (Reason::InvalidMonth, col("month").dt().day().neq(lit(1))),
        ],
        references: vec![Reference {
            column: "rep_id",
            parent: &super::reps::SPEC,
            takes: &[],
        }],
        ..Default::default()
    }
}
