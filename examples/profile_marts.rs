//! Where a run's time goes, mart by mart: stages the data, prints each
//! staged table's size by column, then polars' profile of the heaviest mart
//! plans (the slowest nodes first). `EXPLAIN=<mart>` also prints that
//! mart's optimized plan; `ALL=1` prints every node, not the slowest 12.
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
        .limit(if std::env::var("ALL").is_ok() { 60 } else { 12 })
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
    let args: Vec<String> = std::env::args().collect();
    let mut config = Config::from_file(&args[1])?;
    config.source = args[2].clone();
    let as_of = AsOf::parse(&args[3])?;
    let source = pipeline::open_source(&config)?;
    let listing = Listing::of(&source, &config)?;
    let started = Instant::now();
    let staged = pipeline::stage(&source, &listing, &config)?;
    println!("staging {} ms", started.elapsed().as_millis());
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
    let models = Models::build(&staged, &config, as_of)?;
    let performance = show(
        "rep_quarter_performance",
        marts::rep_quarter_performance::build(&models, &config),
    );
    show(
        "forecasts",
        marts::forecasts::build(&models, &config, performance.clone().lazy())?,
    );
    show(
        "pipeline_movement",
        marts::pipeline_movement::build(&models, performance.clone().lazy()),
    );
    show(
        "stage_conversion",
        marts::stage_conversion::build(&models, &config, performance.lazy()),
    );
    show("lead_scores", marts::lead_scores::build(&models, &config)?);
    Ok(())
}
