//! One run, start to finish: stage -> intermediate -> marts -> publish, with
//! a timing per stage for the log and the manifest.

use std::time::Instant;

use tracing::{info, warn};

use crate::calendar::AsOf;
use crate::config::Config;
use crate::error::Result;
use crate::intermediate::Inputs;
use crate::marts;
use crate::publish::{self, InputEntry, Manifest, PublishInput, StageEntry};
use crate::staging::{self, Staged};
use crate::storage::{fingerprint, Storage};

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

const TABLES: [&crate::staging::TableSpec; 9] = [
    &staging::reps::SPEC,
    &staging::quotas::SPEC,
    &staging::opportunities::SPEC,
    &staging::opportunity_history::SPEC,
    &staging::activities::SPEC,
    &staging::leads::SPEC,
    &staging::lead_events::SPEC,
    &staging::forecast_submissions::SPEC,
    &staging::fx_rates::SPEC,
];

/// Fingerprints of every input file, from a listing alone (no reads), so a
/// rerun with unchanged inputs can stop before doing any work.
pub fn list_inputs(source: &Storage) -> Result<Vec<InputEntry>> {
    let mut out = Vec::new();
    for spec in TABLES {
        for (path, meta) in source.list(spec.name)? {
            let lower = path.to_ascii_lowercase();
            if lower.ends_with(".csv") || lower.ends_with(".parquet") {
                let f = fingerprint(&path, &meta);
                out.push(InputEntry {
                    table: spec.name.to_string(),
                    path: f.path,
                    size: f.size,
                    version: f.version,
                });
            }
        }
    }
    Ok(out)
}

struct Stages(Vec<StageEntry>);

impl Stages {
    fn record(&mut self, name: &str, started: Instant, rows: usize) {
        let seconds = started.elapsed().as_secs_f64();
        info!(stage = name, rows, seconds, "Stage finished.");
        self.0.push(StageEntry {
            name: name.to_string(),
            seconds,
            rows,
        });
    }
}

/// Stages every table and checks the rep levels against the comp plans.
pub fn stage(source: &Storage, config: &Config) -> Result<Staged> {
    let staged = staging::stage_all(source, config)?;
    let levels = staged.reps.valid.column("level")?.str()?.clone();
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
    let mut stages = Stages(Vec::new());
    let started = Instant::now();
    let inputs = list_inputs(source)?;
    let run_id = publish::run_id(&inputs, config, &opts.as_of);
    if !opts.force {
        if let Some(latest) = publish::latest(output)? {
            if latest.run_id == run_id {
                info!(
                    run_id,
                    "Already published with the same inputs and config; nothing to do."
                );
                return Ok(Outcome::UpToDate { run_id });
            }
        }
    }
    info!(run_id, as_of = %publish::format_instant(&opts.as_of), source = source.url(), output = output.url(), "Run started.");

    let staged = stage(source, config)?;
    let rows_read: usize = staged.tables().iter().map(|t| t.stats.rows_read).sum();
    stages.record("staging", started, rows_read);

    // The quarantine is written even when the run then stops, so the analyst
    // can see why; it is not published until the manifest names it.
    let started = Instant::now();
    let rejected = publish::write_quarantine(output, &run_id, &staged)?;
    let rejected_rows: usize = staged.tables().iter().map(|t| t.stats.rejected).sum();
    stages.record("quarantine", started, rejected_rows);
    for t in staged.tables() {
        if t.stats.rejected > 0 {
            warn!(table = t.name, rejected = t.stats.rejected, reasons = ?t.stats.reasons, "Rows rejected to the quarantine.");
        }
    }
    staged.check_reject_ratios(config.max_reject_ratio)?;

    let started = Instant::now();
    let intermediate = Inputs::build(&staged, config, opts.as_of)?;
    stages.record("intermediate", started, intermediate.synthesized_histories);

    let built = marts::build_all(&intermediate, config)?;
    for m in &built {
        stages.0.push(StageEntry {
            name: format!("mart:{}", m.spec.name),
            seconds: m.seconds,
            rows: m.frame.height(),
        });
    }

    let started = Instant::now();
    let mart_rows: usize = built.iter().map(|m| m.frame.height()).sum();
    // The publish stage's own timing cannot be inside the manifest it
    // writes; it is logged.
    let manifest = publish::publish(
        output,
        PublishInput {
            run_id: &run_id,
            as_of: &opts.as_of,
            config,
            source: source.url(),
            inputs,
            staged: &staged,
            rejected,
            synthesized_histories: intermediate.synthesized_histories,
            unknown_event_types: marts::lead_scores::unknown_event_types(&intermediate, config)?,
            marts: built,
            stages: stages.0.clone(),
        },
    )?;
    stages.record("publish", started, mart_rows);
    info!(run_id, "Run published.");
    Ok(Outcome::Published(Box::new(manifest)))
}
