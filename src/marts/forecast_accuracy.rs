//! forecast_accuracy — SPEC §4.5.
//!
//! Grain: one row per forecasts row of a complete quarter, with what was
//! actually won in the quarter in the same scope (the current opportunities
//! table; 0 when nothing was won, and then no percentage error). Rows with a
//! null forecast are kept, with null errors.

use polars::prelude::*;

use super::MartSpec;
use crate::intermediate::rollup::{grouped_in_scopes, ratio, ALL_SCOPES};
use crate::intermediate::Models;

pub const SPEC: MartSpec = MartSpec {
    name: "forecast_accuracy",
    grain: super::FORECAST_GRAIN,
    columns: forecast_columns!(
        "actual_amount",
        "error",
        "abs_error",
        "abs_pct_error",
        "accuracy",
    ),
};

/// `forecast_rows`: the forecasts frame before publishing (with
/// `quarter_idx` and `is_complete`).
pub fn build(models: &Models, forecast_rows: LazyFrame) -> LazyFrame {
    let won = models
        .won_with_team()
        .with_column(models.quarter_of(col("close_date")).alias("quarter_idx"));
    let actual = grouped_in_scopes(
        won,
        &ALL_SCOPES,
        &[col("quarter_idx")],
        &[col("amount").sum().alias("actual_amount")],
    );
    let keys = [col("scope"), col("scope_id"), col("quarter_idx")];
    let rows = forecast_rows
        .filter(col("is_complete"))
        .join(actual, keys.clone(), keys, JoinArgs::new(JoinType::Left))
        .with_column(col("actual_amount").fill_null(lit(0.0)));
    with_errors(rows).sort(super::FORECAST_GRAIN.iter().copied(), Default::default())
}

/// `error`, `abs_error`, `abs_pct_error` and `accuracy` from
/// `forecast_amount` and `actual_amount` (SPEC §4.5).
pub fn with_errors(rows: LazyFrame) -> LazyFrame {
    rows.with_column((col("forecast_amount") - col("actual_amount")).alias("error"))
        .with_column(col("error").abs().alias("abs_error"))
        .with_column(ratio(col("abs_error"), col("actual_amount")).alias("abs_pct_error"))
        .with_column(
            when((lit(1.0) - col("abs_pct_error")).lt(lit(0.0)))
                .then(lit(0.0))
                .otherwise(lit(1.0) - col("abs_pct_error"))
                .alias("accuracy"),
        )
}
