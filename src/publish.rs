//! Write–audit–publish on object storage (SPEC §5, §5.1), where nothing is
//! renamed atomically and two runs may write to one output at once:
//!
//! 0. the run claims an attempt of its run_id (`<id>`, `<id>.2`, ...) by
//!    creating `_runs/<attempt>/claim.json` only if absent, so every run
//!    writes under paths of its own, a `--force` rerun included;
//! 1. every mart file under `<mart>/run_id=<attempt>/` and the quarantine
//!    under `_rejected/run_id=<attempt>/` (new paths: readers never look
//!    there until step 4);
//! 2. `_runs/<attempt>/report.html`, the run's report, rendered from the
//!    mart files of step 1 as written (src/report, called by the pipeline
//!    between `write_mart` and `publish`);
//! 3. `_runs/<attempt>/manifest.json`, listing every file with its rows,
//!    bytes and sha256, the report among them, written only after all
//!    files exist;
//! 4. `_latest.json`, replaced by compare-and-swap against the version read
//!    when the run started: the only thing a reader follows. A run that
//!    finds it changed publishes nothing and stops with exit 4;
//! 5. `_runs/<attempt>/published.json`, the mark retention counts runs by.
//!
//! A run that stops before step 4 leaves the published run untouched.
//! Retention then deletes old runs, never the published one, the newest
//! `keep_runs` published ones, or a run that may still be writing.

use std::collections::BTreeMap;

use bytes::Bytes;
use polars::prelude::*;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::calendar::AsOf;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::marts::Mart;
use crate::parquet::parquet_bytes;
use crate::staging::{Staged, TableStats};
use crate::storage::{Storage, Version};

pub const LATEST: &str = "_latest.json";

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
pub struct InputFile {
    pub table: String,
    pub path: String,
    pub size: u64,
    pub version: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Step {
    pub name: String,
    /// Wall time in milliseconds.
    pub ms: u64,
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
    pub inputs: Vec<InputFile>,
    pub tables: BTreeMap<String, TableStats>,
    pub synthesized_histories: usize,
    /// Lead events whose type the config does not score (they count 0), by type.
    pub unknown_event_types: BTreeMap<String, usize>,
    /// Each step of the run (staging, quarantine, intermediate, every mart)
    /// with its time and rows (absent from manifests of older versions).
    #[serde(default)]
    pub steps: Vec<Step>,
    /// `_runs/<run_id>/report.html` (absent from manifests of older versions).
    #[serde(default)]
    pub report: Option<FileEntry>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Latest {
    pub run_id: String,
    pub manifest: String,
}

/// The same inputs, config, as_of and program version give the same run_id.
pub fn run_id(inputs: &[InputFile], config: &Config, as_of: &AsOf) -> String {
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
    h.update(as_of.format());
    let digest = format!("{:x}", h.finalize());
    format!("{}-{}", as_of.date().format("%Y%m%d"), &digest[..16])
}

/// A published run_id, or an attempt of it (`<id>.2`), without the attempt.
pub fn base_run_id(attempt: &str) -> &str {
    match attempt.rsplit_once('.') {
        Some((base, n)) if n.parse::<u32>().is_ok() => base,
        _ => attempt,
    }
}

/// `_latest.json` as read when a run starts: what it named and the version
/// the run's compare-and-swap expects.
#[derive(Debug, Clone)]
pub struct LatestAtStart {
    pub latest: Option<Latest>,
    version: Option<Version>,
}

pub fn read_latest(output: &Storage) -> Result<LatestAtStart> {
    match output.get_versioned(LATEST)? {
        None => Ok(LatestAtStart {
            latest: None,
            version: None,
        }),
        Some((bytes, version)) => Ok(LatestAtStart {
            latest: Some(parse_latest(output, &bytes)?),
            version: Some(version),
        }),
    }
}

fn parse_latest(output: &Storage, bytes: &[u8]) -> Result<Latest> {
    serde_json::from_slice(bytes).map_err(|e| {
        Error::storage(
            format!("{} is not a valid pointer", output.display(LATEST)),
            e,
        )
    })
}

/// The run `_latest.json` names, if any.
pub fn latest(output: &Storage) -> Result<Option<Latest>> {
    Ok(read_latest(output)?.latest)
}

pub fn read_manifest(output: &Storage, run_id: &str) -> Result<Manifest> {
    let path = manifest_path(run_id);
    parse_manifest(output, &path, &output.get(&path)?)
}

/// The manifest of `run_id`, or None when it has none.
pub fn find_manifest(output: &Storage, run_id: &str) -> Result<Option<Manifest>> {
    let path = manifest_path(run_id);
    output
        .get_opt(&path)?
        .map(|bytes| parse_manifest(output, &path, &bytes))
        .transpose()
}

fn parse_manifest(output: &Storage, path: &str, bytes: &[u8]) -> Result<Manifest> {
    serde_json::from_slice(bytes)
        .map_err(|e| Error::storage(format!("{} is not a manifest", output.display(path)), e))
}

pub fn manifest_path(run_id: &str) -> String {
    format!("_runs/{run_id}/manifest.json")
}

fn claim_path(attempt: &str) -> String {
    format!("_runs/{attempt}/claim.json")
}

fn published_mark_path(attempt: &str) -> String {
    format!("_runs/{attempt}/published.json")
}

/// Claims the first free attempt of `run_id`: `<id>`, then `<id>.2`, `<id>.3`,
/// ... The claim is a create-if-absent, so two runs never get the same one.
/// An attempt with a manifest but no claim (written before claims existed)
/// is skipped too.
pub fn claim_attempt(output: &Storage, run_id: &str) -> Result<String> {
    let claimed_at = chrono::Utc::now()
        .format("%Y-%m-%dT%H:%M:%S%.6fZ")
        .to_string();
    for n in 1u32.. {
        let attempt = if n == 1 {
            run_id.to_string()
        } else {
            format!("{run_id}.{n}")
        };
        if output.get_opt(&manifest_path(&attempt))?.is_some() {
            continue;
        }
        let claim = serde_json::json!({"run_id": attempt, "claimed_at": claimed_at});
        if output.create(&claim_path(&attempt), Bytes::from(claim.to_string()))? {
            return Ok(attempt);
        }
    }
    unreachable!("u32 attempts")
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

/// Writes `bytes` at `path` and describes them for the manifest.
pub fn write_file(output: &Storage, path: &str, bytes: Vec<u8>, rows: usize) -> Result<FileEntry> {
    let entry = FileEntry {
        path: path.to_string(),
        rows,
        bytes: bytes.len(),
        sha256: format!("{:x}", Sha256::digest(&bytes)),
    };
    output.put(path, Bytes::from(bytes))?;
    Ok(entry)
}

fn write_dataset(output: &Storage, path: &str, df: &mut DataFrame) -> Result<Dataset> {
    let bytes = parquet_bytes(df)?;
    Ok(Dataset {
        files: vec![write_file(output, path, bytes, df.height())?],
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

/// Step 1 for a mart: its file under `<mart>/run_id=<attempt>/`. The
/// pipeline writes each mart on a thread of its own as soon as it is
/// built, while the others are built (one file's zstd and statistics are
/// mostly one core's work).
pub fn write_mart(output: &Storage, run_id: &str, mart: &Mart) -> Result<(String, Dataset)> {
    let path = format!("{}/run_id={run_id}/part-0.parquet", mart.spec.name);
    let written = write_dataset(output, &path, &mut mart.frame.clone())?;
    Ok((mart.spec.name.to_string(), written))
}

pub struct ManifestInput<'a> {
    /// The attempt this run claimed.
    pub run_id: &'a str,
    pub as_of: &'a AsOf,
    pub config: &'a Config,
    pub source: &'a str,
    pub inputs: Vec<InputFile>,
    /// Each table's counts (`Staged::stats`).
    pub tables: BTreeMap<String, TableStats>,
    pub rejected: BTreeMap<String, Dataset>,
    pub synthesized_histories: usize,
    pub unknown_event_types: BTreeMap<String, usize>,
    /// The marts as `write_mart` wrote them.
    pub marts: BTreeMap<String, Dataset>,
    pub steps: Vec<Step>,
}

/// The run's manifest, not yet written and without its report.
pub fn manifest(p: ManifestInput<'_>) -> Manifest {
    Manifest {
        run_id: p.run_id.to_string(),
        as_of: p.as_of.format(),
        version: env!("CARGO_PKG_VERSION").to_string(),
        published_at: chrono::Utc::now()
            .format("%Y-%m-%dT%H:%M:%S%.6fZ")
            .to_string(),
        source: p.source.to_string(),
        config: serde_json::to_value(p.config).expect("config serialises"),
        marts: p.marts,
        rejected: p.rejected,
        inputs: p.inputs,
        tables: p.tables,
        synthesized_histories: p.synthesized_histories,
        unknown_event_types: p.unknown_event_types,
        steps: p.steps,
        report: None,
    }
}

/// Steps 3–5, then retention: every file the manifest lists is written.
/// `latest_at_start` is `_latest.json` when the run started: the pointer
/// is replaced only if it is still that.
pub fn publish(
    output: &Storage,
    manifest: Manifest,
    latest_at_start: &LatestAtStart,
    config: &Config,
) -> Result<Manifest> {
    let run_id = manifest.run_id.as_str();
    let manifest_path = manifest_path(run_id);
    output.put(
        &manifest_path,
        Bytes::from(serde_json::to_vec_pretty(&manifest).expect("manifest serialises")),
    )?;
    let latest = Latest {
        run_id: run_id.to_string(),
        manifest: manifest_path,
    };
    let swapped = output.replace_if(
        LATEST,
        Bytes::from(serde_json::to_vec_pretty(&latest).expect("serialises")),
        latest_at_start.version.as_ref(),
    )?;
    if !swapped {
        let winner = match output.get_opt(LATEST)? {
            Some(bytes) => parse_latest(output, &bytes)?.run_id,
            None => "(none: _latest.json was deleted)".to_string(),
        };
        return Err(Error::Conflict {
            run_id: run_id.to_string(),
            winner,
        });
    }
    // The run is published now; what follows is bookkeeping, and a failure
    // there is logged, not returned (a rerun would find nothing to do).
    let mark = serde_json::json!({"published_at": manifest.published_at}).to_string();
    if let Err(e) = output.put(&published_mark_path(run_id), Bytes::from(mark)) {
        // Without its mark the run is kept while `_latest.json` names it or
        // it is younger than the grace period, not as one of `keep_runs`.
        tracing::warn!(error = %e.report(), "The published mark was not written.");
    }
    let grace = chrono::Duration::milliseconds((config.retention_grace_hours * 3.6e6) as i64);
    if let Err(e) = apply_retention(output, config.keep_runs as usize, grace, chrono::Utc::now()) {
        tracing::warn!(error = %e.report(), "Retention did not finish; the next run retries it.");
    }
    Ok(manifest)
}

/// What retention found of one run attempt.
#[derive(Debug, Default)]
struct RunFolders {
    /// `<first>/<second>` prefixes that hold its objects.
    prefixes: std::collections::BTreeSet<String>,
    newest: Option<chrono::DateTime<chrono::Utc>>,
    /// When it was marked published.
    published: Option<chrono::DateTime<chrono::Utc>>,
}

/// Deletes every run attempt except: the one `_latest.json` names, the
/// newest `keep_runs` published ones, and any not marked published whose
/// newest object is younger than `grace` (a run still writing, one about to
/// replace the pointer, or one that lost a race a moment ago).
/// Returns the attempts deleted.
pub fn apply_retention(
    output: &Storage,
    keep_runs: usize,
    grace: chrono::Duration,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Vec<String>> {
    let mut runs: BTreeMap<String, RunFolders> = BTreeMap::new();
    for (path, meta) in output.list("")? {
        let mut parts = path.split('/');
        let (Some(first), Some(second)) = (parts.next(), parts.next()) else {
            continue;
        };
        let run_id = if first == "_runs" {
            Some(second)
        } else {
            second.strip_prefix("run_id=")
        };
        let Some(id) = run_id else { continue };
        let run = runs.entry(id.to_string()).or_default();
        run.prefixes.insert(format!("{first}/{second}"));
        run.newest = run.newest.max(Some(meta.last_modified));
        if path == published_mark_path(id) {
            run.published = Some(meta.last_modified);
        }
    }
    let mut keep: std::collections::BTreeSet<String> = std::collections::BTreeSet::new();
    if let Some(latest) = latest(output)? {
        keep.insert(latest.run_id);
    }
    let mut published: Vec<(chrono::DateTime<chrono::Utc>, &String)> = runs
        .iter()
        .filter_map(|(id, r)| r.published.map(|t| (t, id)))
        .collect();
    published.sort();
    keep.extend(
        published
            .iter()
            .rev()
            .take(keep_runs)
            .map(|(_, id)| (*id).clone()),
    );
    // A run not marked published may still be writing (or about to replace
    // the pointer): it is spared until its newest object is `grace` old.
    for (id, r) in &runs {
        if r.published.is_none() && r.newest.is_some_and(|t| t > now - grace) {
            keep.insert(id.clone());
        }
    }
    let mut deleted = Vec::new();
    for (id, r) in &runs {
        if keep.contains(id) {
            continue;
        }
        // The manifest and the mark first, so a half-deleted run is never
        // taken for a published one; the claim last, so no new run claims
        // this attempt while its files are still there.
        output.delete(&published_mark_path(id))?;
        output.delete(&manifest_path(id))?;
        for prefix in r.prefixes.iter().filter(|p| !p.starts_with("_runs/")) {
            output.delete_prefix(prefix)?;
        }
        output.delete_prefix(&format!("_runs/{id}"))?;
        deleted.push(id.clone());
    }
    Ok(deleted)
}
