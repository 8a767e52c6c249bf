//! How polars runs the plans: the settings polars reads from the
//! environment that a run relies on. `main` sets them first thing, before
//! any thread starts; `.cargo/config.toml` sets the same for `cargo test`
//! and `cargo run`, so the tests take the paths a run takes (a test below
//! checks that).
//!
//! `POLARS_FORCE_PARTITION`: a group-by of plain columns into sums, counts
//! and the like is aggregated partitioned (each thread pre-aggregates its
//! part), not by polars' default hash aggregation. Left to itself, polars
//! picks the default when a sample of √n rows suggests more than 1,000
//! groups, and the marts group millions of activities into tens of
//! thousands of rep-quarters: at 1x the performance mart's group-by of 3.1M
//! activities took 110 ms instead of 37, the mart 235–246 ms instead of
//! 170–173 (`examples/profile_marts.rs`), and the default's per-row group
//! indexes were the 1x run's peak (0.80–0.85 GiB against 0.64–0.69).
//! Sorted keys still take polars' sorted path; every other such group-by,
//! a small one too, is partitioned (so the tests' hand-worked fixtures
//! take that path as well).
//! Groups come out in another order, and every mart sorts its rows; sums
//! are added in another order, which moved no mart's cell at 1x or 10x.

/// The settings, each set only where the environment does not already
/// set it (a user's own choice wins).
pub const POLARS_SETTINGS: [(&str, &str); 1] = [("POLARS_FORCE_PARTITION", "1")];

/// Sets `POLARS_SETTINGS`. Call it first thing in `main`: the environment
/// must not change while other threads may read it.
pub fn set_up() {
    for (name, value) in POLARS_SETTINGS {
        if std::env::var_os(name).is_none() {
            std::env::set_var(name, value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The tests run with the settings a run has (`.cargo/config.toml`),
    /// or they would test polars' other paths.
    #[test]
    fn the_tests_run_with_the_settings_of_a_run() {
        for (name, value) in POLARS_SETTINGS {
            assert_eq!(
                std::env::var(name).as_deref(),
                Ok(value),
                "{name} is not set as a run sets it: see .cargo/config.toml"
            );
        }
    }
}
