//! Marts (SPEC §4): one module per mart, each a pure function of LazyFrames
//! with its grain and SPEC section at the top. `MartSpec` is what the
//! publisher needs: the name, the grain (checked unique and not null before
//! anything is written, as dbt's tests would) and the published columns.

/// The columns that name a rep and a quarter (SPEC §4.1, §4.2), then the
/// mart's own.
macro_rules! rep_quarter_columns {
    ($($more:literal),* $(,)?) => {
        &[
            "rep_id",
            "rep_name",
            "team",
            "region",
            "level",
            "fiscal_quarter",
            "quarter_start",
            "quarter_end",
            "is_complete",
            $($more),*
        ]
    };
}

/// The columns that name a scope and a quarter (SPEC §4.3, §4.4), then the
/// mart's own.
macro_rules! scope_quarter_columns {
    ($($more:literal),* $(,)?) => {
        &[
            "scope",
            "scope_id",
            "fiscal_quarter",
            "quarter_start",
            "quarter_end",
            $($more),*
        ]
    };
}

/// The forecasts columns (SPEC §4.4), then the mart's own (§4.5 adds the
/// actuals and errors).
macro_rules! forecast_columns {
    ($($more:literal),* $(,)?) => {
        scope_quarter_columns!(
            "method",
            "snapshot_date",
            "days_into_quarter",
            "forecast_amount",
            "won_to_date",
            "open_in_scope",
            $($more),*
        )
    };
}

/// One row per forecast: the grain of forecasts and of forecast_accuracy.
pub const FORECAST_GRAIN: &[&str] = &[
    "scope",
    "scope_id",
    "quarter_start",
    "method",
    "snapshot_date",
];

pub mod commissions_monthly;
pub mod forecast_accuracy;
pub mod forecast_accuracy_summary;
pub mod forecasts;
pub mod lead_scores;
pub mod pipeline_movement;
pub mod rep_quarter_performance;
pub mod rep_quarter_trends;
pub mod stage_conversion;
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
pub const MARTS: [MartSpec; 10] = [
    rep_quarter_performance::SPEC,
    rep_quarter_trends::SPEC,
    team_quarter_kpis::SPEC,
    forecasts::SPEC,
    forecast_accuracy::SPEC,
    forecast_accuracy_summary::SPEC,
    lead_scores::SPEC,
    commissions_monthly::SPEC,
    pipeline_movement::SPEC,
    stage_conversion::SPEC,
];

/// A mart, computed and checked, ready to publish.
#[derive(Clone)]
pub struct Mart {
    pub spec: MartSpec,
    pub frame: DataFrame,
    pub ms: u64,
}

/// Grain keys are not null and unique. A mart sorted by its grain, as most
/// are, is unique when every row's keys come after the keys of the row
/// before (`ascends_strictly`: neighbours compared, a few passes over the
/// keys); any other is checked by hashing its keys. At 10x hashing every
/// mart's keys took 0.7 s, 0.18 s of it for performance, which every
/// mart after it waits for.
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
    if ascends_strictly(df, spec.grain)? {
        return Ok(());
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

/// True when each row's `keys` (not null) are greater than the row
/// before's, compared key by key in order: the frame is sorted by them and
/// no two rows share them. False says neither, not that keys repeat.
/// Compared on the calling thread (a plan would wait for polars' threads,
/// busy with the marts built beside it).
fn ascends_strictly(df: &DataFrame, keys: &[&str]) -> Result<bool> {
    let rows = df.height();
    if rows < 2 {
        return Ok(true);
    }
    // From the last key: a row comes after the one before when its first
    // key is greater, or equal and the rest come after.
    let mut after: Option<BooleanChunked> = None;
    for key in keys.iter().rev() {
        let values = df.column(key)?.as_materialized_series();
        let (now, before) = (values.slice(1, rows - 1), values.slice(0, rows - 1));
        let greater = now.gt(&before)?;
        after = Some(match after {
            None => greater,
            Some(rest) => &greater | &(&now.equal(&before)? & &rest),
        });
    }
    Ok(after.is_none_or(|a| a.all()))
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

/// What is done with each mart as soon as it is built (the pipeline writes
/// it while the others are built); called from the threads that build them.
pub type OnBuilt<'a> = &'a (dyn Fn(&Mart) + Sync);

/// Makes a mart's plan (`plan`) and collects it: its full frame (with the
/// helper columns later marts read, such as `quarter_idx`), and its
/// published form, grain-checked, handed to `on_built`. The mart's time
/// and errors include making the plan: some plans collect a part as they
/// are made (`states_closing_in`).
fn build(
    spec: MartSpec,
    plan: impl FnOnce() -> PolarsResult<LazyFrame>,
    on_built: OnBuilt,
) -> Result<(DataFrame, Mart)> {
    let started = std::time::Instant::now();
    let during = || format!("building mart `{}`", spec.name);
    let full = plan().and_then(LazyFrame::collect).during(during)?;
    let frame = published(&spec, full.clone().lazy())
        .collect()
        .during(during)?;
    check_grain(&spec, &frame)?;
    let ms = crate::millis_since(started);
    tracing::info!(
        step = "marts",
        mart = spec.name,
        rows = frame.height(),
        ms,
        "Mart built."
    );
    let mart = Mart { spec, frame, ms };
    on_built(&mart);
    Ok((full, mart))
}

/// Builds and checks every mart, in `MARTS` order (`build_all_then`, with
/// nothing done as each is built).
pub fn build_all(models: &mut Models, config: &Config) -> Result<Vec<Mart>> {
    build_all_then(models, config, &|_| {})
}

/// Builds and checks every mart, in `MARTS` order, each handed to
/// `on_built` as soon as it is built. A mart that others read
/// (performance, trends, forecasts, accuracy) is collected once and its
/// frame handed on; the lead and commission marts read none of them and are
/// built on a thread of their own beside that chain, and pipeline movement
/// and stage conversion on another once performance is built. Forecasts
/// and those two take each quarter's scope_ids from the rep-quarter rows
/// (`Models::rep_quarters`), not from performance, but start after it all
/// the same: started with it, while the activities are still held, they
/// took the 1x peak from 0.83–0.89 to 0.90–0.97 GiB, and neither scale ran
/// faster (1x 1.37–1.44 s against 1.39–1.42 s, five alternating runs; 10x
/// a median of 16.53 s against 16.56 s, seven).
///
/// Performance is the one mart that reads the activities: its plan is made
/// first and the models let go of them (`Models::release_activities`), so
/// they are freed once it is built, before the marts after it run.
pub fn build_all_then(
    models: &mut Models,
    config: &Config,
    on_built: OnBuilt,
) -> Result<Vec<Mart>> {
    let performance = rep_quarter_performance::build(models, config);
    models.release_activities();
    let models = &*models;
    let (chain, independent) = std::thread::scope(|s| {
        let independent = s.spawn(|| -> Result<Vec<Mart>> {
            Ok(vec![
                build(
                    lead_scores::SPEC,
                    || lead_scores::build(models, config),
                    on_built,
                )?
                .1,
                build(
                    commissions_monthly::SPEC,
                    || commissions_monthly::build(models, config),
                    on_built,
                )?
                .1,
            ])
        });
        let chain = performance_and_forecasts(models, config, performance, on_built);
        (chain, crate::joined(independent))
    });
    let mut marts = chain?;
    marts.extend(independent?);
    marts.sort_by_key(|m| MARTS.iter().position(|s| s.name == m.spec.name));
    debug_assert!(marts
        .iter()
        .map(|m| m.spec.name)
        .eq(MARTS.iter().map(|m| m.name)));
    Ok(marts)
}

/// Performance, then trends, team KPIs, forecasts, their accuracy and its
/// summary; beside them, on a thread of their own, pipeline movement (its
/// identity checked here, before anything is published) and stage
/// conversion. `performance` is its plan.
fn performance_and_forecasts(
    models: &Models,
    config: &Config,
    performance: LazyFrame,
    on_built: OnBuilt,
) -> Result<Vec<Mart>> {
    let (performance_full, performance) =
        build(rep_quarter_performance::SPEC, || Ok(performance), on_built)?;
    let performance_full = &performance_full;
    let (pipeline, forecasting) = std::thread::scope(|s| {
        let pipeline = s.spawn(|| -> Result<Vec<Mart>> {
            let (movement, movement_mart) = build(
                pipeline_movement::SPEC,
                || pipeline_movement::build(models),
                on_built,
            )?;
            pipeline_movement::check_identity(&movement)?;
            let (_, conversion) = build(
                stage_conversion::SPEC,
                || Ok(stage_conversion::build(models, config)),
                on_built,
            )?;
            Ok(vec![movement_mart, conversion])
        });
        let forecasting = forecasting(models, config, performance_full, on_built);
        (crate::joined(pipeline), forecasting)
    });
    let mut marts = vec![performance];
    marts.extend(forecasting?);
    marts.extend(pipeline?);
    Ok(marts)
}

/// Trends and team KPIs from the performance frame, then forecasts, their
/// accuracy and its summary.
fn forecasting(
    models: &Models,
    config: &Config,
    performance: &DataFrame,
    on_built: OnBuilt,
) -> Result<Vec<Mart>> {
    let mut marts = Vec::with_capacity(5);
    let mut add = |built: Result<(DataFrame, Mart)>| -> Result<DataFrame> {
        let (full, mart) = built?;
        marts.push(mart);
        Ok(full)
    };
    let trends = add(build(
        rep_quarter_trends::SPEC,
        || rep_quarter_trends::build(performance.clone().lazy(), config),
        on_built,
    ))?;
    add(build(
        team_quarter_kpis::SPEC,
        || {
            Ok(team_quarter_kpis::build(
                performance.clone().lazy(),
                trends.lazy(),
            ))
        },
        on_built,
    ))?;
    let forecast_rows = add(build(
        forecasts::SPEC,
        || forecasts::build(models, config),
        on_built,
    ))?;
    let accuracy = add(build(
        forecast_accuracy::SPEC,
        || Ok(forecast_accuracy::build(models, forecast_rows.lazy())),
        on_built,
    ))?;
    add(build(
        forecast_accuracy_summary::SPEC,
        || forecast_accuracy_summary::build(accuracy.lazy()),
        on_built,
    ))?;
    Ok(marts)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPEC: MartSpec = MartSpec {
        name: "m",
        grain: &["team", "n"],
        columns: &["team", "n"],
    };

    fn frame(teams: &[&str], ns: &[i32]) -> DataFrame {
        df!("team" => teams, "n" => ns).unwrap()
    }

    fn error(df: &DataFrame) -> String {
        check_grain(&SPEC, df).unwrap_err().to_string()
    }

    /// In grain order: (a,1) (a,2) (b,1) ascend (the second key decides
    /// between the a's); a repeat next to its copy is found there.
    #[test]
    fn a_mart_in_grain_order_is_checked_by_its_neighbours() {
        let sorted = frame(&["a", "a", "b"], &[1, 2, 1]);
        assert!(ascends_strictly(&sorted, SPEC.grain).unwrap());
        check_grain(&SPEC, &sorted).unwrap();
        let repeated = frame(&["a", "a", "b"], &[1, 1, 1]);
        assert!(!ascends_strictly(&repeated, SPEC.grain).unwrap());
        assert!(
            error(&repeated).contains("grain (team, n) is not unique: 3 rows, 2 distinct keys"),
            "{}",
            error(&repeated)
        );
        // One row, or none, ascends.
        assert!(ascends_strictly(&frame(&["a"], &[1]), SPEC.grain).unwrap());
        assert!(ascends_strictly(&frame(&[], &[]), SPEC.grain).unwrap());
    }

    /// Out of grain order, (a,2) before (a,1): the keys are hashed, so a
    /// repeat is found wherever it is, and distinct keys pass.
    #[test]
    fn a_mart_in_another_order_is_checked_by_hashing() {
        let unsorted = frame(&["a", "a", "b"], &[2, 1, 1]);
        assert!(!ascends_strictly(&unsorted, SPEC.grain).unwrap());
        check_grain(&SPEC, &unsorted).unwrap();
        let apart = frame(&["b", "a", "b"], &[1, 1, 1]);
        assert!(
            error(&apart).contains("not unique: 3 rows, 2 distinct keys"),
            "{}",
            error(&apart)
        );
    }

    #[test]
    fn a_null_grain_key_is_a_bug() {
        let df = df!("team" => [Some("a"), None], "n" => [1, 2]).unwrap();
        assert!(
            error(&df).contains("grain column `team` has 1 null values"),
            "{}",
            error(&df)
        );
    }
}
