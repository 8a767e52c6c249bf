//! The messages an operator reads at 3 a.m., as the `salesops` binary
//! prints them: snapshots (insta) of the error and its causes, printed once,
//! with temporary paths and ports replaced. Each also checks its exit code.

use std::path::Path;
use std::process::Command;

/// Runs the binary; (exit code, stderr from the `error:` line on, with
/// `redact` pairs replaced).
fn fails(args: &[&str], redact: &[(&str, &str)]) -> (i32, String) {
    let o = Command::new(env!("CARGO_BIN_EXE_salesops"))
        .args(args)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr).to_string();
    let start = stderr
        .find("\nerror: ")
        .map(|i| i + 1)
        .or_else(|| stderr.starts_with("error: ").then_some(0))
        .unwrap_or_else(|| panic!("no error line in {stderr}"));
    let mut text = stderr[start..].trim_end().to_string();
    for (from, to) in redact {
        text = text.replace(from, to);
    }
    assert_eq!(
        stderr.lines().filter(|l| l.starts_with("error: ")).count(),
        1,
        "printed once: {stderr}"
    );
    (o.status.code().unwrap(), text)
}

/// `salesops run` on a copy of the hand fixture that `change` altered,
/// publishing into the copy; stderr from `error:` on, its folder redacted.
fn fails_on_changed_fixture(change: impl FnOnce(&Path), extra: &[&str]) -> (i32, String) {
    let dir = tempfile::tempdir().unwrap();
    super::harness::copy_dir(Path::new("tests/fixtures/hand"), dir.path());
    change(dir.path());
    let tmp = dir.path().to_str().unwrap();
    let out = format!("{tmp}/out");
    let mut args = vec![
        "run",
        "--pipeline",
        "tests/fixtures/hand/pipeline.toml",
        "--source",
        tmp,
        "--output",
        &out,
    ];
    args.extend_from_slice(extra);
    fails(&args, &[(tmp, "[TMP]")])
}

#[test]
fn bad_config() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("bad.toml");
    std::fs::write(&p, "source = \"x\"\n[forecast]\ngrowth = 0.1\n").unwrap();
    let tmp = dir.path().to_str().unwrap();
    let (code, text) = fails(
        &["run", "--pipeline", p.to_str().unwrap()],
        &[(tmp, "[TMP]")],
    );
    assert_eq!(code, 1);
    insta::assert_snapshot!(text);
}

#[test]
fn missing_source_folder() {
    let dir = tempfile::tempdir().unwrap();
    let tmp = dir.path().to_str().unwrap();
    let (code, text) = fails(
        &[
            "run",
            "--pipeline",
            "tests/fixtures/hand/pipeline.toml",
            "--source",
            &format!("{tmp}/no-such-folder"),
            "--output",
            &format!("{tmp}/out"),
        ],
        &[(tmp, "[TMP]")],
    );
    assert_eq!(code, 1);
    insta::assert_snapshot!(text);
}

#[test]
fn missing_table() {
    let (code, text) = fails_on_changed_fixture(
        |dir| std::fs::remove_dir_all(dir.join("reps")).unwrap(),
        &[],
    );
    assert_eq!(code, 1);
    insta::assert_snapshot!(text);
}

#[test]
fn corrupt_file() {
    let (code, text) = fails_on_changed_fixture(
        |dir| {
            std::fs::write(
                dir.join("activities/broken.parquet"),
                b"PAR1 this is not parquet",
            )
            .unwrap()
        },
        &[],
    );
    assert_eq!(code, 1);
    insta::assert_snapshot!(text);
}

#[test]
fn reject_ratio() {
    let (code, text) = fails_on_changed_fixture(
        |dir| {
            std::fs::write(
                dir.join("leads/bad.csv"),
                "lead_id,created_at,rep_id\nL8,yesterday,A\nL9,2024-01-01,Z\n",
            )
            .unwrap()
        },
        &["--as-of", "2024-09-15"],
    );
    assert_eq!(code, 1);
    insta::assert_snapshot!(text);
}

#[test]
fn storage_down() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
        .to_string();
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("p.toml");
    std::fs::write(
        &p,
        format!(
            "source = \"tests/fixtures/hand\"\noutput = \"s3://down/out\"\n\
             [storage]\nretries = 1\nretry_timeout_seconds = 2\nrequest_timeout_seconds = 2\n\
             [storage_options]\naws_endpoint = \"http://127.0.0.1:{port}\"\naws_allow_http = \"true\"\n\
             aws_access_key_id = \"k\"\naws_secret_access_key = \"s\"\naws_region = \"us-east-1\"\n"
        ),
    )
    .unwrap();
    let (code, text) = fails(
        &["run", "--pipeline", p.to_str().unwrap()],
        &[(&port, "[PORT]")],
    );
    assert_eq!(code, 3);
    // The time the request took varies: "in 104.6ms, after" -> "in [TIME], after".
    let text = match (text.find(" in "), text.find(", after")) {
        (Some(a), Some(b)) if a < b => format!("{} in [TIME]{}", &text[..a], &text[b..]),
        _ => text,
    };
    insta::assert_snapshot!(text);
}

#[test]
fn memory_store_on_the_command_line() {
    let (code, text) = fails(
        &[
            "run",
            "--pipeline",
            "tests/fixtures/hand/pipeline.toml",
            "--output",
            "memory:///out",
        ],
        &[],
    );
    assert_eq!(code, 2);
    insta::assert_snapshot!(text);
}

#[test]
fn json_errors_are_one_json_line_with_their_causes() {
    let dir = tempfile::tempdir().unwrap();
    super::harness::copy_dir(Path::new("tests/fixtures/hand"), dir.path());
    std::fs::write(dir.path().join("activities/broken.parquet"), b"PAR1 x").unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_salesops"))
        .args([
            "--log-format",
            "json",
            "run",
            "--pipeline",
            "tests/fixtures/hand/pipeline.toml",
            "--source",
            dir.path().to_str().unwrap(),
            "--output",
            dir.path().join("out").to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&o.stderr);
    let lines: Vec<serde_json::Value> = stderr
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|_| panic!("not JSON: {l}")))
        .collect();
    let errors: Vec<_> = lines.iter().filter(|l| l["level"] == "ERROR").collect();
    assert_eq!(errors.len(), 1, "{stderr}");
    assert_eq!(errors[0]["exit_code"], 1);
    assert!(
        errors[0]["message"]
            .as_str()
            .unwrap()
            .contains("table `activities`"),
        "{stderr}"
    );
    assert!(
        errors[0]["causes"]
            .as_str()
            .unwrap()
            .contains("broken.parquet"),
        "{stderr}"
    );
    // A usage error with --log-format json is JSON too.
    let o = Command::new(env!("CARGO_BIN_EXE_salesops"))
        .args(["--log-format", "json", "frobnicate"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    for l in String::from_utf8_lossy(&o.stderr).lines() {
        serde_json::from_str::<serde_json::Value>(l).unwrap_or_else(|_| panic!("not JSON: {l}"));
    }
}
