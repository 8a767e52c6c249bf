//! Presets (SPEC §1.2) on a small hand-made Salesforce export
//! (tests/fixtures/salesforce/export): written as Data Loader CSV with API
//! names, and again as a lake copy (snake_case folders and columns, typed
//! Parquet), both give every mart of the same data converted to the
//! contract by hand (tests/fixtures/salesforce/contract). What the
//! conversion had to get right:
//! - IsDeleted rows go first, in every object (006D1, 008E, 00T4, 00QL3,
//!   0J93), joins included: deleted lead 00QL3 converted 006B1, which so
//!   has no lead_id;
//! - two leads converted 006A1: the smallest Id, 00QL0, is its lead_id;
//! - lead 00QL2 is owned by a queue (00G...): no rep;
//! - Cat (005C) is inactive: end_date is the date of LastModifiedDate; she
//!   has no Department: team `Unassigned`;
//! - EUR: ConversionRate 0.8 and 0.5 are EUR per USD: 1.25 and 2 USD per EUR;
//! - Type maps to deal_type (`Other` to none); a null Amount is 0;
//! - Task subtypes lower-cased (none: `task`), call seconds to minutes,
//!   Event as `meeting`; WhatId counts only when it is an opportunity (006);
//! - the stages are the org's, from OpportunityStage, in SortOrder, the
//!   inactive Needs Analysis included, Negotiation/Review at 85%.

use std::path::Path;

use polars::prelude::*;
use salesops::config::{Config, Stage};
use salesops::domain::StageKind;
use salesops::storage::Storage;

use salesops::publish::Manifest;

use super::harness::{assert_frames_close, local, mart, mart_names, published, run_into};

const EXPORT: &str = "tests/fixtures/salesforce/export";

/// `StageName` -> `stage_name`, `OpportunityHistory` -> `opportunity_history`.
fn snake(name: &str) -> String {
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_uppercase() && i > 0 && !out.ends_with('_') {
            out.push('_');
        }
        out.extend(c.to_lowercase());
    }
    out
}

/// The export as a lake sync writes it: a snake_case folder per object,
/// snake_case columns, and typed Parquet, as Fivetran-style tools do:
/// timestamps, dates and booleans where every value is one, and the
/// `numbers` columns as Float64 (ids stay text). Folders of the export
/// (tables already in the contract's shape) are copied as they are.
fn write_lake_copy(from: &Path, to: &Storage, numbers: &[&str]) {
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        let file_name = path.file_name().unwrap().to_str().unwrap().to_string();
        if path.is_dir() {
            super::s3::upload(&path, &format!("{file_name}/"), to);
            continue;
        }
        let Some(object) = file_name.strip_suffix(".csv") else {
            continue;
        };
        let mut reader = csv::Reader::from_path(&path).unwrap();
        let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
        let mut values: Vec<Vec<Option<String>>> = vec![Vec::new(); header.len()];
        for record in reader.records() {
            let record = record.unwrap();
            for (i, v) in record.iter().enumerate() {
                values[i].push((!v.is_empty()).then(|| v.to_string()));
            }
        }
        let columns: Vec<Column> = header
            .iter()
            .zip(&values)
            .map(|(h, v)| Column::new(h.as_str().into(), v))
            .collect();
        let height = values[0].len();
        let typed: Vec<Expr> = header
            .iter()
            .zip(&values)
            .map(|(h, v)| {
                let c = col(h.as_str());
                let present: Vec<&String> = v.iter().flatten().collect();
                let every =
                    |f: &dyn Fn(&str) -> bool| !present.is_empty() && present.iter().all(|x| f(x));
                let e = if numbers.contains(&h.as_str()) {
                    c.cast(DataType::Float64)
                } else if every(&|x| x == "true" || x == "false") {
                    c.eq(lit("true"))
                } else if every(&|x| x.len() == 24 && &x[10..11] == "T" && x.ends_with('Z')) {
                    c.str().to_datetime(
                        Some(TimeUnit::Milliseconds),
                        Some(TimeZone::UTC),
                        StrptimeOptions {
                            format: Some("%Y-%m-%dT%H:%M:%S%.3fZ".into()),
                            ..Default::default()
                        },
                        lit("raise"),
                    )
                } else if every(&|x| x.len() == 10 && &x[4..5] == "-" && &x[7..8] == "-") {
                    c.str().to_date(StrptimeOptions {
                        format: Some("%Y-%m-%d".into()),
                        ..Default::default()
                    })
                } else {
                    c
                };
                e.alias(snake(h))
            })
            .collect();
        let mut df = DataFrame::new(height, columns)
            .unwrap()
            .lazy()
            .select(typed)
            .collect()
            .unwrap();
        let bytes = salesops::parquet::parquet_bytes(&mut df).unwrap();
        to.put(&format!("{}/part-0.parquet", snake(object)), bytes.into())
            .unwrap();
    }
}

/// The config a run uses: `config` with what it reads from the export.
fn export_config(source: &Storage, config: &Config) -> Config {
    let listing = salesops::staging::Listing::of(source, config).unwrap();
    salesops::pipeline::with_export_config(source, &listing, config).unwrap()
}

fn published_marts(config: &Config, source: &Storage) -> (tempfile::TempDir, Storage) {
    let dir = tempfile::tempdir().unwrap();
    let out = local(dir.path());
    run_into(config, source, &out, "2024-06-30", false)
        .unwrap_or_else(|e| panic!("{}", e.report()));
    (dir, out)
}

/// A preset fixture's export (`<fixture>/export`), read as CSV and as a
/// lake copy, gives every mart of its hand-converted twin
/// (`<fixture>/contract`, run with `stages`, the export's own stages read
/// by hand, and no mapping). Returns the manifests of the two runs.
fn check_against_twin(fixture: &str, stages: Vec<Stage>, numbers: &[&str]) -> [Manifest; 2] {
    let export = format!("{fixture}/export");
    let config = Config::from_file(&format!("{export}/pipeline.toml")).unwrap();
    let resolved = export_config(&local(Path::new(&export)), &config);
    assert_eq!(resolved.stages, stages);
    let mut twin = config.clone();
    twin.tables.clear();
    twin.preset = None;
    twin.stages_from = None;
    twin.stages = stages;
    let (_t, twin_out) = published_marts(&twin, &local(Path::new(&format!("{fixture}/contract"))));
    let (_c, csv_out) = published_marts(&config, &local(Path::new(&export)));
    let lake_dir = tempfile::tempdir().unwrap();
    let lake = local(lake_dir.path());
    write_lake_copy(Path::new(&export), &lake, numbers);
    let (_l, lake_out) = published_marts(&config, &lake);
    for name in mart_names() {
        let expected = mart(&twin_out, name);
        assert!(expected.height() > 0, "{name} is empty");
        for (how, out) in [("CSV", &csv_out), ("lake copy", &lake_out)] {
            assert_frames_close(
                &format!("{name} from the {how}"),
                &mart(out, name),
                &expected,
            );
        }
    }
    [published(&csv_out), published(&lake_out)]
}

/// OpportunityStage of the fixture, read by hand: in SortOrder, with
/// DefaultProbability / 100, won when IsWon, lost when IsClosed.
fn org_stages() -> Vec<Stage> {
    let stage = |name: &str, probability, kind| Stage {
        name: name.into(),
        probability,
        kind,
    };
    vec![
        stage("Prospecting", 0.10, StageKind::Open),
        stage("Qualification", 0.10, StageKind::Open),
        stage("Negotiation/Review", 0.85, StageKind::Open),
        stage("Needs Analysis", 0.20, StageKind::Open),
        stage("Closed Won", 1.0, StageKind::Won),
        stage("Closed Lost", 0.0, StageKind::Lost),
    ]
}

#[test]
fn a_salesforce_export_as_csv_and_as_a_lake_copy_gives_the_marts_of_its_twin() {
    let manifests = check_against_twin(
        "tests/fixtures/salesforce",
        org_stages(),
        &[
            "Amount",
            "QuotaAmount",
            "ConversionRate",
            "CallDurationInSeconds",
            "DurationInMinutes",
            "DefaultProbability",
            "SortOrder",
        ],
    );
    for m in &manifests {
        // The stages file is read, so it is fingerprinted like the tables.
        assert!(
            m.inputs.iter().any(|i| i.table == "stages"),
            "{:?}",
            m.inputs
        );
        let t = &m.tables;
        // IsDeleted rows: one Opportunity and one Lead (read by the
        // opportunities query), and one of each other object that has them.
        assert_eq!(t["opportunities"].rows_filtered, 2);
        assert_eq!(t["opportunity_history"].rows_filtered, 1);
        assert_eq!(t["activities"].rows_filtered, 1);
        assert_eq!(t["leads"].rows_filtered, 1);
        assert_eq!(t["quotas"].rows_filtered, 1);
        for (table, stats) in t {
            assert_eq!(stats.rejected, 0, "{table}: {stats:?}");
        }
    }
}

#[test]
fn without_a_level_the_salesforce_preset_names_the_key_to_map() {
    let mut config = Config::from_toml(
        "sf.toml",
        &format!("source = \"{EXPORT}\"\npreset = \"salesforce\"\n"),
    )
    .unwrap();
    config.output = "unused".into();
    let source = local(Path::new(EXPORT));
    let listing = salesops::staging::Listing::of(&source, &config).unwrap();
    let e = salesops::pipeline::stage(&source, &listing, &config)
        .err()
        .expect("staging fails");
    assert_eq!(e.exit_code(), 1);
    assert!(
        e.report().contains("tables.reps.columns.level"),
        "{}",
        e.report()
    );
}

#[test]
fn the_pipeline_file_overrides_a_presets_column() {
    let config = Config::from_toml(
        "sf.toml",
        "preset = \"salesforce\"\n[tables.reps.columns]\nlevel = \"'senior'\"\nteam = \"Division\"\n",
    )
    .unwrap();
    let reps = &config.tables["reps"];
    assert_eq!(reps.columns["team"], "Division");
    assert_eq!(reps.columns["level"], "'senior'");
    // The rest of the preset's table stays.
    assert_eq!(reps.columns["rep_id"], "Id");
    assert_eq!(reps.path.as_deref(), Some("User"));
    assert_eq!(config.stages[0].name, "Prospecting");
}

#[test]
fn stages_in_the_pipeline_file_win_over_the_exports() {
    let config = Config::from_toml(
        "sf.toml",
        "preset = \"salesforce\"\n[[stages]]\nname = \"Open\"\nprobability = 0.5\nkind = \"open\"\n\
         [[stages]]\nname = \"Won\"\nprobability = 1.0\nkind = \"won\"\n",
    )
    .unwrap();
    assert!(config.stages_from.is_none());
    let resolved = export_config(&local(Path::new(EXPORT)), &config);
    assert_eq!(resolved.stages.len(), 2);
    assert_eq!(resolved.stages[0].name, "Open");
}

/// The pipeline stages of the HubSpot fixture, read by hand: in
/// display_order; closed with probability 1 won, closed otherwise lost.
fn hubspot_stages() -> Vec<Stage> {
    let stage = |name: &str, probability, kind| Stage {
        name: name.into(),
        probability,
        kind,
    };
    vec![
        stage("appointmentscheduled", 0.2, StageKind::Open),
        stage("qualifiedtobuy", 0.4, StageKind::Open),
        stage("contractsent", 0.85, StageKind::Open),
        stage("closedwon", 1.0, StageKind::Won),
        stage("closedlost", 0.0, StageKind::Lost),
    ]
}

/// The HubSpot fixture (tests/fixtures/hubspot/export), as CSV and as a
/// lake copy, gives every mart of its hand-converted twin. What the
/// conversion had to get right: owners' names joined, no team is
/// `Unassigned`, an archived owner's end date; dates of timestamps; a deal
/// without amount is 0; dealtype; the deleted deal 9006 (is_deleted) and its
/// history gone; each history row takes its deal's current amount and close
/// date; engagement types lower-cased, call milliseconds to minutes; the
/// contact without createdate is no lead; the stages from pipeline_stages.
#[test]
fn a_hubspot_export_as_csv_and_as_a_lake_copy_gives_the_marts_of_its_twin() {
    let manifests = check_against_twin(
        "tests/fixtures/hubspot",
        hubspot_stages(),
        &["amount", "hs_call_duration", "probability", "display_order"],
    );
    for m in &manifests {
        assert_eq!(m.tables["opportunities"].rows_filtered, 1);
        assert_eq!(m.tables["leads"].rows_filtered, 1);
        for (table, stats) in &m.tables {
            assert_eq!(stats.rejected, 0, "{table}: {stats:?}");
        }
    }
}

/// The data `generate` makes (scale 0.2, seed 7) in the contract's shape
/// and as `preset`'s export, published by the default pipeline and by
/// `pipelines/<preset>.toml`; all Parquet with `parquet`.
fn generated_runs(preset: &str, parquet: bool) -> [(tempfile::TempDir, Storage); 2] {
    use salesops::generate::{generate, GenerateOptions};
    let publish = |preset: Option<&str>, config: &Config| {
        let src_dir = tempfile::tempdir().unwrap();
        let src = local(src_dir.path());
        let options = GenerateOptions {
            scale: 0.2,
            seed: 7,
            all_parquet: parquet,
            preset: preset.map(String::from),
        };
        generate(&src, &options).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let out = local(dir.path());
        run_into(config, &src, &out, "2025-11-15", false)
            .unwrap_or_else(|e| panic!("{}", e.report()));
        (dir, out)
    };
    let pipeline = Config::from_file(&format!("pipelines/{preset}.toml")).unwrap();
    [
        publish(None, &Config::default()),
        publish(Some(preset), &pipeline),
    ]
}

/// `generate --preset salesforce` writes the data of `generate` with the
/// same seed as a Salesforce export: read through pipelines/salesforce.toml
/// it gives every mart, every cell, of the contract-shaped data.
#[test]
fn a_generated_salesforce_export_gives_the_marts_of_the_same_data_in_the_contract_shape() {
    // Data Loader CSV, and the same objects as Parquet.
    for parquet in [false, true] {
        check_generated_salesforce(parquet);
    }
}

fn check_generated_salesforce(parquet: bool) {
    let [(_a, from_contract), (_b, from_salesforce)] = generated_runs("salesforce", parquet);
    for name in mart_names() {
        let expected = mart(&from_contract, name);
        assert!(expected.height() > 0, "{name} is empty");
        super::harness::assert_frames_close(name, &mart(&from_salesforce, name), &expected);
    }
    // The same rows were rejected, for the same reasons.
    let (a, b) = (published(&from_contract), published(&from_salesforce));
    for (table, stats) in &a.tables {
        assert_eq!(stats.reasons, b.tables[table].reasons, "{table}");
    }
}

/// `generate --preset hubspot` writes the same data as a HubSpot export.
/// HubSpot's stage history has no amounts or close dates (they become the
/// deal's current ones), so the marts that read history differ; every mart
/// and column that does not is the same, cell for cell.
#[test]
fn a_generated_hubspot_export_gives_the_marts_that_do_not_read_history() {
    let [(_a, from_contract), (_b, from_hubspot)] = generated_runs("hubspot", false);
    for name in ["commissions_monthly", "lead_scores"] {
        let expected = mart(&from_contract, name);
        assert!(expected.height() > 0, "{name} is empty");
        super::harness::assert_frames_close(name, &mart(&from_hubspot, name), &expected);
    }
    let columns = [
        "rep_id",
        "fiscal_quarter",
        "won_amount",
        "won_count",
        "lost_count",
        "lost_amount",
        "avg_sales_cycle_days",
        "quota",
        "selling_minutes",
        "total_minutes",
        "prospecting_activities",
        "meetings",
        "median_lead_response_minutes",
        "avg_touches_per_won_deal",
    ];
    let pick = |df: DataFrame| df.select(columns).unwrap();
    super::harness::assert_frames_close(
        "rep_quarter_performance",
        &pick(mart(&from_hubspot, "rep_quarter_performance")),
        &pick(mart(&from_contract, "rep_quarter_performance")),
    );
}
