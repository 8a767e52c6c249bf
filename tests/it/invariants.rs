//! Invariants on generated data (a few thousand rows of every table): what
//! the marts must agree on whatever the data. Each check compares two
//! different computations, never a value with itself.

use std::collections::BTreeMap;

use polars::prelude::*;
use salesops::config::Config;
use salesops::generate::{generate, GenerateOptions};

use super::harness::{local, mart, published, run_into};

fn sums_by(df: &DataFrame, key: &[&str], value: &str) -> BTreeMap<String, f64> {
    let out = df
        .clone()
        .lazy()
        .group_by(key.iter().map(|k| col(*k)).collect::<Vec<_>>())
        .agg([col(value).cast(DataType::Float64).sum()])
        .collect()
        .unwrap();
    let mut map = BTreeMap::new();
    for i in 0..out.height() {
        let k: Vec<String> = key
            .iter()
            .map(|c| out.column(c).unwrap().get(i).unwrap().to_string())
            .collect();
        map.insert(
            k.join("|"),
            out.column(value).unwrap().f64().unwrap().get(i).unwrap(),
        );
    }
    map
}

#[test]
fn marts_agree_with_each_other_on_generated_data() {
    let src_dir = tempfile::tempdir().unwrap();
    let src = local(src_dir.path());
    generate(
        &src,
        &GenerateOptions {
            scale: 0.3,
            seed: 11,
            all_parquet: false,
            preset: None,
        },
    )
    .unwrap();
    let out_dir = tempfile::tempdir().unwrap();
    let out = local(out_dir.path());
    run_into(&Config::default(), &src, &out, "2025-11-15", false).unwrap();

    let perf = mart(&out, "rep_quarter_performance");
    let trends = mart(&out, "rep_quarter_trends");
    let kpis = mart(&out, "team_quarter_kpis");
    assert!(
        perf.height() > 50,
        "enough rows to mean something: {}",
        perf.height()
    );
    assert_eq!(perf.height(), trends.height());

    // Team rows and the company row both add up the rep rows.
    for value in [
        "won_amount",
        "won_count",
        "lost_amount",
        "pipeline_value",
        "weighted_pipeline_value",
    ] {
        let by_rep_team = sums_by(&perf, &["team", "fiscal_quarter"], value);
        let by_rep_all = sums_by(&perf, &["fiscal_quarter"], value);
        let teams = kpis
            .clone()
            .lazy()
            .filter(col("scope").eq(lit("team")))
            .collect()
            .unwrap();
        let company = kpis
            .clone()
            .lazy()
            .filter(col("scope").eq(lit("company")))
            .collect()
            .unwrap();
        let team_rows = sums_by(&teams, &["scope_id", "fiscal_quarter"], value);
        let company_rows = sums_by(&company, &["fiscal_quarter"], value);
        assert_eq!(by_rep_team.len(), team_rows.len());
        for (k, v) in &by_rep_team {
            assert!(
                (team_rows[k] - v).abs() < 1e-6 * v.abs().max(1.0),
                "{value} {k}"
            );
        }
        for (k, v) in &by_rep_all {
            assert!(
                (company_rows[k] - v).abs() < 1e-6 * v.abs().max(1.0),
                "{value} {k}"
            );
        }
    }

    // Every won deal in the staged data lands in exactly one rep-quarter,
    // unless its quarter lies outside the covered range or its rep was not
    // employed then: the mart never holds more than the input.
    let m = published(&out);
    let total_won: f64 = perf
        .column("won_count")
        .unwrap()
        .as_materialized_series()
        .sum::<i64>()
        .unwrap() as f64;
    assert!(total_won > 0.0 && total_won <= m.tables["opportunities"].rows_read as f64);

    // Ratios are fractions where they must be; is_top agrees with the threshold.
    let bad = trends
        .clone()
        .lazy()
        .filter(
            col("is_top")
                .neq(col("metric").gt_eq(col("peer_threshold")))
                .or(col("quadrant")
                    .is_not_null()
                    .and(col("prev_metric").is_null())),
        )
        .collect()
        .unwrap();
    assert_eq!(bad.height(), 0, "{bad}");
    for (df, c) in [
        (&perf, "win_rate"),
        (&perf, "selling_time_share"),
        (&kpis, "quota_attainment_rate"),
        (&kpis, "win_rate_value"),
    ] {
        let s = df.column(c).unwrap().as_materialized_series().clone();
        let (lo, hi) = (
            s.min::<f64>().unwrap().unwrap(),
            s.max::<f64>().unwrap().unwrap(),
        );
        assert!(
            (0.0..=1.0).contains(&lo) && (0.0..=1.0).contains(&hi),
            "{c} in [{lo}, {hi}]"
        );
    }
    // The sample has rejected rows of several kinds and synthetic histories.
    assert!(m.tables["opportunities"].rejected >= 4);
    assert!(m.synthesized_histories > 0);
}

#[test]
fn the_shipped_sample_data_is_what_generate_makes() {
    // sample_data/ was written by `salesops generate --output sample_data`
    // (scale 1, seed 42); regenerating it must give the same bytes.
    let dir = tempfile::tempdir().unwrap();
    generate(
        &local(dir.path()),
        &GenerateOptions {
            scale: 1.0,
            seed: 42,
            all_parquet: false,
            preset: None,
        },
    )
    .unwrap();
    let shipped = super::harness::files_under(std::path::Path::new("sample_data"));
    let fresh = super::harness::files_under(dir.path());
    assert!(shipped.len() >= 10, "{} files", shipped.len());
    let names = |v: &[(String, Vec<u8>)]| v.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
    assert_eq!(names(&shipped), names(&fresh));
    for ((name, a), (_, b)) in shipped.iter().zip(&fresh) {
        assert!(a == b, "{name} differs from a fresh generate");
    }
}
