//! Staging: read each input table, cast it to the contract's types, validate
//! it, and split it into valid rows and quarantine rows (SPEC §1, §1.1, §7).
//!
//! One module per table holds its columns, key and checks. Tables are staged
//! parents first, because a child row whose parent was rejected is itself
//! rejected (`unknown_reference`). Staging keeps every valid row, including
//! rows stamped after as_of: the as_of cut belongs to the intermediate layer.

pub mod activities;
pub mod forecast_submissions;
pub mod fx_rates;
pub mod lead_events;
pub mod leads;
pub mod opportunities;
pub mod opportunity_history;
pub mod parse;
pub mod quotas;
pub mod read;
pub mod reps;
pub mod validate;

use polars::prelude::*;
use tracing::info;

use crate::calendar::FiscalCalendar;
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
}

pub const fn req(name: &'static str, ty: ValueType) -> ColumnSpec {
    ColumnSpec {
        name,
        ty,
        required: true,
    }
}

pub const fn opt(name: &'static str, ty: ValueType) -> ColumnSpec {
    ColumnSpec {
        name,
        ty,
        required: false,
    }
}

/// A table of the data contract.
#[derive(Debug, Clone, Copy)]
pub struct TableSpec {
    pub name: &'static str,
    /// A required table must have at least one file.
    pub required: bool,
    pub columns: &'static [ColumnSpec],
    /// Empty: the table has no key (lead_events).
    pub key: &'static [&'static str],
}

/// Every table of the contract, in the order the manifest lists them.
pub const TABLES: [&TableSpec; 9] = [
    &reps::SPEC,
    &quotas::SPEC,
    &opportunities::SPEC,
    &opportunity_history::SPEC,
    &activities::SPEC,
    &leads::SPEC,
    &lead_events::SPEC,
    &forecast_submissions::SPEC,
    &fx_rates::SPEC,
];

/// The data files of every table from one listing per table. The run reads
/// exactly these files, and its run_id and manifest fingerprint exactly
/// these (SPEC §5.1): a file that lands after the listing waits for the
/// next run.
#[derive(Debug, Clone, Default)]
pub struct Listing {
    tables: std::collections::BTreeMap<&'static str, Vec<(String, ObjectMeta)>>,
}

impl Listing {
    pub fn of(storage: &Storage) -> Result<Listing> {
        let mut tables = std::collections::BTreeMap::new();
        for spec in TABLES {
            let files = storage
                .list(spec.name)?
                .into_iter()
                .filter(|(p, _)| read::is_data_file(p))
                .collect();
            tables.insert(spec.name, files);
        }
        Ok(Listing { tables })
    }

    /// The table's files, in path order.
    pub fn files(&self, table: &str) -> &[(String, ObjectMeta)] {
        self.tables.get(table).map(Vec::as_slice).unwrap_or(&[])
    }

    /// (table, file) pairs, tables in `TABLES` order.
    pub fn all(&self) -> Vec<(&'static str, Fingerprint)> {
        TABLES
            .iter()
            .flat_map(|spec| {
                self.files(spec.name)
                    .iter()
                    .map(|(p, m)| (spec.name, fingerprint(p, m)))
            })
            .collect()
    }
}

/// A literal list of strings for `is_in`.
pub fn string_set(values: &[&str]) -> Expr {
    lit(Series::new("".into(), values)).implode(false)
}

pub struct StagedTable {
    pub name: &'static str,
    pub valid: DataFrame,
    pub rejected: DataFrame,
    pub stats: TableStats,
    pub files: Vec<Fingerprint>,
}

/// Every input table, staged.
pub struct Staged {
    pub reps: StagedTable,
    pub fx_rates: StagedTable,
    pub quotas: StagedTable,
    pub opportunities: StagedTable,
    pub opportunity_history: StagedTable,
    pub activities: StagedTable,
    pub leads: StagedTable,
    pub lead_events: StagedTable,
    pub forecast_submissions: StagedTable,
}

impl Staged {
    pub fn tables(&self) -> [&StagedTable; 9] {
        [
            &self.reps,
            &self.quotas,
            &self.opportunities,
            &self.opportunity_history,
            &self.activities,
            &self.leads,
            &self.lead_events,
            &self.forecast_submissions,
            &self.fx_rates,
        ]
    }

    /// Stops the run when a table rejects more than `max_reject_ratio` of its rows.
    pub fn check_reject_ratios(&self, max_reject_ratio: f64) -> Result<()> {
        let over: Vec<String> = self
            .tables()
            .iter()
            .filter(|t| t.stats.reject_ratio() > max_reject_ratio)
            .map(|t| {
                let reasons: Vec<String> = t
                    .stats
                    .reasons
                    .iter()
                    .map(|(r, n)| format!("{r}: {n}"))
                    .collect();
                format!(
                    "table `{}` rejected {} of {} rows ({:.1}%; {})",
                    t.name,
                    t.stats.rejected,
                    t.stats.rows_read - t.stats.duplicates_collapsed,
                    100.0 * t.stats.reject_ratio(),
                    reasons.join(", ")
                )
            })
            .collect();
        if over.is_empty() {
            return Ok(());
        }
        Err(Error::Data(format!(
            "too many rejected rows (max_reject_ratio = {max_reject_ratio}): {}; \
             the quarantine has every rejected row with its reason",
            over.join("; ")
        )))
    }
}

fn stage_one(
    storage: &Storage,
    listing: &Listing,
    spec: &TableSpec,
    rules: validate::Rules,
) -> Result<StagedTable> {
    let started = std::time::Instant::now();
    let raw = read::read_table(storage, spec, listing.files(spec.name))
        .during(|| format!("reading table `{}`", spec.name))?;
    let read_seconds = started.elapsed().as_secs_f64();
    let v = validate::validate(spec, raw.frame, rules)
        .during(|| format!("validating table `{}`", spec.name))?;
    info!(
        stage = "staging",
        table = spec.name,
        files = raw.files.len(),
        rows = v.stats.rows_read,
        rejected = v.stats.rejected,
        duplicates = v.stats.duplicates_collapsed,
        read_seconds,
        seconds = started.elapsed().as_secs_f64(),
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

fn keys(t: &StagedTable, columns: &[&str]) -> LazyFrame {
    t.valid
        .clone()
        .lazy()
        .select(columns.iter().map(|c| col(*c)).collect::<Vec<_>>())
}

/// Reads and validates every table of the contract, parents first.
pub fn stage_all(storage: &Storage, listing: &Listing, config: &Config) -> Result<Staged> {
    let calendar = FiscalCalendar::new(config.fiscal_year_start_month);
    let reps = stage_one(storage, listing, &reps::SPEC, reps::rules())?;
    let fx_rates = stage_one(storage, listing, &fx_rates::SPEC, fx_rates::rules())?;
    let rep_ids = || keys(&reps, &["rep_id"]);
    let rates = || fx_rates.valid.clone().lazy();
    let quotas = stage_one(storage, listing, &quotas::SPEC, quotas::rules(rep_ids()))?;
    let opportunities = stage_one(
        storage,
        listing,
        &opportunities::SPEC,
        opportunities::rules(config, rep_ids(), rates()),
    )?;
    let opportunity_history = stage_one(
        storage,
        listing,
        &opportunity_history::SPEC,
        opportunity_history::rules(
            config,
            keys(&opportunities, &["opportunity_id", "currency"]),
            rates(),
        ),
    )?;
    let activities = stage_one(
        storage,
        listing,
        &activities::SPEC,
        activities::rules(config, rep_ids()),
    )?;
    let leads = stage_one(storage, listing, &leads::SPEC, leads::rules(rep_ids()))?;
    let lead_events = stage_one(
        storage,
        listing,
        &lead_events::SPEC,
        lead_events::rules(keys(&leads, &["lead_id"])),
    )?;
    let forecast_submissions = stage_one(
        storage,
        listing,
        &forecast_submissions::SPEC,
        forecast_submissions::rules(&calendar, rep_ids()),
    )?;
    Ok(Staged {
        reps,
        fx_rates,
        quotas,
        opportunities,
        opportunity_history,
        activities,
        leads,
        lead_events,
        forecast_submissions,
    })
}
