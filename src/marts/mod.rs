//! Marts (SPEC §4): one module per mart, each a pure function of LazyFrames
//! with its grain and SPEC section at the top. `MartSpec` is what the
//! publisher needs: the name, the grain (checked unique and not null before
//! anything is written, as dbt's tests would) and the published columns.

pub mod commissions_monthly;
pub mod forecast_accuracy;
pub mod forecast_accuracy_summary;
pub mod forecasts;
pub mod lead_scores;
pub mod rep_quarter_performance;
pub mod rep_quarter_trends;
pub mod team_quarter_kpis;

use polars::prelude::*;

use crate::config::Config;
use crate::error::{Context, Error, Result};
use crate::intermediate::Models;

#[derive(Debug, Clone, Copy)]
pub struct MartSpec {
    pub name: &'static str,
    pub grain: &'static [&'static str],
    pub columns: &'static [&'static str],
}

/// Every mart of SPEC §4, in publishing order: the one list the pipeline,
/// the manifest and the tests use.
pub const MARTS: [MartSpec; 8] = [
    rep_quarter_performance::SPEC,
    rep_quarter_trends::SPEC,
    team_quarter_kpis::SPEC,
    forecasts::SPEC,
    forecast_accuracy::SPEC,
    forecast_accuracy_summary::SPEC,
    lead_scores::SPEC,
    commissions_monthly::SPEC,
];

/// A mart, computed and checked, ready to publish.
pub struct Mart {
    pub spec: MartSpec,
    pub frame: DataFrame,
    pub ms: u64,
}

/// Grain keys are not null and unique.
pub fn check_grain(spec: &MartSpec, df: &DataFrame) -> Result<()> {
    for key in spec.grain {
        let nulls = df.column(key)?.null_count();
        if nulls > 0 {
            return Err(Error::Bug(format!(
                "{}: grain column `{key}` has {nulls} null values",
                spec.name
            )));
        }
    }
    let keys: Vec<PlSmallStr> = spec.grain.iter().map(|k| (*k).into()).collect();
    let distinct = df
        .select(keys)?
        .unique_stable(None, UniqueKeepStrategy::Any, None)?
        .height();
    if distinct != df.height() {
        return Err(Error::Bug(format!(
            "{}: grain ({}) is not unique: {} rows, {} distinct keys",
            spec.name,
            spec.grain.join(", "),
            df.height(),
            distinct
        )));
    }
    Ok(())
}

/// The published form: the spec's columns in order, instants marked UTC.
pub fn published(spec: &MartSpec, lf: LazyFrame) -> LazyFrame {
    lf.select(spec.columns.iter().map(|c| col(*c)).collect::<Vec<_>>())
        .with_columns(
            [dtype_col(&DataType::Datetime(TimeUnit::Microseconds, None))
                .as_selector()
                .as_expr()
                .cast(DataType::Datetime(
                    TimeUnit::Microseconds,
                    Some(TimeZone::UTC),
                ))],
        )
}

fn finish(spec: MartSpec, lf: LazyFrame, started: std::time::Instant) -> Result<Mart> {
    let frame = published(&spec, lf)
        .collect()
        .during(|| format!("building mart `{}`", spec.name))?;
    check_grain(&spec, &frame)?;
    tracing::info!(
        step = "marts",
        mart = spec.name,
        rows = frame.height(),
        ms = crate::millis_since(started),
        "Mart built."
    );
    Ok(Mart {
        spec,
        frame,
        ms: crate::millis_since(started),
    })
}

/// Builds and checks every mart.
pub fn build_all(models: &Models, config: &Config) -> Result<Vec<Mart>> {
    let started = std::time::Instant::now();
    // Collected once: the trends and KPI marts both read it.
    let performance = rep_quarter_performance::build(models, config)
        .collect()
        .during(|| "building mart `rep_quarter_performance`")?;
    let perf_mart = finish(
        rep_quarter_performance::SPEC,
        performance.clone().lazy(),
        started,
    )?;

    let started = std::time::Instant::now();
    let trends = rep_quarter_trends::build(performance.clone().lazy(), config)?
        .collect()
        .during(|| "building mart `rep_quarter_trends`")?;
    let trends_mart = finish(rep_quarter_trends::SPEC, trends.clone().lazy(), started)?;

    let started = std::time::Instant::now();
    let kpis = team_quarter_kpis::build(performance.clone().lazy(), trends.lazy());
    let kpi_mart = finish(team_quarter_kpis::SPEC, kpis, started)?;

    // Collected once: forecast_accuracy reads the forecasts.
    let started = std::time::Instant::now();
    let forecast_rows = forecasts::build(models, config, performance.lazy())?
        .collect()
        .during(|| "building mart `forecasts`")?;
    let forecast_mart = finish(forecasts::SPEC, forecast_rows.clone().lazy(), started)?;

    let started = std::time::Instant::now();
    let accuracy = forecast_accuracy::build(models, forecast_rows.lazy())
        .collect()
        .during(|| "building mart `forecast_accuracy`")?;
    let accuracy_mart = finish(forecast_accuracy::SPEC, accuracy.clone().lazy(), started)?;

    let started = std::time::Instant::now();
    let summary = forecast_accuracy_summary::build(accuracy.lazy())?;
    let summary_mart = finish(forecast_accuracy_summary::SPEC, summary, started)?;

    let started = std::time::Instant::now();
    let leads_mart = finish(
        lead_scores::SPEC,
        lead_scores::build(models, config)?,
        started,
    )?;

    let started = std::time::Instant::now();
    let commissions_mart = finish(
        commissions_monthly::SPEC,
        commissions_monthly::build(models, config)?,
        started,
    )?;

    Ok(vec![
        perf_mart,
        trends_mart,
        kpi_mart,
        forecast_mart,
        accuracy_mart,
        summary_mart,
        leads_mart,
        commissions_mart,
    ])
}
