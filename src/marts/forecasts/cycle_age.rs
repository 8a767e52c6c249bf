//! cycle_age (SPEC §4.4): won_to_date plus each open deal with a close date
//! in the quarter, times min(1, age at quarter end ÷ T), where T is the
//! median sales cycle (close_date − created_date) of the deals won in the
//! `cycle_lookback_quarters` before the quarter, company-wide. With no such
//! deals, or T = 0, the method has no answer (null forecast).

use polars::prelude::*;

use super::Answer;
use crate::calendar::days_between;
use crate::domain::StageKind;
use crate::intermediate::Models;

/// min(1, age by quarter end ÷ T): needs `quarter_end`, `created_date` and
/// `typical_cycle_days`.
pub fn open_weight() -> Expr {
    let age_by_quarter_end =
        days_between(col("quarter_end"), col("created_date")).cast(DataType::Float64);
    when((age_by_quarter_end.clone() / col("typical_cycle_days")).gt(lit(1.0)))
        .then(lit(1.0))
        .otherwise(age_by_quarter_end / col("typical_cycle_days"))
}

/// T per snapshot quarter: `quarter_idx`, `typical_cycle_days` (null when
/// nothing was won in the lookback window).
///
/// A deal won in quarter c is in the lookback window of quarters c + 1 to
/// c + `lookback_quarters` (the window of q runs from the start of quarter
/// q − lookback_quarters up to, not including, q's start): an equi-join of
/// each won deal to those quarters, not a range join of every deal with
/// every quarter (at 10x that join sorted 0.3M deals for 0.26 s).
pub fn typical_cycle(models: &Models, snaps: LazyFrame, lookback_quarters: u32) -> LazyFrame {
    let quarters = snaps
        .select([col("quarter_idx")])
        .unique(None, UniqueKeepStrategy::Any);
    let later = df!("_later" => (1..=lookback_quarters as i32).collect::<Vec<_>>())
        .expect("one column")
        .lazy();
    let won = models
        .opportunities
        .clone()
        .filter(StageKind::Won.matches(col("kind")))
        .select([
            models.quarter_of(col("close_date")).alias("won_quarter"),
            days_between(col("close_date"), col("created_date")).alias("cycle"),
        ]);
    let medians = won
        .cross_join(later, None)
        .select([
            (col("won_quarter") + col("_later")).alias("quarter_idx"),
            col("cycle"),
        ])
        .group_by([col("quarter_idx")])
        .agg([col("cycle")
            .cast(DataType::Float64)
            .median()
            .alias("typical_cycle_days")]);
    quarters.join(
        medians,
        [col("quarter_idx")],
        [col("quarter_idx")],
        JoinArgs::new(JoinType::Left),
    )
}

pub fn answer() -> Answer {
    // Null or 0 T: no answer (the open count is still given).
    let no_cycle = col("typical_cycle_days")
        .is_null()
        .or(col("typical_cycle_days").eq(lit(0.0)));
    Answer {
        forecast: when(no_cycle)
            .then(lit(NULL).cast(DataType::Float64))
            .otherwise(col("won_to_date") + col("cycle_age_open")),
        open_in_scope: col("open_in_quarter"),
    }
}
