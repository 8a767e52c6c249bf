//! The pipeline file (SPEC §3, shapes in §7): TOML -> a validated `Config`.
//!
//! Every key has a default. Unknown keys, nested ones included, are errors
//! (`deny_unknown_fields`), and so is any value outside its allowed range;
//! each message names the file, the key and what is allowed.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::storage::StorageSettings;

use crate::domain::StageKind;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Stage {
    pub name: String,
    pub probability: f64,
    pub kind: StageKind,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActivityFlags {
    #[serde(default)]
    pub selling: bool,
    #[serde(default)]
    pub prospecting: bool,
    #[serde(default)]
    pub meeting: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TrendMetric {
    WonAmount,
    QuotaAttainment,
}

impl TrendMetric {
    pub fn column(self) -> &'static str {
        match self {
            TrendMetric::WonAmount => "won_amount",
            TrendMetric::QuotaAttainment => "quota_attainment",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PeerGroup {
    Company,
    Team,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ForecastConfig {
    pub snapshot_offsets_days: Vec<i64>,
    pub cycle_lookback_quarters: u32,
    pub growth_rate: Option<f64>,
    pub new_rep_monthly_revenue: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct CompPlan {
    pub base_monthly: f64,
    pub target_monthly: f64,
    pub commission_rate: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LeadScoring {
    pub threshold: f64,
    pub events: BTreeMap<String, f64>,
    pub matches_persona: f64,
    pub data_inaccurate: f64,
}

/// How one contract table is made from the source's files (SPEC §1.2).
/// Either `path` (a file, a folder, a glob or an object name under the
/// source) or `sql` over `files`; then `filter`, `columns` and `values`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableMapping {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sql: Option<String>,
    /// The names `sql` uses -> a file, folder, glob or object name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub files: BTreeMap<String, String>,
    /// A SQL predicate; the rows it drops are counted, not quarantined.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<String>,
    /// Drops the rows whose `IsDeleted` (any case, any underscores) is true,
    /// in every input that has that column, before anything else.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skip_deleted: Option<bool>,
    /// Contract column -> a SQL expression over the input's columns.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub columns: BTreeMap<String, String>,
    /// Input columns that may be missing (a field an org does not use): an
    /// input without one reads it as null.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub optional: Vec<String>,
    /// Contract column -> (value -> replacement), applied to the mapped text.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub values: BTreeMap<String, BTreeMap<String, String>>,
}

impl TableMapping {
    /// `over` (a pipeline file) on top of `self` (a preset): a given source
    /// replaces the preset's; columns and value maps are replaced one by one.
    fn overridden_by(mut self, over: TableMapping) -> TableMapping {
        if over.path.is_some() || over.sql.is_some() {
            self.path = over.path;
            self.sql = over.sql;
            self.files = over.files;
        } else {
            self.files.extend(over.files);
        }
        if over.filter.is_some() {
            self.filter = over.filter;
        }
        if over.skip_deleted.is_some() {
            self.skip_deleted = over.skip_deleted;
        }
        self.optional.extend(over.optional);
        self.columns.extend(over.columns);
        self.values.extend(over.values);
        self
    }
}

/// The validated pipeline. `storage_options` (credentials, endpoints) is
/// kept out of serialisation so it never reaches a manifest or a log.
#[derive(Debug, Clone, Serialize)]
pub struct Config {
    #[serde(skip)]
    pub file: String,
    pub source: String,
    pub output: String,
    pub reporting_currency: String,
    pub fiscal_year_start_month: u32,
    pub stages: Vec<Stage>,
    pub activity_types: BTreeMap<String, ActivityFlags>,
    pub trend_metric: TrendMetric,
    pub top_quantile: f64,
    pub peer_group: PeerGroup,
    pub follow_up_threshold: u32,
    pub forecast: ForecastConfig,
    pub comp_plans: BTreeMap<String, CompPlan>,
    pub lead_scoring: LeadScoring,
    pub max_reject_ratio: f64,
    pub keep_runs: u32,
    /// A run folder without a manifest younger than this is a run still
    /// writing: retention spares it (SPEC §5.1).
    pub retention_grace_hours: f64,
    pub storage: StorageSettings,
    /// The preset the mapping started from (SPEC §1.2), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preset: Option<String>,
    /// Where the stages come from when the export has them (a preset's
    /// `[stages_from]`); resolved at run start (`pipeline::with_export_config`),
    /// from the files of the run's one listing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stages_from: Option<StagesFrom>,
    /// The resolved mapping (preset and pipeline file merged) of the tables
    /// not read in the contract's own shape.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub tables: BTreeMap<String, TableMapping>,
    #[serde(skip)]
    pub storage_options: BTreeMap<String, String>,
}

// ---- the file as written: every key optional ----

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    source: Option<String>,
    output: Option<String>,
    reporting_currency: Option<String>,
    fiscal_year_start_month: Option<i64>,
    stages: Option<Vec<Stage>>,
    activity_types: Option<BTreeMap<String, ActivityFlags>>,
    trend_metric: Option<TrendMetric>,
    top_quantile: Option<f64>,
    peer_group: Option<PeerGroup>,
    follow_up_threshold: Option<i64>,
    forecast: Option<RawForecast>,
    comp_plans: Option<BTreeMap<String, RawCompPlan>>,
    lead_scoring: Option<RawLeadScoring>,
    max_reject_ratio: Option<f64>,
    keep_runs: Option<i64>,
    retention_grace_hours: Option<f64>,
    storage: Option<RawStorage>,
    preset: Option<String>,
    tables: Option<BTreeMap<String, TableMapping>>,
    stages_from: Option<StagesFrom>,
    /// object_store options (e.g. `aws_endpoint`, `aws_region`); credentials
    /// are better left to the environment.
    storage_options: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawForecast {
    snapshot_offsets_days: Option<Vec<i64>>,
    cycle_lookback_quarters: Option<i64>,
    growth_rate: Option<f64>,
    new_rep_monthly_revenue: Option<f64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStorage {
    retries: Option<i64>,
    retry_timeout_seconds: Option<f64>,
    request_timeout_seconds: Option<f64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCompPlan {
    base_monthly: Option<f64>,
    target_monthly: Option<f64>,
    commission_rate: Option<f64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLeadScoring {
    threshold: Option<f64>,
    events: Option<BTreeMap<String, f64>>,
    flags: Option<RawLeadFlags>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLeadFlags {
    matches_persona: Option<f64>,
    data_inaccurate: Option<f64>,
}

/// The rules a stage list keeps (SPEC §3): names once, probabilities in
/// 0–1, a won stage, and an open one; else (key, message).
pub fn check_stages(stages: &[Stage]) -> std::result::Result<(), (&'static str, String)> {
    let mut seen = std::collections::BTreeSet::new();
    for s in stages {
        if !seen.insert(s.name.as_str()) {
            return Err((
                "stages",
                format!("stage `{}` is listed twice; each stage name once", s.name),
            ));
        }
        if !(0.0..=1.0).contains(&s.probability) {
            return Err((
                "stages.probability",
                format!(
                    "stage `{}` has probability {}; allowed: 0 to 1",
                    s.name, s.probability
                ),
            ));
        }
    }
    if !stages.iter().any(|s| s.kind == StageKind::Won) {
        return Err((
            "stages",
            "no stage has kind `won`; at least one is needed".into(),
        ));
    }
    if !stages.iter().any(|s| s.kind == StageKind::Open) {
        return Err((
            "stages",
            "no stage has kind `open`; at least one is needed (synthetic history starts there)"
                .into(),
        ));
    }
    Ok(())
}

/// Stages read from the export (SPEC §1.2 "Config from the export"): each
/// row of the object at `path` is a stage; the fields are SQL expressions
/// over its columns, as in a table mapping. Used when that object exists
/// and the pipeline file gives no `stages` of its own.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StagesFrom {
    pub path: String,
    pub name: String,
    /// A fraction, 0 to 1.
    pub probability: String,
    /// `open`, `won` or `lost`.
    pub kind: String,
    /// Stages are listed in the order of this value.
    pub order: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub optional: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skip_deleted: Option<bool>,
}

impl RawConfig {
    /// A pipeline file (`over`) on top of a preset (`self`): every key the
    /// file gives wins; tables merge per table, column and value map.
    fn overridden_by(self, over: RawConfig) -> RawConfig {
        let mut tables = self.tables.unwrap_or_default();
        for (name, t) in over.tables.unwrap_or_default() {
            let merged = match tables.remove(&name) {
                Some(preset) => preset.overridden_by(t),
                None => t,
            };
            tables.insert(name, merged);
        }
        RawConfig {
            source: over.source.or(self.source),
            output: over.output.or(self.output),
            reporting_currency: over.reporting_currency.or(self.reporting_currency),
            fiscal_year_start_month: over
                .fiscal_year_start_month
                .or(self.fiscal_year_start_month),
            // Stages the pipeline file gives win over stages read from the export.
            stages_from: match &over.stages {
                Some(_) => over.stages_from,
                None => over.stages_from.or(self.stages_from),
            },
            stages: over.stages.or(self.stages),
            activity_types: over.activity_types.or(self.activity_types),
            trend_metric: over.trend_metric.or(self.trend_metric),
            top_quantile: over.top_quantile.or(self.top_quantile),
            peer_group: over.peer_group.or(self.peer_group),
            follow_up_threshold: over.follow_up_threshold.or(self.follow_up_threshold),
            forecast: over.forecast.or(self.forecast),
            comp_plans: over.comp_plans.or(self.comp_plans),
            lead_scoring: over.lead_scoring.or(self.lead_scoring),
            max_reject_ratio: over.max_reject_ratio.or(self.max_reject_ratio),
            keep_runs: over.keep_runs.or(self.keep_runs),
            retention_grace_hours: over.retention_grace_hours.or(self.retention_grace_hours),
            storage: over.storage.or(self.storage),
            preset: over.preset.or(self.preset),
            tables: Some(tables),
            storage_options: over.storage_options.or(self.storage_options),
        }
    }
}

pub fn default_stages() -> Vec<Stage> {
    let open = |name: &str, probability| Stage {
        name: name.into(),
        probability,
        kind: StageKind::Open,
    };
    vec![
        open("Discovery", 0.10),
        open("Qualified", 0.20),
        open("Demo", 0.40),
        open("Trial", 0.60),
        open("Negotiation", 0.80),
        Stage {
            name: "Closed Won".into(),
            probability: 1.0,
            kind: StageKind::Won,
        },
        Stage {
            name: "Closed Lost".into(),
            probability: 0.0,
            kind: StageKind::Lost,
        },
    ]
}

pub fn default_activity_types() -> BTreeMap<String, ActivityFlags> {
    let flags = |selling, prospecting, meeting| ActivityFlags {
        selling,
        prospecting,
        meeting,
    };
    [
        ("call", flags(true, true, false)),
        ("email", flags(false, true, false)),
        ("meeting", flags(true, false, true)),
        ("demo", flags(true, false, true)),
        ("admin", flags(false, false, false)),
        ("internal_meeting", flags(false, false, false)),
        ("training", flags(false, false, false)),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

pub fn default_comp_plans() -> BTreeMap<String, CompPlan> {
    BTreeMap::from([
        (
            "junior".to_string(),
            CompPlan {
                base_monthly: 4000.0,
                target_monthly: 10000.0,
                commission_rate: 0.10,
            },
        ),
        (
            "senior".to_string(),
            CompPlan {
                base_monthly: 6000.0,
                target_monthly: 25000.0,
                commission_rate: 0.10,
            },
        ),
    ])
}

fn default_lead_events() -> BTreeMap<String, f64> {
    BTreeMap::from([
        ("pricing_page_visit".to_string(), 10.0),
        ("email_open".to_string(), 1.0),
        ("email_click".to_string(), 3.0),
    ])
}

/// The bad keys of a pipeline file, collected so that one run of
/// `validate` names them all (STYLE: report every mistake at once).
#[derive(Default)]
struct Mistakes(Vec<String>);

impl Mistakes {
    fn add(&mut self, key: &str, message: String) {
        self.0.push(format!("key `{key}`: {message}"));
    }

    /// `value`, with a mistake recorded when `ok` fails (the value is still
    /// returned, so the other keys are checked too).
    fn check<T>(
        &mut self,
        key: &str,
        value: T,
        ok: impl FnOnce(&T) -> bool,
        message: impl FnOnce(&T) -> String,
    ) -> T {
        if !ok(&value) {
            self.add(key, message(&value));
        }
        value
    }

    fn into_result(self, file: &str) -> Result<()> {
        match self.0.len() {
            0 => Ok(()),
            1 => Err(Error::config(file, self.0[0].clone())),
            n => Err(Error::config(
                file,
                format!(
                    "the pipeline file has {n} mistakes:\n  {}",
                    self.0.join("\n  ")
                ),
            )),
        }
    }
}

fn forecast_config(m: &mut Mistakes, rf: RawForecast) -> ForecastConfig {
    let mut offsets = rf.snapshot_offsets_days.unwrap_or_else(|| vec![0]);
    if let Some(bad) = offsets.iter().find(|d| **d < 0) {
        m.add(
            "forecast.snapshot_offsets_days",
            format!("{bad} is negative; allowed: whole days ≥ 0"),
        );
    }
    // Duplicate offsets are dropped (SPEC §7).
    offsets.sort_unstable();
    offsets.dedup();
    let lookback = m.check(
        "forecast.cycle_lookback_quarters",
        rf.cycle_lookback_quarters.unwrap_or(4),
        |v| *v >= 1,
        |v| format!("{v}; allowed: a whole number ≥ 1"),
    );
    let new_rep_monthly_revenue = m.check(
        "forecast.new_rep_monthly_revenue",
        rf.new_rep_monthly_revenue.unwrap_or(5000.0),
        |v| *v >= 0.0,
        |v| format!("{v}; allowed: ≥ 0"),
    );
    ForecastConfig {
        snapshot_offsets_days: offsets,
        cycle_lookback_quarters: lookback.max(1) as u32,
        growth_rate: rf.growth_rate,
        new_rep_monthly_revenue,
    }
}

/// The default plans with the file's levels merged over them.
fn comp_plans(m: &mut Mistakes, raw: BTreeMap<String, RawCompPlan>) -> BTreeMap<String, CompPlan> {
    let mut comp_plans = default_comp_plans();
    for (level, plan) in raw {
        let key = format!("comp_plans.{level}");
        let merged = match comp_plans.get(&level) {
            Some(d) => CompPlan {
                base_monthly: plan.base_monthly.unwrap_or(d.base_monthly),
                target_monthly: plan.target_monthly.unwrap_or(d.target_monthly),
                commission_rate: plan.commission_rate.unwrap_or(d.commission_rate),
            },
            None => match (plan.base_monthly, plan.target_monthly, plan.commission_rate) {
                (Some(b), Some(t), Some(r)) => CompPlan {
                    base_monthly: b,
                    target_monthly: t,
                    commission_rate: r,
                },
                _ => {
                    m.add(
                        &key,
                        "a new level gives all three of base_monthly, target_monthly, \
                         commission_rate"
                            .into(),
                    );
                    continue;
                }
            },
        };
        if merged.base_monthly < 0.0 || merged.target_monthly < 0.0 {
            m.add(&key, "base_monthly and target_monthly must be ≥ 0".into());
        }
        if !(0.0..=1.0).contains(&merged.commission_rate) {
            m.add(
                &key,
                format!(
                    "commission_rate {}; allowed: 0 to 1",
                    merged.commission_rate
                ),
            );
        }
        comp_plans.insert(level, merged);
    }
    comp_plans
}

fn lead_scoring(rl: RawLeadScoring) -> LeadScoring {
    let mut events = default_lead_events();
    events.extend(rl.events.unwrap_or_default());
    let flags = rl.flags.unwrap_or_default();
    LeadScoring {
        threshold: rl.threshold.unwrap_or(15.0),
        events,
        matches_persona: flags.matches_persona.unwrap_or(5.0),
        data_inaccurate: flags.data_inaccurate.unwrap_or(-5.0),
    }
}

fn storage_settings(m: &mut Mistakes, rs: RawStorage) -> StorageSettings {
    let defaults = StorageSettings::default();
    let retries = m.check(
        "storage.retries",
        rs.retries.unwrap_or(defaults.retries as i64),
        |v| (0..=100).contains(v),
        |v| format!("{v}; allowed: a whole number from 0 to 100"),
    );
    let mut seconds = |key: &str, value: Option<f64>, default: f64| {
        m.check(
            key,
            value.unwrap_or(default),
            |v| *v > 0.0 && v.is_finite(),
            |v| format!("{v}; allowed: seconds > 0"),
        )
    };
    StorageSettings {
        retries: retries.clamp(0, 100) as u32,
        retry_timeout_seconds: seconds(
            "storage.retry_timeout_seconds",
            rs.retry_timeout_seconds,
            defaults.retry_timeout_seconds,
        ),
        request_timeout_seconds: seconds(
            "storage.request_timeout_seconds",
            rs.request_timeout_seconds,
            defaults.request_timeout_seconds,
        ),
    }
}

/// A typo (aws_endpont) would otherwise be ignored and the run would go to
/// the default endpoint.
fn check_storage_options(m: &mut Mistakes, options: &BTreeMap<String, String>) {
    for key in options.keys() {
        let known = key.parse::<object_store::aws::AmazonS3ConfigKey>().is_ok()
            || key.parse::<object_store::gcp::GoogleConfigKey>().is_ok()
            || key.parse::<object_store::azure::AzureConfigKey>().is_ok();
        if !known {
            m.add(
                &format!("storage_options.{key}"),
                "not an object_store option for S3, GCS or Azure (for example aws_endpoint, \
                 aws_region, google_service_account, azure_storage_account_name)"
                    .into(),
            );
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config::from_raw("<defaults>", RawConfig::default()).expect("defaults are valid")
    }
}

impl Config {
    /// Reads and validates a pipeline file from the local disk.
    pub fn from_file(path: &str) -> Result<Config> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::config(path, format!("cannot read the pipeline file: {e}")))?;
        Config::from_toml(path, &text)
    }

    /// Parses a pipeline from TOML text; `file` names it in error messages.
    pub fn from_toml(file: &str, text: &str) -> Result<Config> {
        let raw: RawConfig = toml::from_str(text).map_err(|e| {
            // toml's message names the key, its line and the allowed values.
            Error::config(file, e.to_string().trim_end().to_string())
        })?;
        let raw = match &raw.preset {
            None => raw,
            Some(name) => {
                let Some(text) = crate::presets::toml(name) else {
                    return Err(Error::config(
                        file,
                        format!(
                            "key `preset`: `{name}` is not a preset; allowed: {}",
                            crate::presets::NAMES.join(", ")
                        ),
                    ));
                };
                let preset: RawConfig = toml::from_str(text)
                    .unwrap_or_else(|e| panic!("the {name} preset is valid pipeline TOML: {e}"));
                preset.overridden_by(raw)
            }
        };
        Config::from_raw(file, raw)
    }

    /// Every key checked; every bad one reported, all at once.
    fn from_raw(file: &str, raw: RawConfig) -> Result<Config> {
        let mut m = Mistakes::default();
        let fiscal_year_start_month = m.check(
            "fiscal_year_start_month",
            raw.fiscal_year_start_month.unwrap_or(1),
            |v| (1..=12).contains(v),
            |v| format!("{v} is not a month; allowed: 1 to 12"),
        );
        let stages = raw.stages.unwrap_or_else(default_stages);
        if let Err((key, message)) = check_stages(&stages) {
            m.add(key, message);
        }
        let top_quantile = m.check(
            "top_quantile",
            raw.top_quantile.unwrap_or(0.5),
            |v| (0.0..=1.0).contains(v),
            |v| format!("{v}; allowed: 0 to 1"),
        );
        let follow_up_threshold = m.check(
            "follow_up_threshold",
            raw.follow_up_threshold.unwrap_or(5),
            |v| *v >= 0,
            |v| format!("{v}; allowed: a whole number ≥ 0"),
        );
        let forecast = forecast_config(&mut m, raw.forecast.unwrap_or_default());
        let comp_plans = comp_plans(&mut m, raw.comp_plans.unwrap_or_default());
        let lead_scoring = lead_scoring(raw.lead_scoring.unwrap_or_default());
        let max_reject_ratio = m.check(
            "max_reject_ratio",
            raw.max_reject_ratio.unwrap_or(0.05),
            |v| (0.0..=1.0).contains(v),
            |v| format!("{v}; allowed: 0 to 1"),
        );
        let keep_runs = m.check(
            "keep_runs",
            raw.keep_runs.unwrap_or(5),
            |v| *v >= 1,
            |v| format!("{v}; allowed: a whole number ≥ 1"),
        );
        let retention_grace_hours = m.check(
            "retention_grace_hours",
            raw.retention_grace_hours.unwrap_or(24.0),
            |v| *v >= 0.0 && v.is_finite(),
            |v| format!("{v}; allowed: hours ≥ 0"),
        );
        let storage = storage_settings(&mut m, raw.storage.unwrap_or_default());
        let storage_options = raw.storage_options.unwrap_or_default();
        check_storage_options(&mut m, &storage_options);
        m.into_result(file)?;

        Ok(Config {
            preset: raw.preset,
            tables: raw.tables.unwrap_or_default(),
            stages_from: raw.stages_from,
            file: file.to_string(),
            source: raw.source.unwrap_or_else(|| "sample_data".into()),
            output: raw.output.unwrap_or_else(|| "out".into()),
            reporting_currency: raw.reporting_currency.unwrap_or_else(|| "USD".into()),
            fiscal_year_start_month: fiscal_year_start_month as u32,
            stages,
            activity_types: raw.activity_types.unwrap_or_else(default_activity_types),
            trend_metric: raw.trend_metric.unwrap_or(TrendMetric::WonAmount),
            top_quantile,
            peer_group: raw.peer_group.unwrap_or(PeerGroup::Company),
            follow_up_threshold: follow_up_threshold as u32,
            forecast,
            comp_plans,
            lead_scoring,
            max_reject_ratio,
            keep_runs: keep_runs as u32,
            retention_grace_hours,
            storage,
            storage_options,
        })
    }

    /// The first stage of kind open, in config order: where synthetic history starts.
    pub fn first_open_stage(&self) -> &str {
        &self
            .stages
            .iter()
            .find(|s| s.kind == StageKind::Open)
            .expect("validated: an open stage exists")
            .name
    }

    /// A rep's level must name a plan (SPEC §4.8): checked once reps are read.
    pub fn check_levels<'a>(&self, levels: impl IntoIterator<Item = &'a str>) -> Result<()> {
        for level in levels {
            if !self.comp_plans.contains_key(level) {
                let known: Vec<&str> = self.comp_plans.keys().map(String::as_str).collect();
                return Err(Error::config(
                    &self.file,
                    format!(
                        "key `comp_plans`: reps have level `{level}`, which has no plan; \
                         add [comp_plans.{level}] with base_monthly, target_monthly and \
                         commission_rate (plans now: {})",
                        known.join(", ")
                    ),
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_file_gives_the_spec_defaults() {
        let c = Config::from_toml("p.toml", "").unwrap();
        assert_eq!(c.stages.len(), 7);
        assert_eq!(c.first_open_stage(), "Discovery");
        assert_eq!(c.stages[4].probability, 0.80);
        assert_eq!(
            c.activity_types["call"],
            ActivityFlags {
                selling: true,
                prospecting: true,
                meeting: false
            }
        );
        assert_eq!(c.comp_plans["senior"].target_monthly, 25000.0);
        assert_eq!(c.lead_scoring.events["pricing_page_visit"], 10.0);
        assert_eq!(c.lead_scoring.data_inaccurate, -5.0);
        assert_eq!(c.lead_scoring.threshold, 15.0);
        assert_eq!(c.forecast.snapshot_offsets_days, vec![0]);
        assert_eq!(c.max_reject_ratio, 0.05);
        assert_eq!(c.keep_runs, 5);
        assert_eq!(c.retention_grace_hours, 24.0);
        assert_eq!(c.storage.retries, 10);
        assert_eq!(c.storage.retry_timeout_seconds, 180.0);
        assert_eq!(c.storage.request_timeout_seconds, 30.0);
    }

    fn message(text: &str) -> String {
        Config::from_toml("pipelines/x.toml", text)
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn unknown_keys_are_named_with_the_allowed_ones() {
        let m = message("sorce = \"s3://b\"\n");
        assert!(m.contains("pipelines/x.toml"), "{m}");
        assert!(m.contains("sorce"), "{m}");
        assert!(m.contains("`source`"), "{m}");
        let m = message("[forecast]\ngrowth = 0.1\n");
        assert!(m.contains("growth") && m.contains("growth_rate"), "{m}");
    }

    #[test]
    fn bad_values_are_errors() {
        assert!(message("fiscal_year_start_month = 13").contains("1 to 12"));
        let twice = "[[stages]]\nname='A'\nprobability=0.1\nkind='open'\n[[stages]]\nname='A'\nprobability=1\nkind='won'\n";
        assert!(message(twice).contains("listed twice"));
        let no_won = "[[stages]]\nname='A'\nprobability=0.1\nkind='open'\n";
        assert!(message(no_won).contains("won"));
        let bad_p = "[[stages]]\nname='A'\nprobability=1.5\nkind='won'\n";
        assert!(message(bad_p).contains("0 to 1"));
        assert!(message("trend_metric = 'revenue'").contains("quota_attainment"));
        assert!(message("[forecast]\nsnapshot_offsets_days = [0, -3]").contains("negative"));
        assert!(message("[comp_plans.vp]\nbase_monthly = 1").contains("all three"));
        assert!(message("[storage_options]\naws_endpont = 'http://x'").contains("aws_endpont"));
        assert!(message("[storage]\nretries = -1").contains("storage.retries"));
        assert!(message("[storage]\nrequest_timeout_seconds = 0").contains("seconds > 0"));
        assert!(message("[storage]\nretry = 3").contains("retries"));
        assert!(message("retention_grace_hours = -1").contains("hours ≥ 0"));
        let ok = "[storage_options]\naws_endpoint = 'http://x'\naws_allow_http = 'true'\n";
        assert!(Config::from_toml("p.toml", ok).is_ok());
    }

    #[test]
    fn every_bad_key_is_reported_at_once() {
        let m = message(
            "top_quantile = 2\nkeep_runs = 0\n[forecast]\ncycle_lookback_quarters = 0\n[storage]\nretries = 500\n",
        );
        assert!(m.contains("4 mistakes"), "{m}");
        for key in [
            "`top_quantile`",
            "`keep_runs`",
            "`forecast.cycle_lookback_quarters`",
            "`storage.retries`",
        ] {
            assert_eq!(m.matches(key).count(), 1, "{key} in {m}");
        }
    }

    #[test]
    fn plans_and_scoring_merge_over_defaults() {
        let c = Config::from_toml(
            "p.toml",
            "[comp_plans.junior]\ncommission_rate = 0.2\n[lead_scoring.events]\nwebinar = 4\n[forecast]\nsnapshot_offsets_days=[30,0,30]\n",
        )
        .unwrap();
        assert_eq!(c.comp_plans["junior"].commission_rate, 0.2);
        assert_eq!(c.comp_plans["junior"].target_monthly, 10000.0);
        assert_eq!(c.lead_scoring.events["webinar"], 4.0);
        assert_eq!(c.lead_scoring.events["email_open"], 1.0);
        assert_eq!(c.forecast.snapshot_offsets_days, vec![0, 30]);
        let e = c.check_levels(["junior", "vp"]).unwrap_err().to_string();
        assert!(e.contains("`vp`") && e.contains("p.toml"), "{e}");
    }
}
