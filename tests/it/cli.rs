//! The `salesops` binary: exit codes (SPEC §6), messages, JSON logs.

use std::process::{Command, Output};

fn salesops(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_salesops"))
        .args(args)
        .output()
        .unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn run_publishes_then_has_nothing_to_do() {
    let out = tempfile::tempdir().unwrap();
    let o = out.path().to_str().unwrap();
    let args = [
        "run",
        "--pipeline",
        "tests/fixtures/hand/pipeline.toml",
        "--as-of",
        "2024-09-15",
        "--output",
        o,
    ];
    let first = salesops(&args);
    assert_eq!(first.status.code(), Some(0), "{}", text(&first));
    assert!(text(&first).contains("published run"), "{}", text(&first));
    assert!(out.path().join("_latest.json").exists());
    let again = salesops(&args);
    assert_eq!(again.status.code(), Some(0));
    assert!(text(&again).contains("nothing to do"), "{}", text(&again));
}

#[test]
fn json_logs_have_one_line_per_stage() {
    let out = tempfile::tempdir().unwrap();
    let o = salesops(&[
        "--log-format",
        "json",
        "run",
        "--pipeline",
        "tests/fixtures/hand/pipeline.toml",
        "--as-of",
        "2024-09-15",
        "--output",
        out.path().to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let stderr = String::from_utf8_lossy(&o.stderr);
    let lines: Vec<serde_json::Value> = stderr
        .lines()
        .map(|l| serde_json::from_str(l).expect(l))
        .collect();
    for step in ["staging", "intermediate", "publish"] {
        let line = lines
            .iter()
            .find(|l| l["step"] == step && l["message"] == "Step finished.")
            .unwrap_or_else(|| panic!("no {step} line in {stderr}"));
        // Durations are whole milliseconds.
        assert!(line["rows"].is_u64() && line["ms"].is_u64(), "{line}");
    }
}

#[test]
fn usage_errors_exit_2() {
    assert_eq!(salesops(&["frobnicate"]).status.code(), Some(2));
    let o = salesops(&[
        "run",
        "--pipeline",
        "tests/fixtures/hand/pipeline.toml",
        "--as-of",
        "2024-13-01",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("2024-13-01"), "{}", text(&o));
}

#[test]
fn config_errors_exit_1_and_name_file_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("bad.toml");
    std::fs::write(&p, "source = \"x\"\n[forecast]\ngrowth = 0.1\n").unwrap();
    let o = salesops(&["run", "--pipeline", p.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let t = text(&o);
    assert!(
        t.contains("bad.toml") && t.contains("growth") && t.contains("growth_rate"),
        "{t}"
    );
}

#[test]
fn storage_failures_exit_3() {
    // The output is a regular file: no folder can be made there.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("not-a-folder");
    std::fs::write(&file, "x").unwrap();
    let o = salesops(&[
        "run",
        "--pipeline",
        "tests/fixtures/hand/pipeline.toml",
        "--as-of",
        "2024-09-15",
        "--output",
        file.join("out").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
}

#[test]
fn validate_reports_and_publishes_nothing() {
    // The hand pipeline with its output in a fresh folder that validate
    // must leave as it found it: empty, and the source untouched.
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let pipeline = dir.path().join("pipeline.toml");
    let text_of = std::fs::read_to_string("tests/fixtures/hand/pipeline.toml").unwrap();
    std::fs::write(
        &pipeline,
        text_of.replace(
            "output = \"out/hand\"",
            &format!("output = {:?}", out.to_str().unwrap()),
        ),
    )
    .unwrap();
    let source_before = super::harness::files_under(std::path::Path::new("tests/fixtures/hand"));
    let o = salesops(&["validate", "--pipeline", pipeline.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let t = String::from_utf8_lossy(&o.stdout);
    assert!(
        t.lines()
            .any(|l| l.starts_with("opportunities") && l.contains(" 10 ")),
        "{t}"
    );
    assert!(
        super::harness::files_under(&out).is_empty(),
        "validate wrote to the output"
    );
    assert!(
        super::harness::files_under(std::path::Path::new("tests/fixtures/hand")) == source_before
    );
    // The same pipeline file does publish with `run`: the output path is live.
    let o = salesops(&[
        "run",
        "--pipeline",
        pipeline.to_str().unwrap(),
        "--as-of",
        "2024-09-15",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(out.join("_latest.json").exists());
}

#[test]
fn generate_is_deterministic() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    for d in [&a, &b] {
        let o = salesops(&[
            "generate",
            "--output",
            d.path().to_str().unwrap(),
            "--scale",
            "0.2",
            "--seed",
            "7",
        ]);
        assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    }
    for f in [
        "reps/reps.csv",
        "opportunities/part-0.csv",
        "opportunities/part-1.parquet",
        "activities/part-1.parquet",
    ] {
        assert_eq!(
            std::fs::read(a.path().join(f)).unwrap(),
            std::fs::read(b.path().join(f)).unwrap(),
            "{f}"
        );
    }
    // What it makes passes the contract with the default pipeline.
    let o = salesops(&["validate", "--source", a.path().to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
}
