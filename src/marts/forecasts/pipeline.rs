//! What every deal looked like at every snapshot, summed per scope: the
//! amount won so far in the quarter and the open pipeline closing in it,
//! weighted as stage_weighted and cycle_age weigh it (SPEC §4.4).
//!
//! Every opportunity's state at every snapshot comes from one join of its
//! history rows to the snapshots of their close date's quarter, never a
//! loop over snapshots.

use polars::prelude::*;

use super::{cycle_age, stage_weighted};
use crate::domain::StageKind;
use crate::intermediate::opportunity_state::states_closing_in;
use crate::intermediate::rollup::{count_where, grouped_in_scopes, sum_where, ALL_SCOPES};
use crate::intermediate::Models;

/// Per (scope, scope_id, quarter_idx, snapshot_date): `won_to_date`,
/// `stage_weighted_open`, `cycle_age_open` and `open_in_quarter`.
/// `typical_cycles` is `cycle_age::typical_cycle`.
pub fn at_snapshots(
    models: &Models,
    snaps: LazyFrame,
    typical_cycles: LazyFrame,
) -> PolarsResult<LazyFrame> {
    // Every state here closes in the snapshot's quarter
    // (`states_closing_in`): open ones are the open pipeline closing in it,
    // won ones were won in it.
    let open_in_q = StageKind::Open.matches(col("state_kind"));
    let won_in_q = StageKind::Won.matches(col("state_kind"));
    // Summed per rep first; teams and the company add up their reps.
    let per_rep = states_at_snapshots(models, snaps)?
        .join(
            typical_cycles,
            [col("quarter_idx")],
            [col("quarter_idx")],
            JoinArgs::new(JoinType::Left),
        )
        .group_by([col("rep_id"), col("quarter_idx"), col("snapshot_date")])
        .agg([
            sum_where(won_in_q, col("state_amount")).alias("won_to_date"),
            sum_where(
                open_in_q.clone(),
                col("state_amount") * stage_weighted::open_weight(),
            )
            .alias("stage_weighted_open"),
            sum_where(
                open_in_q.clone(),
                col("state_amount") * cycle_age::open_weight(),
            )
            .alias("cycle_age_open"),
            count_where(open_in_q).alias("open_in_quarter"),
        ])
        .join(
            models.reps.clone().select([col("rep_id"), col("team")]),
            [col("rep_id")],
            [col("rep_id")],
            JoinArgs::new(JoinType::Inner),
        );
    Ok(grouped_in_scopes(
        per_rep,
        &ALL_SCOPES,
        &[col("quarter_idx"), col("snapshot_date")],
        &[
            col("won_to_date").sum(),
            col("stage_weighted_open").sum(),
            col("cycle_age_open").sum(),
            col("open_in_quarter").sum(),
        ],
    ))
}

/// Every deal's state at every snapshot of the quarter its state's close
/// date is in, with the opportunity's rep and created_date and the
/// snapshot's quarter and instant: the only snapshots where a state counts
/// (won in the quarter, or open closing in it, SPEC §4.4).
fn states_at_snapshots(models: &Models, snaps: LazyFrame) -> PolarsResult<LazyFrame> {
    Ok(models.with_deal_rep(states_closing_in(
        models.history.clone(),
        snaps.select([
            col("quarter_idx"),
            col("quarter_end"),
            col("snapshot_date"),
            col("instant"),
        ]),
        None,
    )?))
}
