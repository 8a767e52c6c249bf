//! The hand-worked lead-scoring and commission fixture
//! (tests/fixtures/leads), as_of 2024-04-20.
//!
//! Scoring (defaults plus `unsubscribe = -8`): pricing_page_visit +10,
//! email_open +1, email_click +3, unsubscribe -8; flags matches_persona +5,
//! data_inaccurate -5; threshold 15.
//! Plans (the source article's): junior base 4,000, target 10,000, 10%;
//! senior base 6,000, target 25,000, 10%.
//! Reps: J (junior, hired 2024-01-15, mid-month), K (senior, left
//! 2024-03-10, mid-month). The first covered month is 2024-01 (the earliest
//! deal, W1, was created 2024-01-05).

use super::harness::{check_row, mart, published, V::*};

fn run_fixture() -> (tempfile::TempDir, salesops::storage::Storage) {
    super::harness::run_fixture("tests/fixtures/leads/pipeline.toml", "2024-04-20")
}

#[test]
fn commissions_by_hand() {
    let (_dir, out) = run_fixture();
    let df = mart(&out, "commissions_monthly");
    // J: hired mid-January -> January to April (the as_of month): 4 rows.
    // K: from the first covered month (January) to March, the month he left: 3.
    assert_eq!(df.height(), 7);
    let row = |rep: &'static str, month: &'static str| vec![("rep_id", rep), ("month", month)];

    // A junior who closes 12,000 against 10,000 earns 1,200 on top of base.
    check_row(
        &df,
        &row("J", "2024-02-01"),
        &[
            ("level", S("junior")),
            ("won_amount", F(12000.0)),
            ("target", F(10000.0)),
            ("attained", B(true)),
            ("base_pay", F(4000.0)),
            ("commission", F(1200.0)),
            ("total_pay", F(5200.0)),
            ("is_complete", B(true)),
        ],
    );
    // Closing 9,999 earns none.
    check_row(
        &df,
        &row("J", "2024-03-01"),
        &[
            ("won_amount", F(9999.0)),
            ("attained", B(false)),
            ("commission", F(0.0)),
            ("total_pay", F(4000.0)),
        ],
    );
    check_row(
        &df,
        &row("J", "2024-01-01"),
        &[
            ("won_amount", F(0.0)),
            ("attained", B(false)),
            ("total_pay", F(4000.0)),
        ],
    );
    // April: a quota row of 0 is the target (attained, nothing won, pays 0);
    // W7 (50,000) was created after as_of and does not count.
    check_row(
        &df,
        &row("J", "2024-04-01"),
        &[
            ("won_amount", F(0.0)),
            ("target", F(0.0)),
            ("attained", B(true)),
            ("commission", F(0.0)),
            ("total_pay", F(4000.0)),
            ("is_complete", B(false)),
        ],
    );
    // A senior closing exactly 25,000 earns 2,500.
    check_row(
        &df,
        &row("K", "2024-02-01"),
        &[
            ("won_amount", F(25000.0)),
            ("target", F(25000.0)),
            ("attained", B(true)),
            ("base_pay", F(6000.0)),
            ("commission", F(2500.0)),
            ("total_pay", F(8500.0)),
        ],
    );
    // January: 10,000 + 20,000 against the month's quota of 40,000, not the plan's 25,000.
    check_row(
        &df,
        &row("K", "2024-01-01"),
        &[
            ("won_amount", F(30000.0)),
            ("target", F(40000.0)),
            ("attained", B(false)),
            ("commission", F(0.0)),
        ],
    );
    // March: W8 won 5,000 against a quota row of 0: attained, but a target
    // of 0 pays no commission (SPEC §7).
    check_row(
        &df,
        &row("K", "2024-03-01"),
        &[
            ("won_amount", F(5000.0)),
            ("target", F(0.0)),
            ("attained", B(true)),
            ("commission", F(0.0)),
            ("total_pay", F(6000.0)),
        ],
    );
}

#[test]
fn lead_scores_by_hand() {
    let (_dir, out) = run_fixture();
    let df = mart(&out, "lead_scores");
    // L4 was created after as_of.
    assert_eq!(df.height(), 4);
    // L1: persona +5; a click before created_at counts at created_at (8);
    // pricing on 03-02 -> 18, the first crossing; unsubscribe -> 10; pricing -> 20.
    // K's call at 09:30 came before the lead (10:00); J's email at 10:45 is the response.
    check_row(
        &df,
        &[("lead_id", "L1")],
        &[
            ("rep_id", S("J")),
            ("source", S("webinar")),
            ("score", F(20.0)),
            ("is_sql", B(true)),
            ("response_minutes", F(45.0)),
            ("converted", B(true)),
        ],
    );
    let l1 = super::harness::find(&df, &[("lead_id", "L1")]);
    let text = |c: &str, i: usize| df.column(c).unwrap().get(i).unwrap().to_string();
    assert!(
        text("sql_at", l1).starts_with("2024-03-02 10:00:00"),
        "{}",
        text("sql_at", l1)
    );
    assert!(
        text("first_response_at", l1).starts_with("2024-03-01 10:45:00"),
        "{}",
        text("first_response_at", l1)
    );
    assert!(
        text("created_at", l1).starts_with("2024-03-01 10:00:00"),
        "{}",
        text("created_at", l1)
    );
    // L2: 3, 6, 7; at 03-06 12:00 +10 and -8 apply together (9, never 17);
    // 03-07 12:00 pricing -> 19. An unknown event type scores 0. A response
    // at exactly created_at is 0 minutes. W7 names L2 but was created after as_of.
    check_row(
        &df,
        &[("lead_id", "L2")],
        &[
            ("rep_id", S("K")),
            ("score", F(19.0)),
            ("is_sql", B(true)),
            ("response_minutes", F(0.0)),
            ("converted", B(false)),
        ],
    );
    let l2 = super::harness::find(&df, &[("lead_id", "L2")]);
    assert!(
        text("sql_at", l2).starts_with("2024-03-07 12:00:00"),
        "{}",
        text("sql_at", l2)
    );
    // L3: no events, both flags: 5 - 5 = 0. No rep, no response.
    check_row(
        &df,
        &[("lead_id", "L3")],
        &[
            ("rep_id", Null),
            ("score", F(0.0)),
            ("is_sql", B(false)),
            ("sql_at", Null),
            ("first_response_at", Null),
            ("response_minutes", Null),
            ("converted", B(false)),
        ],
    );
    // L5: persona "yes" +5; its only event is after as_of.
    check_row(
        &df,
        &[("lead_id", "L5")],
        &[("score", F(5.0)), ("is_sql", B(false)), ("sql_at", Null)],
    );

    let m = published(&out);
    assert_eq!(m.unknown_event_types.get("webinar_attended"), Some(&1));
    assert_eq!(m.unknown_event_types.len(), 1);
}

#[test]
fn instants_are_published_as_utc() {
    let (_dir, out) = run_fixture();
    let df = mart(&out, "lead_scores");
    let dtype = df.column("created_at").unwrap().dtype().to_string();
    assert!(dtype.contains("UTC"), "{dtype}");
}
