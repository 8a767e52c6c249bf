//! rep_quarter_trends — SPEC §4.2.
//!
//! Grain: one row per (rep_id, quarter), the rows of §4.1. `metric` is the
//! configured trend metric; `prev_metric` the same rep's value in the
//! immediately preceding fiscal quarter. The peer group (the company, or the
//! rep's team) sets the `top_quantile` threshold (linear interpolation over
//! non-null values) and the "min" rank (SQL RANK(), 1 = highest). The
//! quadrant sorts reps into rising stars, falling stars, improving laggards
//! and declining laggards.

use polars::prelude::*;

use super::MartSpec;
use crate::config::{Config, PeerGroup};
use crate::domain::Quadrant;
use crate::intermediate::rollup::ratio;

pub const SPEC: MartSpec = MartSpec {
    name: "rep_quarter_trends",
    grain: &["rep_id", "quarter_start"],
    columns: rep_quarter_columns!(
        "metric",
        "prev_metric",
        "change",
        "change_pct",
        "peer_threshold",
        "is_top",
        "rank_in_peer_group",
        "quadrant",
    ),
};

/// `performance` is the output of `rep_quarter_performance::build`.
pub fn build(performance: LazyFrame, config: &Config) -> PolarsResult<LazyFrame> {
    let metric = config.trend_metric.column();
    let with_metric = performance.with_column(col(metric).alias("metric"));
    let previous = with_metric.clone().select([
        col("rep_id"),
        (col("quarter_idx") + lit(1)).alias("quarter_idx"),
        col("metric").alias("prev_metric"),
    ]);
    let mut peers = vec![col("quarter_idx")];
    if config.peer_group == PeerGroup::Team {
        peers.push(col("team"));
    }
    let change_positive = col("change").gt(lit(0.0));
    Ok(with_metric
        .join(
            previous,
            [col("rep_id"), col("quarter_idx")],
            [col("rep_id"), col("quarter_idx")],
            JoinArgs::new(JoinType::Left),
        )
        .with_columns([
            (col("metric") - col("prev_metric")).alias("change"),
            col("metric")
                .quantile(lit(config.top_quantile), QuantileMethod::Linear)
                .over(peers.clone())?
                .alias("peer_threshold"),
            col("metric")
                .rank(
                    RankOptions {
                        method: RankMethod::Min,
                        descending: true,
                    },
                    None,
                )
                .over(peers)?
                .cast(DataType::Int64)
                .alias("rank_in_peer_group"),
        ])
        .with_columns([
            ratio(col("change"), col("prev_metric")).alias("change_pct"),
            col("metric").gt_eq(col("peer_threshold")).alias("is_top"),
        ])
        .with_column(
            when(col("metric").is_null().or(col("prev_metric").is_null()))
                .then(lit(NULL).cast(DataType::String))
                .when(col("is_top").and(change_positive.clone()))
                .then(Quadrant::RisingStar.lit())
                .when(col("is_top"))
                .then(Quadrant::FallingStar.lit())
                .when(change_positive)
                .then(Quadrant::ImprovingLaggard.lit())
                .otherwise(Quadrant::DecliningLaggard.lit())
                .alias("quadrant"),
        )
        .sort(["rep_id", "quarter_start"], Default::default()))
}
