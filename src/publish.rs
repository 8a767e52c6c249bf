//! Write–audit–publish on object storage (SPEC §5), where nothing is
//! renamed atomically:
//!
//! 1. every mart file under `<mart>/run_id=<run_id>/` and the quarantine
//!    under `_rejected/run_id=<run_id>/` (new paths: readers never look there
//!    until step 3);
//! 2. `_runs/<run_id>/manifest.json`, listing every file with its rows,
//!    bytes and sha256, written only after all files exist;
//! 3. `_latest.json`, one small object overwritten in a single put: the
//!    only thing a reader follows.
//!
//! A run that stops before step 3 leaves the published run untouched.
//! Retention then deletes the oldest runs beyond `keep_runs`, never the
//! published one.

use std::collections::BTreeMap;

use bytes::Bytes;
use polars::prelude::*;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::calendar::AsOf;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::marts::Mart;
use crate::staging::{Staged, TableStats};
use crate::storage::Storage;

pub const LATEST: &str = "_latest.json";
pub const ROW_GROUP_ROWS: usize = 1_000_000;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FileEntry {
    pub path: String,
    pub rows: usize,
    pub bytes: usize,
    pub sha256: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ColumnEntry {
    pub name: String,
    #[serde(rename = "type")]
    pub dtype: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Dataset {
    pub files: Vec<FileEntry>,
    pub schema: Vec<ColumnEntry>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct InputEntry {
    pub table: String,
    pub path: String,
    pub size: u64,
    pub version: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct StageEntry {
    pub name: String,
    pub seconds: f64,
    pub rows: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    pub run_id: String,
    pub as_of: String,
    pub version: String,
    pub published_at: String,
    pub source: String,
    pub config: serde_json::Value,
    pub marts: BTreeMap<String, Dataset>,
    pub rejected: BTreeMap<String, Dataset>,
    pub inputs: Vec<InputEntry>,
    pub tables: BTreeMap<String, TableStats>,
    pub synthesized_histories: usize,
    /// Lead events whose type the config does not score (they count 0), by type.
    pub unknown_event_types: BTreeMap<String, usize>,
    pub stages: Vec<StageEntry>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Latest {
    pub run_id: String,
    pub manifest: String,
}

pub fn format_instant(as_of: &AsOf) -> String {
    as_of.instant.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

/// The same inputs, config, as_of and program version give the same run_id.
pub fn run_id(inputs: &[InputEntry], config: &Config, as_of: &AsOf) -> String {
    let mut h = Sha256::new();
    h.update(env!("CARGO_PKG_VERSION"));
    h.update(b"\0");
    for i in inputs {
        h.update(format!(
            "{}\0{}\0{}\0{}\0",
            i.table, i.path, i.size, i.version
        ));
    }
    h.update(serde_json::to_vec(config).expect("config serialises"));
    h.update(format_instant(as_of));
    let digest = format!("{:x}", h.finalize());
    format!("{}-{}", as_of.date().format("%Y%m%d"), &digest[..16])
}

/// The run `_latest.json` names, if any.
pub fn latest(output: &Storage) -> Result<Option<Latest>> {
    match output.get_opt(LATEST)? {
        None => Ok(None),
        Some(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|e| {
            Error::Storage(format!("{} is not valid JSON: {e}", output.display(LATEST)))
        }),
    }
}

pub fn read_manifest(output: &Storage, run_id: &str) -> Result<Manifest> {
    let path = manifest_path(run_id);
    let bytes = output.get(&path)?;
    serde_json::from_slice(&bytes)
        .map_err(|e| Error::Storage(format!("{} is not a manifest: {e}", output.display(&path))))
}

pub fn manifest_path(run_id: &str) -> String {
    format!("_runs/{run_id}/manifest.json")
}

/// Parquet as SPEC §5 asks: zstd, statistics, row groups of at most 1,000,000 rows.
pub fn parquet_bytes(df: &mut DataFrame) -> Result<Vec<u8>> {
    let mut buf = Vec::new();
    ParquetWriter::new(&mut buf)
        .with_compression(ParquetCompression::Zstd(None))
        .with_statistics(StatisticsOptions::full())
        .with_row_group_size(Some(ROW_GROUP_ROWS))
        .finish(df)?;
    Ok(buf)
}

fn schema_of(df: &DataFrame) -> Vec<ColumnEntry> {
    df.schema()
        .iter()
        .map(|(name, dtype)| ColumnEntry {
            name: name.to_string(),
            dtype: dtype.to_string(),
        })
        .collect()
}

fn write_dataset(output: &Storage, path: &str, df: &mut DataFrame) -> Result<Dataset> {
    let bytes = parquet_bytes(df)?;
    let entry = FileEntry {
        path: path.to_string(),
        rows: df.height(),
        bytes: bytes.len(),
        sha256: format!("{:x}", Sha256::digest(&bytes)),
    };
    output.put(path, Bytes::from(bytes))?;
    Ok(Dataset {
        files: vec![entry],
        schema: schema_of(df),
    })
}

/// Writes the quarantine of every table (empty ones too, so that a loader
/// always finds the same files).
pub fn write_quarantine(
    output: &Storage,
    run_id: &str,
    staged: &Staged,
) -> Result<BTreeMap<String, Dataset>> {
    let mut out = BTreeMap::new();
    for t in staged.tables() {
        let path = format!("_rejected/run_id={run_id}/{}.parquet", t.name);
        let mut df = t.rejected.clone();
        out.insert(t.name.to_string(), write_dataset(output, &path, &mut df)?);
    }
    Ok(out)
}

pub struct PublishInput<'a> {
    pub run_id: &'a str,
    pub as_of: &'a AsOf,
    pub config: &'a Config,
    pub source: &'a str,
    pub inputs: Vec<InputEntry>,
    pub staged: &'a Staged,
    pub rejected: BTreeMap<String, Dataset>,
    pub synthesized_histories: usize,
    pub unknown_event_types: BTreeMap<String, usize>,
    pub marts: Vec<Mart>,
    pub stages: Vec<StageEntry>,
}

/// Steps 1–3 for the marts, then retention. The quarantine is already written.
pub fn publish(output: &Storage, p: PublishInput<'_>) -> Result<Manifest> {
    let mut marts = BTreeMap::new();
    for mut m in p.marts {
        let path = format!("{}/run_id={}/part-0.parquet", m.spec.name, p.run_id);
        marts.insert(
            m.spec.name.to_string(),
            write_dataset(output, &path, &mut m.frame)?,
        );
    }
    let mut tables = BTreeMap::new();
    for t in p.staged.tables() {
        tables.insert(t.name.to_string(), t.stats.clone());
    }
    let manifest = Manifest {
        run_id: p.run_id.to_string(),
        as_of: format_instant(p.as_of),
        version: env!("CARGO_PKG_VERSION").to_string(),
        published_at: chrono::Utc::now()
            .format("%Y-%m-%dT%H:%M:%S%.6fZ")
            .to_string(),
        source: p.source.to_string(),
        config: serde_json::to_value(p.config).expect("config serialises"),
        marts,
        rejected: p.rejected,
        inputs: p.inputs,
        tables,
        synthesized_histories: p.synthesized_histories,
        unknown_event_types: p.unknown_event_types,
        stages: p.stages,
    };
    let manifest_path = manifest_path(p.run_id);
    output.put(
        &manifest_path,
        Bytes::from(serde_json::to_vec_pretty(&manifest).expect("manifest serialises")),
    )?;
    let latest = Latest {
        run_id: p.run_id.to_string(),
        manifest: manifest_path,
    };
    output.put(
        LATEST,
        Bytes::from(serde_json::to_vec_pretty(&latest).expect("serialises")),
    )?;
    apply_retention(output, p.config.keep_runs as usize, p.run_id)?;
    Ok(manifest)
}

/// Keeps the newest `keep_runs` published runs (by `published_at`) and the
/// current one; deletes every other run's manifest, mart files and
/// quarantine, including leftovers of runs that stopped before publishing.
pub fn apply_retention(output: &Storage, keep_runs: usize, current: &str) -> Result<()> {
    let mut runs: Vec<(String, String)> = Vec::new();
    for (path, _) in output.list("_runs")? {
        if let Some(run_id) = path
            .strip_prefix("_runs/")
            .and_then(|p| p.strip_suffix("/manifest.json"))
        {
            if let Ok(m) = read_manifest(output, run_id) {
                runs.push((m.published_at, run_id.to_string()));
            }
        }
    }
    runs.sort();
    runs.reverse();
    let keep: std::collections::BTreeSet<String> = runs
        .iter()
        .take(keep_runs)
        .map(|(_, id)| id.clone())
        .chain([current.to_string()])
        .collect();

    // Every `run_id=` folder and `_runs/<id>` not kept goes.
    let mut doomed: std::collections::BTreeSet<String> = std::collections::BTreeSet::new();
    for (path, _) in output.list("")? {
        let mut parts = path.split('/');
        let (Some(first), Some(second)) = (parts.next(), parts.next()) else {
            continue;
        };
        let run_id = if first == "_runs" {
            Some(second)
        } else {
            second.strip_prefix("run_id=")
        };
        if let Some(id) = run_id {
            if !keep.contains(id) {
                doomed.insert(format!("{first}/{second}"));
            }
        }
    }
    // Manifests first, so a half-deleted run is never listed as a run.
    let (manifests, data): (Vec<_>, Vec<_>) =
        doomed.into_iter().partition(|p| p.starts_with("_runs/"));
    for prefix in manifests.iter().chain(data.iter()) {
        output.delete_prefix(prefix)?;
    }
    Ok(())
}
