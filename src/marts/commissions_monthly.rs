//! commissions_monthly — SPEC §4.8.
//!
//! Grain: one row per (rep_id, month), for each calendar month from the
//! later of the rep's hire month and the first covered month to the earlier
//! of the as_of month and the end_date month. `won_amount` is what the rep
//! won with close_date in the month (the current opportunities table, no
//! as_of cut on close_date); the target is the month's quota when there is
//! one (0 allowed), else the plan's `target_monthly`; the commission is
//! `commission_rate × won_amount` when the target is attained, else 0.
//! A target of 0 (a quota row of 0: a rep on leave, say) counts as attained
//! and pays no commission (SPEC §7).

use chrono::{Datelike, NaiveDate};
use polars::prelude::*;

use crate::currency::cents;

use super::MartSpec;
use crate::calendar::{days_since_epoch, end_of_day_time, month_index_expr};
use crate::config::Config;
use crate::domain::StageKind;
use crate::intermediate::Models;

pub const SPEC: MartSpec = MartSpec {
    name: "commissions_monthly",
    grain: &["rep_id", "month"],
    columns: &[
        "rep_id",
        "rep_name",
        "team",
        "level",
        "month",
        "won_amount",
        "target",
        "attained",
        "base_pay",
        "commission",
        "total_pay",
        "is_complete",
    ],
};

fn next_month(d: NaiveDate) -> NaiveDate {
    if d.month() == 12 {
        NaiveDate::from_ymd_opt(d.year() + 1, 1, 1).unwrap()
    } else {
        NaiveDate::from_ymd_opt(d.year(), d.month() + 1, 1).unwrap()
    }
}

/// Every month from the first covered month to the as_of month: `month`
/// (its first day) and `is_complete` (its last instant is at or before as_of).
fn month_spine(models: &Models) -> PolarsResult<LazyFrame> {
    let first = models
        .spine
        .column("quarter_start")?
        .date()?
        .as_date_iter()
        .next()
        .flatten()
        .expect("the spine has a quarter");
    let as_of = models.as_of;
    let (mut months, mut complete) = (vec![], vec![]);
    let mut m = first;
    while m <= as_of.date() {
        let last_instant = next_month(m)
            .pred_opt()
            .unwrap()
            .and_time(end_of_day_time());
        months.push(days_since_epoch(m));
        complete.push(last_instant <= as_of.instant);
        m = next_month(m);
    }
    Ok(df!("month" => months, "is_complete" => complete)?
        .lazy()
        .with_column(col("month").cast(DataType::Date)))
}

/// `level` and its plan's `base_monthly`, `target_monthly`, `commission_rate`.
fn plans(config: &Config) -> LazyFrame {
    let plans: Vec<_> = config.comp_plans.iter().collect();
    df!(
        "level" => plans.iter().map(|(l, _)| l.as_str()).collect::<Vec<_>>(),
        "base_monthly" => plans.iter().map(|(_, p)| p.base_monthly).collect::<Vec<_>>(),
        "target_monthly" => plans.iter().map(|(_, p)| p.target_monthly).collect::<Vec<_>>(),
        "commission_rate" => plans.iter().map(|(_, p)| p.commission_rate).collect::<Vec<_>>(),
    )
    .expect("one length")
    .lazy()
}

pub fn build(models: &Models, config: &Config) -> PolarsResult<LazyFrame> {
    let month_of = |d: Expr| month_index_expr(d);
    let rep_months = models
        .reps
        .clone()
        .cross_join(month_spine(models)?, None)
        .filter(
            month_of(col("month"))
                .gt_eq(month_of(col("hire_date")))
                .and(
                    col("end_date")
                        .is_null()
                        .or(month_of(col("month")).lt_eq(month_of(col("end_date")))),
                ),
        )
        .with_column(month_of(col("month")).alias("month_idx"));
    let won = models
        .opportunities
        .clone()
        .filter(StageKind::Won.matches(col("kind")))
        .group_by([
            col("rep_id"),
            month_of(col("close_date")).alias("month_idx"),
        ])
        .agg([col("amount").sum().alias("won_amount")]);
    let quotas = models.quotas.clone().select([
        col("rep_id"),
        month_of(col("month")).alias("month_idx"),
        col("quota_amount"),
    ]);
    let keys = [col("rep_id"), col("month_idx")];
    Ok(rep_months
        .join(
            won,
            keys.clone(),
            keys.clone(),
            JoinArgs::new(JoinType::Left),
        )
        .join(quotas, keys.clone(), keys, JoinArgs::new(JoinType::Left))
        // Levels without a plan stop the run at start (Config::check_levels).
        .join(
            plans(config),
            [col("level")],
            [col("level")],
            JoinArgs::new(JoinType::Inner),
        )
        .with_columns([
            col("won_amount").fill_null(lit(0.0)),
            col("quota_amount")
                .fill_null(col("target_monthly"))
                .alias("target"),
            col("base_monthly").alias("base_pay"),
        ])
        .with_column(col("won_amount").gt_eq(col("target")).alias("attained"))
        .with_column(
            when(col("attained").and(col("target").gt(lit(0.0))))
                .then(cents(col("commission_rate") * col("won_amount")))
                .otherwise(lit(0.0))
                .alias("commission"),
        )
        .with_column((col("base_pay") + col("commission")).alias("total_pay"))
        .sort(["rep_id", "month"], Default::default()))
}
