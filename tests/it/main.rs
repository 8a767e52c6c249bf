//! Integration tests, one binary with a module per area (STYLE). Each test
//! gets its own temporary output; fixtures live under tests/fixtures/.

mod cents;
mod cli;
mod forecasts;
mod golden;
mod hand_fixture;
mod harness;
mod invariants;
mod leads_and_commissions;
mod mapping;
mod messages;
mod movement;
mod overlap;
mod presets;
mod publishing;
mod rejects;
mod report;
mod s3;
mod services;
mod shuffle;
mod storage_settings;
mod typed_parquet;
