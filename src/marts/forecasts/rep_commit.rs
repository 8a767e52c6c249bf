//! rep_commit (SPEC §4.4), the reps' own judgement: Σ over the reps in scope
//! of each rep's latest forecast_submission for the quarter with
//! submitted_at ≤ the snapshot instant. Null when no rep in scope has one.

use polars::prelude::*;

use super::Answer;
use crate::frames::join_latest_at_or_before;
use crate::intermediate::rollup::{grouped_in_scopes, ALL_SCOPES};
use crate::intermediate::Models;

/// Σ over the rows of `value`, null when every value is null.
fn sum_or_null(value: Expr) -> Expr {
    when(value.clone().count().eq(lit(0)))
        .then(lit(NULL).cast(DataType::Float64))
        .otherwise(value.sum())
}

/// Per (scope, scope_id, snapshot_date): `rep_commit`.
pub fn commits(models: &Models, snaps: LazyFrame) -> LazyFrame {
    let submissions = models
        .forecast_submissions
        .clone()
        .select([
            col("rep_id"),
            col("quarter_start"),
            col("submitted_at"),
            col("amount").alias("commit"),
        ])
        .sort(["submitted_at"], Default::default());
    let rep_snapshots = models
        .reps
        .clone()
        .select([col("rep_id"), col("team")])
        .cross_join(
            snaps.select([
                col("quarter_idx"),
                col("quarter_start"),
                col("snapshot_date"),
                col("instant"),
            ]),
            None,
        )
        .sort(["instant"], Default::default());
    grouped_in_scopes(
        join_latest_at_or_before(
            rep_snapshots,
            submissions,
            "instant",
            "submitted_at",
            &["rep_id", "quarter_start"],
        ),
        &ALL_SCOPES,
        &[col("snapshot_date")],
        &[sum_or_null(col("commit")).alias("rep_commit")],
    )
}

pub fn answer() -> Answer {
    // The reps' own numbers weigh no open deals.
    Answer {
        forecast: col("rep_commit"),
        open_in_scope: lit(0i64),
    }
}
