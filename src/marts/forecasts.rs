//! forecasts — SPEC §4.4.
//!
//! Grain: one row per (scope, scope_id, quarter, method, snapshot_date).
//! Snapshots: each covered quarter at `quarter_start + d` for every offset d
//! (on or before as_of and inside the quarter), taken at `snapshot_date
//! 00:00`; plus, for the incomplete quarter that contains as_of, one at the
//! as_of instant itself unless an offset already falls on that day. Scopes:
//! `rep`, `team`, `company` (an opportunity counts for its current rep and
//! that rep's current team); the scope_ids of a quarter are those with a
//! §4.1 row in it, plus `all`, and each gets a row per method, with a null
//! forecast where the method has no answer.
//!
//! Every opportunity's state at every snapshot comes from one as-of join
//! (`state_at`), never a loop over snapshots.

use chrono::Duration;
use polars::prelude::*;

use super::MartSpec;
use crate::calendar::{
    date_lit, days_between, days_since_epoch, instant_dtype, month_index_expr, MICROS_PER_DAY,
};
use crate::config::Config;
use crate::intermediate::opportunity_state::state_at;
use crate::intermediate::{join_latest_at_or_before, Inputs};

pub const SPEC: MartSpec = MartSpec {
    name: "forecasts",
    grain: &[
        "scope",
        "scope_id",
        "quarter_start",
        "method",
        "snapshot_date",
    ],
    columns: COLUMNS,
};

pub const COLUMNS: &[&str] = &[
    "scope",
    "scope_id",
    "fiscal_quarter",
    "quarter_start",
    "quarter_end",
    "method",
    "snapshot_date",
    "days_into_quarter",
    "forecast_amount",
    "won_to_date",
    "open_in_scope",
];

/// One row per snapshot: `quarter_idx`, `fiscal_quarter`, `quarter_start`,
/// `quarter_end`, `is_complete`, `snapshot_date`, `days_into_quarter`
/// (Int32), `t` (the instant), and `lookback_start` (the first day of the
/// quarter `cycle_lookback_quarters` before, for cycle_age's T).
pub fn snapshots(inputs: &Inputs, config: &Config) -> PolarsResult<DataFrame> {
    let spine = &inputs.spine;
    let idx = spine.column("quarter_idx")?.i32()?.clone();
    let complete = spine.column("is_complete")?.bool()?.clone();
    let as_of_date = inputs.as_of.date();
    let (mut q_idx, mut dates, mut days, mut instants, mut lookback) =
        (vec![], vec![], vec![], vec![], vec![]);
    for (i, complete) in idx.iter().zip(complete.iter()) {
        let (Some(i), Some(complete)) = (i, complete) else {
            continue;
        };
        let q = inputs.calendar.quarter(i);
        let look = inputs
            .calendar
            .quarter(i - config.forecast.cycle_lookback_quarters as i32)
            .start;
        let mut push = |date: chrono::NaiveDate, micros: i64| {
            q_idx.push(i);
            dates.push(days_since_epoch(date));
            days.push((date - q.start).num_days() as i32);
            instants.push(micros);
            lookback.push(days_since_epoch(look));
        };
        let mut taken = Vec::new();
        for d in &config.forecast.snapshot_offsets_days {
            let date = q.start + Duration::days(*d);
            if date <= as_of_date && date <= q.end {
                push(date, days_since_epoch(date) as i64 * MICROS_PER_DAY);
                taken.push(date);
            }
        }
        if !complete && !taken.contains(&as_of_date) {
            push(as_of_date, inputs.as_of.micros());
        }
    }
    let df = df!(
        "quarter_idx" => q_idx,
        "snapshot_date" => dates,
        "days_into_quarter" => days,
        "t" => instants,
        "lookback_start" => lookback,
    )?;
    df.lazy()
        .with_columns([
            col("snapshot_date").cast(DataType::Date),
            col("t").cast(instant_dtype()),
            col("lookback_start").cast(DataType::Date),
        ])
        .join(
            inputs.spine().select([
                col("quarter_idx"),
                col("fiscal_quarter"),
                col("quarter_start"),
                col("quarter_end"),
                col("is_complete"),
            ]),
            [col("quarter_idx")],
            [col("quarter_idx")],
            JoinArgs::new(JoinType::Inner),
        )
        .collect()
}

/// The scopes an opportunity-level or rep-level frame rolls up to: the same
/// rows three times, with `scope` and `scope_id` (rep_id, team, "all").
pub fn in_scopes(lf: LazyFrame, with_rep: bool) -> LazyFrame {
    let mut parts = vec![];
    if with_rep {
        parts.push(
            lf.clone()
                .with_columns([lit("rep").alias("scope"), col("rep_id").alias("scope_id")]),
        );
    }
    parts.push(
        lf.clone()
            .with_columns([lit("team").alias("scope"), col("team").alias("scope_id")]),
    );
    parts.push(lf.with_columns([lit("company").alias("scope"), lit("all").alias("scope_id")]));
    concat(parts, UnionArgs::default()).expect("same columns")
}

/// The median close_date − created_date of deals won in the lookback window
/// before each quarter (company-wide): cycle_age's T, per snapshot quarter.
fn typical_cycle(inputs: &Inputs, snaps: LazyFrame) -> LazyFrame {
    let quarters = snaps
        .select([
            col("quarter_idx"),
            col("lookback_start"),
            col("quarter_start"),
        ])
        .unique(None, UniqueKeepStrategy::Any);
    let won = inputs
        .opportunities
        .clone()
        .filter(col("kind").eq(lit("won")))
        .select([
            col("close_date"),
            days_between(col("close_date"), col("created_date")).alias("cycle"),
        ]);
    let medians = won
        .cross_join(quarters.clone(), None)
        .filter(
            col("close_date")
                .gt_eq(col("lookback_start"))
                .and(col("close_date").lt(col("quarter_start"))),
        )
        .group_by([col("quarter_idx")])
        .agg([col("cycle")
            .cast(DataType::Float64)
            .median()
            .alias("typical_cycle_days")]);
    quarters.select([col("quarter_idx")]).join(
        medians,
        [col("quarter_idx")],
        [col("quarter_idx")],
        JoinArgs::new(JoinType::Left),
    )
}

/// Σ over the rows of `value`, null when every value is null (rep_commit
/// with no submission in scope).
fn sum_or_null(value: Expr) -> Expr {
    when(value.clone().count().eq(lit(0)))
        .then(lit(NULL).cast(DataType::Float64))
        .otherwise(value.sum())
}

/// The historical_growth formula: `horizon_months × A × (1 + g) + M × r`,
/// where A is the trailing monthly average, g the growth, M the new-rep
/// months and r `new_rep_monthly_revenue`. The mart uses a 3-month horizon.
pub fn growth_forecast(
    monthly_average: Expr,
    growth: Expr,
    new_rep_months: Expr,
    horizon_months: f64,
    new_rep_monthly_revenue: f64,
) -> Expr {
    lit(horizon_months) * monthly_average * (lit(1.0) + growth)
        + new_rep_months.cast(DataType::Float64) * lit(new_rep_monthly_revenue)
}

/// Per snapshot and scope (team, company): the trailing 90-day monthly
/// average A and the growth g of SPEC §4.4; and per quarter and scope the
/// new-rep months M.
fn growth_inputs(inputs: &Inputs, config: &Config, snaps: LazyFrame) -> (LazyFrame, LazyFrame) {
    let days = |d: i64| lit(d).cast(DataType::Int32);
    let snap_dates = snaps
        .clone()
        .select([col("quarter_idx"), col("quarter_end"), col("snapshot_date")])
        .unique(None, UniqueKeepStrategy::Any);
    let d = col("snapshot_date").cast(DataType::Int32);
    let close = col("close_date").cast(DataType::Int32);
    let within = |from: i64, to: i64| {
        close
            .clone()
            .gt_eq(d.clone() - days(from))
            .and(close.clone().lt_eq(d.clone() - days(to)))
    };
    let amount_within = |from: i64, to: i64| {
        when(within(from, to))
            .then(col("amount"))
            .otherwise(lit(0.0))
            .sum()
    };
    let won = inputs.won_with_team();
    // Won deals × snapshot days: bounded by (won deals × snapshots), and
    // every window is a filter, not a loop.
    let windows = in_scopes(won, false)
        .cross_join(snap_dates.clone(), None)
        .group_by([col("scope"), col("scope_id"), col("snapshot_date")])
        .agg([
            (amount_within(90, 1) / lit(3.0)).alias("monthly_average"),
            amount_within(365, 1).alias("won_last_year"),
            amount_within(730, 366).alias("won_year_before"),
        ]);
    // New reps: hired in the quarter, months from the hire month to the
    // quarter's last month, inclusive.
    let new_rep_months = in_scopes(
        inputs
            .reps
            .clone()
            .select([col("rep_id"), col("team"), col("hire_date")]),
        false,
    )
    .cross_join(
        snap_dates
            .clone()
            .select([col("quarter_idx"), col("quarter_end")])
            .unique(None, UniqueKeepStrategy::Any),
        None,
    )
    .filter(
        inputs
            .calendar
            .quarter_index_expr(col("hire_date"))
            .eq(col("quarter_idx")),
    )
    .group_by([col("scope"), col("scope_id"), col("quarter_idx")])
    .agg([
        (month_index_expr(col("quarter_end")) - month_index_expr(col("hire_date")) + lit(1))
            .sum()
            .cast(DataType::Int64)
            .alias("new_rep_months"),
    ]);
    // The data reaches back to d − 730 when the earliest opportunity was
    // created on or before it; with no opportunities it never does.
    let reaches_back = match inputs.earliest_created {
        Some(first) => date_lit(first)
            .cast(DataType::Int32)
            .lt_eq(d.clone() - days(730)),
        None => lit(false),
    };
    let growth = match config.forecast.growth_rate {
        Some(g) => lit(g),
        None => when(col("won_year_before").eq(lit(0.0)).or(reaches_back.not()))
            .then(lit(0.0))
            .otherwise(col("won_last_year") / col("won_year_before") - lit(1.0)),
    };
    let windows = windows.with_column(growth.alias("growth")).select([
        col("scope"),
        col("scope_id"),
        col("snapshot_date"),
        col("monthly_average"),
        col("growth"),
    ]);
    (windows, new_rep_months)
}

/// `performance`: the §4.1 rows (for the scope_ids of each quarter).
pub fn build(inputs: &Inputs, config: &Config, performance: LazyFrame) -> PolarsResult<LazyFrame> {
    let snaps = snapshots(inputs, config)?.lazy();
    let reps = inputs.reps.clone().select([col("rep_id"), col("team")]);

    // Every opportunity's state at every snapshot: one as-of join. Pairs
    // that cannot contribute are dropped first: before the opportunity's
    // first history row it did not exist, and after a last row that closed
    // it outside the quarter it can be neither open nor won in the quarter.
    let lifespans = inputs
        .history
        .clone()
        .group_by([col("opportunity_id")])
        .agg([
            col("changed_at").min().alias("first_change"),
            col("changed_at").max().alias("last_change"),
            col("kind")
                .sort_by([col("changed_at")], Default::default())
                .last()
                .alias("last_kind"),
            col("close_date")
                .sort_by([col("changed_at")], Default::default())
                .last()
                .alias("last_close"),
        ]);
    let closed_outside_quarter = col("last_change")
        .lt_eq(col("t"))
        .and(col("last_kind").neq(lit("open")))
        .and(
            col("last_close")
                .lt(col("quarter_start"))
                .or(col("last_close").gt(col("quarter_end"))),
        );
    let at = inputs
        .opportunities
        .clone()
        .select([col("opportunity_id"), col("rep_id"), col("created_date")])
        .join(
            lifespans,
            [col("opportunity_id")],
            [col("opportunity_id")],
            JoinArgs::new(JoinType::Inner),
        )
        .cross_join(
            snaps.clone().select([
                col("quarter_idx"),
                col("quarter_start"),
                col("quarter_end"),
                col("snapshot_date"),
                col("t"),
            ]),
            None,
        )
        .filter(
            col("first_change")
                .lt_eq(col("t"))
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
            col("t"),
        ]);
    let in_quarter = col("state_close_date")
        .gt_eq(col("quarter_start"))
        .and(col("state_close_date").lt_eq(col("quarter_end")));
    let open_in_q = col("state_kind").eq(lit("open")).and(in_quarter.clone());
    let won_in_q = col("state_kind").eq(lit("won")).and(in_quarter);
    let age_by_quarter_end =
        days_between(col("quarter_end"), col("created_date")).cast(DataType::Float64);
    let cycle_probability =
        when((age_by_quarter_end.clone() / col("typical_cycle_days")).gt(lit(1.0)))
            .then(lit(1.0))
            .otherwise(age_by_quarter_end / col("typical_cycle_days"));
    let zero = || lit(0.0);
    let typical_cycles = typical_cycle(inputs, snaps.clone());
    // Summed per rep first; teams and the company add up their reps.
    let per_rep = state_at(inputs.history.clone(), at)
        .join(
            typical_cycles.clone(),
            [col("quarter_idx")],
            [col("quarter_idx")],
            JoinArgs::new(JoinType::Left),
        )
        .group_by([col("rep_id"), col("quarter_idx"), col("snapshot_date")])
        .agg([
            when(won_in_q)
                .then(col("state_amount"))
                .otherwise(zero())
                .sum()
                .alias("won_to_date"),
            when(open_in_q.clone())
                .then(col("state_amount") * col("state_probability"))
                .otherwise(zero())
                .sum()
                .alias("stage_weighted_open"),
            when(open_in_q.clone())
                .then(col("state_amount") * cycle_probability)
                .otherwise(zero())
                .sum()
                .alias("cycle_age_open"),
            open_in_q
                .cast(DataType::Int64)
                .sum()
                .alias("open_in_quarter"),
        ])
        .join(
            reps.clone(),
            [col("rep_id")],
            [col("rep_id")],
            JoinArgs::new(JoinType::Inner),
        );
    let sums = in_scopes(per_rep, true)
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
        ]);
    // rep_commit: each rep's latest submission for the quarter at t.
    let submissions = inputs
        .forecast_submissions
        .clone()
        .select([
            col("rep_id"),
            col("quarter_start"),
            col("submitted_at"),
            col("amount").alias("commit"),
        ])
        .sort(["submitted_at"], Default::default());
    let rep_snapshots = reps
        .clone()
        .cross_join(
            snaps.clone().select([
                col("quarter_idx"),
                col("quarter_start"),
                col("snapshot_date"),
                col("t"),
            ]),
            None,
        )
        .sort(["t"], Default::default());
    let commits = in_scopes(
        join_latest_at_or_before(
            rep_snapshots,
            submissions,
            "t",
            "submitted_at",
            &["rep_id", "quarter_start"],
        ),
        true,
    )
    .group_by([col("scope"), col("scope_id"), col("snapshot_date")])
    .agg([sum_or_null(col("commit")).alias("rep_commit")]);

    let (growth, new_rep_months) = growth_inputs(inputs, config, snaps.clone());

    // The rows: each quarter's scope_ids (from §4.1) × its snapshots.
    let scope_ids = in_scopes(
        performance.select([col("rep_id"), col("team"), col("quarter_idx")]),
        true,
    )
    .select([col("scope"), col("scope_id"), col("quarter_idx")])
    .unique(None, UniqueKeepStrategy::Any);
    let keys = [col("scope"), col("scope_id"), col("snapshot_date")];
    let rows = scope_ids
        .join(
            snaps,
            [col("quarter_idx")],
            [col("quarter_idx")],
            JoinArgs::new(JoinType::Inner),
        )
        .join(
            sums,
            [
                col("scope"),
                col("scope_id"),
                col("quarter_idx"),
                col("snapshot_date"),
            ],
            [
                col("scope"),
                col("scope_id"),
                col("quarter_idx"),
                col("snapshot_date"),
            ],
            JoinArgs::new(JoinType::Left),
        )
        .join(
            commits,
            keys.clone(),
            keys.clone(),
            JoinArgs::new(JoinType::Left),
        )
        .join(growth, keys.clone(), keys, JoinArgs::new(JoinType::Left))
        .join(
            typical_cycles,
            [col("quarter_idx")],
            [col("quarter_idx")],
            JoinArgs::new(JoinType::Left),
        )
        .join(
            new_rep_months,
            [col("scope"), col("scope_id"), col("quarter_idx")],
            [col("scope"), col("scope_id"), col("quarter_idx")],
            JoinArgs::new(JoinType::Left),
        )
        .with_columns([
            // A scope with no won deals at all: A = 0 and, with no revenue
            // the year before, g = 0 (or the configured rate).
            col("monthly_average").fill_null(lit(0.0)),
            col("growth").fill_null(lit(config.forecast.growth_rate.unwrap_or(0.0))),
            col("new_rep_months").fill_null(lit(0i64)),
            col("won_to_date").fill_null(lit(0.0)),
            col("stage_weighted_open").fill_null(lit(0.0)),
            col("cycle_age_open").fill_null(lit(0.0)),
            col("open_in_quarter").fill_null(lit(0i64)),
        ]);
    // Null or 0 T: cycle_age has no answer (its open count is still given).
    let no_cycle = col("typical_cycle_days")
        .is_null()
        .or(col("typical_cycle_days").eq(lit(0.0)));
    let method = |name: &str, forecast: Expr, open: Expr| {
        rows.clone().with_columns([
            lit(name).alias("method"),
            forecast.cast(DataType::Float64).alias("forecast_amount"),
            open.cast(DataType::Int64).alias("open_in_scope"),
        ])
    };
    let all_methods = concat(
        [
            method(
                "stage_weighted",
                col("won_to_date") + col("stage_weighted_open"),
                col("open_in_quarter"),
            ),
            method(
                "cycle_age",
                when(no_cycle)
                    .then(lit(NULL).cast(DataType::Float64))
                    .otherwise(col("won_to_date") + col("cycle_age_open")),
                col("open_in_quarter"),
            ),
            method("rep_commit", col("rep_commit"), lit(0i64)),
            method(
                "historical_growth",
                growth_forecast(
                    col("monthly_average"),
                    col("growth"),
                    col("new_rep_months"),
                    3.0,
                    config.forecast.new_rep_monthly_revenue,
                ),
                lit(0i64),
            )
            .filter(col("scope").neq(lit("rep"))),
        ],
        UnionArgs::default(),
    )?;
    Ok(all_methods
        .with_column(col("days_into_quarter").cast(DataType::Int32))
        .sort(
            [
                "scope",
                "scope_id",
                "quarter_start",
                "method",
                "snapshot_date",
            ],
            Default::default(),
        ))
}
