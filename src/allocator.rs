//! How the process takes and returns memory. The `salesops` binary allocates
//! with mimalloc (`main.rs`: glibc's malloc handed polars' large buffers
//! back to the kernel and faulted them in again, a third of the run), and
//! sets it up first thing with `set_up`.
//!
//! Why, measured on the 2-core development VM (`docs/performance.md`):
//! - mimalloc keeps memory an arena freed for a delay before it returns it
//!   to the kernel (1 s by default), and returns it only when the allocator
//!   is next called on the thread that freed it. A run stages its tables on
//!   threads that then end, and polars' threads sit idle between plans, so
//!   what they freed stayed resident: at 1x the staged rows are about 170
//!   MB and the process held 940 MB once staging was done. With no delay
//!   the 1x peak went from 0.96–1.00 GiB to 0.80–0.82 GiB, the 10x peak
//!   from 5.82–6.08 to 5.67–5.68 GiB.
//! - But with no delay a buffer freed and asked for again a moment later
//!   (polars does that plan after plan) is handed back to the kernel and
//!   faulted in anew: a third of a 1x run's CPU time was the kernel's. A
//!   delay of 10 ms keeps those: 1x 1.82–1.90 s against 1.93–2.06 s and
//!   0.73–0.76 against 0.71–0.73 GiB (five alternating runs each), 10x
//!   22.7–23.4 s against 24.1–27.1 s and 5.73–5.93 against 5.54–5.71 GiB
//!   (two each). A delay of 25 ms was as fast with a higher 10x peak
//!   (5.86 GiB both), 200 ms made the 1x peak 0.87 GiB, no purging at all
//!   the 10x peak 9.9 GiB.
//! - How long is long enough depends on the phase (`Phase`). Staging
//!   decodes whole files into buffers it frees once their columns are
//!   stacked, and the run's peak is reached there: 10 ms. After staging,
//!   plan after plan frees buffers the next plan asks for again some tens
//!   of milliseconds later: 100 ms there gave 1x 1.54–1.62 s against
//!   1.63–1.73 s, 0.81–0.84 against 0.75–0.81 GiB (five alternating runs
//!   each), 10x 17.6–18.9 s against 18.4–19.7 s, the peak still staging's
//!   (5.62–5.90 against 5.76–5.90 GiB, three each). At 10x each plan runs
//!   ten times as long, so a buffer is asked for again that much later:
//!   300 ms against 100 ms gave 16.6–17.5 s (median 17.1) against
//!   17.3–18.0 s (median 17.6) in ten alternating runs each (five of a
//!   build that took the delay from the environment, five of this build
//!   against the one before), the memory after staging at most 5.26–5.67
//!   against 5.12–5.59 GiB (sampled every 20 ms; the peak stays
//!   staging's); at 1x 1.52–1.58 s against 1.56–1.63 s and 0.75–0.86
//!   against 0.73–0.78 GiB (nine each). 200 ms was between the two; 1000
//!   ms took the 1x peak to 0.89–0.92 GiB.
//! - Since a plan's time grows with its rows, so does that delay: 75 ms per
//!   million rows staged, at least 300 ms. The 1x benchmark (3.9M rows)
//!   keeps 300 ms; 10x (39M) keeps 2.9 s. At 10x, fixed delays tried four
//!   runs each (alternating): 300 ms 16.2–17.1 s (median 16.6), 1.5 s
//!   15.5–16.0 s, 3 s 15.2–15.8 s (median 15.4), 6 s 15.2–15.6 s, with
//!   5.6M, 4.7M, 4.3M and 4.2M page faults: past 3 s nothing more is
//!   reused. Freed memory kept longer raises what the marts hold (5.5–6.05
//!   GiB sampled every 20 ms, against 5.2–5.5 with 300 ms), so it came
//!   with letting go of the activities once performance is built
//!   (`Models::release_activities`): 4.7–5.0 GiB.
//! - All of that is worth it only where memory is short. While the process
//!   holds less than a budget (`memory_budget`: a sixteenth of what it may
//!   use, its cgroup's limit or the machine's memory), freed memory is kept
//!   for the run, and a thread that reads the resident memory every 5 ms
//!   returns what was kept once the budget is reached, after which the
//!   phases' delays apply (`keep_freed_memory_below`). A 1x run (budget 1.5
//!   GiB on the 24 GiB machine) never reaches it: 1.43–1.47 s, 0.85–0.92
//!   GiB, 0.21M page faults, against 1.60–1.66 s, 0.71–0.72 GiB, 0.40M
//!   (four alternating runs each; the kernel's time 0.38–0.47 s against
//!   0.68–0.80 s). A 10x run is over it from its first second, as before:
//!   17.5–18.5 s against 17.6–17.9 s and 5.06–5.27 against 5.09–5.29 GiB
//!   (two alternating runs each in a slow hour, past one where both were
//!   slower).
//! - A fresh page is zeroed by the kernel when first touched (43% of the
//!   CPU time of a 10x run, by `perf`), a transparent huge page 2 MB at a
//!   time even where a few bytes of it are used. Without huge pages the 1x
//!   peak went from 0.80–0.84 to 0.74–0.76 GiB and the run from 2.10 s to
//!   1.99 s at the median of eight alternating runs.
//! - Huge pages only once a run is over its budget (2945012) looked better
//!   on one day: at 10x 0.8–1.0M page faults instead of 4.1–4.3M, 25.7–27.6
//!   s against 28.8–29.7 s. Two days later the same binaries were the
//!   other way round: 18.4–20.9 s against 15.4–16.1 s (eight alternating
//!   runs each), the kernel's time 14.6–17.5 s against 6.8–8.5 s. Each
//!   run zeroed 6,200–6,600 huge pages (12–13 GB, `thp_fault_alloc` in
//!   `/proc/vmstat`) at about 2.4 ms each, a fifth of the speed of zeroing
//!   small pages (likely because on a VM a huge page is often memory the
//!   host has taken back and must back again). Small pages cost the same
//!   from day to day, so huge pages stay off.

use std::sync::Mutex;
use std::time::Duration;

use libmimalloc_sys::{mi_collect, mi_option_set, mi_option_t};

/// Places in mimalloc's `mi_option_e` (`include/mimalloc.h` of the v3 that
/// libmimalloc-sys 0.1.49 bundles; pinned in Cargo.toml). Its Rust bindings
/// do not name these; the test below reads them back by name.
const PURGE_DELAY: mi_option_t = 15;
const ARENA_PURGE_MULT: mi_option_t = 24;
const ALLOW_THP: mi_option_t = 43;

/// The parts of a run that want freed memory kept for different times.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Reading and validating the tables: the run's peak.
    Staging,
    /// Intermediate models, marts and publishing: plan after plan, over
    /// the `staged_rows` rows staging read.
    Building { staged_rows: usize },
}

/// How long the phases after staging keep freed memory per million rows
/// staged (`Phase::Building`), in ms, and the least they keep it.
const BUILDING_MS_PER_MILLION_ROWS: usize = 75;
const BUILDING_MIN_MS: usize = 300;

impl Phase {
    /// How long mimalloc keeps freed memory before it returns it, in ms.
    /// After staging, a buffer a plan frees is asked for again by the next
    /// plan, and plans take time in proportion to the rows: so the delay
    /// grows with them (300 ms for the 1x benchmark's 3.9M rows, 2.9 s
    /// for 10x's 39M; see the module's notes).
    pub const fn purge_delay_ms(self) -> i64 {
        match self {
            Phase::Staging => 10,
            Phase::Building { staged_rows } => {
                let ms = staged_rows.saturating_mul(BUILDING_MS_PER_MILLION_ROWS) / 1_000_000;
                if ms > BUILDING_MIN_MS {
                    ms as i64
                } else {
                    BUILDING_MIN_MS as i64
                }
            }
        }
    }
}

/// Where the process stands: the phase's purge delay, the budget
/// (`keep_freed_memory_below`), and whether it holds more than that. With
/// no budget it is over: the phases' delays apply (a library user, the
/// tests, a platform whose resident memory is not known).
struct Budget {
    phase_delay_ms: i64,
    bytes: Option<u64>,
    over: bool,
    /// The process is about to exit (`leaving`).
    leaving: bool,
}

static BUDGET: Mutex<Budget> = Mutex::new(Budget {
    phase_delay_ms: 10,
    bytes: None,
    over: true,
    leaving: false,
});

fn budget() -> std::sync::MutexGuard<'static, Budget> {
    BUDGET.lock().unwrap_or_else(|e| e.into_inner())
}

/// The purge delay while the process holds less than its budget: freed
/// memory is kept for the run (an hour). A positive delay, so that freed
/// memory is still marked for a purge, which the watcher forces once the
/// budget is reached; a negative one would never mark it.
const UNDER_BUDGET_DELAY_MS: i64 = 3_600_000;

impl Budget {
    fn delay_ms(&self) -> i64 {
        if self.leaving {
            -1
        } else if self.over {
            self.phase_delay_ms
        } else {
            UNDER_BUDGET_DELAY_MS
        }
    }

    fn apply(&self) {
        // SAFETY: sets an integer option mimalloc reads when it next
        // schedules a purge; any value is valid.
        unsafe { mi_option_set(PURGE_DELAY, self.delay_ms() as _) };
    }
}

/// Keeps freed memory as long as `phase` wants (`Phase::purge_delay_ms`)
/// once the process holds more than its budget, and for the run while it
/// holds less; the pipeline calls it as staging starts and ends. A process
/// that does not allocate with mimalloc (the tests) only sets an unused
/// option.
pub fn entering(phase: Phase) {
    let mut budget = budget();
    budget.phase_delay_ms = phase.purge_delay_ms();
    budget.apply();
}

/// The process is about to exit: nothing is returned any more. The
/// kernel takes back all of the process's memory at exit anyway, and
/// mimalloc's own exit would first force a purge of all that was kept,
/// range by range (after a 1x run, 1,685 `madvise` calls). A negative
/// delay turns purging off, forced or not.
pub fn leaving() {
    let mut budget = budget();
    budget.leaving = true;
    budget.apply();
}

/// No transparent huge pages, freed memory kept while the process holds
/// less than a sixteenth of the memory it may use (`memory_budget`), and
/// returned soon after it is freed once it holds more
/// (`Phase::Staging`). Called first thing in `main`, before polars starts
/// its threads.
pub fn set_up() {
    // SAFETY: each sets an integer option mimalloc reads when it next maps
    // or purges memory; any value is valid. The prctl only changes how
    // the kernel backs this process's later mappings.
    unsafe {
        // The arenas' delay is the purge delay times `arena_purge_mult`.
        mi_option_set(ARENA_PURGE_MULT, 1);
        // mimalloc asks for huge pages on what it maps unless this is 0;
        // the prctl also stops a kernel that gives them to every process.
        mi_option_set(ALLOW_THP, 0);
        #[cfg(target_os = "linux")]
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
    entering(Phase::Staging);
    if let Some(limit) = memory_limit() {
        keep_freed_memory_below(memory_budget(limit));
    }
}

/// How often the watcher reads the resident memory: a few tens of MB at
/// most are faulted in between two readings on two cores.
const WATCH_EVERY: Duration = Duration::from_millis(5);

/// Freed memory is kept while the process's resident memory is under
/// `bytes`. A thread (started once) reads it every `WATCH_EVERY`; when it
/// reaches the budget, what was kept is returned at once (a forced purge)
/// and the phase's delay applies until it is under again.
pub fn keep_freed_memory_below(bytes: u64) {
    budget().bytes = Some(bytes);
    static WATCHER: std::sync::Once = std::sync::Once::new();
    WATCHER.call_once(|| {
        // Without the thread the phases' delays apply, as with no budget.
        let _ = std::thread::Builder::new()
            .name("memory-watch".into())
            .spawn(watch_resident_memory);
    });
}

fn watch_resident_memory() {
    loop {
        let held = resident_bytes();
        {
            let mut state = budget();
            let over = match (state.bytes, held) {
                (Some(bytes), Some(held)) => held >= bytes,
                _ => true,
            };
            if over != state.over {
                state.over = over;
                state.apply();
                if over {
                    // SAFETY: mimalloc's own collection; forced, it returns
                    // every freed range marked for a purge.
                    unsafe { mi_collect(true) };
                }
            }
        }
        std::thread::sleep(WATCH_EVERY);
    }
}

/// The memory kept freed is at most a sixteenth of what the process may
/// use: 1.5 GiB on the 24 GiB development machine, 256 MiB in a 4 GiB
/// container. See the module's notes for what it is worth.
pub fn memory_budget(limit: u64) -> u64 {
    limit / 16
}

/// The memory the process may use: its cgroup's limit (v2, then v1) where
/// one is set, else the machine's memory. `None` where neither is known.
fn memory_limit() -> Option<u64> {
    let read = |path: &str| std::fs::read_to_string(path).ok();
    let machine = read("/proc/meminfo").and_then(|m| machine_memory(&m));
    let cgroup = read("/sys/fs/cgroup/memory.max")
        .or_else(|| read("/sys/fs/cgroup/memory/memory.limit_in_bytes"))
        .and_then(|l| cgroup_limit(&l));
    match (cgroup, machine) {
        (Some(c), Some(m)) => Some(c.min(m)),
        (c, m) => c.or(m),
    }
}

/// A cgroup's memory limit file: bytes, or `max` for none (v2). cgroup v1
/// writes no limit as a number near 2^63, which the machine's memory is
/// below.
fn cgroup_limit(text: &str) -> Option<u64> {
    text.trim().parse().ok()
}

/// `MemTotal` of `/proc/meminfo`, in bytes.
fn machine_memory(meminfo: &str) -> Option<u64> {
    let line = meminfo.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// The process's resident memory in bytes (Linux: `/proc/self/statm`,
/// pages).
fn resident_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    // SAFETY: sysconf reads a constant of the system.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    Some(pages * u64::try_from(page).ok()?)
}

#[cfg(test)]
mod tests {
    use std::ffi::{c_char, c_void, CStr};

    use super::*;

    extern "C" {
        // mimalloc's own listing of its options, by name (mimalloc.h).
        fn mi_options_print_out(
            out: extern "C" fn(msg: *const c_char, arg: *mut c_void),
            arg: *mut c_void,
        );
    }

    extern "C" fn collect(msg: *const c_char, arg: *mut c_void) {
        // SAFETY: `arg` is the String passed below, `msg` a C string.
        let text = unsafe { &mut *(arg as *mut String) };
        text.push_str(&unsafe { CStr::from_ptr(msg) }.to_string_lossy());
    }

    /// mimalloc's value of the option `name`, as it lists it.
    fn option(name: &str) -> String {
        let mut listing = String::new();
        // SAFETY: `collect` appends to `listing`, which outlives the call.
        unsafe { mi_options_print_out(collect, &mut listing as *mut String as *mut c_void) };
        let line = listing
            .lines()
            .find(|l| l.contains(&format!("'{name}'")))
            .unwrap_or_else(|| panic!("mimalloc lists no {name}:\n{listing}"));
        line.trim_end()
            .rsplit(": ")
            .next()
            .unwrap_or("")
            .to_string()
    }

    /// Waits up to five seconds for the watcher to set `purge_delay` to
    /// `ms` (it reads the resident memory every 5 ms).
    fn purge_delay_becomes(ms: &str) {
        let started = std::time::Instant::now();
        while option("purge_delay") != ms && started.elapsed() < Duration::from_secs(5) {
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(option("purge_delay"), ms);
    }

    /// mimalloc's `allow_thp` is 0 and the process's THP-disable flag 1.
    fn huge_pages_are_off() {
        assert_eq!(option("allow_thp"), "0");
        // SAFETY: reads the process's flag.
        #[cfg(target_os = "linux")]
        assert_eq!(
            unsafe { libc::prctl(libc::PR_GET_THP_DISABLE, 0, 0, 0, 0) },
            1
        );
    }

    /// The numbers are the options named `purge_delay` (1000 by default),
    /// `arena_purge_mult` (1) and `allow_thp` (1): the set-up sets them to
    /// 1 and 0 and turns huge pages off for the process. Over its budget
    /// (here 0 bytes, which any process holds), huge pages stay off and
    /// the process keeps freed memory 10 ms while staging, and after it 75
    /// ms per million rows staged, at least 300 ms: 300 for none and for
    /// 4M rows (75 x 4 = 300), 3000 for 40M (75 x 40), 3037 for 40.5M (75
    /// x 40.5 = 3037.5, whole ms). Under it (here more bytes than there
    /// are), an hour (3600000 ms) in any phase, and the phase's delay again
    /// once over.
    /// Once leaving, -1 (no purge) in any case.
    /// One test, so no other test changes the options between a call and
    /// its check.
    #[test]
    fn the_settings_are_the_purge_delay_and_huge_pages() {
        set_up();
        assert_eq!(option("arena_purge_mult"), "1");
        huge_pages_are_off();
        keep_freed_memory_below(0);
        entering(Phase::Staging);
        purge_delay_becomes("10");
        for (staged_rows, ms) in [
            (0, "300"),
            (4_000_000, "300"),
            (40_000_000, "3000"),
            (40_500_000, "3037"),
        ] {
            entering(Phase::Building { staged_rows });
            assert_eq!(option("purge_delay"), ms, "{staged_rows} rows");
        }
        keep_freed_memory_below(u64::MAX);
        purge_delay_becomes("3600000");
        entering(Phase::Staging);
        assert_eq!(option("purge_delay"), "3600000");
        keep_freed_memory_below(0);
        // The watcher has seen the process go over its budget (it set the
        // delay): huge pages stay off there too (see the module's notes).
        purge_delay_becomes("10");
        huge_pages_are_off();
        // Leaving: never, whatever the watcher sees or the phase asks.
        leaving();
        assert_eq!(option("purge_delay"), "-1");
        keep_freed_memory_below(u64::MAX);
        entering(Phase::Staging);
        std::thread::sleep(Duration::from_millis(50));
        assert_eq!(option("purge_delay"), "-1");
    }

    /// A sixteenth: 4 GiB -> 256 MiB, 24 GiB -> 1.5 GiB.
    #[test]
    fn the_budget_is_a_sixteenth_of_the_limit() {
        assert_eq!(memory_budget(4 << 30), 256 << 20);
        assert_eq!(memory_budget(24 << 30), 1536 << 20);
    }

    /// cgroup v2's `max` is no limit; a number is bytes. `MemTotal` is in
    /// KiB.
    #[test]
    fn the_limit_is_read_from_the_cgroup_and_meminfo() {
        assert_eq!(cgroup_limit("max\n"), None);
        assert_eq!(cgroup_limit("4294967296\n"), Some(4 << 30));
        let meminfo = "MemTotal:       24683584 kB\nMemFree:        21000000 kB\n";
        assert_eq!(machine_memory(meminfo), Some(24683584 * 1024));
        assert_eq!(machine_memory("MemFree: 1 kB\n"), None);
    }
}
