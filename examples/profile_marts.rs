//! Where a run's time goes, mart by mart: stages the data, prints each
//! staged table's size by column, then polars' profile of the heaviest mart
//! plans (the slowest nodes first). `EXPLAIN=<mart>` also prints that
//! mart's optimized plan; `ALL=1` prints every node, not the slowest 12;
//! `ONLY=<mart>` profiles that mart alone.
//!
//!   cargo run --release --example profile_marts -- pipelines/bench.toml DATA AS_OF

use std::time::Instant;

use polars::prelude::*;
use salesops::calendar::AsOf;
use salesops::config::Config;
use salesops::intermediate::Models;
use salesops::marts;
use salesops::pipeline;
use salesops::staging::Listing;

// The allocator the `salesops` binary runs with, and its setting, so sizes
// and times match.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// This process's resident memory now, in MB (Linux).
fn rss_mb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        })
        .map_or(0, |kb| kb / 1024)
}

fn show(name: &str, lf: LazyFrame) -> DataFrame {
    if std::env::var("EXPLAIN").is_ok_and(|v| v == name) {
        println!("{}", lf.clone().explain(true).unwrap());
    }
    let started = Instant::now();
    let (df, profile) = lf.profile().expect("plan runs");
    println!(
        "== {name}: {} ms, {} rows",
        started.elapsed().as_millis(),
        df.height()
    );
    let top = profile
        .lazy()
        .with_column((col("end") - col("start")).alias("us"))
        .sort(
            ["us"],
            SortMultipleOptions::default().with_order_descending(true),
        )
        .limit(if std::env::var("ALL").is_ok() {
            1000
        } else {
            12
        })
        .collect()
        .unwrap();
    let names = top.column("node").unwrap().str().unwrap().clone();
    let us = top.column("us").unwrap().u64().unwrap().clone();
    let starts = top.column("start").unwrap().u64().unwrap().clone();
    for ((n, u), s) in names.iter().zip(us.iter()).zip(starts.iter()) {
        let n: String = n.unwrap_or("").chars().take(110).collect();
        println!(
            "  {:>7} ms (at {:>6}) {n}",
            u.unwrap_or(0) / 1000,
            s.unwrap_or(0) / 1000
        );
    }
    df
}

fn main() -> salesops::Result<()> {
    // Before any thread starts (the allocator's starts one).
    salesops::engine::set_up();
    salesops::allocator::set_up();
    let args: Vec<String> = std::env::args().collect();
    let mut config = Config::from_file(&args[1])?;
    config.source = args[2].clone();
    let as_of = AsOf::parse(&args[3])?;
    let source = pipeline::open_source(&config)?;
    let listing = Listing::of(&source, &config)?;
    let started = Instant::now();
    let staged = pipeline::stage(&source, &listing, &config)?;
    println!(
        "staging {} ms, resident {} MB",
        started.elapsed().as_millis(),
        rss_mb()
    );
    for t in staged.tables() {
        println!(
            "  {} valid {} MB",
            t.name,
            t.valid.estimated_size() / 1_000_000
        );
        for c in t.valid.columns() {
            println!(
                "     {} {:?} {} MB",
                c.name(),
                c.dtype(),
                c.as_materialized_series().estimated_size() / 1_000_000
            );
        }
    }
    let started = Instant::now();
    let models = Models::build(&staged, &config, as_of)?;
    println!(
        "models built in {} ms, resident {} MB",
        started.elapsed().as_millis(),
        rss_mb()
    );
    // `ONLY=<mart>`: that mart alone.
    let only = std::env::var("ONLY").ok();
    let wanted = |name: &str| only.as_deref().is_none_or(|o| o == name);
    let profile = |name: &str, lf: LazyFrame| wanted(name).then(|| show(name, lf));
    profile("lead_scores", marts::lead_scores::build(&models, &config)?);
    profile(
        "commissions_monthly",
        marts::commissions_monthly::build(&models, &config)?,
    );
    // The marts that read others' frames run only when those are wanted
    // too (with no ONLY, every mart).
    let performance = wanted("rep_quarter_performance").then(|| {
        show(
            "rep_quarter_performance",
            marts::rep_quarter_performance::build(&models, &config),
        )
    });
    if let (Some(performance), None) = (&performance, &only) {
        let trends = show(
            "rep_quarter_trends",
            marts::rep_quarter_trends::build(performance.clone().lazy(), &config)?,
        );
        show(
            "team_quarter_kpis",
            marts::team_quarter_kpis::build(performance.clone().lazy(), trends.lazy()),
        );
    }
    // Plans that collect a part while they are made (the states at the
    // snapshots, `states_closing_in`) print that time first.
    let made = |name: &str, started: Instant| {
        if wanted(name) {
            println!("{name}: plan made in {} ms", started.elapsed().as_millis());
        }
    };
    let started = Instant::now();
    let forecasts_plan = marts::forecasts::build(&models, &config)?;
    made("forecasts", started);
    let forecasts = profile("forecasts", forecasts_plan);
    if let (Some(forecasts), None) = (forecasts, &only) {
        let accuracy = show(
            "forecast_accuracy",
            marts::forecast_accuracy::build(&models, forecasts.lazy()),
        );
        show(
            "forecast_accuracy_summary",
            marts::forecast_accuracy_summary::build(accuracy.lazy())?,
        );
    }
    let started = Instant::now();
    let movement_plan = marts::pipeline_movement::build(&models)?;
    made("pipeline_movement", started);
    profile("pipeline_movement", movement_plan);
    profile(
        "stage_conversion",
        marts::stage_conversion::build(&models, &config),
    );
    Ok(())
}
