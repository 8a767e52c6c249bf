//! Money in cents (SPEC §1, §4.8), on tests/fixtures/cents, as_of
//! 2024-03-31. Each amount below lands exactly on half a cent in f64, where
//! halves away from zero (what the SPEC asks) and half-to-even (polars'
//! default) differ:
//! - C1: 100.75 EUR × 1.5 = 151.125 exactly → 151.13 (half-to-even: 151.12).
//! - C2: 10,001 USD, won in February; commission 0.125 × 10,001 = 1,250.125
//!   → 1,250.13 (half-to-even: 1,250.12).
//! - C3: 20.125 USD (the reporting currency is rounded too) → 20.13.
//! - C4: open, Demo, 100.75 EUR from its history row → 151.13.

use super::harness::{check_row, mart, run_fixture, V::*};

#[test]
fn amounts_and_commissions_are_rounded_to_cents_halves_away_from_zero() {
    let (_dir, out) = run_fixture("tests/fixtures/cents/pipeline.toml", "2024-03-31");
    let perf = mart(&out, "rep_quarter_performance");
    check_row(
        &perf,
        &[("rep_id", "R"), ("fiscal_quarter", "FY2024-Q1")],
        &[
            // 151.13 + 10,001.
            ("won_amount", F(10152.13)),
            ("won_count", I(2)),
            ("lost_amount", F(20.13)),
            // C4's state at the quarter's end: 151.13, × 0.4 = 60.452.
            ("pipeline_value", F(151.13)),
            ("weighted_pipeline_value", F(60.452)),
        ],
    );
    let pay = mart(&out, "commissions_monthly");
    check_row(
        &pay,
        &[("rep_id", "R"), ("month", "2024-01-01")],
        &[
            ("won_amount", F(151.13)),
            ("attained", B(false)),
            ("commission", F(0.0)),
        ],
    );
    check_row(
        &pay,
        &[("rep_id", "R"), ("month", "2024-02-01")],
        &[
            ("won_amount", F(10001.0)),
            ("target", F(10000.0)),
            ("attained", B(true)),
            ("commission", F(1250.13)),
            // Base 4,000 + 1,250.13.
            ("total_pay", F(5250.13)),
        ],
    );
    // Every money cell of the marts is whole cents.
    for (name, cols) in [
        (
            "commissions_monthly",
            &["won_amount", "commission", "total_pay"][..],
        ),
        (
            "rep_quarter_performance",
            &["won_amount", "lost_amount", "pipeline_value"][..],
        ),
    ] {
        let df = mart(&out, name);
        for c in cols {
            for v in df.column(c).unwrap().f64().unwrap().iter().flatten() {
                let cents = v * 100.0;
                assert!((cents - cents.round()).abs() < 1e-6, "{name}.{c} = {v}");
            }
        }
    }
}
