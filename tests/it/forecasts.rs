//! The hand-worked forecast fixture (tests/fixtures/forecast), as_of
//! 2024-07-15, calendar fiscal years, offsets [0, 30], one-quarter lookback.
//!
//! Reps: P and Q (team North), S (team South, hired 2024-05-10: the second
//! month of FY2024-Q2, so 2 new-rep months). South never submits a forecast.
//! Default stage probabilities: Discovery .1, Qualified .2, Demo .4, Trial .6,
//! Negotiation .8.
//!
//! Deals (state changes in brackets):
//! - F1 P: Demo 10,000 close 03-15 [01-10 09:00]; slips: Demo 12,000 close
//!   04-20 [01-25]; back: Negotiation close 03-28 [03-01]; won 12,000 [03-28].
//! - F2 Q: Qualified 5,000 [01-01 08:00]; won 01-20 [01-20 10:00].
//! - F3 P: created 02-15 (after both Q1 snapshots), lost 03-10, no history.
//! - F4 Q: Discovery 20,000 close 06-30 [03-20]; Trial close 05-15 [exactly
//!   05-01 00:00, the Q2 day-30 snapshot: it counts]. Still open.
//! - F5 P: Demo 8,000 close 06-28 [03-25]; Negotiation [04-01 00:00:00.000001,
//!   a microsecond after the Q2 day-0 snapshot: it does not count]; won 06-28.
//! - F6 S: Qualified 6,000 close 08-20, created 05-12, no history.
//! - F7 Q: 9,000 created 06-01, won 07-10, no history (synthetic: Discovery
//!   from 06-01, Closed Won at 07-10 00:00).
//! - F8 Q: Discovery 4,000 close 09-15, created 07-05, no history.
//!
//! cycle_age's T (median cycle of deals won in the previous quarter):
//! FY2024-Q1: none won in 2023-Q4 -> null. Q2: F1 78 days (01-10 -> 03-28),
//! F2 19 days -> 48.5. Q3: F5 95 days (03-25 -> 06-28) -> 95.
//! historical_growth: the data starts 2024-01-01, less than 730 days before
//! any snapshot, so g = 0: forecast = 3 × A + M × 5,000 = won in the 90 days
//! before the snapshot + M × 5,000.

use polars::prelude::*;
use salesops::marts::forecasts::growth_forecast;
use salesops::marts::{forecast_accuracy, forecast_accuracy_summary};

use super::harness::{check_row, mart, V, V::*};

fn run_fixture() -> (tempfile::TempDir, salesops::storage::Storage) {
    super::harness::run_fixture("tests/fixtures/forecast/pipeline.toml", "2024-07-15")
}

/// (method, expected forecast_amount, expected (won_to_date, open_in_scope)).
type MethodCheck = (&'static str, V, Option<(f64, i64)>);

/// Checks forecast_amount (and, where given, won_to_date and open_in_scope)
/// of one (scope_id, quarter, snapshot) for each method.
fn check(
    df: &DataFrame,
    scope: &'static str,
    id: &'static str,
    q: &'static str,
    snapshot: &'static str,
    expected: &[MethodCheck],
) {
    for (method, forecast, extra) in expected {
        let keys = [
            ("scope", scope),
            ("scope_id", id),
            ("fiscal_quarter", q),
            ("method", *method),
            ("snapshot_date", snapshot),
        ];
        let mut cols = vec![("forecast_amount", *forecast)];
        if let Some((won, open)) = extra {
            cols.push(("won_to_date", F(*won)));
            cols.push(("open_in_scope", I(*open)));
        }
        check_row(df, &keys, &cols);
    }
}

#[test]
fn forecasts_by_hand() {
    let (_dir, out) = run_fixture();
    let df = mart(&out, "forecasts");
    // Q1: (P, Q) × 3 methods + (North, all) × 4 = 14 per snapshot, 2 snapshots.
    // Q2 and Q3: (P, Q, S) × 3 + (North, South, all) × 4 = 21, 2 snapshots each.
    assert_eq!(df.height(), 28 + 42 + 42);
    let q1 = "FY2024-Q1";
    let q2 = "FY2024-Q2";
    let q3 = "FY2024-Q3";

    // FY2024-Q1 at 2024-01-01 00:00: no deal exists yet (F2's first row is at 08:00).
    check_row(
        &df,
        &[
            ("scope", "rep"),
            ("scope_id", "P"),
            ("method", "stage_weighted"),
            ("snapshot_date", "2024-01-01"),
        ],
        &[
            ("fiscal_quarter", S(q1)),
            ("quarter_start", D("2024-01-01")),
            ("quarter_end", D("2024-03-31")),
            ("days_into_quarter", I(0)),
            ("forecast_amount", F(0.0)),
            ("won_to_date", F(0.0)),
            ("open_in_scope", I(0)),
        ],
    );
    check(
        &df,
        "company",
        "all",
        q1,
        "2024-01-01",
        &[
            ("stage_weighted", F(0.0), Some((0.0, 0))),
            // T is null: no deal was won in 2023-Q4.
            ("cycle_age", Null, Some((0.0, 0))),
            // P's submission of 2023-12-28 (15,000); Q's of 02-05 is after the snapshot.
            ("rep_commit", F(15000.0), Some((0.0, 0))),
            // Nothing won in the 90 days before; no new reps.
            ("historical_growth", F(0.0), Some((0.0, 0))),
        ],
    );
    check(
        &df,
        "rep",
        "Q",
        q1,
        "2024-01-01",
        &[("rep_commit", Null, None)],
    );

    // FY2024-Q1 at 2024-01-31 (day 30): F2 already won (5,000); F1 has
    // slipped to 04-20, out of the quarter, so it is not weighed.
    check(
        &df,
        "rep",
        "P",
        q1,
        "2024-01-31",
        &[
            ("stage_weighted", F(0.0), Some((0.0, 0))),
            ("cycle_age", Null, Some((0.0, 0))),
            // The 01-15 submission replaces the 12-28 one.
            ("rep_commit", F(18000.0), None),
        ],
    );
    check(
        &df,
        "rep",
        "Q",
        q1,
        "2024-01-31",
        &[
            ("stage_weighted", F(5000.0), Some((5000.0, 0))),
            ("rep_commit", Null, Some((5000.0, 0))),
        ],
    );
    check(
        &df,
        "team",
        "North",
        q1,
        "2024-01-31",
        &[
            ("stage_weighted", F(5000.0), Some((5000.0, 0))),
            ("rep_commit", F(18000.0), None),
            // F2's 5,000 won on 01-20: A = 5,000 / 3, forecast 3 × A = 5,000.
            ("historical_growth", F(5000.0), None),
        ],
    );
    check_row(
        &df,
        &[
            ("scope", "team"),
            ("scope_id", "North"),
            ("method", "historical_growth"),
            ("snapshot_date", "2024-01-31"),
        ],
        &[("days_into_quarter", I(30))],
    );

    // FY2024-Q2 at 2024-04-01 00:00. T = 48.5.
    // F4 (Q): Discovery 20,000 close 06-30: 2,000; age by 06-30 = 102 days ≥ T -> 20,000.
    // F5 (P): still Demo (its change is 1 µs later): 3,200; age 97 days ≥ T -> 8,000.
    check(
        &df,
        "rep",
        "P",
        q2,
        "2024-04-01",
        &[
            ("stage_weighted", F(3200.0), Some((0.0, 1))),
            ("cycle_age", F(8000.0), Some((0.0, 1))),
            // P's Q2 submission is from 04-02: not yet.
            ("rep_commit", Null, Some((0.0, 0))),
        ],
    );
    check(
        &df,
        "rep",
        "Q",
        q2,
        "2024-04-01",
        &[
            ("stage_weighted", F(2000.0), Some((0.0, 1))),
            ("cycle_age", F(20000.0), None),
            ("rep_commit", F(25000.0), None),
        ],
    );
    // S has a row (hired in Q2) with nothing in it.
    check(
        &df,
        "rep",
        "S",
        q2,
        "2024-04-01",
        &[
            ("stage_weighted", F(0.0), Some((0.0, 0))),
            ("cycle_age", F(0.0), Some((0.0, 0))),
            ("rep_commit", Null, None),
        ],
    );
    check(
        &df,
        "team",
        "North",
        q2,
        "2024-04-01",
        &[
            ("stage_weighted", F(5200.0), Some((0.0, 2))),
            ("cycle_age", F(28000.0), Some((0.0, 2))),
            ("rep_commit", F(25000.0), None),
            // Won 01-02..03-31: F1 12,000 + F2 5,000 = 17,000 -> 3 × 17,000 / 3.
            ("historical_growth", F(17000.0), Some((0.0, 0))),
        ],
    );
    check(
        &df,
        "team",
        "South",
        q2,
        "2024-04-01",
        &[
            ("stage_weighted", F(0.0), None),
            // South never submits: null, not 0.
            ("rep_commit", Null, None),
            // S hired 05-10: May and June, 2 × 5,000.
            ("historical_growth", F(10000.0), None),
        ],
    );
    check(
        &df,
        "company",
        "all",
        q2,
        "2024-04-01",
        &[
            ("stage_weighted", F(5200.0), Some((0.0, 2))),
            ("cycle_age", F(28000.0), Some((0.0, 2))),
            ("rep_commit", F(25000.0), Some((0.0, 0))),
            ("historical_growth", F(27000.0), Some((0.0, 0))),
        ],
    );

    // FY2024-Q2 at 2024-05-01 (day 30). F4's change at exactly 05-01 00:00
    // counts: Trial 20,000 × 0.6 = 12,000. F5 now Negotiation: 6,400.
    check(
        &df,
        "rep",
        "Q",
        q2,
        "2024-05-01",
        &[("stage_weighted", F(12000.0), Some((0.0, 1)))],
    );
    check(
        &df,
        "rep",
        "P",
        q2,
        "2024-05-01",
        &[
            ("stage_weighted", F(6400.0), None),
            ("rep_commit", F(10000.0), None),
        ],
    );
    check(
        &df,
        "company",
        "all",
        q2,
        "2024-05-01",
        &[
            ("stage_weighted", F(18400.0), Some((0.0, 2))),
            ("cycle_age", F(28000.0), None),
            // P 10,000 + Q 25,000.
            ("rep_commit", F(35000.0), None),
            // Won 02-01..04-30: F1 12,000; plus S's 2 months: 12,000 + 10,000.
            ("historical_growth", F(22000.0), None),
        ],
    );

    // FY2024-Q3 at 2024-07-01 00:00. T = 95. F4 is open but its close date
    // (05-15) is not in Q3. F7 (Q): Discovery 9,000, age by 09-30 121 days
    // -> 900 and 9,000; F6 (S): Qualified 6,000, 141 days -> 1,200 and 6,000.
    check(
        &df,
        "company",
        "all",
        q3,
        "2024-07-01",
        &[
            ("stage_weighted", F(2100.0), Some((0.0, 2))),
            ("cycle_age", F(15000.0), Some((0.0, 2))),
            // Q's Q3 submission is from 07-02.
            ("rep_commit", Null, None),
            // Won 04-02..06-30: F5 8,000.
            ("historical_growth", F(8000.0), None),
        ],
    );
    check(
        &df,
        "team",
        "South",
        q3,
        "2024-07-01",
        &[
            ("stage_weighted", F(1200.0), Some((0.0, 1))),
            ("cycle_age", F(6000.0), None),
            ("historical_growth", F(0.0), None),
        ],
    );

    // The as_of snapshot of the current quarter: 2024-07-15, day 14. F7 won
    // at 07-10 00:00 (9,000); F8 (Q, created 07-05): Discovery 4,000 -> 400,
    // age by 09-30 = 87 days < T = 95 -> 4,000 × 87 / 95.
    let f8 = 4000.0 * 87.0 / 95.0;
    check_row(
        &df,
        &[
            ("scope", "rep"),
            ("scope_id", "Q"),
            ("method", "cycle_age"),
            ("snapshot_date", "2024-07-15"),
        ],
        &[("days_into_quarter", I(14))],
    );
    check(
        &df,
        "rep",
        "Q",
        q3,
        "2024-07-15",
        &[
            ("stage_weighted", F(9400.0), Some((9000.0, 1))),
            ("cycle_age", F(9000.0 + f8), Some((9000.0, 1))),
            ("rep_commit", F(11000.0), Some((9000.0, 0))),
        ],
    );
    check(
        &df,
        "company",
        "all",
        q3,
        "2024-07-15",
        &[
            ("stage_weighted", F(10600.0), Some((9000.0, 2))),
            ("cycle_age", F(9000.0 + 6000.0 + f8), None),
            ("rep_commit", F(11000.0), None),
            // Won 04-16..07-14: F5 8,000 + F7 9,000.
            ("historical_growth", F(17000.0), None),
        ],
    );
    // No offset-30 snapshot in Q3: 07-31 is after as_of.
    let q3_snapshots = df
        .clone()
        .lazy()
        .filter(col("fiscal_quarter").eq(lit(q3)))
        .select([col("snapshot_date").n_unique()])
        .collect()
        .unwrap();
    assert_eq!(
        q3_snapshots
            .column("snapshot_date")
            .unwrap()
            .get(0)
            .unwrap()
            .extract::<u32>(),
        Some(2)
    );
}

#[test]
fn accuracy_and_summary_by_hand() {
    let (_dir, out) = run_fixture();
    let acc = mart(&out, "forecast_accuracy");
    // Complete quarters only: Q1 (28 rows) and Q2 (42).
    assert_eq!(acc.height(), 70);
    // Won in Q1: F1 12,000 (P) + F2 5,000 (Q) = 17,000. Won in Q2: F5 8,000 (P).
    let key = |scope, id, q, method, snap| {
        vec![
            ("scope", scope),
            ("scope_id", id),
            ("fiscal_quarter", q),
            ("method", method),
            ("snapshot_date", snap),
        ]
    };
    check_row(
        &acc,
        &key(
            "company",
            "all",
            "FY2024-Q1",
            "stage_weighted",
            "2024-01-31",
        ),
        &[
            ("forecast_amount", F(5000.0)),
            ("actual_amount", F(17000.0)),
            ("error", F(-12000.0)),
            ("abs_error", F(12000.0)),
            ("abs_pct_error", F(12000.0 / 17000.0)),
            ("accuracy", F(1.0 - 12000.0 / 17000.0)),
        ],
    );
    // 35,000 against 8,000: 337.5% off, accuracy floored at 0.
    check_row(
        &acc,
        &key("company", "all", "FY2024-Q2", "rep_commit", "2024-05-01"),
        &[
            ("error", F(27000.0)),
            ("abs_pct_error", F(27000.0 / 8000.0)),
            ("accuracy", F(0.0)),
        ],
    );
    // Q won nothing in Q2: no percentage error.
    check_row(
        &acc,
        &key("rep", "Q", "FY2024-Q2", "stage_weighted", "2024-04-01"),
        &[
            ("actual_amount", F(0.0)),
            ("error", F(2000.0)),
            ("abs_pct_error", Null),
            ("accuracy", Null),
        ],
    );
    // A null forecast keeps its row, with null errors.
    check_row(
        &acc,
        &key("company", "all", "FY2024-Q1", "cycle_age", "2024-01-01"),
        &[
            ("forecast_amount", Null),
            ("actual_amount", F(17000.0)),
            ("error", Null),
            ("accuracy", Null),
        ],
    );

    let summary = mart(&out, "forecast_accuracy_summary");
    let row = |method: &'static str, d: &'static str| {
        vec![
            ("scope", "company"),
            ("method", method),
            ("days_into_quarter", d),
        ]
    };
    // company, day 0: Q1 and Q2 rows, actual 17,000 and 8,000 (Σ 25,000).
    // stage_weighted: 0 (-17,000, ape 1) and 5,200 (-2,800, ape 0.35).
    check_row(
        &summary,
        &row("stage_weighted", "0"),
        &[
            ("observations", I(2)),
            ("mape", F((1.0 + 0.35) / 2.0)),
            ("wape", F(19800.0 / 25000.0)),
            ("bias", F(-19800.0 / 25000.0)),
            ("share_at_least_75", F(0.0)),
            ("best_method", B(false)),
        ],
    );
    // cycle_age: Q1 is null (left out); Q2 28,000 (+20,000, ape 2.5).
    check_row(
        &summary,
        &row("cycle_age", "0"),
        &[
            ("observations", I(1)),
            ("mape", F(2.5)),
            ("wape", F(2.5)),
            ("bias", F(2.5)),
            ("best_method", B(false)),
        ],
    );
    // rep_commit: 15,000 (-2,000, ape 2/17, accuracy 0.88 ≥ 0.75) and 25,000
    // (+17,000, ape 2.125): WAPE 19,000 / 25,000 = 0.76, the lowest at day 0.
    check_row(
        &summary,
        &row("rep_commit", "0"),
        &[
            ("observations", I(2)),
            ("mape", F((2.0 / 17.0 + 2.125) / 2.0)),
            ("wape", F(0.76)),
            ("bias", F(15000.0 / 25000.0)),
            ("share_at_least_75", F(0.5)),
            ("best_method", B(true)),
        ],
    );
    // historical_growth: 0 (-17,000) and 27,000 (+19,000).
    check_row(
        &summary,
        &row("historical_growth", "0"),
        &[
            ("wape", F(36000.0 / 25000.0)),
            ("bias", F(2000.0 / 25000.0)),
            ("best_method", B(false)),
        ],
    );
    // Day 30: stage_weighted 5,000 (-12,000) and 18,400 (+10,400): WAPE
    // 22,400 / 25,000 = 0.896, lower than rep_commit (1,000 + 27,000 -> 1.12),
    // historical_growth (12,000 + 14,000 -> 1.04) and cycle_age (2.5).
    check_row(
        &summary,
        &row("stage_weighted", "30"),
        &[
            ("wape", F(22400.0 / 25000.0)),
            ("bias", F(-1600.0 / 25000.0)),
            ("best_method", B(true)),
        ],
    );
    check_row(
        &summary,
        &row("rep_commit", "30"),
        &[("wape", F(28000.0 / 25000.0)), ("best_method", B(false))],
    );
    check_row(
        &summary,
        &row("historical_growth", "30"),
        &[("wape", F(26000.0 / 25000.0))],
    );
}

/// The source article's monthly example, through the function the mart
/// uses: 1,000,000 a month, 5% growth, five new reps at 5,000 each, over a
/// one-month horizon: 1,000,000 × 1.05 + 5 × 5,000 = 1,075,000.
#[test]
fn the_articles_growth_example() {
    let df = df!("a" => [1_000_000.0], "g" => [0.05], "m" => [5i64]).unwrap();
    let out = df
        .lazy()
        .select([growth_forecast(col("a"), col("g"), col("m"), 1.0, 5000.0).alias("f")])
        .collect()
        .unwrap();
    let f = out.column("f").unwrap().f64().unwrap().get(0).unwrap();
    assert!((f - 1_075_000.0).abs() < 1e-6, "{f}");
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    fn summary_of(rows: &[(f64, f64)]) -> DataFrame {
        let n = rows.len();
        let df = df!(
            "scope" => vec!["company"; n],
            "method" => vec!["stage_weighted"; n],
            "days_into_quarter" => vec![0i32; n],
            "forecast_amount" => rows.iter().map(|r| r.0).collect::<Vec<_>>(),
            "actual_amount" => rows.iter().map(|r| r.1).collect::<Vec<_>>(),
        )
        .unwrap();
        let with_errors = forecast_accuracy::with_errors(df.lazy());
        forecast_accuracy_summary::build(with_errors)
            .unwrap()
            .collect()
            .unwrap()
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

        #[test]
        fn accuracy_is_a_fraction(f in 0.0..1e7f64, a in 0.0..1e7f64) {
            let df = df!("forecast_amount" => [f], "actual_amount" => [a]).unwrap();
            let out = forecast_accuracy::with_errors(df.lazy()).collect().unwrap();
            if let Some(acc) = out.column("accuracy").unwrap().f64().unwrap().get(0) {
                prop_assert!((0.0..=1.0).contains(&acc), "{acc}");
            } else {
                prop_assert_eq!(a, 0.0);
            }
        }

        #[test]
        fn wape_and_bias_follow_their_definitions(rows in proptest::collection::vec((0.0..1e6f64, 1.0..1e6f64), 1..20)) {
            let s = summary_of(&rows);
            let actual: f64 = rows.iter().map(|r| r.1).sum();
            let wape: f64 = rows.iter().map(|r| (r.0 - r.1).abs()).sum::<f64>() / actual;
            let bias: f64 = rows.iter().map(|r| r.0 - r.1).sum::<f64>() / actual;
            let got_wape = s.column("wape").unwrap().f64().unwrap().get(0).unwrap();
            let got_bias = s.column("bias").unwrap().f64().unwrap().get(0).unwrap();
            prop_assert!((got_wape - wape).abs() <= 1e-9 * wape.max(1.0));
            prop_assert!((got_bias - bias).abs() <= 1e-9 * bias.abs().max(1.0));
            let share = s.column("share_at_least_75").unwrap().f64().unwrap().get(0).unwrap();
            let hits = rows.iter().filter(|r| 1.0 - (r.0 - r.1).abs() / r.1 >= 0.75).count();
            prop_assert!((share - hits as f64 / rows.len() as f64).abs() < 1e-12);
        }
    }
}

/// `forecast.cycle_lookback_quarters = 2`: T is the median cycle of the
/// deals won in the two quarters before. Q1: none won in 2023-Q3 or Q4 ->
/// null. Q2: F1 78 and F2 19 days (Q1; nothing in 2023-Q4) -> 48.5, as with
/// one quarter. Q3: F1 78, F2 19 (Q1) and F5 95 (Q2) -> 78 (95 with one
/// quarter), so F8, 87 days old by 09-30, now counts in full: 4,000.
#[test]
fn forecasts_by_hand_with_a_two_quarter_lookback() {
    let (_dir, out) = super::harness::run_fixture(
        "tests/fixtures/forecast/pipeline_lookback.toml",
        "2024-07-15",
    );
    let df = mart(&out, "forecasts");
    assert_eq!(df.height(), 28 + 42 + 42);
    let cycle_age = |scope, id, q, snapshot, amount: V| {
        check(&df, scope, id, q, snapshot, &[("cycle_age", amount, None)])
    };
    cycle_age("company", "all", "FY2024-Q1", "2024-01-01", Null);
    // Q2 at 04-01: F4 102 days and F5 97 days old by quarter end, both
    // past 48.5: 20,000 + 8,000.
    cycle_age("company", "all", "FY2024-Q2", "2024-04-01", F(28000.0));
    // Q3 at as_of: F7 won 9,000; F8 4,000 (87 >= 78); F6 6,000 (141 days).
    cycle_age("rep", "Q", "FY2024-Q3", "2024-07-15", F(13000.0));
    cycle_age("company", "all", "FY2024-Q3", "2024-07-15", F(19000.0));
}

/// `forecast.growth_rate` set: historical_growth = 3 × A × 1.05 + M × 5,000.
/// The other methods and the grain do not change.
#[test]
fn forecasts_by_hand_with_a_fixed_growth_rate() {
    let (_dir, out) =
        super::harness::run_fixture("tests/fixtures/forecast/pipeline_growth.toml", "2024-07-15");
    let df = mart(&out, "forecasts");
    // The same rows as without it (a plan that multiplied rows once failed
    // the grain check here).
    assert_eq!(df.height(), 28 + 42 + 42);
    let growth = |scope, id, q, snapshot, amount: f64| {
        check(
            &df,
            scope,
            id,
            q,
            snapshot,
            &[("historical_growth", F(amount), None)],
        )
    };
    // Q1 at 01-01: nothing won in the 90 days before: 3 × 0 × 1.05 = 0.
    growth("company", "all", "FY2024-Q1", "2024-01-01", 0.0);
    // Q1 at 01-31, North: F2's 5,000: 3 × (5,000 / 3) × 1.05 = 5,250.
    growth("team", "North", "FY2024-Q1", "2024-01-31", 5250.0);
    // Q2 at 04-01, North: F1 12,000 + F2 5,000 = 17,000 × 1.05 = 17,850.
    growth("team", "North", "FY2024-Q2", "2024-04-01", 17850.0);
    // South won nothing: 0 × 1.05 + S's 2 new-rep months × 5,000 = 10,000.
    growth("team", "South", "FY2024-Q2", "2024-04-01", 10000.0);
    // Company: 17,000 × 1.05 + 10,000 = 27,850.
    growth("company", "all", "FY2024-Q2", "2024-04-01", 27850.0);
    // Q2 at 05-01: F1 12,000 × 1.05 + 10,000 = 22,600.
    growth("company", "all", "FY2024-Q2", "2024-05-01", 22600.0);
    // Q3 at 07-01: F5 8,000 × 1.05 = 8,400; South: 0.
    growth("company", "all", "FY2024-Q3", "2024-07-01", 8400.0);
    growth("team", "South", "FY2024-Q3", "2024-07-01", 0.0);
    // Another method is untouched by the key (values as in forecasts_by_hand).
    check(
        &df,
        "company",
        "all",
        "FY2024-Q2",
        "2024-04-01",
        &[
            ("stage_weighted", F(5200.0), Some((0.0, 2))),
            ("cycle_age", F(28000.0), Some((0.0, 2))),
            ("rep_commit", F(25000.0), Some((0.0, 0))),
        ],
    );
    // No rep rows for historical_growth, with or without the key.
    let rep_growth = df
        .clone()
        .lazy()
        .filter(
            col("scope")
                .eq(lit("rep"))
                .and(col("method").eq(lit("historical_growth"))),
        )
        .collect()
        .unwrap();
    assert_eq!(rep_growth.height(), 0);
}
