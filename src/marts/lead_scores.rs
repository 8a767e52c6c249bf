//! lead_scores — SPEC §4.7.
//!
//! Grain: one row per lead created on or before as_of. The score is the
//! lead's flag points plus the points of its event types for events up to
//! as_of (unknown types score 0). `sql_at` replays the score in time: the
//! flags count from created_at, an event before created_at counts at
//! created_at, and events at the same instant apply together; it is the
//! first instant the running score reaches the threshold, even if a later
//! negative event takes it back below (`is_sql` is from the final score).

use polars::prelude::*;

use super::MartSpec;
use crate::config::Config;
use crate::intermediate::Models;

pub const SPEC: MartSpec = MartSpec {
    name: "lead_scores",
    grain: &["lead_id"],
    columns: &[
        "lead_id",
        "rep_id",
        "source",
        "created_at",
        "score",
        "is_sql",
        "sql_at",
        "first_response_at",
        "response_minutes",
        "converted",
    ],
};

/// `event_type`, `points` of the configured event types.
fn event_points(config: &Config) -> LazyFrame {
    let events: Vec<(&String, &f64)> = config.lead_scoring.events.iter().collect();
    df!(
        "event_type" => events.iter().map(|(t, _)| t.as_str()).collect::<Vec<_>>(),
        "points" => events.iter().map(|(_, p)| **p).collect::<Vec<_>>(),
    )
    .expect("one length")
    .lazy()
}

/// Lead events (up to as_of) with their points; unknown types get 0 points
/// and `known = false`.
pub fn scored_events(models: &Models, config: &Config) -> LazyFrame {
    models
        .lead_events
        .clone()
        .join(
            event_points(config).with_column(lit(true).alias("known")),
            [col("event_type")],
            [col("event_type")],
            JoinArgs::new(JoinType::Left),
        )
        .with_columns([
            col("points").fill_null(lit(0.0)),
            col("known").fill_null(lit(false)),
        ])
}

/// A lead's number, in lead_id order: the running score is sorted and
/// summed per lead by number, not by comparing and hashing lead_id texts.
const LEAD: &str = "lead";

pub fn build(models: &Models, config: &Config) -> PolarsResult<LazyFrame> {
    let scoring = &config.lead_scoring;
    let leads = models.leads.clone().with_columns([
        crate::frames::number_in_order_of("lead_id").alias(LEAD),
        (when(col("matches_persona").fill_null(lit(false)))
            .then(lit(scoring.matches_persona))
            .otherwise(lit(0.0))
            + when(col("data_inaccurate").fill_null(lit(false)))
                .then(lit(scoring.data_inaccurate))
                .otherwise(lit(0.0)))
        .alias("flag_points"),
    ]);

    // The running score: one step per distinct instant (created_at, and
    // each event's instant, moved up to created_at when earlier).
    let event_steps = scored_events(models, config)
        .join(
            leads
                .clone()
                .select([col("lead_id"), col(LEAD), col("created_at")]),
            [col("lead_id")],
            [col("lead_id")],
            JoinArgs::new(JoinType::Inner),
        )
        .select([
            col(LEAD),
            when(col("occurred_at").lt(col("created_at")))
                .then(col("created_at"))
                .otherwise(col("occurred_at"))
                .alias("step_at"),
            col("points"),
        ]);
    let creation_steps = leads.clone().select([
        col(LEAD),
        col("created_at").alias("step_at"),
        lit(0.0).alias("points"),
    ]);
    let steps = concat([creation_steps, event_steps], UnionArgs::default())
        .expect("same columns")
        .group_by([col(LEAD), col("step_at")])
        .agg([col("points").sum()])
        .sort([LEAD, "step_at"], Default::default())
        .with_column(
            col("points")
                .cum_sum(false)
                .over([col(LEAD)])?
                .alias("running_points"),
        );
    let sql_at = steps
        .clone()
        .join(
            leads.clone().select([col(LEAD), col("flag_points")]),
            [col(LEAD)],
            [col(LEAD)],
            JoinArgs::new(JoinType::Inner),
        )
        .filter((col("running_points") + col("flag_points")).gt_eq(lit(scoring.threshold)))
        .group_by([col(LEAD)])
        .agg([col("step_at").min().alias("sql_at")]);
    let event_total = steps
        .group_by([col(LEAD)])
        .agg([col("points").sum().alias("event_points")]);
    let converted = models
        .opportunities
        .clone()
        .filter(col("lead_id").is_not_null())
        .select([col("lead_id")])
        .unique(None, UniqueKeepStrategy::Any)
        .with_column(lit(true).alias("converted"));

    let by = |lf: LazyFrame, key: &str, other: LazyFrame| {
        lf.join(other, [col(key)], [col(key)], JoinArgs::new(JoinType::Left))
    };
    let rows = by(leads, LEAD, event_total);
    let rows = by(rows, LEAD, sql_at);
    let rows = by(rows, "lead_id", converted);
    Ok(rows
        .with_columns([
            (col("flag_points") + col("event_points").fill_null(lit(0.0))).alias("score"),
            col("converted").fill_null(lit(false)),
        ])
        .with_column(col("score").gt_eq(lit(scoring.threshold)).alias("is_sql"))
        .sort(["lead_id"], Default::default()))
}

/// Events of types the config does not score (they count 0), by type: for
/// the manifest, so a typo in `[lead_scoring.events]` shows.
pub fn unknown_event_types(
    models: &Models,
    config: &Config,
) -> PolarsResult<std::collections::BTreeMap<String, usize>> {
    let counts = scored_events(models, config)
        .filter(col("known").not())
        .group_by([col("event_type")])
        .agg([len().cast(DataType::UInt64).alias("n")])
        .collect()?;
    let types = counts.column("event_type")?.str()?.clone();
    let ns = counts.column("n")?.u64()?.clone();
    Ok(types
        .iter()
        .zip(ns.iter())
        .map(|(t, n)| (t.unwrap_or_default().to_string(), n.unwrap_or(0) as usize))
        .collect())
}
