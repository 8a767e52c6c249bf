//! Integration tests, one binary with a module per area (STYLE). Each test
//! gets its own temporary output; fixtures live under tests/fixtures/.

mod cli;
mod forecasts;
mod hand_fixture;
mod harness;
mod invariants;
mod leads_and_commissions;
mod publishing;
mod rejects;
mod s3;
mod shuffle;
