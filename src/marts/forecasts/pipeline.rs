//! What every deal looked like at every snapshot, summed per scope: the
//! amount won so far in the quarter and the open pipeline closing in it,
//! weighted as stage_weighted and cycle_age weigh it (SPEC §4.4).
//!
//! Every opportunity's state at every snapshot comes from one as-of join
//! (`state_at`), never a loop over snapshots.

use polars::prelude::*;

use super::{cycle_age, stage_weighted};
use crate::domain::StageKind;
use crate::intermediate::opportunity_state::{closed_for_good, state_at};
use crate::intermediate::rollup::{count_where, in_scopes, sum_where, ALL_SCOPES};
use crate::intermediate::Models;

/// Per (scope, scope_id, quarter_idx, snapshot_date): `won_to_date`,
/// `stage_weighted_open`, `cycle_age_open` and `open_in_quarter`.
/// `typical_cycles` is `cycle_age::typical_cycle`.
pub fn at_snapshots(models: &Models, snaps: LazyFrame, typical_cycles: LazyFrame) -> LazyFrame {
    let deal_snapshots = deal_snapshots(models, snaps);
    let in_quarter = col("state_close_date")
        .gt_eq(col("quarter_start"))
        .and(col("state_close_date").lt_eq(col("quarter_end")));
    let open_in_q = StageKind::Open
        .matches(col("state_kind"))
        .and(in_quarter.clone());
    let won_in_q = StageKind::Won.matches(col("state_kind")).and(in_quarter);
    // Summed per rep first; teams and the company add up their reps.
    let per_rep = state_at(models.history.clone(), deal_snapshots)
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
    in_scopes(per_rep, &ALL_SCOPES)
        .group_by([
            col("scope"),
            col("scope_id"),
            col("quarter_idx"),
            col("snapshot_date"),
        ])
        .agg([
            col("won_to_date").sum(),
            col("stage_weighted_open").sum(),
            col("cycle_age_open").sum(),
            col("open_in_quarter").sum(),
        ])
}

/// Every (opportunity, snapshot) pair that can contribute, with the
/// opportunity's rep and created_date and the snapshot's quarter and
/// instant.
fn deal_snapshots(models: &Models, snaps: LazyFrame) -> LazyFrame {
    // Pairs that cannot contribute are dropped before the join: before the
    // opportunity's first history row it did not exist, and after a last
    // row that closed it outside the quarter it can be neither open nor won
    // in the quarter.
    let closed_outside_quarter = closed_for_good(col("instant")).and(
        col("last_close")
            .lt(col("quarter_start"))
            .or(col("last_close").gt(col("quarter_end"))),
    );
    models
        .opportunities
        .clone()
        .select([col("opportunity_id"), col("rep_id"), col("created_date")])
        .join(
            models.lifespans.clone(),
            [col("opportunity_id")],
            [col("opportunity_id")],
            JoinArgs::new(JoinType::Inner),
        )
        .cross_join(
            snaps.select([
                col("quarter_idx"),
                col("quarter_start"),
                col("quarter_end"),
                col("snapshot_date"),
                col("instant"),
            ]),
            None,
        )
        .filter(
            col("first_change")
                .lt_eq(col("instant"))
                .and(closed_outside_quarter.not()),
        )
        .select([
            col("opportunity_id"),
            col("rep_id"),
            col("created_date"),
            col("quarter_idx"),
            col("quarter_start"),
            col("quarter_end"),
            col("snapshot_date"),
            col("instant"),
        ])
}
