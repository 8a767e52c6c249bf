//! team_quarter_kpis — SPEC §4.3.
//!
//! Grain: one row per (scope, scope_id, quarter): scope `team` (scope_id =
//! the team) and scope `company` (scope_id = `all`), over the §4.1 rows in
//! scope. Ratios are sums first, then the ratio (never a mean of means);
//! quadrant counts come from §4.2.

use polars::prelude::*;

use super::MartSpec;
use crate::domain::Quadrant;
use crate::intermediate::rollup::{
    deal_and_activity_ratios, grouped_in_scopes, ratio, GROUP_SCOPES,
};

pub const SPEC: MartSpec = MartSpec {
    name: "team_quarter_kpis",
    grain: &["scope", "scope_id", "quarter_start"],
    columns: scope_quarter_columns!(
        "is_complete",
        "reps",
        "won_amount",
        "won_count",
        "lost_count",
        "win_rate",
        "lost_amount",
        "win_rate_value",
        "avg_deal_size",
        "quota",
        "quota_attainment",
        "quota_attainment_rate",
        "pipeline_value",
        "weighted_pipeline_value",
        "avg_sales_cycle_days",
        "selling_time_share",
        "meeting_rate",
        "rising_stars",
        "falling_stars",
        "improving_laggards",
        "declining_laggards",
    ),
};

fn count_true(cond: Expr) -> Expr {
    cond.fill_null(lit(false)).cast(DataType::Int64).sum()
}

/// `performance` from rep_quarter_performance::build, `trends` from
/// rep_quarter_trends::build.
pub fn build(performance: LazyFrame, trends: LazyFrame) -> LazyFrame {
    let rows = performance.join(
        trends.select([col("rep_id"), col("quarter_start"), col("quadrant")]),
        [col("rep_id"), col("quarter_start")],
        [col("rep_id"), col("quarter_start")],
        JoinArgs::new(JoinType::Left),
    );
    let aggregates: Vec<Expr> = vec![
        len().cast(DataType::Int64).alias("reps"),
        col("won_amount").sum(),
        col("won_count").sum(),
        col("lost_count").sum(),
        col("lost_amount").sum(),
        // Sum of non-null quotas; null when no rep has one.
        when(col("quota").count().eq(lit(0)))
            .then(lit(NULL).cast(DataType::Float64))
            .otherwise(col("quota").sum())
            .alias("quota"),
        col("won_amount")
            .filter(col("quota").is_not_null())
            .sum()
            .alias("won_amount_with_quota"),
        count_true(col("attained_quota")).alias("attained"),
        col("attained_quota")
            .count()
            .cast(DataType::Int64)
            .alias("with_attainment"),
        col("pipeline_value").sum(),
        col("weighted_pipeline_value").sum(),
        col("sales_cycle_days_total").sum(),
        col("selling_minutes").sum(),
        col("total_minutes").sum(),
        col("meetings").sum(),
        col("prospecting_activities").sum(),
    ]
    .into_iter()
    .chain(Quadrant::ALL.map(|q| count_true(q.matches(col("quadrant"))).alias(q.count_column())))
    .collect();
    let quarter = [
        col("quarter_start"),
        col("fiscal_quarter"),
        col("quarter_end"),
        col("is_complete"),
    ];
    grouped_in_scopes(rows, &GROUP_SCOPES, &quarter, &aggregates)
        .with_columns(deal_and_activity_ratios())
        .with_columns([
            ratio(col("won_amount_with_quota"), col("quota")).alias("quota_attainment"),
            ratio(col("attained"), col("with_attainment")).alias("quota_attainment_rate"),
        ])
        .sort(["scope", "scope_id", "quarter_start"], Default::default())
}
