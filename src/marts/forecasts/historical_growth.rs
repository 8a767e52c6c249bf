//! historical_growth (SPEC §4.4), scopes `team` and `company` only: with d
//! the snapshot's date, A = the won amount with close_date in [d − 90,
//! d − 1] ÷ 3 (a monthly average); g = `forecast.growth_rate` if set, else
//! won([d − 365, d − 1]) ÷ won([d − 730, d − 366]) − 1, and 0 when that
//! earlier year has no revenue or the data does not reach back to d − 730;
//! M = Σ over reps in scope hired in the quarter of the months from the
//! hire month to the quarter's last month, inclusive. forecast_amount =
//! 3 × A × (1 + g) + M × new_rep_monthly_revenue.

use polars::prelude::*;

use super::Answer;
use crate::calendar::{date_lit, month_index_expr};
use crate::config::Config;
use crate::intermediate::rollup::{grouped_in_scopes, GROUP_SCOPES};
use crate::intermediate::Models;

/// The formula: `horizon_months × A × (1 + g) + M × r`, where r is
/// `new_rep_monthly_revenue`. The mart uses a 3-month horizon.
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

/// Per snapshot and scope (team, company): `monthly_average` A and `growth`
/// g; and per quarter and scope `new_rep_months` M.
pub fn growth_inputs(models: &Models, config: &Config, snaps: LazyFrame) -> (LazyFrame, LazyFrame) {
    let days = |d: i64| lit(d).cast(DataType::Int32);
    let snap_dates = snaps
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
    // The won amount per scope and close day first (a few thousand rows),
    // then × the snapshot days: every window is a filter of that product,
    // not a loop, and not every won deal × every snapshot day.
    let won_per_day = grouped_in_scopes(
        models.won_with_team(),
        &GROUP_SCOPES,
        &[col("close_date")],
        &[col("amount").sum()],
    );
    let windows = won_per_day
        .cross_join(snap_dates.clone(), None)
        .group_by([col("scope"), col("scope_id"), col("snapshot_date")])
        .agg([
            (amount_within(90, 1) / lit(3.0)).alias("monthly_average"),
            amount_within(365, 1).alias("won_last_year"),
            amount_within(730, 366).alias("won_year_before"),
        ]);
    // New reps: hired in the quarter, months from the hire month to the
    // quarter's last month, inclusive.
    let new_rep_months = grouped_in_scopes(
        models
            .reps
            .clone()
            .select([col("rep_id"), col("team"), col("hire_date")])
            .cross_join(
                snap_dates
                    .select([col("quarter_idx"), col("quarter_end")])
                    .unique(None, UniqueKeepStrategy::Any),
                None,
            )
            .filter(models.quarter_of(col("hire_date")).eq(col("quarter_idx"))),
        &GROUP_SCOPES,
        &[col("quarter_idx")],
        &[
            (month_index_expr(col("quarter_end")) - month_index_expr(col("hire_date")) + lit(1))
                .sum()
                .cast(DataType::Int64)
                .alias("new_rep_months"),
        ],
    );
    // The data reaches back to d − 730 when the earliest opportunity was
    // created on or before it; with no opportunities it never does.
    let reaches_back = match models.earliest_created {
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

/// Teams and the company only (no row for a rep).
pub fn answer(config: &Config) -> Answer {
    Answer {
        forecast: growth_forecast(
            col("monthly_average"),
            col("growth"),
            col("new_rep_months"),
            3.0,
            config.forecast.new_rep_monthly_revenue,
        ),
        open_in_scope: lit(0i64),
    }
}
