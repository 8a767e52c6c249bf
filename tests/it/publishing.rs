//! Write–audit–publish (SPEC §5): reruns, run_ids, failed runs that leave the
//! published run untouched, retention, and the manifest's contents.

use std::path::Path;

use salesops::config::Config;
use salesops::pipeline::Outcome;
use salesops::publish::{self, LATEST};

use super::harness::{copy_dir, local, published, read_parquet, run_into};

/// A writable copy of the hand fixture, and the fixture's config.
fn fixture_copy() -> (tempfile::TempDir, Config) {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(Path::new("tests/fixtures/hand"), dir.path());
    let config = Config::from_file("tests/fixtures/hand/pipeline.toml").unwrap();
    (dir, config)
}

fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
    super::harness::files_under(dir)
}

#[test]
fn rerun_publishes_nothing_and_a_changed_input_gives_a_new_run() {
    let (src_dir, config) = fixture_copy();
    let src = local(src_dir.path());
    let out_dir = tempfile::tempdir().unwrap();
    let out = local(out_dir.path());
    let first = match run_into(&config, &src, &out, "2024-09-15", false).unwrap() {
        Outcome::Published(m) => m.run_id,
        other => panic!("expected a publish, got {other:?}"),
    };
    let before = snapshot(out_dir.path());
    match run_into(&config, &src, &out, "2024-09-15", false).unwrap() {
        Outcome::UpToDate { run_id } => assert_eq!(run_id, first),
        other => panic!("expected nothing to do, got {other:?}"),
    }
    assert_eq!(snapshot(out_dir.path()), before, "a rerun writes nothing");

    // --force recomputes it as a new attempt of the same run_id, beside
    // the published one (SPEC §5.1).
    match run_into(&config, &src, &out, "2024-09-15", true).unwrap() {
        Outcome::Published(m) => assert_eq!(m.run_id, format!("{first}.2")),
        other => panic!("expected a forced publish, got {other:?}"),
    }

    // A changed input file gives a new run_id, and _latest.json follows it.
    let reps = src_dir.path().join("reps/reps.csv");
    let mut text = std::fs::read_to_string(&reps).unwrap();
    text.push_str("E,Eve,East,NA,junior,2024-01-01,\n");
    std::fs::write(&reps, text).unwrap();
    let second = match run_into(&config, &src, &out, "2024-09-15", false).unwrap() {
        Outcome::Published(m) => m.run_id,
        other => panic!("expected a publish, got {other:?}"),
    };
    assert_ne!(second, first);
    assert_eq!(publish::latest(&out).unwrap().unwrap().run_id, second);
    // So does another as_of.
    let third = match run_into(&config, &src, &out, "2024-09-16", false).unwrap() {
        Outcome::Published(m) => m.run_id,
        other => panic!("expected a publish, got {other:?}"),
    };
    assert_ne!(third, second);
}

#[test]
fn a_corrupt_parquet_file_stops_the_run_and_leaves_the_published_run_untouched() {
    let (src_dir, config) = fixture_copy();
    let src = local(src_dir.path());
    let out_dir = tempfile::tempdir().unwrap();
    let out = local(out_dir.path());
    run_into(&config, &src, &out, "2024-09-15", false).unwrap();
    let before = snapshot(out_dir.path());

    std::fs::write(
        src_dir.path().join("activities/broken.parquet"),
        b"PAR1 this is not parquet",
    )
    .unwrap();
    let err = run_into(&config, &src, &out, "2024-09-15", false).unwrap_err();
    assert_eq!(err.exit_code(), 1);
    let msg = err.report();
    assert!(
        msg.contains("activities/broken.parquet") && msg.contains("Parquet"),
        "{msg}"
    );
    assert_eq!(
        snapshot(out_dir.path()),
        before,
        "nothing written, nothing changed"
    );
}

#[test]
fn a_ragged_csv_or_a_missing_column_names_the_file() {
    let (src_dir, config) = fixture_copy();
    let src = local(src_dir.path());
    let out_dir = tempfile::tempdir().unwrap();
    let out = local(out_dir.path());
    std::fs::write(
        src_dir.path().join("leads/more.csv"),
        "lead_id,created_at\nL9,2024-01-01,extra\n",
    )
    .unwrap();
    let msg = run_into(&config, &src, &out, "2024-09-15", false)
        .unwrap_err()
        .report();
    assert!(
        msg.contains("leads/more.csv") && msg.contains("line 2"),
        "{msg}"
    );

    std::fs::write(
        src_dir.path().join("leads/more.csv"),
        "lead_id,rep_id\nL9,A\n",
    )
    .unwrap();
    let msg = run_into(&config, &src, &out, "2024-09-15", false)
        .unwrap_err()
        .report();
    assert!(
        msg.contains("leads/more.csv") && msg.contains("created_at"),
        "{msg}"
    );
    assert!(publish::latest(&out).unwrap().is_none());
}

#[test]
fn too_many_rejects_stop_after_writing_the_quarantine() {
    let (src_dir, mut config) = fixture_copy();
    let src = local(src_dir.path());
    let out_dir = tempfile::tempdir().unwrap();
    let out = local(out_dir.path());
    run_into(&config, &src, &out, "2024-09-15", false).unwrap();
    let published_before = publish::latest(&out).unwrap().unwrap();

    // 2 bad leads of 5 = 40% > 5%.
    std::fs::write(
        src_dir.path().join("leads/bad.csv"),
        "lead_id,created_at,rep_id\nL8,yesterday,A\nL9,2024-01-01,Z\n",
    )
    .unwrap();
    config.keep_runs = 5;
    let err = run_into(&config, &src, &out, "2024-09-15", false).unwrap_err();
    assert_eq!(err.exit_code(), 1);
    let msg = err.report();
    assert!(msg.contains("leads") && msg.contains("2 of 5"), "{msg}");
    assert_eq!(publish::latest(&out).unwrap().unwrap(), published_before);

    // The quarantine of the stopped run is there to read.
    let rejected: Vec<_> = std::fs::read_dir(out_dir.path().join("_rejected"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| *n != format!("run_id={}", published_before.run_id))
        .collect();
    assert_eq!(rejected.len(), 1);
    let q = read_parquet(&out, &format!("_rejected/{}/leads.parquet", rejected[0]));
    assert_eq!(q.height(), 2);
}

#[test]
fn manifest_lists_every_file_and_retention_keeps_the_newest_runs() {
    let (src_dir, mut config) = fixture_copy();
    config.keep_runs = 2;
    // No grace: the runs are seconds apart, and the oldest must go now.
    config.retention_grace_hours = 0.0;
    let src = local(src_dir.path());
    let out_dir = tempfile::tempdir().unwrap();
    let out = local(out_dir.path());
    let mut run_ids = Vec::new();
    for day in ["2024-09-13", "2024-09-14", "2024-09-15"] {
        match run_into(&config, &src, &out, day, false).unwrap() {
            Outcome::Published(m) => run_ids.push(m.run_id),
            other => panic!("{other:?}"),
        }
    }
    let m = published(&out);
    assert_eq!(m.run_id, run_ids[2]);
    assert_eq!(m.as_of, "2024-09-15T23:59:59.999999Z");
    assert_eq!(
        m.marts.keys().map(String::as_str).collect::<Vec<_>>(),
        [
            "commissions_monthly",
            "forecast_accuracy",
            "forecast_accuracy_summary",
            "forecasts",
            "lead_scores",
            "pipeline_movement",
            "rep_quarter_performance",
            "rep_quarter_trends",
            "stage_conversion",
            "team_quarter_kpis"
        ]
    );
    for d in m.marts.values().chain(m.rejected.values()) {
        for f in &d.files {
            let bytes = std::fs::read(out_dir.path().join(&f.path)).unwrap();
            assert_eq!(bytes.len(), f.bytes, "{}", f.path);
            use sha2::Digest;
            assert_eq!(format!("{:x}", sha2::Sha256::digest(&bytes)), f.sha256);
            assert_eq!(read_parquet(&out, &f.path).height(), f.rows);
        }
    }
    assert_eq!(m.tables["opportunities"].rows_read, 10);
    assert_eq!(m.inputs.len(), 7);
    assert!(m.steps.iter().any(|s| s.name == "staging"));
    let latest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out_dir.path().join(LATEST)).unwrap()).unwrap();
    assert_eq!(
        latest["manifest"],
        format!("_runs/{}/manifest.json", run_ids[2])
    );

    // keep_runs = 2: the first run is gone, the other two remain.
    let runs: Vec<String> = std::fs::read_dir(out_dir.path().join("_runs"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(runs.len(), 2);
    assert!(!runs.contains(&run_ids[0]));
    assert!(!out_dir
        .path()
        .join(format!("rep_quarter_performance/run_id={}", run_ids[0]))
        .exists());
    assert!(out_dir
        .path()
        .join(format!("rep_quarter_performance/run_id={}", run_ids[1]))
        .exists());
}

#[test]
fn a_level_without_a_plan_stops_the_run_naming_the_level_and_file() {
    let (src_dir, config) = fixture_copy();
    let reps = src_dir.path().join("reps/reps.csv");
    let mut text = std::fs::read_to_string(&reps).unwrap();
    text.push_str("V,Vic,East,NA,vp,2024-01-01,\n");
    std::fs::write(&reps, text).unwrap();
    let out_dir = tempfile::tempdir().unwrap();
    let err = run_into(
        &config,
        &local(src_dir.path()),
        &local(out_dir.path()),
        "2024-09-15",
        false,
    )
    .unwrap_err();
    assert_eq!(err.exit_code(), 1);
    let msg = err.report();
    assert!(
        msg.contains("`vp`") && msg.contains("tests/fixtures/hand/pipeline.toml"),
        "{msg}"
    );
    assert!(!out_dir.path().join("_latest.json").exists());
}
