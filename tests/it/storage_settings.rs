//! `[storage]` (SPEC §3) against real servers on loopback: a store that
//! answers 503 a few times is retried through, a dead endpoint stops the run
//! with exit 3 within the configured budget, and Azure for real (Azurite in
//! object_store's emulator mode).

use std::path::Path;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use salesops::config::Config;
use salesops::storage::Storage;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::services;

fn salesops(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_salesops"))
        .args(args)
        .output()
        .unwrap()
}

/// A pipeline file: the hand fixture's, with `extra` TOML appended.
fn pipeline_file(dir: &Path, extra: &str) -> String {
    let hand = std::fs::read_to_string("tests/fixtures/hand/pipeline.toml").unwrap();
    let source = std::path::absolute("tests/fixtures/hand").unwrap();
    // The fixture's own `output` line goes: `extra` gives one.
    let kept: Vec<&str> = hand
        .lines()
        .filter(|l| !l.starts_with("output") && !l.starts_with("source"))
        .collect();
    let text = format!(
        "source = {:?}\n{}\n{extra}",
        source.to_str().unwrap(),
        kept.join("\n")
    );
    let path = dir.join("pipeline.toml");
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_string()
}

/// A loopback proxy in front of `upstream`: its first `fail` connections get
/// `503 Slow Down` and are closed; later ones are passed through.
struct FlakyProxy {
    port: u16,
    answered_503: Arc<AtomicUsize>,
}

fn flaky_proxy(upstream: u16, fail: usize) -> FlakyProxy {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    let answered_503 = Arc::new(AtomicUsize::new(0));
    let counter = answered_503.clone();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            let connections = Arc::new(AtomicUsize::new(0));
            loop {
                let (mut client, _) = listener.accept().await.unwrap();
                let n = connections.fetch_add(1, Ordering::SeqCst);
                let counter = counter.clone();
                tokio::spawn(async move {
                    if n < fail {
                        // Read the request head, answer 503, hang up.
                        let mut buf = vec![0u8; 64 * 1024];
                        let mut seen = Vec::new();
                        while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
                            match client.read(&mut buf).await {
                                Ok(0) | Err(_) => return,
                                Ok(k) => seen.extend_from_slice(&buf[..k]),
                            }
                        }
                        let _ = client
                            .write_all(
                                b"HTTP/1.1 503 Slow Down\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                            )
                            .await;
                        counter.fetch_add(1, Ordering::SeqCst);
                        let _ = client.shutdown().await;
                    } else if let Ok(mut server) =
                        tokio::net::TcpStream::connect(("127.0.0.1", upstream)).await
                    {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
            }
        });
    });
    FlakyProxy { port, answered_503 }
}

#[test]
fn a_store_that_answers_503_a_few_times_is_retried_through() {
    let server = services::moto("salesops-flaky");
    let proxy = flaky_proxy(server.port, 3);
    let dir = tempfile::tempdir().unwrap();
    let pipeline = pipeline_file(
        dir.path(),
        &format!(
            "output = \"s3://salesops-flaky/out\"\n\
             [storage]\nretries = 5\nretry_timeout_seconds = 60\nrequest_timeout_seconds = 10\n\
             [storage_options]\naws_endpoint = \"http://127.0.0.1:{}\"\naws_allow_http = \"true\"\n\
             aws_access_key_id = \"testing\"\naws_secret_access_key = \"testing\"\naws_region = \"us-east-1\"\n",
            proxy.port
        ),
    );
    let o = salesops(&["run", "--pipeline", &pipeline, "--as-of", "2024-09-15"]);
    let text = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{text}");
    assert_eq!(proxy.answered_503.load(Ordering::SeqCst), 3);
    let out = Storage::open(
        "s3://salesops-flaky/out",
        &services::s3_options(server.port),
        true,
    )
    .unwrap();
    assert!(salesops::publish::latest(&out).unwrap().is_some());
}

#[test]
fn a_dead_endpoint_stops_the_run_with_exit_3_within_the_budget() {
    // A port nobody listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempfile::tempdir().unwrap();
    let pipeline = pipeline_file(
        dir.path(),
        &format!(
            "output = \"s3://nowhere/out\"\n\
             [storage]\nretries = 2\nretry_timeout_seconds = 3\nrequest_timeout_seconds = 2\n\
             [storage_options]\naws_endpoint = \"http://127.0.0.1:{port}\"\naws_allow_http = \"true\"\n\
             aws_access_key_id = \"k\"\naws_secret_access_key = \"s\"\naws_region = \"us-east-1\"\n"
        ),
    );
    let started = Instant::now();
    let o = salesops(&["run", "--pipeline", &pipeline, "--as-of", "2024-09-15"]);
    let elapsed = started.elapsed();
    let text = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(3), "{text}");
    assert!(text.contains("s3://nowhere/out/_latest.json"), "{text}");
    assert!(text.contains("caused by"), "{text}");
    // 3 attempts of at most 2 s inside a 3 s retry budget: far below a
    // default-settings run (10 retries, 180 s). A loose bound, not a timing.
    assert!(elapsed < Duration::from_secs(60), "{elapsed:?}");
}

/// object_store's emulator mode reads Azurite's address from the
/// environment; set once for this test binary.
fn use_azurite_at(port: u16) {
    static SET: std::sync::Once = std::sync::Once::new();
    SET.call_once(|| {
        std::env::set_var(
            "AZURITE_BLOB_STORAGE_URL",
            format!("http://127.0.0.1:{port}"),
        )
    });
}

#[test]
fn reads_inputs_from_and_publishes_to_azure() {
    let server = services::azurite("salesops");
    use_azurite_at(server.port);
    let mut config = Config::from_file("tests/fixtures/hand/pipeline.toml").unwrap();
    config.storage_options =
        [("azure_storage_use_emulator".to_string(), "true".to_string())].into();
    config.source = "az://salesops/inputs".into();
    config.output = "az://salesops/marts".into();
    let src = Storage::open(&config.source, &config.storage_options, false).unwrap();
    let out = Storage::open(&config.output, &config.storage_options, true).unwrap();
    super::harness::check_round_trip(&config, &src, &out);
}
