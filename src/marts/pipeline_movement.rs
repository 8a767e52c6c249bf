//! pipeline_movement — SPEC §4.9.
//!
//! Grain: one row per (scope, scope_id, quarter). Where the quarter's
//! pipeline went, read at two instants: t0 = `quarter_start 00:00` and t1 =
//! the quarter's end instant (`quarter_end 23:59:59.999999`, or as_of for
//! the quarter that contains it). The *in-quarter pipeline* at t is the
//! opportunities open at t whose state's close_date is in the quarter: P0
//! at t0 (amounts a0), P1 at t1 (amounts a1); s1 is the state at t1.
//!
//! Each opportunity in P0, in P1, or entering and closing in the quarter
//! follows one path:
//! - in P0 and P1: the change a1 − a0 is `increased` or `decreased`;
//! - in P0, not in P1, the first that applies: won by quarter_end (`won` +=
//!   s1.amount, the change s1.amount − a0 as above; M2: a close date moved
//!   before the quarter still counts), lost by quarter_end (`lost` += a0),
//!   its close date after quarter_end (`slipped` += a0), else `other_out`
//!   (e.g. still open with a close date before the quarter);
//! - not in P0: enters as `created` (created_date ≥ quarter_start) or
//!   `pulled_in` with s1.amount, then leaves as won or lost, or stays in P1.
//!
//! So starting + created + pulled_in + increased − decreased − won − lost −
//! slipped − other_out = ending, per opportunity and per row (checked
//! before publishing, M3, by `check_identity`). Amounts are the states'
//! amounts in the reporting currency (M4). Totals follow the opportunity's
//! current rep and that rep's current team (M1); the rows are the scope_ids
//! of §4.4 in every covered quarter, zeros where nothing moved.

use polars::prelude::*;

use super::MartSpec;
use crate::calendar::midnight;
use crate::domain::StageKind;
use crate::error::{Error, Result};
use crate::intermediate::opportunity_state::{is_state_at, state_columns, states_closing_in};
use crate::intermediate::rollup::{grouped_in_scopes, quarter_scope_ids, ALL_SCOPES};
use crate::intermediate::{Models, DEAL};

pub const SPEC: MartSpec = MartSpec {
    name: "pipeline_movement",
    grain: &["scope", "scope_id", "quarter_start"],
    columns: scope_quarter_columns!(
        "is_complete",
        "starting_pipeline",
        "created",
        "pulled_in",
        "increased",
        "decreased",
        "won",
        "lost",
        "slipped",
        "other_out",
        "ending_pipeline",
        "starting_count",
        "created_count",
        "pulled_in_count",
        "won_count",
        "lost_count",
        "slipped_count",
        "other_out_count",
        "ending_count",
    ),
};

/// Amount columns and the count column of the same path (increased and
/// decreased have no count: the deal stays in the pipeline).
const PATHS: [(&str, Option<&str>); 10] = [
    ("starting_pipeline", Some("starting_count")),
    ("created", Some("created_count")),
    ("pulled_in", Some("pulled_in_count")),
    ("increased", None),
    ("decreased", None),
    ("won", Some("won_count")),
    ("lost", Some("lost_count")),
    ("slipped", Some("slipped_count")),
    ("other_out", Some("other_out_count")),
    ("ending_pipeline", Some("ending_count")),
];

pub fn build(models: &Models) -> PolarsResult<LazyFrame> {
    let per_rep = movements(models)?
        .group_by([col("rep_id"), col("quarter_idx")])
        .agg(sums())
        .join(
            models.reps.clone().select([col("rep_id"), col("team")]),
            [col("rep_id")],
            [col("rep_id")],
            JoinArgs::new(JoinType::Inner),
        );
    let keys = [col("scope"), col("scope_id"), col("quarter_idx")];
    let totals = grouped_in_scopes(per_rep, &ALL_SCOPES, &[col("quarter_idx")], &sums());
    let zero_filled: Vec<Expr> = PATHS
        .iter()
        .flat_map(|(amount, count)| {
            std::iter::once(col(*amount).fill_null(lit(0.0)))
                .chain(count.map(|c| col(c).fill_null(lit(0i64))))
        })
        .collect();
    let rows = quarter_scope_ids(models.rep_quarters(), &ALL_SCOPES)
        .join(totals, keys.clone(), keys, JoinArgs::new(JoinType::Left))
        .with_columns(zero_filled);
    Ok(models
        .with_quarter_columns(rows)
        .sort(SPEC.grain.iter().copied(), Default::default()))
}

/// Every path's amount and count, summed.
fn sums() -> Vec<Expr> {
    PATHS
        .iter()
        .flat_map(|(amount, count)| {
            std::iter::once(col(*amount).sum()).chain(count.map(|c| col(c).sum()))
        })
        .collect()
}

/// One row per (opportunity, quarter) that moved the quarter's pipeline,
/// with its `rep_id` and each path's amount and count (0 where it does not
/// take that path).
fn movements(models: &Models) -> PolarsResult<LazyFrame> {
    let quarters = models.spine().select([
        col("quarter_idx"),
        col("quarter_start"),
        col("quarter_end"),
        midnight(col("quarter_start")).alias("t0"),
        col("end_instant").alias("t1"),
    ]);
    let open_at_t0 = is_state_at(col("t0")).and(StageKind::Open.matches(col("state_kind")));
    // The deals whose state at t0 or at t1 closes in the quarter (one join
    // of history rows to their close date's quarter), once per deal and
    // quarter: in P0 or not, and a0.
    // A deal has one state at t0, so `a0` is the one amount there is. The
    // columns are made before the group-by so that every aggregate is a
    // plain one (a max, a first), which polars aggregates in one pass; a
    // filter inside one was evaluated group by group.
    let candidates = states_closing_in(
        models.history.clone(),
        quarters.with_column(col("t1").alias("instant")),
        Some(col("t0")),
    )?
    .with_columns([
        open_at_t0.clone().alias("_open_at_t0"),
        when(open_at_t0)
            .then(col("state_amount"))
            .otherwise(lit(NULL).cast(DataType::Float64))
            .alias("_a0"),
    ])
    .group_by([col(DEAL), col("quarter_idx")])
    .agg([
        col("_open_at_t0").max().alias("in_p0"),
        col("_a0").max().alias("a0"),
        col("quarter_start").first(),
        col("quarter_end").first(),
        col("t1").first(),
    ])
    .with_column(col("a0").fill_null(lit(0.0)));
    // s1, the state at t1, whatever its close date (M2); a deal not in P0
    // counts only when s1 closes in the quarter.
    let s1_in_q = col("state_close_date")
        .gt_eq(col("quarter_start"))
        .and(col("state_close_date").lt_eq(col("quarter_end")));
    let moved = candidates
        .join(
            models.history.clone().select(
                [col(DEAL), col("changed_at"), col("next_change")]
                    .into_iter()
                    .chain(state_columns())
                    .collect::<Vec<_>>(),
            ),
            [col(DEAL)],
            [col(DEAL)],
            JoinArgs::new(JoinType::Inner),
        )
        .filter(is_state_at(col("t1")).and(col("in_p0").or(s1_in_q)))
        .select([
            col(DEAL),
            col("quarter_idx"),
            col("quarter_start"),
            col("quarter_end"),
            col("in_p0"),
            col("a0"),
            col("state_kind").alias("s1_kind"),
            col("state_amount").alias("s1_amount"),
            col("state_close_date").alias("s1_close"),
        ]);
    Ok(with_paths(models.with_deal_rep(moved)))
}

/// Each path's amount and count on rows with `in_p0`, `a0`, `s1_kind`,
/// `s1_amount`, `s1_close`, `created_date` and the quarter's bounds.
fn with_paths(lf: LazyFrame) -> LazyFrame {
    let in_p0 = col("in_p0");
    let by_end = col("s1_close").lt_eq(col("quarter_end"));
    let in_p1 = StageKind::Open
        .matches(col("s1_kind"))
        .and(col("s1_close").gt_eq(col("quarter_start")))
        .and(by_end.clone());
    let won_q = StageKind::Won.matches(col("s1_kind")).and(by_end.clone());
    let lost_q = StageKind::Lost.matches(col("s1_kind")).and(by_end.clone());
    let gone = in_p0.clone().and(in_p1.clone().not());
    let slipped = gone
        .clone()
        .and(won_q.clone().not())
        .and(lost_q.clone().not())
        .and(by_end.clone().not());
    let other_out = gone
        .and(won_q.clone().not())
        .and(lost_q.clone().not())
        .and(by_end);
    let created = in_p0
        .clone()
        .not()
        .and(col("created_date").gt_eq(col("quarter_start")));
    let pulled_in = in_p0.clone().not().and(created.clone().not());
    // A P0 deal still in the pipeline, or won, changed by s1.amount − a0.
    let change = when(in_p0.clone().and(in_p1.clone().or(won_q.clone())))
        .then(col("s1_amount") - col("a0"))
        .otherwise(lit(0.0));
    let amount_if = |cond: Expr, amount: Expr| when(cond).then(amount).otherwise(lit(0.0));
    let count_if = |cond: Expr| cond.cast(DataType::Int64);
    // What leaves as lost is what it was worth when it was counted in.
    let entered_at = when(in_p0.clone())
        .then(col("a0"))
        .otherwise(col("s1_amount"));
    lf.with_columns([
        amount_if(in_p0.clone(), col("a0")).alias("starting_pipeline"),
        count_if(in_p0.clone()).alias("starting_count"),
        amount_if(created.clone(), col("s1_amount")).alias("created"),
        count_if(created).alias("created_count"),
        amount_if(pulled_in.clone(), col("s1_amount")).alias("pulled_in"),
        count_if(pulled_in).alias("pulled_in_count"),
        when(change.clone().gt(lit(0.0)))
            .then(change.clone())
            .otherwise(lit(0.0))
            .alias("increased"),
        when(change.clone().lt(lit(0.0)))
            .then(-change)
            .otherwise(lit(0.0))
            .alias("decreased"),
        amount_if(won_q.clone(), col("s1_amount")).alias("won"),
        count_if(won_q).alias("won_count"),
        amount_if(lost_q.clone(), entered_at).alias("lost"),
        count_if(lost_q).alias("lost_count"),
        amount_if(slipped.clone(), col("a0")).alias("slipped"),
        count_if(slipped).alias("slipped_count"),
        amount_if(other_out.clone(), col("a0")).alias("other_out"),
        count_if(other_out).alias("other_out_count"),
        amount_if(in_p1.clone(), col("s1_amount")).alias("ending_pipeline"),
        count_if(in_p1).alias("ending_count"),
    ])
}

/// M3: on every row, starting + created + pulled_in + increased − decreased
/// − won − lost − slipped − other_out = ending, within 1e-6 × max(1, the
/// sum of the ten amount columns); the counts exactly. A row that breaks it
/// is a salesops bug: the run stops before anything is published, naming
/// the row.
pub fn check_identity(df: &DataFrame) -> Result<()> {
    let amount = |name: &str| col(name);
    let flow =
        amount("starting_pipeline") + amount("created") + amount("pulled_in") + amount("increased")
            - amount("decreased")
            - amount("won")
            - amount("lost")
            - amount("slipped")
            - amount("other_out");
    let size: Expr = PATHS
        .iter()
        .map(|(a, _)| col(*a).abs())
        .reduce(|a, b| a + b)
        .expect("paths");
    let count = |name: &str| col(name).cast(DataType::Int64);
    let count_flow = count("starting_count") + count("created_count") + count("pulled_in_count")
        - count("won_count")
        - count("lost_count")
        - count("slipped_count")
        - count("other_out_count");
    let broken = df
        .clone()
        .lazy()
        .with_columns([
            (flow - col("ending_pipeline")).alias("_gap"),
            (count_flow - count("ending_count")).alias("_count_gap"),
            size.alias("_size"),
        ])
        .filter(
            col("_gap")
                .abs()
                .gt(lit(1e-6)
                    * (when(col("_size").gt(lit(1.0)))
                        .then(col("_size"))
                        .otherwise(lit(1.0))))
                .or(col("_count_gap").neq(lit(0i64))),
        )
        .limit(1)
        .collect()?;
    if broken.height() == 0 {
        return Ok(());
    }
    let text = |c: &str| -> String {
        match broken.column(c).ok().and_then(|s| s.get(0).ok()) {
            Some(AnyValue::String(v)) => v.to_string(),
            Some(v) => v.to_string(),
            None => String::new(),
        }
    };
    Err(Error::Bug(format!(
        "pipeline_movement: the identity starting + created + pulled_in + increased − decreased − \
         won − lost − slipped − other_out = ending does not hold on the row scope={} scope_id={} \
         fiscal_quarter={}: amounts off by {}, counts off by {}",
        text("scope"),
        text("scope_id"),
        text("fiscal_quarter"),
        text("_gap"),
        text("_count_gap"),
    )))
}
