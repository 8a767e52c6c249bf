//! First response to a lead (SPEC §4.7): the earliest activity, by any rep,
//! with the lead's id and `started_at ≥ created_at`. Shared by the rep
//! performance mart (median response per rep) and the lead scores mart.

use polars::prelude::*;

/// `leads` (as_of-cut) with `first_response_at` and `response_minutes`
/// (Float64), both null when nobody responded yet.
pub fn with_first_response(leads: LazyFrame, activities: LazyFrame) -> LazyFrame {
    let responses = activities
        .filter(col("lead_id").is_not_null())
        .select([col("lead_id"), col("started_at")])
        .join(
            leads.clone().select([col("lead_id"), col("created_at")]),
            [col("lead_id")],
            [col("lead_id")],
            JoinArgs::new(JoinType::Inner),
        )
        .filter(col("started_at").gt_eq(col("created_at")))
        .group_by([col("lead_id")])
        .agg([col("started_at").min().alias("first_response_at")]);
    leads
        .join(
            responses,
            [col("lead_id")],
            [col("lead_id")],
            JoinArgs::new(JoinType::Left),
        )
        .with_column(
            ((col("first_response_at").cast(DataType::Int64)
                - col("created_at").cast(DataType::Int64))
            .cast(DataType::Float64)
                / lit(60_000_000.0))
            .alias("response_minutes"),
        )
}
