//! A small harness: run the pipeline into a temporary folder, read the
//! published marts back from the files the manifest names, and compare
//! values with a float tolerance.

use std::collections::BTreeMap;
use std::io::Cursor;

use polars::prelude::*;
use salesops::calendar::AsOf;
use salesops::config::Config;
use salesops::pipeline::{run, Outcome, RunOptions};
use salesops::publish::{self, Manifest};
use salesops::storage::Storage;

/// The name of every published mart (the one list, `marts::MARTS`).
pub fn mart_names() -> impl Iterator<Item = &'static str> {
    salesops::marts::MARTS.iter().map(|m| m.name)
}

pub fn local(path: &std::path::Path) -> Storage {
    Storage::open(path.to_str().unwrap(), &BTreeMap::new(), true).unwrap()
}

/// Runs a fixture's pipeline file into a fresh temporary output.
pub fn run_fixture(pipeline: &str, as_of_date: &str) -> (tempfile::TempDir, Storage) {
    let config = Config::from_file(pipeline).unwrap();
    let source = local(std::path::Path::new(&config.source));
    let dir = tempfile::tempdir().unwrap();
    let out = local(dir.path());
    run_into(&config, &source, &out, as_of_date, false).unwrap();
    (dir, out)
}

/// Copies a fixture folder (to change a file of it in a test).
pub fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// Every file under `dir` (relative path, bytes), sorted by path.
pub fn files_under(dir: &std::path::Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push((
                    p.strip_prefix(dir).unwrap().display().to_string(),
                    std::fs::read(&p).unwrap(),
                ));
            }
        }
    }
    out.sort();
    out
}

/// Every object of a store (relative path, bytes), sorted by path.
pub fn files_of_store(out: &Storage) -> Vec<(String, bytes::Bytes)> {
    out.list("")
        .unwrap()
        .into_iter()
        .map(|(p, _)| {
            let b = out.get(&p).unwrap();
            (p, b)
        })
        .collect()
}

pub fn as_of(date: &str) -> AsOf {
    AsOf::parse(date).unwrap()
}

/// Runs a pipeline file over `source` into `out`.
pub fn run_into(
    config: &Config,
    source: &Storage,
    out: &Storage,
    as_of_date: &str,
    force: bool,
) -> salesops::Result<Outcome> {
    run(
        config,
        source,
        out,
        &RunOptions {
            as_of: as_of(as_of_date),
            force,
        },
    )
}

pub fn published(out: &Storage) -> Manifest {
    let latest = publish::latest(out).unwrap().expect("a published run");
    publish::read_manifest(out, &latest.run_id).unwrap()
}

pub fn read_parquet(out: &Storage, path: &str) -> DataFrame {
    let bytes = out.get(path).unwrap();
    ParquetReader::new(Cursor::new(bytes)).finish().unwrap()
}

/// A published mart, read back from its files.
pub fn mart(out: &Storage, name: &str) -> DataFrame {
    let m = published(out);
    let files = &m
        .marts
        .get(name)
        .unwrap_or_else(|| panic!("mart {name} published"))
        .files;
    let mut df = read_parquet(out, &files[0].path);
    for f in &files[1..] {
        df.vstack_mut(&read_parquet(out, &f.path)).unwrap();
    }
    df
}

#[derive(Debug, Clone, Copy)]
pub enum V {
    F(f64),
    I(i64),
    B(bool),
    S(&'static str),
    /// A date, as YYYY-MM-DD.
    D(&'static str),
    Null,
}

/// Index of the row whose `keys` columns have the given string values.
pub fn find(df: &DataFrame, keys: &[(&str, &str)]) -> usize {
    let mut hits = Vec::new();
    'rows: for i in 0..df.height() {
        for (k, v) in keys {
            let cell = df.column(k).unwrap().get(i).unwrap();
            let text = match cell {
                AnyValue::String(s) => s.to_string(),
                AnyValue::StringOwned(s) => s.to_string(),
                other => other.to_string(),
            };
            if text != *v {
                continue 'rows;
            }
        }
        hits.push(i);
    }
    assert_eq!(
        hits.len(),
        1,
        "exactly one row with {keys:?}, found {}",
        hits.len()
    );
    hits[0]
}

pub fn check_row(df: &DataFrame, keys: &[(&str, &str)], expected: &[(&str, V)]) {
    let i = find(df, keys);
    for (name, want) in expected {
        let got = df
            .column(name)
            .unwrap_or_else(|_| panic!("column {name}"))
            .get(i)
            .unwrap();
        let ok = match (want, &got) {
            (V::Null, AnyValue::Null) => true,
            (V::F(w), g) => {
                g.extract::<f64>()
                    .is_some_and(|g| (g - w).abs() <= 1e-9 * w.abs().max(1.0))
                    && !g.is_null()
            }
            (V::I(w), g) => !g.is_null() && g.extract::<i64>() == Some(*w),
            (V::B(w), AnyValue::Boolean(g)) => g == w,
            (V::S(w), AnyValue::String(g)) => g == w,
            (V::D(w), AnyValue::Date(_)) => got.to_string() == *w,
            _ => false,
        };
        assert!(ok, "{keys:?} column {name}: expected {want:?}, got {got:?}");
    }
}

/// On a cloud store: the hand fixture uploaded to `src` and published to
/// `out` gives the marts of a local run; a rerun finds nothing to do; and
/// `--force` publishes a second attempt through a conditional put.
pub fn check_round_trip(config: &Config, src: &Storage, out: &Storage) {
    let hand = std::path::Path::new("tests/fixtures/hand");
    super::s3::upload(hand, "", src);
    // A marker file in a table prefix is ignored, as on a Spark export.
    src.put("reps/_SUCCESS", bytes::Bytes::new()).unwrap();
    let run_id = match run_into(config, src, out, "2024-09-15", false).unwrap() {
        Outcome::Published(m) => m.run_id,
        other => panic!("{other:?}"),
    };
    // A rerun sees the same ETags: nothing to do.
    assert!(matches!(
        run_into(config, src, out, "2024-09-15", false).unwrap(),
        Outcome::UpToDate { .. }
    ));
    match run_into(config, src, out, "2024-09-15", true).unwrap() {
        Outcome::Published(m) => assert_eq!(m.run_id, format!("{run_id}.2")),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        publish::latest(out).unwrap().unwrap().run_id,
        format!("{run_id}.2")
    );
    let local_dir = tempfile::tempdir().unwrap();
    let local_out = local(local_dir.path());
    run_into(config, &local(hand), &local_out, "2024-09-15", false).unwrap();
    for name in mart_names() {
        assert_frames_close(name, &mart(out, name), &mart(&local_out, name));
    }
}

/// Two frames hold the same cells: the same columns and rows, floats within
/// 1e-9 relative (polars may sum a group's floats in another order from one
/// run to the next).
pub fn assert_frames_close(what: &str, a: &DataFrame, b: &DataFrame) {
    assert_eq!(
        a.get_column_names(),
        b.get_column_names(),
        "{what}: columns"
    );
    assert_eq!(a.height(), b.height(), "{what}: rows\n{a}\n{b}");
    for c in a.columns() {
        let other = b.column(c.name()).unwrap();
        if c.dtype().is_float() {
            let (x, y) = (c.f64().unwrap(), other.f64().unwrap());
            for (i, (x, y)) in x.iter().zip(y.iter()).enumerate() {
                let ok = match (x, y) {
                    (Some(x), Some(y)) => (x - y).abs() <= 1e-9 * x.abs().max(y.abs()).max(1.0),
                    (None, None) => true,
                    _ => false,
                };
                assert!(ok, "{what}: {} row {i}: {x:?} vs {y:?}", c.name());
            }
        } else {
            assert!(
                c.as_materialized_series()
                    .equals_missing(other.as_materialized_series()),
                "{what}: column {} differs",
                c.name()
            );
        }
    }
}
