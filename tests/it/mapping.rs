//! Mapping (SPEC §1.2): a spreadsheet-style export read through a mapping
//! gives the marts of the same data converted to the contract by hand
//! (tests/fixtures/custom), and every mapping mistake is named, all at once,
//! before a row is read.

use std::path::Path;

use salesops::config::Config;
use salesops::pipeline;
use salesops::staging::Listing;

use super::harness::{
    assert_frames_close, local, mart, mart_names, published, read_parquet, run_fixture,
};

#[test]
fn a_mapped_export_gives_the_marts_of_its_hand_converted_twin() {
    let (_a, export) = run_fixture("tests/fixtures/custom/export/pipeline.toml", "2024-06-30");
    let (_b, contract) = run_fixture("tests/fixtures/custom/contract/pipeline.toml", "2024-06-30");
    for name in mart_names() {
        assert_frames_close(name, &mart(&export, name), &mart(&contract, name));
    }
    // Sanity: the twin is not empty. Anna won D1 (4,514) in FY2024-Q1.
    let perf = mart(&contract, "rep_quarter_performance");
    super::harness::check_row(
        &perf,
        &[("rep_id", "Anna Alvarez"), ("fiscal_quarter", "FY2024-Q1")],
        &[("won_amount", super::harness::V::F(4514.0))],
    );

    let m = published(&export);
    // D6 (the test account) is dropped by the filter: counted, not rejected.
    assert_eq!(m.tables["opportunities"].rows_filtered, 1);
    assert_eq!(m.tables["opportunities"].rows_read, 5);
    assert_eq!(m.tables["opportunities"].rejected, 0);
    // Dana has no manager: quarantined with her file and row.
    assert_eq!(m.tables["reps"].rejected, 1);
    let q = read_parquet(&export, &m.rejected["reps"].files[0].path);
    assert_eq!(q.height(), 1);
    let file = q
        .column("source_file")
        .unwrap()
        .str()
        .unwrap()
        .get(0)
        .unwrap();
    assert!(file.ends_with("sales_teams.csv"), "{file}");
    assert_eq!(
        q.column("source_row").unwrap().i64().unwrap().get(0),
        Some(4)
    );
    assert_eq!(
        q.column("reject_reason").unwrap().str().unwrap().get(0),
        Some("missing_required")
    );
    // The manifest records the mapping that was used.
    assert_eq!(
        m.config["tables"]["opportunities"]["values"]["stage"]["Won"],
        "Closed Won"
    );
    // The fingerprints are of the files the mapping read.
    let read: Vec<&str> = m.inputs.iter().map(|i| i.path.as_str()).collect();
    assert_eq!(
        read,
        ["sales_teams.csv", "products.csv", "sales_pipeline.csv"]
    );
}

/// The error of staging the custom export under a changed mapping.
fn mistakes(extra: &str) -> salesops::Error {
    let text =
        format!("source = \"tests/fixtures/custom/export\"\nmax_reject_ratio = 0.5\n{extra}");
    let config = Config::from_toml("custom.toml", &text).unwrap();
    let source = local(Path::new(&config.source));
    let listing = Listing::of(&source, &config).unwrap();
    pipeline::stage(&source, &listing, &config)
        .err()
        .expect("staging fails")
}

const REPS: &str = "[tables.reps]\npath = \"sales_teams.csv\"\n[tables.reps.columns]\n\
    rep_id = \"sales_agent\"\nteam = \"manager\"\nlevel = \"'junior'\"\nhire_date = \"DATE '2016-01-01'\"\n";

fn message_of(extra: &str) -> String {
    let e = mistakes(extra);
    assert_eq!(e.exit_code(), 1, "{}", e.report());
    e.report()
}

#[test]
fn each_mapping_mistake_is_named_with_its_key_and_expression() {
    let cases: [(String, &str); 7] = [
        (
            REPS.replace("sales_teams.csv", "teams.csv"),
            "tables.reps.path = \"teams.csv\": no .csv or .parquet file, folder or object of that name",
        ),
        (
            REPS.replace("team = \"manager\"", "team = \"managr\""),
            "tables.reps.columns.team = \"managr\"",
        ),
        (
            REPS.replace("team = \"manager\"", "team = \"manager +\""),
            "tables.reps.columns.team = \"manager +\": does not parse",
        ),
        (
            format!("{REPS}squad = \"manager\"\n"),
            "tables.reps.columns.squad: `squad` is not a column of `reps`",
        ),
        (
            REPS.replace("level = \"'junior'\"\n", ""),
            "tables.reps.columns.level: required column `level` of `reps` is not mapped",
        ),
        (
            "[tables.leads]\nsql = \"SELECT * FROM read_parquet('/etc/x.parquet')\"\n[tables.leads.files]\nx = \"products.csv\"\n".into(),
            "reads `read_parquet`, which `files` does not name",
        ),
        (
            "[tables.deals]\npath = \"sales_pipeline.csv\"\n".into(),
            "tables.deals: not a table of the contract",
        ),
    ];
    for (toml, expected) in cases {
        let m = message_of(&toml);
        assert!(m.contains(expected), "expected {expected:?} in:\n{m}");
        assert!(m.contains("custom.toml"), "{m}");
    }
}

#[test]
fn every_mistake_is_listed_at_once() {
    let toml = REPS
        .replace("team = \"manager\"", "team = \"managr\"")
        .replace("level = \"'junior'\"\n", "")
        + "[tables.opportunities]\npath = \"deals.csv\"\n";
    insta::assert_snapshot!(message_of(&toml));
}

#[test]
fn a_strict_cast_that_fails_on_a_value_names_table_column_expression_and_value() {
    let toml = format!(
        "{REPS}[tables.opportunities]\npath = \"sales_pipeline.csv\"\n\
         [tables.opportunities.columns]\nrep_id = \"sales_agent\"\nstage = \"deal_stage\"\n\
         created_date = \"engage_date\"\nclose_date = \"coalesce(close_date, '2024-06-30')\"\n\
         amount = \"CAST(account AS DOUBLE)\"\n"
    );
    let e = mistakes(&toml);
    assert_eq!(e.exit_code(), 1);
    let m = e.report();
    assert!(
        m.contains("table `opportunities`")
            && m.contains("column `amount`")
            && m.contains("CAST(account AS DOUBLE)")
            && m.contains("Acme"),
        "{m}"
    );
}

#[test]
fn unknown_stages_over_the_ratio_name_the_values_and_the_config_that_accepts_them() {
    // The custom export without its stage value map: every deal's stage
    // is unknown.
    let text = std::fs::read_to_string("tests/fixtures/custom/export/pipeline.toml").unwrap();
    let without_map = text
        .split("[tables.opportunities.values.stage]")
        .next()
        .unwrap();
    let config = Config::from_toml("custom.toml", without_map).unwrap();
    let source = local(Path::new(&config.source));
    let dir = tempfile::tempdir().unwrap();
    let e = super::harness::run_into(&config, &source, &local(dir.path()), "2024-06-30", false)
        .unwrap_err();
    assert_eq!(e.exit_code(), 1);
    insta::assert_snapshot!(e.report());
}
