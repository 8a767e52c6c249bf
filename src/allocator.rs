//! How the process takes and returns memory. The `salesops` binary allocates
//! with mimalloc (`main.rs`: glibc's malloc handed polars' large buffers
//! back to the kernel and faulted them in again, a third of the run), and
//! sets it up first thing with `return_freed_memory_soon`.
//!
//! Why, measured on the 2-core development VM (README, "Development"):
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
//! - A fresh page is zeroed by the kernel when first touched (43% of the
//!   CPU time of a 10x run, by `perf`), a transparent huge page 2 MB at a
//!   time even where a few bytes of it are used. Without huge pages the 1x
//!   peak went from 0.80–0.84 to 0.74–0.76 GiB and the run from 2.10 s to
//!   1.99 s at the median of eight alternating runs.

use libmimalloc_sys::{mi_option_set, mi_option_t};

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

/// Keeps freed memory as long as `phase` wants (`Phase::purge_delay_ms`);
/// the pipeline calls it as staging starts and ends. A process that does
/// not allocate with mimalloc (the tests) only sets an unused option.
pub fn entering(phase: Phase) {
    // SAFETY: sets an integer option mimalloc reads when it next schedules
    // a purge; any value is valid.
    unsafe { mi_option_set(PURGE_DELAY, phase.purge_delay_ms() as _) };
}

/// Freed memory goes back to the kernel soon (`Phase::Staging`), and no
/// transparent huge pages. Called first thing in `main`, before polars
/// starts its threads.
pub fn return_freed_memory_soon() {
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

    /// The numbers are the options named `purge_delay` (1000 by default),
    /// `arena_purge_mult` (1) and `allow_thp` (1): the set-up sets them to
    /// 10, 1 and 0 and turns huge pages off for the process. The phases
    /// after staging keep freed memory 75 ms per million rows staged, at
    /// least 300 ms: 300 for none and for 4M rows (75 x 4 = 300), 3000 for
    /// 40M (75 x 40), 3037 for 40.5M (75 x 40.5 = 3037.5, whole ms). One
    /// test, so no other test changes the options between a call and its
    /// check.
    #[test]
    fn the_settings_are_the_purge_delay_and_huge_pages() {
        return_freed_memory_soon();
        assert_eq!(option("purge_delay"), "10");
        assert_eq!(option("arena_purge_mult"), "1");
        assert_eq!(option("allow_thp"), "0");
        // SAFETY: reads the process's flag.
        #[cfg(target_os = "linux")]
        assert_eq!(
            unsafe { libc::prctl(libc::PR_GET_THP_DISABLE, 0, 0, 0, 0) },
            1
        );
        for (staged_rows, ms) in [
            (0, "300"),
            (4_000_000, "300"),
            (40_000_000, "3000"),
            (40_500_000, "3037"),
        ] {
            entering(Phase::Building { staged_rows });
            assert_eq!(option("purge_delay"), ms, "{staged_rows} rows");
        }
        entering(Phase::Staging);
        assert_eq!(option("purge_delay"), "10");
    }
}
