//! One run, start to finish: stage -> intermediate -> marts -> publish, with
//! a timing per stage for the log and the manifest.

use std::collections::BTreeMap;
use std::time::Instant;

use tracing::{info, warn};

use crate::allocator::{self, Phase};
use crate::calendar::AsOf;
use crate::config::Config;
use crate::error::Result;
use crate::intermediate::Models;
use crate::marts;
use crate::publish::{self, InputFile, Manifest, ManifestInput, Step};
use crate::report;
use crate::staging::{self, Listing, Staged};
use crate::storage::{Access, Storage};

#[derive(Debug, Clone)]
pub struct RunOptions {
    pub as_of: AsOf,
    /// Recompute and republish even when this run_id is already published.
    pub force: bool,
}

#[derive(Debug)]
pub enum Outcome {
    Published(Box<Manifest>),
    /// `_latest.json` already names this run_id: nothing was written.
    UpToDate {
        run_id: String,
    },
}

/// Fingerprints of the listed input files (no reads), so a rerun with
/// unchanged inputs can stop before doing any work.
pub fn input_files(listing: &Listing) -> Vec<InputFile> {
    listing
        .all()
        .into_iter()
        .map(|(table, f)| InputFile {
            table: table.to_string(),
            path: f.path,
            size: f.size,
            version: f.version,
        })
        .collect()
}

/// The config with what it reads from the export itself: the stages of a
/// preset's `[stages_from]` when the source has that object (SPEC §1.2).
pub fn with_export_config(source: &Storage, listing: &Listing, config: &Config) -> Result<Config> {
    let mut config = config.clone();
    if let Some(stages) =
        staging::mapping::stages_from_export(source, &config, listing.stages_files())?
    {
        info!(stages = stages.len(), "Stages read from the export.");
        config.stages = stages;
    }
    config.stages_from = None;
    Ok(config)
}

/// Opens the pipeline's source and output with its `[storage]` settings.
pub fn open_storage(config: &Config) -> Result<(Storage, Storage)> {
    Ok((
        open_source(config)?,
        open(config, &config.output, Access::Write)?,
    ))
}

/// Opens the pipeline's source with its `[storage]` settings.
pub fn open_source(config: &Config) -> Result<Storage> {
    open(config, &config.source, Access::Read)
}

/// Opens the pipeline's output to read what it published.
pub fn open_published(config: &Config) -> Result<Storage> {
    open(config, &config.output, Access::Read)
}

fn open(config: &Config, url: &str, access: Access) -> Result<Storage> {
    Storage::open_with(url, &config.storage_options, &config.storage, access)
}

/// The steps of a run with their timings, for the log and the manifest.
struct StepTimings(Vec<Step>);

impl StepTimings {
    fn record(&mut self, name: &str, started: Instant, rows: usize) {
        let ms = crate::millis_since(started);
        info!(step = name, rows, ms, "Step finished.");
        self.0.push(Step {
            name: name.to_string(),
            ms,
            rows,
        });
    }
}

/// Every mart, built and checked (`marts::build_all_then`), and its file
/// (publish step 1), each written on a thread of its own as soon as the
/// mart is built, while the others are built: at 10x the ten files took
/// 0.65 s to encode and write once all were built. A run whose marts fail
/// stops when the files started are written: they are under its own
/// attempt's paths, which nothing published names.
fn build_and_write_marts(
    models: &mut Models,
    config: &Config,
    output: &Storage,
    run_id: &str,
) -> Result<(Vec<marts::Mart>, BTreeMap<String, publish::Dataset>)> {
    std::thread::scope(|s| {
        let writes = std::sync::Mutex::new(Vec::new());
        let write = |mart: &marts::Mart| {
            let mart = mart.clone();
            let handle = s.spawn(move || publish::write_mart(output, run_id, &mart));
            writes
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(handle);
        };
        let built = marts::build_all_then(models, config, &write);
        let written = writes
            .into_inner()
            .unwrap_or_else(|e| e.into_inner())
            .into_iter()
            .map(crate::joined)
            .collect::<Result<BTreeMap<_, _>>>();
        Ok((built?, written?))
    })
}

/// Stages every table and checks the rep levels against the comp plans.
pub fn stage(source: &Storage, listing: &Listing, config: &Config) -> Result<Staged> {
    allocator::entering(Phase::Staging);
    let staged = staging::stage_all(source, listing, config);
    allocator::entering(Phase::Building {
        staged_rows: staged.as_ref().map_or(0, Staged::rows_read),
    });
    let staged = staged?;
    let levels = staged
        .get(&staging::reps::SPEC)
        .valid
        .column("level")?
        .str()?
        .clone();
    let mut distinct: Vec<&str> = levels.iter().flatten().collect();
    distinct.sort_unstable();
    distinct.dedup();
    config.check_levels(distinct)?;
    Ok(staged)
}

pub fn run(
    config: &Config,
    source: &Storage,
    output: &Storage,
    opts: &RunOptions,
) -> Result<Outcome> {
    let mut steps = StepTimings(Vec::new());
    let started = Instant::now();
    // Read before anything else: the pointer is replaced at the end only if
    // no other run replaced it meanwhile (SPEC §5.1).
    let latest_at_start = publish::read_latest(output)?;
    // One listing: the tables' files and the export's own config.
    let listing = Listing::of(source, config)?;
    let config = &with_export_config(source, &listing, config)?;
    let inputs = input_files(&listing);
    let run_id = publish::run_id(&inputs, config, &opts.as_of);
    if !opts.force {
        if let Some(latest) = &latest_at_start.latest {
            if publish::base_run_id(&latest.run_id) == run_id {
                info!(
                    run_id,
                    "Already published with the same inputs and config; nothing to do."
                );
                return Ok(Outcome::UpToDate {
                    run_id: latest.run_id.clone(),
                });
            }
        }
    }
    info!(run_id, as_of = %opts.as_of.format(), source = source.url(), output = output.url(), "Run started.");

    let staged = stage(source, &listing, config)?;
    steps.record("staging", started, staged.rows_read());

    // The quarantine is written even when the run then stops, so the analyst
    // can see why; it is not published until the manifest names it.
    // Every path this run writes is its attempt's own, claimed just before
    // the first write (a run that stops in staging writes nothing).
    let run_id = publish::claim_attempt(output, &run_id)?;
    let started = Instant::now();
    let rejected = publish::write_quarantine(output, &run_id, &staged)?;
    let rejected_rows: usize = staged.tables().iter().map(|t| t.stats.rejected).sum();
    steps.record("quarantine", started, rejected_rows);
    for t in staged.tables() {
        if t.stats.rejected > 0 {
            warn!(table = t.name, rejected = t.stats.rejected, reasons = ?t.stats.reasons, "Rows rejected to the quarantine.");
        }
    }
    staged.check_reject_ratios(config)?;

    let started = Instant::now();
    let mut intermediate = Models::build(&staged, config, opts.as_of)?;
    steps.record("intermediate", started, intermediate.synthesized_histories);
    // From here the run needs only the tables' counts: the staged rows are
    // let go of, so that what the models no longer hold (the activities,
    // once performance is built) is freed.
    let table_stats = staged.stats();
    drop(staged);

    let (built, marts_written) = build_and_write_marts(&mut intermediate, config, output, &run_id)?;
    for m in &built {
        steps.0.push(Step {
            name: format!("mart:{}", m.spec.name),
            ms: m.ms,
            rows: m.frame.height(),
        });
    }

    let started = Instant::now();
    let mart_rows: usize = built.iter().map(|m| m.frame.height()).sum();
    // The publish stage's own timing cannot be inside the manifest it
    // writes; it is logged. The marts' files are written by now.
    let mut manifest = publish::manifest(ManifestInput {
        run_id: &run_id,
        as_of: &opts.as_of,
        config,
        source: source.url(),
        inputs,
        tables: table_stats,
        rejected,
        synthesized_histories: intermediate.synthesized_histories,
        unknown_event_types: marts::lead_scores::unknown_event_types(&intermediate, config)?,
        marts: marts_written,
        steps: steps.0.clone(),
    });
    // Rendered from the mart files just written, as `salesops report`
    // renders a published run, so the page shows what was published.
    manifest.report = Some(report::write(output, &manifest)?);
    let manifest = publish::publish(output, manifest, &latest_at_start, config)?;
    steps.record("publish", started, mart_rows);
    info!(run_id, "Run published.");
    Ok(Outcome::Published(Box::new(manifest)))
}
