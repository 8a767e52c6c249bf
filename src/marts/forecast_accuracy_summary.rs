//! forecast_accuracy_summary — SPEC §4.6.
//!
//! Grain: one row per (scope, method, days_into_quarter), over the
//! forecast_accuracy rows with a forecast: MAPE, WAPE, bias, the share of
//! forecasts at least 75% accurate (the article's bar, which fewer than a
//! quarter of sales organisations reach), and the best method (lowest WAPE
//! in its scope and offset; ties go to the method name that sorts first;
//! none when every WAPE is null).

use polars::prelude::*;

use super::MartSpec;
use crate::intermediate::rollup::ratio;

pub const SPEC: MartSpec = MartSpec {
    name: "forecast_accuracy_summary",
    grain: &["scope", "method", "days_into_quarter"],
    columns: &[
        "scope",
        "method",
        "days_into_quarter",
        "observations",
        "mape",
        "wape",
        "bias",
        "share_at_least_75",
        "best_method",
    ],
};

/// `accuracy`: the forecast_accuracy rows.
pub fn build(accuracy: LazyFrame) -> PolarsResult<LazyFrame> {
    let group = [col("scope"), col("days_into_quarter")];
    let summarised = accuracy
        .filter(col("forecast_amount").is_not_null())
        .group_by([col("scope"), col("method"), col("days_into_quarter")])
        .agg([
            len().cast(DataType::Int64).alias("observations"),
            col("abs_pct_error").mean().alias("mape"),
            ratio(col("abs_error").sum(), col("actual_amount").sum()).alias("wape"),
            ratio(col("error").sum(), col("actual_amount").sum()).alias("bias"),
            // A null accuracy (nothing was won) counts as a miss.
            (col("accuracy")
                .gt_eq(lit(0.75))
                .fill_null(lit(false))
                .cast(DataType::Float64)
                .sum()
                / len().cast(DataType::Float64))
            .alias("share_at_least_75"),
        ]);
    let is_lowest = col("wape").eq(col("wape").min().over(group.clone())?);
    let first_lowest = when(is_lowest.clone())
        .then(col("method"))
        .otherwise(lit(NULL).cast(DataType::String))
        .min()
        .over(group)?;
    Ok(summarised
        .with_column(
            is_lowest
                .and(col("method").eq(first_lowest))
                .fill_null(lit(false))
                .alias("best_method"),
        )
        .sort(["scope", "method", "days_into_quarter"], Default::default()))
}
