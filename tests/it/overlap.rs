//! Runs that overlap (SPEC §5.1), made to overlap many times: two runs racing
//! on one output (in memory, in a local folder from two processes, on moto's
//! S3 server), a crash at every write, `--force` beside a published run, and
//! retention beside a run still writing. After each trial a reader that
//! follows `_latest.json` must find a complete run.

use std::ops::Range;
use std::path::Path as FsPath;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::time::Duration;

use bytes::Bytes;
use futures::stream::{BoxStream, StreamExt};
use object_store::memory::InMemory;
use object_store::path::Path;
use object_store::{
    CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta, ObjectStore,
    PutMultipartOptions, PutOptions, PutPayload, PutResult,
};
use salesops::config::Config;
use salesops::error::Error;
use salesops::pipeline::Outcome;
use salesops::publish::{self, LATEST};
use salesops::storage::Storage;
use sha2::Digest;

use super::harness::{local, run_into};
use super::services;

const HAND: &str = "tests/fixtures/hand/pipeline.toml";

fn hand() -> (Config, Storage) {
    let config = Config::from_file(HAND).unwrap();
    let source = local(FsPath::new(&config.source));
    (config, source)
}

/// Every file `_latest.json` leads to exists with the size and sha256 its
/// manifest gives, and the manifest is the run the pointer names.
fn assert_published_intact(out: &Storage) -> publish::Latest {
    let latest = publish::latest(out).unwrap().expect("_latest.json exists");
    assert_eq!(latest.manifest, publish::manifest_path(&latest.run_id));
    let m = publish::read_manifest(out, &latest.run_id)
        .unwrap_or_else(|e| panic!("manifest of {}: {}", latest.run_id, e.report()));
    assert_eq!(m.run_id, latest.run_id);
    assert_eq!(m.marts.len(), salesops::marts::MARTS.len());
    // Every file it lists, the report among them, as listed.
    let report = m.report.as_ref().expect("the manifest lists the report");
    let datasets = m.marts.values().chain(m.rejected.values());
    for f in datasets.flat_map(|d| &d.files).chain([report]) {
        let bytes = out
            .get(&f.path)
            .unwrap_or_else(|e| panic!("{} of run {}: {}", f.path, m.run_id, e.report()));
        assert_eq!(bytes.len(), f.bytes, "{}", f.path);
        assert_eq!(
            format!("{:x}", sha2::Sha256::digest(&bytes)),
            f.sha256,
            "{}",
            f.path
        );
    }
    latest
}

/// Of two racing runs, at least one published; every other one lost with
/// exit 4 naming the run `_latest.json` now names. Returns the conflicts.
fn check_outcomes(out: &Storage, outcomes: Vec<salesops::Result<Outcome>>) -> usize {
    let latest = assert_published_intact(out);
    let mut published = 0;
    let mut conflicts = 0;
    for o in outcomes {
        match o {
            Ok(Outcome::Published(m)) => {
                published += 1;
                let _ = m;
            }
            Ok(Outcome::UpToDate { .. }) => {}
            Err(e @ Error::Conflict { .. }) => {
                assert_eq!(e.exit_code(), 4);
                let Error::Conflict { winner, .. } = &e else {
                    unreachable!()
                };
                assert_eq!(winner, &latest.run_id, "{}", e.report());
                conflicts += 1;
            }
            Err(e) => panic!("a racing run failed otherwise: {}", e.report()),
        }
    }
    assert!(published >= 1, "one of the racing runs publishes");
    conflicts
}

// ---- a store that watches, gates and breaks writes ----

#[derive(Debug, Default)]
struct ProbeState {
    writes: AtomicUsize,
    /// The 1-based write that fails (puts and deletes count).
    fail_at: Option<usize>,
    /// Paths written, in order (`put path` / `delete path`).
    log: Mutex<Vec<String>>,
}

/// Wraps a store: counts and logs writes, fails the Nth, and can hold every
/// `_latest.json` put until two runs are there (so both have read the
/// pointer before either replaces it: a guaranteed overlap).
#[derive(Debug)]
struct Probe {
    inner: Arc<dyn ObjectStore>,
    state: Arc<ProbeState>,
    gate: Option<Arc<tokio::sync::Barrier>>,
}

impl std::fmt::Display for Probe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Probe({})", self.inner)
    }
}

impl ProbeState {
    fn write(&self, what: String) -> object_store::Result<()> {
        let n = self.writes.fetch_add(1, Ordering::SeqCst) + 1;
        self.log.lock().unwrap().push(what.clone());
        if Some(n) == self.fail_at {
            return Err(object_store::Error::Generic {
                store: "probe",
                source: format!("injected crash at write {n} ({what})").into(),
            });
        }
        Ok(())
    }
}

#[async_trait::async_trait]
impl ObjectStore for Probe {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> object_store::Result<PutResult> {
        if let Some(gate) = &self.gate {
            if location.as_ref().ends_with(LATEST) {
                // A run that never gets here must not hang the other.
                let _ = tokio::time::timeout(Duration::from_secs(60), gate.wait()).await;
            }
        }
        self.state.write(format!("put {location}"))?;
        self.inner.put_opts(location, payload, opts).await
    }

    async fn put_multipart_opts(
        &self,
        location: &Path,
        opts: PutMultipartOptions,
    ) -> object_store::Result<Box<dyn MultipartUpload>> {
        self.state.write(format!("multipart {location}"))?;
        self.inner.put_multipart_opts(location, opts).await
    }

    async fn get_opts(
        &self,
        location: &Path,
        options: GetOptions,
    ) -> object_store::Result<GetResult> {
        self.inner.get_opts(location, options).await
    }

    async fn get_ranges(
        &self,
        location: &Path,
        ranges: &[Range<u64>],
    ) -> object_store::Result<Vec<Bytes>> {
        self.inner.get_ranges(location, ranges).await
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, object_store::Result<Path>>,
    ) -> BoxStream<'static, object_store::Result<Path>> {
        let state = self.state.clone();
        let checked = locations
            .map(move |loc| {
                let loc = loc?;
                state.write(format!("delete {loc}"))?;
                Ok(loc)
            })
            .boxed();
        self.inner.delete_stream(checked)
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        self.inner.list(prefix)
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> object_store::Result<ListResult> {
        self.inner.list_with_delimiter(prefix).await
    }

    async fn copy_opts(
        &self,
        from: &Path,
        to: &Path,
        options: CopyOptions,
    ) -> object_store::Result<()> {
        self.state.write(format!("copy {to}"))?;
        self.inner.copy_opts(from, to, options).await
    }
}

fn probe(
    inner: &Arc<InMemory>,
    fail_at: Option<usize>,
    gate: Option<Arc<tokio::sync::Barrier>>,
) -> (Storage, Arc<ProbeState>) {
    let state = Arc::new(ProbeState {
        fail_at,
        ..Default::default()
    });
    let store = Probe {
        inner: inner.clone(),
        state: state.clone(),
        gate,
    };
    (
        Storage::from_store(Arc::new(store), "out", "memory:///out"),
        state,
    )
}

fn memory_out(inner: &Arc<InMemory>) -> Storage {
    Storage::from_store(inner.clone(), "out", "memory:///out")
}

/// Runs `runs` at once on `out`, each after the same barrier.
fn race(
    out: &Storage,
    config: &Config,
    source: &Storage,
    runs: &[(&str, bool)],
) -> Vec<salesops::Result<Outcome>> {
    let start = Barrier::new(runs.len());
    std::thread::scope(|s| {
        let handles: Vec<_> = runs
            .iter()
            .map(|(as_of, force)| {
                let start = &start;
                s.spawn(move || {
                    start.wait();
                    run_into(config, source, out, as_of, *force)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

#[test]
fn two_runs_racing_in_memory_always_leave_one_complete_run_and_the_loser_exits_4() {
    let (mut config, source) = hand();
    // keep_runs = 1: the winner's retention runs while the loser may still
    // be writing, the hardest case for it.
    config.keep_runs = 1;
    let trials = 24;
    let mut conflicts = 0;
    for trial in 0..trials {
        let inner = Arc::new(InMemory::new());
        let setup = memory_out(&inner);
        // Three kinds of race: onto an empty output (the pointer is
        // created), onto a published run (it is replaced), and two
        // --force reruns of the published run_id (attempts .2 and .3).
        let runs: Vec<(&str, bool)> = match trial % 3 {
            0 => vec![("2024-09-15", false), ("2024-09-15", false)],
            1 => {
                run_into(&config, &source, &setup, "2024-09-14", false).unwrap();
                vec![("2024-09-15", false), ("2024-09-16", false)]
            }
            _ => {
                run_into(&config, &source, &setup, "2024-09-15", false).unwrap();
                vec![("2024-09-15", true), ("2024-09-15", true)]
            }
        };
        let gate = Arc::new(tokio::sync::Barrier::new(2));
        let (out, _) = probe(&inner, None, Some(gate));
        let outcomes = race(&out, &config, &source, &runs);
        if trial == 1 {
            // The message the losing run prints (run_ids vary: redacted).
            let lost = outcomes.iter().find_map(|o| o.as_ref().err()).unwrap();
            let Error::Conflict { run_id, winner } = lost else {
                panic!("{}", lost.report())
            };
            insta::assert_snapshot!(
                "conflict",
                lost.report()
                    .replace(winner.as_str(), "[WINNER]")
                    .replace(run_id.as_str(), "[THIS_RUN]")
            );
        }
        let lost = check_outcomes(&setup, outcomes);
        // Held at the pointer together, exactly one can replace it.
        assert_eq!(lost, 1, "trial {trial}: one run loses");
        conflicts += lost;
        // The loser left its files for retention; a rerun is safe and
        // publishes (or finds its run published).
        run_into(&config, &source, &setup, runs[0].0, false).unwrap();
        assert_published_intact(&setup);
    }
    assert_eq!(conflicts, trials);
}

#[test]
fn two_processes_racing_on_a_local_folder_always_leave_one_complete_run() {
    let trials = 8;
    let mut conflicts = 0;
    for trial in 0..trials {
        let dir = tempfile::tempdir().unwrap();
        let o = dir.path().to_str().unwrap().to_string();
        let as_ofs = if trial % 2 == 0 {
            ["2024-09-15", "2024-09-15"]
        } else {
            let (config, source) = hand();
            run_into(&config, &source, &local(dir.path()), "2024-09-14", false).unwrap();
            ["2024-09-15", "2024-09-16"]
        };
        let children: Vec<_> = as_ofs
            .iter()
            .map(|as_of| {
                std::process::Command::new(env!("CARGO_BIN_EXE_salesops"))
                    .args(["run", "--pipeline", HAND, "--as-of", as_of, "--output", &o])
                    .stdout(std::process::Stdio::piped())
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        let outputs: Vec<_> = children
            .into_iter()
            .map(|c| c.wait_with_output().unwrap())
            .collect();
        let out = local(dir.path());
        let latest = assert_published_intact(&out);
        let codes: Vec<i32> = outputs.iter().map(|o| o.status.code().unwrap()).collect();
        assert!(codes.contains(&0), "trial {trial}: {codes:?}");
        for o in &outputs {
            let stderr = String::from_utf8_lossy(&o.stderr);
            match o.status.code() {
                Some(0) => {}
                Some(4) => {
                    assert!(stderr.contains(&latest.run_id), "{stderr}");
                    conflicts += 1;
                }
                other => panic!("trial {trial}: exit {other:?}: {stderr}"),
            }
        }
    }
    // Both processes read the pointer long before either replaces it.
    eprintln!("local folder: {conflicts} conflicts in {trials} trials");
    assert!(
        conflicts >= trials / 2,
        "{conflicts} conflicts in {trials} trials"
    );
}

#[test]
fn two_runs_racing_on_an_s3_server_always_leave_one_complete_run() {
    let server = services::moto("salesops-race");
    let (mut config, source) = hand();
    config.storage_options = services::s3_options(server.port);
    config.keep_runs = 1;
    let trials = 4;
    let mut conflicts = 0;
    for trial in 0..trials {
        let out = Storage::open(
            &format!("s3://salesops-race/trial-{trial}"),
            &config.storage_options,
            true,
        )
        .unwrap();
        let runs = if trial % 2 == 0 {
            vec![("2024-09-15", false), ("2024-09-15", false)]
        } else {
            run_into(&config, &source, &out, "2024-09-14", false).unwrap();
            vec![("2024-09-15", false), ("2024-09-16", false)]
        };
        let outcomes = race(&out, &config, &source, &runs);
        conflicts += check_outcomes(&out, outcomes);
    }
    eprintln!("S3: {conflicts} conflicts in {trials} trials");
    assert!(conflicts >= 1, "{conflicts} conflicts in {trials} trials");
}

#[test]
fn compare_and_swap_refuses_a_stale_version_on_every_kind_of_store() {
    let server = services::moto("salesops-cas");
    let s3 = Storage::open(
        "s3://salesops-cas/out",
        &services::s3_options(server.port),
        true,
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let stores = [
        s3,
        local(dir.path()),
        memory_out(&Arc::new(InMemory::new())),
    ];
    for out in stores {
        let put = |b: &'static str, v| out.replace_if("p.json", Bytes::from(b), v).unwrap();
        assert!(put("1", None), "{out:?}: create when absent");
        assert!(!put("x", None), "{out:?}: create when present is refused");
        let (_, v1) = out.get_versioned("p.json").unwrap().unwrap();
        assert!(put("2", Some(&v1)), "{out:?}: update at the version read");
        assert!(!put("x", Some(&v1)), "{out:?}: a stale version is refused");
        assert_eq!(out.get("p.json").unwrap().as_ref(), b"2");
        assert!(out.create("c.json", Bytes::from("a")).unwrap());
        assert!(!out.create("c.json", Bytes::from("b")).unwrap());
        assert_eq!(out.get("c.json").unwrap().as_ref(), b"a");
    }
}

#[test]
fn a_crash_at_any_write_leaves_the_published_run_intact_and_a_rerun_succeeds() {
    let (mut config, source) = hand();
    // Grace 0 and keep_runs 1: the run's retention deletes the earlier run,
    // so crashes in the middle of retention are tried too.
    config.keep_runs = 1;
    config.retention_grace_hours = 0.0;
    let mut crash_points = 0;
    for n in 1.. {
        let inner = Arc::new(InMemory::new());
        let setup = memory_out(&inner);
        run_into(&config, &source, &setup, "2024-09-14", false).unwrap();
        let before = publish::latest(&setup).unwrap().unwrap();
        let (out, state) = probe(&inner, Some(n), None);
        let result = run_into(&config, &source, &out, "2024-09-15", false);
        let writes = state.writes.load(Ordering::SeqCst);
        if writes < n {
            // The run finished in fewer writes: every point was tried.
            result.unwrap();
            break;
        }
        crash_points += 1;
        let what = state.log.lock().unwrap()[n - 1].clone();
        let now = assert_published_intact(&setup);
        match &result {
            // Before the pointer flips, the earlier run is what readers see.
            Err(e) => {
                assert_eq!(now, before, "crash at write {n} ({what}): {}", e.report());
                assert_eq!(e.exit_code(), 3, "{}", e.report());
            }
            // A crash in retention, after the flip: the run is published.
            Ok(Outcome::Published(m)) => assert_eq!(now.run_id, m.run_id),
            Ok(other) => panic!("{other:?}"),
        }
        // A rerun on the healthy store publishes (or finds it published).
        run_into(&config, &source, &setup, "2024-09-15", false).unwrap_or_else(|e| {
            panic!("rerun after a crash at write {n} ({what}): {}", e.report())
        });
        let after = assert_published_intact(&setup);
        assert_ne!(after, before, "crash at write {n}: the rerun published");
    }
    // 9 quarantine files, 8 marts, the claim, the manifest, the pointer,
    // the mark, and retention's deletes of the earlier run.
    assert!(crash_points > 22, "{crash_points} crash points");
    eprintln!("crash points tried: {crash_points}");
}

#[test]
fn force_leaves_every_published_byte_unchanged_until_the_pointer_flips() {
    let (config, source) = hand();
    let inner = Arc::new(InMemory::new());
    let setup = memory_out(&inner);
    run_into(&config, &source, &setup, "2024-09-15", false).unwrap();
    let first = publish::latest(&setup).unwrap().unwrap();
    let files_before = super::harness::files_of_store(&setup);

    let (out, state) = probe(&inner, None, None);
    let forced = match run_into(&config, &source, &out, "2024-09-15", true).unwrap() {
        Outcome::Published(m) => m.run_id,
        other => panic!("{other:?}"),
    };
    assert_eq!(forced, format!("{}.2", first.run_id));
    let log = state.log.lock().unwrap().clone();
    let flip = log
        .iter()
        .position(|w| w == "put out/_latest.json")
        .expect("the pointer is replaced");
    // Before the flip, no write touched a path of the published run.
    for w in &log[..flip] {
        let path = w.split_once(' ').unwrap().1;
        assert!(
            files_before.iter().all(|(p, _)| format!("out/{p}") != path),
            "{w} overwrote a published file before the flip"
        );
        assert!(path.contains(&forced), "{w} is not under the new attempt");
    }
    // And after it, the earlier run is still whole (keep_runs = 5).
    for (path, bytes) in &files_before {
        if path != LATEST {
            assert_eq!(&setup.get(path).unwrap(), bytes, "{path}");
        }
    }
    assert_eq!(assert_published_intact(&setup).run_id, forced);
}

#[test]
fn retention_never_deletes_a_run_still_writing() {
    let (mut config, source) = hand();
    config.keep_runs = 1;
    let inner = Arc::new(InMemory::new());
    let out = memory_out(&inner);
    run_into(&config, &source, &out, "2024-09-13", false).unwrap();
    // Two runs in flight: one has only started writing, one has written
    // its manifest and is about to replace the pointer.
    let writing = publish::claim_attempt(&out, "20240101-inflight").unwrap();
    out.put(
        &format!("forecasts/run_id={writing}/part-0.parquet"),
        Bytes::from("x"),
    )
    .unwrap();
    let about_to_publish = publish::claim_attempt(&out, "20240102-inflight").unwrap();
    out.put(
        &publish::manifest_path(&about_to_publish),
        Bytes::from("{}"),
    )
    .unwrap();
    // Two later publishes with keep_runs = 1: each deletes older published
    // runs, never the two in flight (younger than the 24 h grace).
    run_into(&config, &source, &out, "2024-09-14", false).unwrap();
    run_into(&config, &source, &out, "2024-09-15", false).unwrap();
    let paths: Vec<String> = out.list("").unwrap().into_iter().map(|(p, _)| p).collect();
    let has = |id: &str| paths.iter().any(|p| p.contains(id));
    assert!(has(&format!("forecasts/run_id={writing}")), "{paths:?}");
    assert!(has(&publish::manifest_path(&about_to_publish)), "{paths:?}");
    let published_runs: Vec<&String> = paths
        .iter()
        .filter(|p| p.ends_with("/published.json"))
        .collect();
    assert_eq!(published_runs.len(), 1, "{published_runs:?}");
    assert_published_intact(&out);

    // Past the grace period the two leftovers go; the published run stays.
    let latest = publish::latest(&out).unwrap().unwrap();
    let later = chrono::Utc::now() + chrono::Duration::hours(25);
    let deleted = publish::apply_retention(&out, 1, chrono::Duration::hours(24), later).unwrap();
    let mut deleted_sorted = deleted.clone();
    deleted_sorted.sort();
    assert_eq!(deleted_sorted, [writing.clone(), about_to_publish.clone()]);
    assert_eq!(publish::latest(&out).unwrap().unwrap(), latest);
    assert_published_intact(&out);
    let paths: Vec<String> = out.list("").unwrap().into_iter().map(|(p, _)| p).collect();
    assert!(!paths.iter().any(|p| p.contains("inflight")), "{paths:?}");
}

#[test]
fn attempts_are_claimed_once_each() {
    let out = memory_out(&Arc::new(InMemory::new()));
    let claimed: Vec<String> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..8)
            .map(|_| s.spawn(|| publish::claim_attempt(&out, "20240915-abc").unwrap()))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut sorted = claimed.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), 8, "{claimed:?}");
    assert!(sorted.contains(&"20240915-abc".to_string()));
    assert!(sorted.contains(&"20240915-abc.8".to_string()));
}
