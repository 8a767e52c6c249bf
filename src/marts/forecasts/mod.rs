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
//! One module per method, each with its SPEC paragraph; this one builds the
//! rows they share (scope × snapshot, with won_to_date and the open
//! pipeline) and unions their answers.

mod cycle_age;
mod historical_growth;
mod pipeline;
mod rep_commit;
mod snapshots;
mod stage_weighted;

use polars::prelude::*;

use super::MartSpec;
use crate::config::Config;
use crate::domain::{ForecastMethod, Scope};
use crate::intermediate::rollup::{quarter_scope_ids, ALL_SCOPES};
use crate::intermediate::Models;

pub use historical_growth::growth_forecast;
pub use snapshots::snapshots;

pub const SPEC: MartSpec = MartSpec {
    name: "forecasts",
    grain: super::FORECAST_GRAIN,
    columns: forecast_columns!(),
};

pub fn build(models: &Models, config: &Config) -> PolarsResult<LazyFrame> {
    let snaps = snapshots(models, config)?.lazy();
    let typical_cycles = cycle_age::typical_cycle(
        models,
        snaps.clone(),
        config.forecast.cycle_lookback_quarters,
    );
    let sums = pipeline::at_snapshots(models, snaps.clone(), typical_cycles.clone())?;
    let commits = rep_commit::commits(models, snaps.clone());
    let (growth, new_rep_months) = historical_growth::growth_inputs(models, config, snaps.clone());

    // The rows: each quarter's scope_ids (from §4.1) × its snapshots.
    let scope_ids = quarter_scope_ids(models.rep_quarters(), &ALL_SCOPES);
    let snapshot_keys = [
        col("scope"),
        col("scope_id"),
        col("quarter_idx"),
        col("snapshot_date"),
    ];
    let keys = [col("scope"), col("scope_id"), col("snapshot_date")];
    let quarter_keys = [col("scope"), col("scope_id"), col("quarter_idx")];
    let rows = scope_ids
        .join(
            snaps,
            [col("quarter_idx")],
            [col("quarter_idx")],
            JoinArgs::new(JoinType::Inner),
        )
        .join(
            sums,
            snapshot_keys.clone(),
            snapshot_keys,
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
            quarter_keys.clone(),
            quarter_keys,
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
    // Every row once per method, each with its method's answer; historical
    // growth has none for a rep. The methods are numbered in the order of
    // their names (`_method`), which is the published order.
    let mut names: Vec<&str> = ForecastMethod::ALL.iter().map(|m| m.as_str()).collect();
    names.sort();
    let place = |m: ForecastMethod| {
        names
            .iter()
            .position(|n| *n == m.as_str())
            .expect("a method") as i32
    };
    let methods = df!(
        "method" => &names,
        "_method" => (0..names.len() as i32).collect::<Vec<_>>(),
    )?
    .lazy();
    let by_method = |part: fn(&Answer) -> Expr, dtype: DataType| {
        ForecastMethod::ALL
            .iter()
            .fold(lit(NULL).cast(dtype.clone()), |rest, m| {
                when(col("_method").eq(lit(place(*m))))
                    .then(part(&answer(*m, config)).cast(dtype.clone()))
                    .otherwise(rest)
            })
    };
    // Sorted by grain, method aside, before each row is made once per
    // method (a quarter as many rows, and texts compared once), then
    // numbered by (scope, scope_id, quarter) (`_block`): the published
    // order (`FORECAST_GRAIN`) is then by block, method and snapshot date,
    // numbers all. At 10x the sort of the 961k published rows by their
    // five keys, three of them texts, took 0.29 s alone.
    let new_block = ["scope", "scope_id", "quarter_start"]
        .into_iter()
        .map(|k| col(k).neq(col(k).shift(lit(1))).fill_null(lit(true)))
        .reduce(Expr::or)
        .expect("three keys");
    let rows = rows
        .sort(
            ["scope", "scope_id", "quarter_start", "snapshot_date"],
            Default::default(),
        )
        .with_column(
            new_block
                .cast(DataType::Int64)
                .cum_sum(false)
                .alias("_block"),
        );
    let all_methods = rows
        .cross_join(methods, None)
        .with_columns([
            by_method(|a| a.forecast.clone(), DataType::Float64).alias("forecast_amount"),
            by_method(|a| a.open_in_scope.clone(), DataType::Int64).alias("open_in_scope"),
        ])
        .filter(
            col("_method")
                .eq(lit(place(ForecastMethod::HistoricalGrowth)))
                .and(Scope::Rep.matches(col("scope")))
                .not(),
        );
    Ok(all_methods
        .with_column(col("days_into_quarter").cast(DataType::Int32))
        .sort(["_block", "_method", "snapshot_date"], Default::default())
        .drop(cols(["_block", "_method"])))
}

/// A method's answer on a row of scope × snapshot: its forecast and how
/// many open deals it weighed (`open_in_scope`).
pub struct Answer {
    pub forecast: Expr,
    pub open_in_scope: Expr,
}

fn answer(method: ForecastMethod, config: &Config) -> Answer {
    match method {
        ForecastMethod::StageWeighted => stage_weighted::answer(),
        ForecastMethod::CycleAge => cycle_age::answer(),
        ForecastMethod::RepCommit => rep_commit::answer(),
        ForecastMethod::HistoricalGrowth => historical_growth::answer(config),
    }
}
