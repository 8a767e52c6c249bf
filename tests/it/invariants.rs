//! Invariants on generated data (a few thousand rows of every table): what
//! the marts must agree on whatever the data. Each check computes the same
//! number a second, independent way: from the staged rows with plain polars
//! and Rust written here (not from the marts' inputs), or by re-deriving a
//! definition of SPEC §4.2 in Rust.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};
use polars::prelude::*;
use salesops::config::Config;
use salesops::generate::{generate, GenerateOptions};
use salesops::staging::{self, Listing};
use salesops::storage::Storage;

use super::harness::{local, mart, published, run_into};

const AS_OF: &str = "2025-11-15";

fn generated() -> (tempfile::TempDir, Storage, tempfile::TempDir, Storage) {
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
    run_into(&Config::default(), &src, &out, AS_OF, false).unwrap();
    (src_dir, src, out_dir, out)
}

/// The first day of the calendar quarter of `d` (the default fiscal year).
fn quarter_start(d: NaiveDate) -> NaiveDate {
    NaiveDate::from_ymd_opt(d.year(), (d.month() - 1) / 3 * 3 + 1, 1).unwrap()
}

fn quarter_end(start: NaiveDate) -> NaiveDate {
    let next = if start.month() == 10 {
        NaiveDate::from_ymd_opt(start.year() + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(start.year(), start.month() + 3, 1)
    }
    .unwrap();
    next.pred_opt().unwrap()
}

fn dates(df: &DataFrame, c: &str) -> Vec<Option<NaiveDate>> {
    df.column(c)
        .unwrap()
        .date()
        .unwrap()
        .as_date_iter()
        .collect()
}

fn strs(df: &DataFrame, c: &str) -> Vec<Option<String>> {
    df.column(c)
        .unwrap()
        .str()
        .unwrap()
        .iter()
        .map(|v| v.map(String::from))
        .collect()
}

fn floats(df: &DataFrame, c: &str) -> Vec<Option<f64>> {
    salesops::frames::floats(df, c).unwrap()
}

/// Won and lost deals per (scope_id, quarter_start), team and "all",
/// counted here in Rust from the staged opportunities and reps: created on
/// or before as_of, by current close_date, for reps employed in that
/// quarter, amounts in reporting currency (rate × amount, to the cent).
#[derive(Default, Debug, Clone, Copy)]
struct Closed {
    won: i64,
    lost: i64,
    won_amount: f64,
}

fn closed_from_staged(src: &Storage, config: &Config) -> BTreeMap<(String, NaiveDate), Closed> {
    let listing = Listing::of(src, config).unwrap();
    let staged = salesops::pipeline::stage(src, &listing, config).unwrap();
    let reps = &staged.get(&staging::reps::SPEC).valid;
    let mut rep_info = BTreeMap::new();
    for ((id, team), (hire, end)) in strs(reps, "rep_id")
        .into_iter()
        .zip(strs(reps, "team"))
        .zip(
            dates(reps, "hire_date")
                .into_iter()
                .zip(dates(reps, "end_date")),
        )
    {
        rep_info.insert(id.unwrap(), (team.unwrap(), hire.unwrap(), end));
    }
    let opps = &staged.get(&staging::opportunities::SPEC).valid;
    let as_of = NaiveDate::parse_from_str(AS_OF, "%Y-%m-%d").unwrap();
    let mut out: BTreeMap<(String, NaiveDate), Closed> = BTreeMap::new();
    let rows = strs(opps, "rep_id")
        .into_iter()
        .zip(strs(opps, "stage"))
        .zip(dates(opps, "created_date"))
        .zip(dates(opps, "close_date"))
        .zip(
            floats(opps, "amount")
                .into_iter()
                .zip(floats(opps, "fx_rate")),
        );
    for ((((rep, stage), created), close), (amount, rate)) in rows {
        let (rep, stage, created, close) = (
            rep.unwrap(),
            stage.unwrap(),
            created.unwrap(),
            close.unwrap(),
        );
        let won = match stage.as_str() {
            "Closed Won" => true,
            "Closed Lost" => false,
            _ => continue,
        };
        if created > as_of {
            continue;
        }
        let (team, hire, end) = &rep_info[&rep];
        let q = quarter_start(close);
        if *hire > quarter_end(q) || end.is_some_and(|e| e < q) {
            continue;
        }
        let amount = (amount.unwrap() * rate.unwrap() * 100.0).round() / 100.0;
        for scope_id in [team.clone(), "all".to_string()] {
            let c = out.entry((scope_id, q)).or_default();
            if won {
                c.won += 1;
                c.won_amount += amount;
            } else {
                c.lost += 1;
            }
        }
    }
    out
}

#[test]
fn team_and_company_kpis_add_up_the_staged_deals() {
    let (_s, src, _o, out) = generated();
    let config = Config::default();
    let expected = closed_from_staged(&src, &config);
    let kpis = mart(&out, "team_quarter_kpis");
    assert!(kpis.height() > 20, "enough rows: {}", kpis.height());
    let scope_ids = strs(&kpis, "scope_id");
    let starts = dates(&kpis, "quarter_start");
    let won = floats(&kpis, "won_count");
    let lost = floats(&kpis, "lost_count");
    let won_amount = floats(&kpis, "won_amount");
    let mut seen = 0;
    for i in 0..kpis.height() {
        let key = (scope_ids[i].clone().unwrap(), starts[i].unwrap());
        let want = expected.get(&key).copied().unwrap_or_default();
        seen += usize::from(expected.contains_key(&key));
        assert_eq!(won[i], Some(want.won as f64), "won_count {key:?}");
        assert_eq!(lost[i], Some(want.lost as f64), "lost_count {key:?}");
        let got = won_amount[i].unwrap();
        assert!(
            (got - want.won_amount).abs() <= 1e-6 * want.won_amount.max(1.0),
            "won_amount {key:?}: {got} vs {}",
            want.won_amount
        );
    }
    // Every closed deal's quarter is a covered one: nothing is left out.
    assert_eq!(
        seen,
        expected.len(),
        "team-quarters with deals, all in the mart"
    );
}

/// SPEC §4.2 in Rust: linear-interpolation quantile over a quarter's
/// non-null metrics, the rep's value a quarter before, the quadrant.
#[test]
fn trends_follow_their_definition_from_the_performance_rows() {
    let (_s, _src, _o, out) = generated();
    let config = Config::default();
    let perf = mart(&out, "rep_quarter_performance");
    let trends = mart(&out, "rep_quarter_trends");
    assert_eq!(perf.height(), trends.height());
    // Default trend metric: won_amount; peer group: the company.
    let reps = strs(&perf, "rep_id");
    let starts = dates(&perf, "quarter_start");
    let metric = floats(&perf, "won_amount");
    let mut by_quarter: BTreeMap<NaiveDate, Vec<f64>> = BTreeMap::new();
    let mut by_rep_quarter = BTreeMap::new();
    for i in 0..perf.height() {
        if let Some(m) = metric[i] {
            by_quarter.entry(starts[i].unwrap()).or_default().push(m);
        }
        by_rep_quarter.insert((reps[i].clone().unwrap(), starts[i].unwrap()), metric[i]);
    }
    let threshold = |values: &Vec<f64>| {
        let mut v = values.clone();
        v.sort_by(f64::total_cmp);
        let pos = config.top_quantile * (v.len() - 1) as f64;
        let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
        v[lo] + (v[hi] - v[lo]) * (pos - lo as f64)
    };
    let t_reps = strs(&trends, "rep_id");
    let t_starts = dates(&trends, "quarter_start");
    let t_threshold = floats(&trends, "peer_threshold");
    let t_quadrant = strs(&trends, "quadrant");
    let mut quadrants = 0;
    for i in 0..trends.height() {
        let (rep, q) = (t_reps[i].clone().unwrap(), t_starts[i].unwrap());
        let want = threshold(&by_quarter[&q]);
        let got = t_threshold[i].unwrap();
        assert!(
            (got - want).abs() <= 1e-9 * want.abs().max(1.0),
            "{rep} {q}"
        );
        let prev_q = quarter_start(q.pred_opt().unwrap());
        let m = by_rep_quarter[&(rep.clone(), q)];
        let prev = by_rep_quarter
            .get(&(rep.clone(), prev_q))
            .copied()
            .flatten();
        let expected = match (m, prev) {
            (Some(m), Some(p)) => Some(match (m >= want, m - p > 0.0) {
                (true, true) => "rising_star",
                (true, false) => "falling_star",
                (false, true) => "improving_laggard",
                (false, false) => "declining_laggard",
            }),
            _ => None,
        };
        quadrants += usize::from(expected.is_some());
        assert_eq!(t_quadrant[i].as_deref(), expected, "{rep} {q}");
    }
    assert!(
        quadrants > 50,
        "enough quadrants to mean something: {quadrants}"
    );
}

#[test]
fn ratios_are_fractions_and_the_sample_has_rejects() {
    let (_s, _src, _o, out) = generated();
    let perf = mart(&out, "rep_quarter_performance");
    let kpis = mart(&out, "team_quarter_kpis");
    for (df, c) in [
        (&perf, "win_rate"),
        (&perf, "selling_time_share"),
        (&kpis, "quota_attainment_rate"),
        (&kpis, "win_rate_value"),
    ] {
        let values: Vec<f64> = floats(df, c).into_iter().flatten().collect();
        assert!(!values.is_empty(), "{c}");
        assert!(values.iter().all(|v| (0.0..=1.0).contains(v)), "{c}");
    }
    // The sample has rejected rows of several kinds and synthetic histories.
    let m = published(&out);
    assert!(m.tables["opportunities"].rejected >= 4);
    assert!(m.synthesized_histories > 0);
}

#[test]
fn the_shipped_sample_data_is_what_generate_makes() {
    // sample_data/ was written by `salesops generate --output sample_data`
    // (scale 1, seed 42). Regenerating it gives the same tables: the same
    // files, and in each the same rows (CSV text as is; Parquet compared by
    // content, so a Parquet writer upgrade does not break the test).
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
        if name.ends_with(".parquet") {
            let read = |bytes: &[u8]| {
                ParquetReader::new(std::io::Cursor::new(bytes.to_vec()))
                    .finish()
                    .unwrap()
            };
            assert!(
                read(a).equals_missing(&read(b)),
                "{name} differs from a fresh generate"
            );
        } else {
            assert!(a == b, "{name} differs from a fresh generate");
        }
    }
}
