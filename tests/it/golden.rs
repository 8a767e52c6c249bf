//! Refactoring guard (issue 9): the marts of `sample_data/` and of
//! `generate --scale 3 --seed 9` equal, cell for cell (floats within 1e-9
//! relative), the marts kept under `tests/golden/`.
//!
//! The golden files are not hand-worked expectations (those live in
//! hand_fixture.rs and friends): they are the output of the code before a
//! change, so that a change meant to keep behaviour can show it did. When a
//! SPEC change is meant to move numbers, rewrite them on purpose with
//! `SALESOPS_BLESS=1 cargo test golden` and review the diff of the marts.

use std::path::{Path, PathBuf};

use polars::prelude::*;
use salesops::config::Config;
use salesops::generate::{generate, GenerateOptions};
use salesops::marts::MARTS;
use salesops::storage::Storage;

use super::harness::{assert_frames_close, local, mart, run_into};

fn check_against_golden(case: &str, source: &Storage, as_of: &str) {
    let out_dir = tempfile::tempdir().unwrap();
    let out = local(out_dir.path());
    run_into(&Config::default(), source, &out, as_of, false).unwrap();
    let golden = PathBuf::from("tests/golden").join(case);
    let bless = std::env::var_os("SALESOPS_BLESS").is_some();
    for spec in MARTS {
        let mut got = mart(&out, spec.name);
        let path = golden.join(format!("{}.parquet", spec.name));
        if bless {
            std::fs::create_dir_all(&golden).unwrap();
            let file = std::fs::File::create(&path).unwrap();
            ParquetWriter::new(file).finish(&mut got).unwrap();
            continue;
        }
        let file = std::fs::File::open(&path)
            .unwrap_or_else(|e| panic!("{}: {e} (bless to create it)", path.display()));
        let want = ParquetReader::new(file).finish().unwrap();
        assert_frames_close(&format!("{case}/{}", spec.name), &got, &want);
    }
}

#[test]
fn golden_marts_of_the_sample_data() {
    check_against_golden(
        "sample_data",
        &local(Path::new("sample_data")),
        "2026-11-30",
    );
}

#[test]
fn golden_marts_of_generated_data() {
    let src_dir = tempfile::tempdir().unwrap();
    let src = local(src_dir.path());
    generate(
        &src,
        &GenerateOptions {
            scale: 3.0,
            seed: 9,
            all_parquet: false,
            preset: None,
        },
    )
    .unwrap();
    check_against_golden("scale3_seed9", &src, "2026-11-30");
}
