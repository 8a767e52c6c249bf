//! pipeline_movement (SPEC §4.9) and stage_conversion (§4.10): the
//! hand-worked fixture (tests/fixtures/movement, as_of 2024-08-15, default
//! stages: Discovery 1, Qualified 2, Demo 3, Trial 4, Negotiation 5, won
//! after them), the identity check, and properties on generated data.
//!
//! Reps: A, B, C in team East (C left 2024-03-31, so C has no §4.1 row in
//! FY2024-Q2: C's deals count for East and the company only, M1), W in team
//! West. History rows are at 09:00 UTC.
//!
//! FY2024-Q2: t0 = 2024-04-01 00:00, t1 = 2024-06-30 23:59:59.999999.
//! - M1 A: Discovery 1,000 close 05-15 [03-01]; Demo 1,500 close 06-10
//!   [05-01]. In P0 (a0 1,000) and P1 (a1 1,500): increased 500.
//! - M2 A: Qualified 2,000 close 04-30 [03-05]; won 1,800 [04-20]. P0, won
//!   1,800, decreased 200.
//! - M3 A: Demo 3,000 close 05-31 [02-01]; lost [05-20]. P0, lost 3,000.
//! - M4 B: Trial 4,000 close 06-15 [03-10]; close 07-20 [06-01]. P0,
//!   slipped 4,000.
//! - M5 B: Discovery 500 close 04-10 [03-15]; close 03-31 [04-15], still
//!   open. P0, other_out 500.
//! - M6 B: Negotiation 6,000 close 04-05 [02-10]; won with close 03-25
//!   [04-10]. P0, won 6,000 (M2: no lower bound), no change.
//! - M7 A: created 04-05, Discovery 700 close 06-20, open. created 700,
//!   ending 700.
//! - M8 A: created 05-02, no history, won 900 close 06-05 (synthetic:
//!   Discovery from 05-02 00:00, won at 06-05 00:00). created 900, won 900.
//! - M9 B: Demo 2,500 close 08-15 [01-15]; close 06-25 [05-10]. Not in P0
//!   (Q3 at t0), created before Q2: pulled_in 2,500, ending 2,500.
//! - M10 C: Qualified 800 close 07-10 [03-20]; lost close 06-10 [06-10].
//!   pulled_in 800, lost 800.
//! - M11 A: Discovery 1,200 close 08-01 [03-01]; lost close 03-15 [05-05].
//!   Not in P0; an entry needs s1.close_date in Q (M2): in no path.
//!
//! Rep A: starting 1,000 + 2,000 + 3,000 = 6,000 (3); created 700 + 900 =
//! 1,600 (2); increased 500; decreased 200; won 1,800 + 900 = 2,700 (2);
//! lost 3,000 (1); ending 1,500 + 700 = 2,200 (2).
//! Check: 6,000 + 1,600 + 500 − 200 − 2,700 − 3,000 = 2,200; 3 + 2 − 2 − 1 = 2.
//! Rep B: starting 4,000 + 500 + 6,000 = 10,500 (3); pulled_in 2,500 (1);
//! won 6,000 (1); slipped 4,000 (1); other_out 500 (1); ending 2,500 (1).
//! Check: 10,500 + 2,500 − 6,000 − 4,000 − 500 = 2,500; 3 + 1 − 1 − 1 − 1 = 1.
//! Team East = A + B + C (M10): starting 16,500 (6); created 1,600 (2);
//! pulled_in 2,500 + 800 = 3,300 (2); increased 500; decreased 200; won
//! 8,700 (3); lost 3,000 + 800 = 3,800 (2); slipped 4,000 (1); other_out
//! 500 (1); ending 4,700 (3). Company: the same (W has no deal in Q2).
//! Rep W and team West: a row of zeros (M1).
//!
//! Stage conversion, cohort FY2024-Q3 (created 07-01 .. as_of):
//! - K1 A: Discovery [07-01], Qualified [07-05], Demo [07-11], won
//!   [07-20]. Furthest step: won. Days: Discovery 4, Qualified 6, Demo 9.
//! - K2 A: Discovery [07-02], Demo [07-10] (skips Qualified), lost [07-30].
//!   Furthest: Demo. Days: Discovery 8, Demo 20.
//! - K3 B: Qualified [07-03], Demo [07-08], back to Qualified [07-15], Demo
//!   [07-25], open. Furthest: Demo. Days (first entry to the first later
//!   other stage, C5): Qualified 5 (07-03 → 07-08), Demo 7 (07-08 → 07-15).
//!   Open in Demo at as_of.
//! - K4 B: no history, won close 08-01 (synthetic: Discovery at 07-06
//!   00:00, won at 08-01 00:00). Furthest: won. Days: Discovery 26.
//! - K5 A: created 08-10, its only history row at 08-20, after as_of (C2):
//!   in the cohort, reaches nothing, open nowhere at as_of.
//! - K6 W: Trial [07-04], Negotiation [07-14], open. Furthest: Negotiation.
//!   Days: Trial 10. Open in Negotiation.
//! - K7 A: no history, open in Qualified (synthetic row at 07-09).
//!   Furthest: Qualified. Open in Qualified.
//!
//! Company: reached = count with furthest ≥ the stage: Discovery 6 (all but
//! K5), Qualified 6, Demo 5 (not K7), Trial 3 (K1, K4, K6), Negotiation 3;
//! a won state: 2 (K1, K4). advanced = the next one's reached: 6, 5, 3, 3, 2.
//! won (current stage won, C3): K1 and K4, who reached every stage: 2.
//! Medians: Discovery {4, 8, 26} → 8; Qualified {6, 5} → 5.5 (even count);
//! Demo {9, 20, 7} → 9; Trial {10} → 10; Negotiation none → null.
//! Still open here: Qualified 1 (K7), Demo 1 (K3), Negotiation 1 (K6).
//! Team East (K1, K2, K3, K4, K5, K7): reached 5, 5, 4, 2, 2; advanced 5, 4,
//! 2, 2, 2; won 2; medians 8, 5.5, 9, null, null; open: Qualified 1, Demo 1.
//! Team West (K6): reached 1 at every stage; advanced 1, 1, 1, 1, 0; won 0;
//! median Trial 10; open in Negotiation 1.

use polars::prelude::*;
use salesops::marts::pipeline_movement;

use super::harness::{check_row, mart, V, V::*};

fn run_fixture() -> (tempfile::TempDir, salesops::storage::Storage) {
    super::harness::run_fixture("tests/fixtures/movement/pipeline.toml", "2024-08-15")
}

/// starting, created, pulled_in, increased, decreased, won, lost, slipped,
/// other_out, ending; then the counts: starting, created, pulled_in, won,
/// lost, slipped, other_out, ending.
fn movement(amounts: [f64; 10], counts: [i64; 8]) -> Vec<(&'static str, V)> {
    let amount_names = [
        "starting_pipeline",
        "created",
        "pulled_in",
        "increased",
        "decreased",
        "won",
        "lost",
        "slipped",
        "other_out",
        "ending_pipeline",
    ];
    let count_names = [
        "starting_count",
        "created_count",
        "pulled_in_count",
        "won_count",
        "lost_count",
        "slipped_count",
        "other_out_count",
        "ending_count",
    ];
    amount_names
        .iter()
        .zip(amounts)
        .map(|(n, a)| (*n, F(a)))
        .chain(count_names.iter().zip(counts).map(|(n, c)| (*n, I(c))))
        .collect()
}

#[test]
fn pipeline_movement_by_hand() {
    let (_dir, out) = run_fixture();
    let df = mart(&out, "pipeline_movement");
    let q2 = |scope: &'static str, id: &'static str| {
        [
            ("scope", scope),
            ("scope_id", id),
            ("fiscal_quarter", "FY2024-Q2"),
        ]
    };
    let east = movement(
        [
            16_500.0, 1_600.0, 3_300.0, 500.0, 200.0, 8_700.0, 3_800.0, 4_000.0, 500.0, 4_700.0,
        ],
        [6, 2, 2, 3, 2, 1, 1, 3],
    );
    check_row(
        &df,
        &q2("rep", "A"),
        &movement(
            [
                6_000.0, 1_600.0, 0.0, 500.0, 200.0, 2_700.0, 3_000.0, 0.0, 0.0, 2_200.0,
            ],
            [3, 2, 0, 2, 1, 0, 0, 2],
        ),
    );
    check_row(
        &df,
        &q2("rep", "B"),
        &movement(
            [
                10_500.0, 0.0, 2_500.0, 0.0, 0.0, 6_000.0, 0.0, 4_000.0, 500.0, 2_500.0,
            ],
            [3, 0, 1, 1, 0, 1, 1, 1],
        ),
    );
    check_row(&df, &q2("team", "East"), &east);
    check_row(&df, &q2("company", "all"), &east);
    let nothing = movement([0.0; 10], [0; 8]);
    check_row(&df, &q2("rep", "W"), &nothing);
    check_row(&df, &q2("team", "West"), &nothing);
    check_row(
        &df,
        &q2("company", "all"),
        &[
            ("quarter_start", D("2024-04-01")),
            ("quarter_end", D("2024-06-30")),
            ("is_complete", B(true)),
        ],
    );
    // C left before Q2: no rep row of C in it (M1: the scope_ids of §4.4).
    let c_rows = df
        .clone()
        .lazy()
        .filter(
            col("scope_id")
                .eq(lit("C"))
                .and(col("fiscal_quarter").eq(lit("FY2024-Q2"))),
        )
        .collect()
        .unwrap();
    assert_eq!(c_rows.height(), 0);
}

#[test]
fn stage_conversion_by_hand() {
    let (_dir, out) = run_fixture();
    let df = mart(&out, "stage_conversion");
    let stages = ["Discovery", "Qualified", "Demo", "Trial", "Negotiation"];
    // Per stage: reached, advanced, won, median days, still open here.
    type Expect = (i64, i64, i64, V, i64);
    let check = |scope: &'static str, id: &'static str, rows: [Expect; 5]| {
        for (i, (stage, (reached, advanced, won, median, open))) in
            stages.iter().zip(rows).enumerate()
        {
            let ratio = |n: i64| {
                if reached == 0 {
                    Null
                } else {
                    F(n as f64 / reached as f64)
                }
            };
            check_row(
                &df,
                &[
                    ("scope", scope),
                    ("scope_id", id),
                    ("fiscal_quarter", "FY2024-Q3"),
                    ("stage", stage),
                ],
                &[
                    ("stage_order", I(i as i64 + 1)),
                    ("reached", I(reached)),
                    ("advanced", I(advanced)),
                    ("conversion_rate", ratio(advanced)),
                    ("won", I(won)),
                    ("win_rate_from_stage", ratio(won)),
                    ("median_days_in_stage", median),
                    ("still_open_here", I(open)),
                    ("is_complete", B(false)),
                ],
            );
        }
    };
    check(
        "company",
        "all",
        [
            (6, 6, 2, F(8.0), 0),
            (6, 5, 2, F(5.5), 1),
            (5, 3, 2, F(9.0), 1),
            (3, 3, 2, F(10.0), 0),
            (3, 2, 2, Null, 1),
        ],
    );
    check(
        "team",
        "East",
        [
            (5, 5, 2, F(8.0), 0),
            (5, 4, 2, F(5.5), 1),
            (4, 2, 2, F(9.0), 1),
            (2, 2, 2, Null, 0),
            (2, 2, 2, Null, 0),
        ],
    );
    check(
        "team",
        "West",
        [
            (1, 1, 0, Null, 0),
            (1, 1, 0, Null, 0),
            (1, 1, 0, Null, 0),
            (1, 1, 0, F(10.0), 0),
            (1, 0, 0, Null, 1),
        ],
    );
    // No rep scope (C1).
    let reps = df
        .clone()
        .lazy()
        .filter(col("scope").eq(lit("rep")))
        .collect()
        .unwrap();
    assert_eq!(reps.height(), 0);
}

#[test]
fn a_row_that_breaks_the_identity_stops_the_run_naming_it() {
    // Two rows: the first adds up (100 + 50 − 30 = 120), the second's
    // ending is 10 short, its counts add up (1 + 1 − 1 = 1).
    let amounts = |v: [f64; 2]| v.to_vec();
    let df = df!(
        "scope" => ["team", "team"],
        "scope_id" => ["East", "West"],
        "fiscal_quarter" => ["FY2024-Q2", "FY2024-Q2"],
        "starting_pipeline" => amounts([100.0, 100.0]),
        "created" => amounts([50.0, 50.0]),
        "pulled_in" => amounts([0.0, 0.0]),
        "increased" => amounts([0.0, 0.0]),
        "decreased" => amounts([0.0, 0.0]),
        "won" => amounts([30.0, 30.0]),
        "lost" => amounts([0.0, 0.0]),
        "slipped" => amounts([0.0, 0.0]),
        "other_out" => amounts([0.0, 0.0]),
        "ending_pipeline" => amounts([120.0, 110.0]),
        "starting_count" => [1i64, 1],
        "created_count" => [1i64, 1],
        "pulled_in_count" => [0i64, 0],
        "won_count" => [1i64, 1],
        "lost_count" => [0i64, 0],
        "slipped_count" => [0i64, 0],
        "other_out_count" => [0i64, 0],
        "ending_count" => [1i64, 1],
    )
    .unwrap();
    let first = df.slice(0, 1);
    pipeline_movement::check_identity(&first).unwrap();
    let err = pipeline_movement::check_identity(&df).unwrap_err();
    assert_eq!(err.exit_code(), 1);
    let message = err.to_string();
    assert!(
        message.contains("scope=team scope_id=West fiscal_quarter=FY2024-Q2"),
        "{message}"
    );
    // Within 1e-6 × the amounts it holds: 1e-7 short of 120 is rounding.
    let mut near = first.clone();
    near.with_column(Column::new("ending_pipeline".into(), [120.0 - 1e-7]))
        .unwrap();
    pipeline_movement::check_identity(&near).unwrap();
    // A count off by one breaks it, whatever the amounts.
    let mut count_off = first;
    count_off
        .with_column(Column::new("ending_count".into(), [2i64]))
        .unwrap();
    assert!(pipeline_movement::check_identity(&count_off).is_err());
}

/// Sums of a column over the rows of a frame (0 when there are none).
fn total(df: &DataFrame, column: &str) -> f64 {
    df.column(column)
        .unwrap()
        .cast(&DataType::Float64)
        .unwrap()
        .f64()
        .unwrap()
        .sum()
        .unwrap_or(0.0)
}

/// Every row of pipeline_movement adds up (M3, recomputed here from the
/// published columns, the amounts within 1e-6 relative), and in
/// stage_conversion `advanced` of each stage is `reached` of the next (C4).
fn check_properties(out: &salesops::storage::Storage) {
    let m = mart(out, "pipeline_movement");
    assert!(m.height() > 0);
    let f = |c: &str| -> Vec<f64> {
        m.column(c)
            .unwrap()
            .f64()
            .unwrap()
            .into_no_null_iter()
            .collect()
    };
    let n = |c: &str| -> Vec<i64> {
        m.column(c)
            .unwrap()
            .i64()
            .unwrap()
            .into_no_null_iter()
            .collect()
    };
    let (start, created, pulled, inc, dec) = (
        f("starting_pipeline"),
        f("created"),
        f("pulled_in"),
        f("increased"),
        f("decreased"),
    );
    let (won, lost, slipped, other, end) = (
        f("won"),
        f("lost"),
        f("slipped"),
        f("other_out"),
        f("ending_pipeline"),
    );
    for i in 0..m.height() {
        let left = start[i] + created[i] + pulled[i] + inc[i]
            - dec[i]
            - won[i]
            - lost[i]
            - slipped[i]
            - other[i];
        let size = start[i]
            + created[i]
            + pulled[i]
            + inc[i]
            + dec[i]
            + won[i]
            + lost[i]
            + slipped[i]
            + other[i]
            + end[i];
        assert!(
            (left - end[i]).abs() <= 1e-6 * size.max(1.0),
            "row {i}: {left} vs {}",
            end[i]
        );
        for c in [
            "starting_pipeline",
            "created",
            "pulled_in",
            "increased",
            "decreased",
            "won",
            "lost",
            "slipped",
            "other_out",
            "ending_pipeline",
        ] {
            assert!(f(c)[i] >= 0.0, "row {i}: {c} is negative");
        }
    }
    let counts_left: Vec<i64> = (0..m.height())
        .map(|i| {
            n("starting_count")[i] + n("created_count")[i] + n("pulled_in_count")[i]
                - n("won_count")[i]
                - n("lost_count")[i]
                - n("slipped_count")[i]
                - n("other_out_count")[i]
        })
        .collect();
    assert_eq!(counts_left, n("ending_count"));

    let c = mart(out, "stage_conversion")
        .sort(
            ["scope", "scope_id", "quarter_start", "stage_order"],
            Default::default(),
        )
        .unwrap();
    let text = |col: &str| -> Vec<String> {
        c.column(col)
            .unwrap()
            .cast(&DataType::String)
            .unwrap()
            .str()
            .unwrap()
            .iter()
            .map(|v| v.unwrap().to_string())
            .collect()
    };
    let (scope, id, quarter) = (text("scope"), text("scope_id"), text("quarter_start"));
    let ints = |col: &str| -> Vec<i64> {
        c.column(col)
            .unwrap()
            .cast(&DataType::Int64)
            .unwrap()
            .i64()
            .unwrap()
            .into_no_null_iter()
            .collect()
    };
    let (order, reached, advanced) = (ints("stage_order"), ints("reached"), ints("advanced"));
    let mut pairs = 0;
    for i in 0..c.height().saturating_sub(1) {
        let same = scope[i] == scope[i + 1] && id[i] == id[i + 1] && quarter[i] == quarter[i + 1];
        if same {
            assert_eq!(order[i + 1], order[i] + 1);
            assert_eq!(
                advanced[i],
                reached[i + 1],
                "row {i}: advanced is the next reached"
            );
            pairs += 1;
        }
        assert!(advanced[i] <= reached[i]);
    }
    assert!(pairs > 0);
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 3, ..Default::default() })]
    #[test]
    fn movement_adds_up_and_stages_chain_on_generated_data(seed in proptest::prelude::any::<u64>()) {
        use salesops::generate::{generate, GenerateOptions};
        let src_dir = tempfile::tempdir().unwrap();
        let src = super::harness::local(src_dir.path());
        generate(&src, &GenerateOptions { scale: 0.3, seed, all_parquet: false, preset: None }).unwrap();
        let out_dir = tempfile::tempdir().unwrap();
        let out = super::harness::local(out_dir.path());
        super::harness::run_into(&salesops::config::Config::default(), &src, &out, "2025-11-15", false).unwrap();
        check_properties(&out);
    }
}

/// The shipped sample data takes every path of §4.9 (issue 11: the
/// generator makes them), and its history has what §4.9 and §4.10 read:
/// close dates that slip and come back, stages skipped, deals closed with
/// the close date set back before the quarter they were in (M2).
#[test]
fn the_sample_data_takes_every_path() {
    let config = salesops::config::Config::default();
    let src = super::harness::local(std::path::Path::new("sample_data"));
    let out_dir = tempfile::tempdir().unwrap();
    let out = super::harness::local(out_dir.path());
    super::harness::run_into(&config, &src, &out, "2026-11-30", false).unwrap();
    check_properties(&out);
    let company = mart(&out, "pipeline_movement")
        .lazy()
        .filter(col("scope").eq(lit("company")))
        .collect()
        .unwrap();
    for path in [
        "created",
        "pulled_in",
        "increased",
        "decreased",
        "won",
        "lost",
        "slipped",
        "other_out",
    ] {
        assert!(total(&company, path) > 0.0, "no {path} in the sample data");
    }

    let listing = salesops::staging::Listing::of(&src, &config).unwrap();
    let staged = salesops::pipeline::stage(&src, &listing, &config).unwrap();
    // The open stages' places (1-5); 0 for a closed stage.
    let open_stage = |s: Expr| {
        ["Discovery", "Qualified", "Demo", "Trial", "Negotiation"]
            .iter()
            .enumerate()
            .fold(lit(0i32), |rest, (i, name)| {
                when(s.clone().eq(lit(*name)))
                    .then(lit(i as i32 + 1))
                    .otherwise(rest)
            })
    };
    let quarter = |d: Expr| d.clone().dt().year() * lit(4) + (d.dt().month() - lit(1)) / lit(3);
    let same_deal = col("opportunity_id")
        .shift(lit(1))
        .eq(col("opportunity_id"))
        .fill_null(lit(false));
    let history = staged
        .valid(&salesops::staging::opportunity_history::SPEC)
        .sort(["opportunity_id", "changed_at"], Default::default())
        .with_columns([
            same_deal.clone().alias("same_deal"),
            open_stage(col("stage")).alias("step"),
            open_stage(col("stage")).shift(lit(1)).alias("prev_step"),
            col("close_date").shift(lit(1)).alias("prev_close"),
            quarter(col("changed_at")).alias("q_changed"),
        ])
        .filter(col("same_deal"))
        .with_columns([
            quarter(col("close_date")).alias("q_close"),
            quarter(col("prev_close")).alias("q_prev_close"),
            // A slip before this row (its close date moved later).
            col("close_date")
                .gt(col("prev_close"))
                .cast(DataType::Int32)
                .cum_sum(false)
                .over([col("opportunity_id")])
                .unwrap()
                .alias("slips_so_far"),
        ])
        .collect()
        .unwrap();
    let count = |cond: Expr| {
        history
            .clone()
            .lazy()
            .filter(cond)
            .collect()
            .unwrap()
            .height()
    };
    // Discovery → Demo, say: an open stage skipped.
    assert!(
        count(
            col("prev_step")
                .gt(lit(0))
                .and(col("step").gt(col("prev_step") + lit(1)))
        ) > 0
    );
    // A close date that slipped and later came back.
    assert!(
        count(
            col("close_date")
                .lt(col("prev_close"))
                .and(col("slips_so_far").gt(lit(0)))
        ) > 0
    );
    // Closed (won or lost) with the close date moved before the quarter
    // the deal was closing in until then.
    assert!(
        count(
            col("step")
                .eq(lit(0))
                .and(col("q_prev_close").eq(col("q_changed")))
                .and(col("q_close").lt(col("q_changed")))
        ) > 0
    );
}
