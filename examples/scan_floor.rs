//! The scan floor for `benches/bench.sh`: the time polars takes to read
//! every column of every input file once, the least any pipeline over these
//! files could take. Prints the seconds, one number.
//!
//!   cargo run --release --example scan_floor -- /tmp/salesops-bench/data-33

use std::path::{Path, PathBuf};
use std::time::Instant;

use polars::prelude::*;

fn data_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            data_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "parquet" || e == "csv") {
            out.push(p);
        }
    }
}

fn main() -> PolarsResult<()> {
    let dir = std::env::args().nth(1).expect("usage: scan_floor DATA_DIR");
    let mut files = Vec::new();
    data_files(Path::new(&dir), &mut files);
    let started = Instant::now();
    let mut rows = 0;
    // All files at once, as one plan each, collected together: every
    // column is read and decoded, nothing else is done.
    // The generator writes a few hand-made rows as CSV: read as records.
    for p in files
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "csv"))
    {
        let mut reader = csv::Reader::from_path(p).expect("a readable CSV file");
        rows += reader.records().count();
    }
    let plans: Vec<LazyFrame> = files
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "parquet"))
        .map(|p| {
            let path = PlRefPath::from(p.to_str().expect("UTF-8 path"));
            LazyFrame::scan_parquet(path, Default::default())
        })
        .collect::<PolarsResult<_>>()?;
    let plans = plans.into_iter().map(|lf| lf.logical_plan).collect();
    for df in LazyFrame::collect_all_with_engine(plans, Engine::Auto, OptFlags::default())? {
        rows += df.height();
    }
    let seconds = started.elapsed().as_secs_f64();
    eprintln!("{} files, {rows} rows", files.len());
    println!("{seconds:.3}");
    Ok(())
}
