//! fx_rates (SPEC §1): one unit of `currency` in the reporting currency, from
//! `rate_date` until the next rate. Not cut by as_of.

use polars::prelude::*;

use super::parse::ValueType::*;
use super::validate::{Reason, Rules};
use super::{req, TableSpec};
use crate::config::Config;

pub const SPEC: TableSpec = TableSpec {
    name: "fx_rates",
    rules,
    required: false,
    columns: &[
        req("currency", Text),
        req("rate_date", Date),
        req("rate_to_reporting", Number),
    ],
    key: &["currency", "rate_date"],
};

pub fn rules(_: &Config) -> Rules {
    Rules {
        // A rate must be > 0; SPEC §7 files a rate ≤ 0 under negative_amount.
        checks: vec![(
            Reason::NegativeAmount,
            col("rate_to_reporting").lt_eq(lit(0.0)),
        )],
        ..Default::default()
    }
}
