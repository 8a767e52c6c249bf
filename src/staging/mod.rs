//! Staging: read each input table, cast it to the contract's types, validate
//! it, and split it into valid rows and quarantine rows (SPEC §1, §1.1, §7).
//!
//! One module per table holds its columns, key and checks. A table is
//! validated after the parents its rules reference, because a child row
//! whose parent was rejected is itself rejected (`unknown_reference`);
//! tables that do not depend on each other are read and validated at once. Staging keeps every valid row, including
//! rows stamped after as_of: the as_of cut belongs to the intermediate layer.

pub mod activities;
pub mod forecast_submissions;
pub mod fx_rates;
pub mod lead_events;
pub mod leads;
pub mod mapping;
pub mod opportunities;
pub mod opportunity_history;
pub mod parse;
pub mod quotas;
pub mod read;
pub mod reps;
pub mod validate;

use std::collections::BTreeMap;
use std::sync::{Condvar, Mutex};

use polars::prelude::*;
use tracing::info;

use crate::config::Config;
use crate::error::{Context, Error, Result};
use object_store::ObjectMeta;

use crate::storage::{fingerprint, Fingerprint, Storage};
use parse::ValueType;
pub use validate::{Reason, TableStats};

#[derive(Debug, Clone, Copy)]
pub struct ColumnSpec {
    pub name: &'static str,
    pub ty: ValueType,
    pub required: bool,
    /// Carried into the staged rows. A column no mart reads is checked and
    /// quarantined like the others, then left behind (`checked_only`).
    pub kept: bool,
}

pub const fn req(name: &'static str, ty: ValueType) -> ColumnSpec {
    ColumnSpec {
        name,
        ty,
        required: true,
        kept: true,
    }
}

pub const fn opt(name: &'static str, ty: ValueType) -> ColumnSpec {
    ColumnSpec {
        name,
        ty,
        required: false,
        kept: true,
    }
}

impl ColumnSpec {
    /// A column whose values are checked (a key stays unique, a bad value
    /// sends its row to the quarantine) but that no mart reads, so the
    /// staged rows do not hold it: activity_id was a third of the staged
    /// activities' memory. A column another table references must be kept
    /// (a test checks every reference).
    pub const fn checked_only(self) -> ColumnSpec {
        ColumnSpec {
            kept: false,
            ..self
        }
    }
}

/// A table of the data contract.
#[derive(Debug, Clone, Copy)]
pub struct TableSpec {
    pub name: &'static str,
    /// Its checks beyond parsing, including the parent tables it references.
    pub rules: fn(config: &Config) -> validate::Rules,
    /// A required table must have at least one file.
    pub required: bool,
    pub columns: &'static [ColumnSpec],
    /// Empty: the table has no key (lead_events).
    pub key: &'static [&'static str],
}

/// Every table of the contract: the one list. Parents come before their
/// children (a child row whose parent was rejected is rejected too), so
/// this is also the order they are staged and listed in.
pub const TABLES: [&TableSpec; 9] = [
    &reps::SPEC,
    &fx_rates::SPEC,
    &quotas::SPEC,
    &opportunities::SPEC,
    &opportunity_history::SPEC,
    &activities::SPEC,
    &leads::SPEC,
    &lead_events::SPEC,
    &forecast_submissions::SPEC,
];

/// The data files of every table, from one listing. The run reads exactly
/// these files, and its run_id and manifest fingerprint exactly these
/// (SPEC §5.1): a file that lands after the listing waits for the next run.
/// A table in the contract's shape is every file under `<table>/`; a mapped
/// one (SPEC §1.2) has the inputs its mapping names.
#[derive(Debug, Clone, Default)]
pub struct Listing {
    tables: std::collections::BTreeMap<&'static str, Vec<mapping::Input>>,
    /// The files `[stages_from]` reads (config from the export).
    stages: Vec<mapping::Listed>,
}

impl Listing {
    pub fn of(storage: &Storage, config: &Config) -> Result<Listing> {
        let mut tables = std::collections::BTreeMap::new();
        // Mapped tables may read any file under the source: list it once.
        let root: Vec<mapping::Listed> = if config.tables.is_empty() && config.stages_from.is_none()
        {
            Vec::new()
        } else {
            data_files(storage.list("")?)
        };
        for spec in TABLES {
            let inputs = match config.tables.get(spec.name) {
                Some(m) => mapping::inputs(spec.name, m, &root),
                None => {
                    let prefix = format!("{}/", spec.name);
                    let files = if root.is_empty() {
                        data_files(storage.list(spec.name)?)
                    } else {
                        root.iter()
                            .filter(|(p, _)| p.starts_with(&prefix))
                            .cloned()
                            .collect()
                    };
                    vec![mapping::Input {
                        name: spec.name.to_string(),
                        reference: prefix,
                        files,
                    }]
                }
            };
            tables.insert(spec.name, inputs);
        }
        let stages = match &config.stages_from {
            Some(from) => mapping::find_files(&root, &from.path),
            None => Vec::new(),
        };
        Ok(Listing { tables, stages })
    }

    /// The files `[stages_from]` names, if the source has them.
    pub fn stages_files(&self) -> &[mapping::Listed] {
        &self.stages
    }

    /// The table's inputs.
    pub fn inputs(&self, table: &str) -> &[mapping::Input] {
        self.tables.get(table).map(Vec::as_slice).unwrap_or(&[])
    }

    /// The table's files, each once, in path order.
    pub fn files(&self, table: &str) -> Vec<mapping::Listed> {
        let mut files: Vec<mapping::Listed> = self
            .inputs(table)
            .iter()
            .flat_map(|i| i.files.iter().cloned())
            .collect();
        files.sort_by(|a, b| a.0.cmp(&b.0));
        files.dedup_by(|a, b| a.0 == b.0);
        files
    }

    /// (table, file) pairs, tables in `TABLES` order, then the files the
    /// stages were read from (as `stages`): every file the run reads.
    pub fn all(&self) -> Vec<(&'static str, Fingerprint)> {
        TABLES
            .iter()
            .flat_map(|spec| {
                self.files(spec.name)
                    .into_iter()
                    .map(|(p, m)| (spec.name, fingerprint(&p, &m)))
            })
            .chain(
                self.stages
                    .iter()
                    .map(|(p, m)| ("stages", fingerprint(p, m))),
            )
            .collect()
    }

    /// The inputs of the mapped tables, by table.
    fn mapped(&self, config: &Config) -> std::collections::BTreeMap<String, Vec<mapping::Input>> {
        config
            .tables
            .keys()
            .map(|t| (t.clone(), self.inputs(t).to_vec()))
            .collect()
    }
}

fn data_files(listed: Vec<(String, ObjectMeta)>) -> Vec<(String, ObjectMeta)> {
    listed
        .into_iter()
        .filter(|(p, _)| read::is_data_file(p))
        .collect()
}

/// A literal list of strings for `is_in`.
pub fn string_set(values: &[&str]) -> Expr {
    lit(Series::new("".into(), values)).implode(false)
}

#[derive(Clone)]
pub struct StagedTable {
    pub name: &'static str,
    pub valid: DataFrame,
    pub rejected: DataFrame,
    pub stats: TableStats,
    pub files: Vec<Fingerprint>,
}

/// The staged tables, in `TABLES` order.
#[derive(Default)]
pub struct Staged {
    tables: Vec<StagedTable>,
}

impl Staged {
    pub fn tables(&self) -> &[StagedTable] {
        &self.tables
    }

    /// Each table's counts, by table name.
    pub fn stats(&self) -> BTreeMap<String, TableStats> {
        self.tables
            .iter()
            .map(|t| (t.name.to_string(), t.stats.clone()))
            .collect()
    }

    /// The rows read from every table.
    pub fn rows_read(&self) -> usize {
        self.tables.iter().map(|t| t.stats.rows_read).sum()
    }

    /// A staged table. Asking for one not staged yet is a salesops bug (a
    /// table's rules may only read the tables before it in `TABLES`).
    pub fn get(&self, spec: &TableSpec) -> &StagedTable {
        self.tables
            .iter()
            .find(|t| t.name == spec.name)
            .unwrap_or_else(|| panic!("table `{}` is staged before it is read", spec.name))
    }

    /// The valid rows of a table.
    pub fn valid(&self, spec: &TableSpec) -> LazyFrame {
        self.get(spec).valid.clone().lazy()
    }

    /// `columns` of the valid rows of a table (a parent's keys).
    pub fn keys(&self, spec: &TableSpec, columns: &[&str]) -> LazyFrame {
        self.valid(spec)
            .select(columns.iter().map(|c| col(*c)).collect::<Vec<_>>())
    }

    /// Stops the run when a table rejects more than `max_reject_ratio` of
    /// its rows. When unknown stages or activity types are among the
    /// reasons, the message names the most frequent unknown values and the
    /// config that would accept them (SPEC §1.2).
    pub fn check_reject_ratios(&self, config: &Config) -> Result<()> {
        let max_reject_ratio = config.max_reject_ratio;
        let over: Vec<&StagedTable> = self
            .tables()
            .iter()
            .filter(|t| t.stats.reject_ratio() > max_reject_ratio)
            .collect();
        if over.is_empty() {
            return Ok(());
        }
        let mut lines = Vec::new();
        let mut hints = Vec::new();
        for t in over {
            let reasons: Vec<String> = t
                .stats
                .reasons
                .iter()
                .map(|(r, n)| format!("{r}: {n}"))
                .collect();
            lines.push(format!(
                "table `{}` rejected {} of {} rows ({:.1}%; {})",
                t.name,
                t.stats.rejected,
                t.stats.rows_read - t.stats.duplicates_collapsed,
                100.0 * t.stats.reject_ratio(),
                reasons.join(", ")
            ));
            for (reason, column) in [
                (Reason::UnknownStage, "stage"),
                (Reason::UnknownActivityType, "activity_type"),
            ] {
                let unknown = most_frequent(&t.rejected, reason, column)?;
                if !unknown.is_empty() {
                    hints.push(accepting_config(config, t.name, column, &unknown));
                }
            }
        }
        let mut message = format!(
            "too many rejected rows (max_reject_ratio = {max_reject_ratio}): {}; \
             the quarantine has every rejected row with its reason",
            lines.join("; ")
        );
        for h in hints {
            message.push_str("\n\n");
            message.push_str(&h);
        }
        Err(Error::Data(message))
    }
}

/// The values of `column` among the rows rejected for `reason`, most
/// frequent first (ties by value), at most five, with their counts.
fn most_frequent(
    rejected: &DataFrame,
    reason: Reason,
    column: &str,
) -> Result<Vec<(String, usize)>> {
    if rejected.height() == 0 || rejected.column(column).is_err() {
        return Ok(Vec::new());
    }
    let counts = rejected
        .clone()
        .lazy()
        .filter(col("reject_reason").eq(lit(reason.as_str())))
        .group_by([col(column)])
        .agg([len().alias("n")])
        .sort_by_exprs(
            [col("n"), col(column)],
            SortMultipleOptions::default().with_order_descending_multi([true, false]),
        )
        .limit(5)
        .collect()?;
    let values = counts.column(column)?.str()?.clone();
    let n = counts.column("n")?.cast(&DataType::UInt64)?.u64()?.clone();
    Ok(values
        .iter()
        .zip(n.iter())
        .filter_map(|(v, n)| Some((v?.to_string(), n? as usize)))
        .collect())
}

/// The pipeline-file TOML that would accept `unknown` stages or activity
/// types. A given list replaces the default one, so the whole list is shown:
/// the current entries, then the new ones to fill in.
fn accepting_config(
    config: &Config,
    table: &str,
    column: &str,
    unknown: &[(String, usize)],
) -> String {
    let named: Vec<String> = unknown
        .iter()
        .map(|(v, n)| format!("{v:?} ({n} row{})", if *n == 1 { "" } else { "s" }))
        .collect();
    let mut out = format!(
        "most frequent unknown {column} values in `{table}`: {}.\n\
         To accept them, put this in the pipeline file (it replaces the list, so the \
         entries in use now are included; or map the values instead with \
         [tables.{table}.values.{column}]):\n",
        named.join(", ")
    );
    if column == "stage" {
        for s in &config.stages {
            let kind = serde_json::to_value(s.kind).expect("kind");
            out.push_str(&format!(
                "[[stages]]\nname = {:?}\nprobability = {:?}\nkind = {}\n",
                s.name, s.probability, kind
            ));
        }
        for (v, _) in unknown {
            out.push_str(&format!(
                "[[stages]]\nname = {v:?}\nprobability = 0.0  # set it\nkind = \"open\"  # or \"won\" or \"lost\"\n"
            ));
        }
    } else {
        for (name, f) in &config.activity_types {
            out.push_str(&format!(
                "[activity_types.{name:?}]\nselling = {}\nprospecting = {}\nmeeting = {}\n",
                f.selling, f.prospecting, f.meeting
            ));
        }
        for (v, _) in unknown {
            out.push_str(&format!(
                "[activity_types.{v:?}]  # set the flags\nselling = false\nprospecting = false\nmeeting = false\n"
            ));
        }
    }
    out.trim_end().to_string()
}

/// A table's rows as read, before validation.
struct Read {
    raw: read::RawTable,
    rows_filtered: usize,
    started: std::time::Instant,
    read_ms: u64,
}

/// Reads one table: its files in the contract's shape, or through its
/// mapping (SPEC §1.2).
fn read_one(
    storage: &Storage,
    listing: &Listing,
    config: &Config,
    spec: &TableSpec,
) -> Result<Read> {
    let started = std::time::Instant::now();
    let (raw, rows_filtered) = match config.tables.get(spec.name) {
        None => (
            read::read_table(storage, spec, &listing.files(spec.name))?,
            0,
        ),
        Some(m) => {
            let (frame, dropped) =
                mapping::read_mapped(storage, spec, m, listing.inputs(spec.name))?;
            let files = listing
                .files(spec.name)
                .iter()
                .map(|(p, m)| fingerprint(p, m))
                .collect();
            let sources = Vec::new();
            (
                read::RawTable {
                    frame,
                    sources,
                    files,
                },
                dropped,
            )
        }
    };
    Ok(Read {
        raw,
        rows_filtered,
        started,
        read_ms: crate::millis_since(started),
    })
}

/// Validates one table read; `parents` holds the tables `rules` name.
fn validate_one(
    spec: &TableSpec,
    read: Read,
    rules: validate::Rules,
    parents: &Staged,
) -> Result<StagedTable> {
    let Read {
        raw,
        rows_filtered,
        started,
        read_ms,
    } = read;
    let mut v = validate::validate(spec, raw.frame, &raw.sources, rules, parents)
        .during(|| format!("validating table `{}`", spec.name))?;
    v.stats.rows_filtered = rows_filtered;
    info!(
        step = "staging",
        table = spec.name,
        files = raw.files.len(),
        rows = v.stats.rows_read,
        rejected = v.stats.rejected,
        duplicates = v.stats.duplicates_collapsed,
        read_ms,
        ms = crate::millis_since(started),
        "Table read."
    );
    Ok(StagedTable {
        name: spec.name,
        valid: v.valid,
        rejected: v.rejected,
        stats: v.stats,
        files: raw.files,
    })
}

/// Waits until every table of `wanted` is on the board: true when all were
/// staged, false as soon as one failed.
fn staged_first(
    wanted: &[&'static str],
    board: &Mutex<BTreeMap<&'static str, Option<StagedTable>>>,
    changed: &Condvar,
) -> bool {
    let mut known = board.lock().expect("not poisoned");
    loop {
        if wanted.iter().any(|p| matches!(known.get(p), Some(None))) {
            return false;
        }
        if wanted.iter().all(|p| matches!(known.get(p), Some(Some(_)))) {
            return true;
        }
        known = changed.wait(known).expect("not poisoned");
    }
}

/// A table whose files hold more bytes than this is read only once the
/// tables before it in `TABLES` are staged, so its decoded rows and theirs
/// are not in memory at once (files decode to about 14 times their size).
/// At 10x the activities' files (290 MB) are read at once: since the
/// allocator returns freed memory at once (`crate::allocator`), waiting
/// for the history saved 0.2 GiB of peak (5.50–5.58 against 5.54–5.78
/// GiB, four runs each) and cost 1.5–2 s (23.6–33.7 s against 21.6–25.3 s).
pub const LARGE_TABLE_BYTES: u64 = 512 << 20;

/// Reads and validates every table of the contract, each on its own
/// thread: a table is read at once (a large one after the tables before
/// it, `LARGE_TABLE_BYTES`) and validated as soon as the parents its rules
/// name are staged (reps and fx_rates need none; opportunity_history waits
/// for opportunities only). The first error in `TABLES` order is the one
/// reported, as a run one table at a time would report it.
pub fn stage_all(storage: &Storage, listing: &Listing, config: &Config) -> Result<Staged> {
    stage_all_with(storage, listing, config, LARGE_TABLE_BYTES)
}

/// `stage_all` with the size from which a table waits for those before it
/// (a test makes every table wait with 0).
pub fn stage_all_with(
    storage: &Storage,
    listing: &Listing,
    config: &Config,
    large_table_bytes: u64,
) -> Result<Staged> {
    // Every mapping mistake, from the headers, before any row is read.
    if !config.tables.is_empty() {
        mapping::check(storage, config, &listing.mapped(config))?;
    }
    // Each table's outcome once known: staged, or `None` when it failed
    // (its children then stop without an error of their own).
    let board: Mutex<BTreeMap<&'static str, Option<StagedTable>>> = Mutex::new(BTreeMap::new());
    let changed = Condvar::new();
    let outcomes = crate::in_parallel(&TABLES, |spec| {
        let staged = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let large = listing
                .files(spec.name)
                .iter()
                .map(|(_, m)| m.size)
                .sum::<u64>()
                > large_table_bytes;
            stage_when_ready(storage, listing, config, spec, large, &board, &changed)
        }));
        let mut known = board.lock().expect("not poisoned");
        let table = match &staged {
            Ok(Ok(Some(t))) => Some(t.clone()),
            _ => None,
        };
        known.insert(spec.name, table);
        changed.notify_all();
        drop(known);
        staged.unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    });
    let mut tables = Vec::with_capacity(TABLES.len());
    for outcome in outcomes {
        if let Some(t) = outcome? {
            tables.push(t);
        }
    }
    assert_eq!(
        tables.len(),
        TABLES.len(),
        "a table stopped without an error"
    );
    Ok(Staged { tables })
}

/// One table: read (when `large`, once the tables before it are staged),
/// wait for its parents, validate. `Ok(None)` when a table it waits for
/// failed (that table's error is the one reported).
fn stage_when_ready(
    storage: &Storage,
    listing: &Listing,
    config: &Config,
    spec: &'static TableSpec,
    large: bool,
    board: &Mutex<BTreeMap<&'static str, Option<StagedTable>>>,
    changed: &Condvar,
) -> Result<Option<StagedTable>> {
    let before: Vec<&'static str> = if large {
        TABLES
            .iter()
            .map(|t| t.name)
            .take_while(|n| *n != spec.name)
            .collect()
    } else {
        Vec::new()
    };
    if !staged_first(&before, board, changed) {
        return Ok(None);
    }
    let read = read_one(storage, listing, config, spec)
        .during(|| format!("reading table `{}`", spec.name))?;
    let rules = (spec.rules)(config);
    let wanted = rules.parents();
    if !staged_first(&wanted, board, changed) {
        return Ok(None);
    }
    let known = board.lock().expect("not poisoned");
    // Staged tables are cheap to clone (their columns are shared).
    let parents = Staged {
        tables: wanted
            .iter()
            .map(|p| known[p].clone().expect("staged"))
            .collect(),
    };
    drop(known);
    validate_one(spec, read, rules, &parents).map(Some)
}
