//! The snapshots of SPEC §4.4: when each quarter's forecasts are taken.

use chrono::Duration;
use polars::prelude::*;

use crate::calendar::{days_since_epoch, instant_dtype, MICROS_PER_DAY};
use crate::config::Config;
use crate::intermediate::Models;

/// One row per snapshot: `quarter_idx`, `fiscal_quarter`, `quarter_start`,
/// `quarter_end`, `is_complete`, `snapshot_date`, `days_into_quarter`
/// (Int32) and `instant` (when it is taken).
///
/// Built in Rust from the quarter spine: a handful of rows per quarter, so
/// a DataFrame, not a plan.
pub fn snapshots(models: &Models, config: &Config) -> PolarsResult<DataFrame> {
    let spine = &models.spine;
    let idx = spine.column("quarter_idx")?.i32()?.clone();
    let complete = spine.column("is_complete")?.bool()?.clone();
    let as_of_date = models.as_of.date();
    let (mut q_idx, mut dates, mut days, mut instants) = (vec![], vec![], vec![], vec![]);
    for (i, complete) in idx.iter().zip(complete.iter()) {
        let (Some(i), Some(complete)) = (i, complete) else {
            continue;
        };
        let q = models.calendar.quarter(i);
        let mut push = |date: chrono::NaiveDate, micros: i64| {
            q_idx.push(i);
            dates.push(days_since_epoch(date));
            days.push((date - q.start).num_days() as i32);
            instants.push(micros);
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
            push(as_of_date, models.as_of.micros());
        }
    }
    let df = df!(
        "quarter_idx" => q_idx,
        "snapshot_date" => dates,
        "days_into_quarter" => days,
        "instant" => instants,
    )?;
    models
        .with_quarter_columns(df.lazy().with_columns([
            col("snapshot_date").cast(DataType::Date),
            col("instant").cast(instant_dtype()),
        ]))
        .collect()
}
