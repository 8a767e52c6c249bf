//! The hand-worked fixture (tests/fixtures/hand): four reps over three
//! fiscal quarters of a year that starts in February, as_of 2024-09-15.
//! Every number below is worked out by hand from the CSV files; the
//! arithmetic is in the comments.
//!
//! Quarters: FY2025-Q1 = 2024-02-01..04-30, Q2 = 05-01..07-31,
//! Q3 = 08-01..10-31 (contains as_of, so incomplete).
//! Reps: A (East, junior), B (East, senior, hired 2024-03-10 mid-Q1),
//! C (West, left 2024-06-15: rows in Q1 and Q2 only), D (West, senior).
//! Activity flags (defaults): call = selling + prospecting, email =
//! prospecting, meeting/demo = selling + meeting, admin/training = none.

use super::harness::{check_row, mart, published, V::*};

fn run_fixture() -> (tempfile::TempDir, salesops::storage::Storage) {
    super::harness::run_fixture("tests/fixtures/hand/pipeline.toml", "2024-09-15")
}

/// Flags from the pipeline file, one of them set on no type: every count
/// and sum of that flag is 0, not null and not the default types' answer.
#[test]
fn activity_flags_come_from_the_config_even_when_no_type_has_one() {
    let (_dir, out) =
        super::harness::run_fixture("tests/fixtures/hand/no_meetings.toml", "2024-09-15");
    let df = mart(&out, "rep_quarter_performance");
    check_rep_a_in_q1(
        &df,
        &[
            // Selling is demo a4 45 alone; all minutes as with the
            // defaults: 228.
            ("selling_minutes", F(45.0)),
            ("total_minutes", F(228.0)),
            ("selling_time_share", F(45.0 / 228.0)),
            // Prospecting as with the defaults (calls a1 a5 a6 a15 + emails
            // a2 a14 = 6); no type is a meeting: 0 meetings, rate 0 / 6.
            ("prospecting_activities", I(6)),
            ("meetings", I(0)),
            ("meeting_rate", F(0.0)),
        ],
    );
}

/// The activities are optional: without their files the performance
/// mart's activity sums and counts are 0 and their ratios null (0 / 0),
/// not an error (the mart reads the staged activities' Enums).
#[test]
fn without_activities_the_activity_columns_are_zero() {
    use salesops::config::Config;
    let dir = tempfile::tempdir().unwrap();
    super::harness::copy_dir(std::path::Path::new("tests/fixtures/hand"), dir.path());
    std::fs::remove_dir_all(dir.path().join("activities")).unwrap();
    let config = Config::from_file("tests/fixtures/hand/pipeline.toml").unwrap();
    let source = super::harness::local(dir.path());
    let out_dir = tempfile::tempdir().unwrap();
    let out = super::harness::local(out_dir.path());
    super::harness::run_into(&config, &source, &out, "2024-09-15", false).unwrap();
    let df = mart(&out, "rep_quarter_performance");
    check_rep_a_in_q1(
        &df,
        &[
            ("selling_minutes", F(0.0)),
            ("total_minutes", F(0.0)),
            ("selling_time_share", Null),
            ("prospecting_activities", I(0)),
            ("meetings", I(0)),
            ("meeting_rate", Null),
        ],
    );
}

/// Rep A's FY2025-Q1 row of a rep-quarter mart has the `expected` values.
fn check_rep_a_in_q1(df: &polars::prelude::DataFrame, expected: &[(&str, super::harness::V)]) {
    check_row(
        df,
        &[("rep_id", "A"), ("fiscal_quarter", "FY2025-Q1")],
        expected,
    );
}

/// The hand fixture's config, staged tables and models as of 2024-09-15
/// (read from the fixture's folder, not through a run).
fn staged_and_models() -> (
    salesops::config::Config,
    salesops::staging::Staged,
    salesops::intermediate::Models,
) {
    use salesops::config::Config;
    use salesops::intermediate::Models;
    use salesops::staging::Listing;
    let config = Config::from_file("tests/fixtures/hand/pipeline.toml").unwrap();
    let source = super::harness::local(std::path::Path::new(&config.source));
    let listing = Listing::of(&source, &config).unwrap();
    let staged = salesops::pipeline::stage(&source, &listing, &config).unwrap();
    let models = Models::build(&staged, &config, super::harness::as_of("2024-09-15")).unwrap();
    (config, staged, models)
}

/// The activities grouped two rows at a time (`Models::slice_rows`, the
/// path runs of millions of activities take) give the same hand-worked
/// sums as grouped at once.
#[test]
fn activities_grouped_in_slices_give_the_hand_worked_sums() {
    let (config, _, mut models) = staged_and_models();
    assert!(
        models.activity_rows > 2,
        "the fixture has more than one slice"
    );
    models.slice_rows = 2;
    check_rep_a_activities_in_q1(&models, &config);
}

/// The activities are let go of once the performance mart is built, not
/// at the end of the run: after `build_all` nothing holds the staged
/// activities' columns (at 10x they are 1.2 GB). Before it, with the
/// staged tables dropped as the run drops them, the models still do, so
/// the test tells a release that happens from one that never does.
#[test]
fn the_activities_are_let_go_of_once_performance_is_built() {
    let (config, staged, mut models) = staged_and_models();
    let rep_ids = staged
        .get(&salesops::staging::activities::SPEC)
        .valid
        .column("rep_id")
        .unwrap()
        .as_materialized_series()
        .clone();
    let activities_held = std::sync::Arc::downgrade(&rep_ids.0);
    drop(rep_ids);
    drop(staged);
    assert!(
        activities_held.upgrade().is_some(),
        "the models hold the activities until the marts are built"
    );
    let marts = salesops::marts::build_all(&mut models, &config).unwrap();
    assert_eq!(marts.len(), salesops::marts::MARTS.len());
    assert!(
        activities_held.upgrade().is_none(),
        "the activities are still held once the marts are built"
    );
}

/// Rep A's FY2025-Q1 activity sums in the performance mart built from
/// `models`.
fn check_rep_a_activities_in_q1(
    models: &salesops::intermediate::Models,
    config: &salesops::config::Config,
) {
    let df = salesops::marts::rep_quarter_performance::build(models, config)
        .collect()
        .unwrap();
    check_rep_a_in_q1(
        &df,
        &[
            // As in rep_quarter_performance_by_hand: selling calls a1 30 +
            // a5 10 + a6 15 + a15 5 and demo a4 45 = 105; with email a2
            // (null = 0), admin a9 120 and email a14 3: 228.
            ("selling_minutes", F(105.0)),
            ("total_minutes", F(228.0)),
            // Calls a1 a5 a6 a15 + emails a2 a14 = 6; demo a4 = 1.
            ("prospecting_activities", I(6)),
            ("meetings", I(1)),
        ],
    );
}

/// Every table read only after the tables before it are staged (the path
/// a large input takes, `staging::LARGE_TABLE_BYTES`): the same staged rows,
/// quarantine and counts as all read at once, and the hand-worked sums.
#[test]
fn tables_read_one_after_another_stage_the_same_rows() {
    use salesops::config::Config;
    use salesops::intermediate::Models;
    use salesops::staging::{stage_all_with, Listing};
    // The hand fixture and two activities that are rejected (an unknown
    // rep, a negative duration), so the quarantine is compared too.
    let dir = tempfile::tempdir().unwrap();
    super::harness::copy_dir(std::path::Path::new("tests/fixtures/hand"), dir.path());
    std::fs::write(
        dir.path().join("activities/rejected.csv"),
        concat!(
            "activity_id,rep_id,activity_type,started_at,duration_minutes,opportunity_id,lead_id\n",
            "x1,Z,call,2024-02-06T10:00:00Z,30,,\n",
            "x2,A,call,2024-02-06T11:00:00Z,-5,,\n",
        ),
    )
    .unwrap();
    let mut config = Config::from_file("tests/fixtures/hand/pipeline.toml").unwrap();
    config.source = dir.path().to_str().unwrap().to_string();
    let source = super::harness::local(dir.path());
    let listing = Listing::of(&source, &config).unwrap();
    let at_once = stage_all_with(&source, &listing, &config, u64::MAX).unwrap();
    let in_turn = stage_all_with(&source, &listing, &config, 0).unwrap();
    let activities = in_turn.get(&salesops::staging::activities::SPEC);
    assert_eq!(activities.rejected.height(), 2);
    for (a, b) in at_once.tables().iter().zip(in_turn.tables()) {
        assert_eq!(a.name, b.name);
        assert!(a.valid.equals_missing(&b.valid), "{} valid rows", a.name);
        assert!(
            a.rejected.equals_missing(&b.rejected),
            "{} quarantine",
            a.name
        );
        assert_eq!(a.stats, b.stats, "{} counts", a.name);
    }
    let models = Models::build(&in_turn, &config, super::harness::as_of("2024-09-15")).unwrap();
    check_rep_a_activities_in_q1(&models, &config);
}

#[test]
fn rep_quarter_performance_by_hand() {
    let (_dir, out) = run_fixture();
    let df = mart(&out, "rep_quarter_performance");
    // A, B, D in all three quarters; C left 2024-06-15 (< Q3 start).
    assert_eq!(df.height(), 11);
    let q1 = "FY2025-Q1";
    let q2 = "FY2025-Q2";
    let q3 = "FY2025-Q3";

    check_row(
        &df,
        &[("rep_id", "A"), ("fiscal_quarter", q1)],
        &[
            ("rep_name", S("Ann")),
            ("team", S("East")),
            ("region", S("NA")),
            ("level", S("junior")),
            // A fiscal year starting in February: Q1 is Feb–Apr.
            ("quarter_start", D("2024-02-01")),
            ("quarter_end", D("2024-04-30")),
            ("is_complete", B(true)),
            // O1 won 10,000 (closed 03-20); O2 lost 5,000 (closed 04-10, no history).
            ("won_amount", F(10000.0)),
            ("won_count", I(1)),
            ("lost_count", I(1)),
            ("win_rate", F(0.5)),
            ("lost_amount", F(5000.0)),
            ("win_rate_value", F(10000.0 / 15000.0)),
            ("avg_deal_size", F(10000.0)),
            // Feb + Mar + Apr quotas: 3 × 10,000.
            ("quota", F(30000.0)),
            ("quota_attainment", F(10000.0 / 30000.0)),
            ("attained_quota", B(false)),
            // At 04-30 23:59:59.999999: O6 is Discovery 15,000 (p 0.1); O1 won, O2 lost.
            ("pipeline_value", F(15000.0)),
            ("weighted_pipeline_value", F(1500.0)),
            // O1: 2024-02-05 -> 2024-03-20 = 24 days of Feb + 20 of Mar = 44.
            ("avg_sales_cycle_days", F(44.0)),
            // Selling: calls a1 30 + a5 10 + a6 15 + a15 5, demo a4 45 = 105.
            // All: those + email a2 (null = 0) + admin a9 120 + email a14 3 = 228.
            ("selling_minutes", F(105.0)),
            ("total_minutes", F(228.0)),
            ("selling_time_share", F(105.0 / 228.0)),
            // Prospecting: calls a1 a5 a6 a15 + emails a2 a14 = 6; meetings: demo a4 = 1.
            ("prospecting_activities", I(6)),
            ("meetings", I(1)),
            ("meeting_rate", F(1.0 / 6.0)),
            ("median_lead_response_minutes", Null),
            // O1 touches: a1 02-06, a2 02-07, a3 03-01 (by B: any rep counts),
            // a4 03-20 23:00 (same day as close), a6 02-20 = 5; a5 03-21 is after.
            ("avg_touches_per_won_deal", F(5.0)),
            ("won_share_with_follow_ups", F(1.0)),
        ],
    );
    check_row(
        &df,
        &[("rep_id", "A"), ("fiscal_quarter", q2)],
        &[
            ("won_amount", F(0.0)),
            ("won_count", I(0)),
            ("lost_count", I(0)),
            ("win_rate", Null),
            ("lost_amount", F(0.0)),
            ("win_rate_value", Null),
            ("avg_deal_size", Null),
            ("quota", F(30000.0)),
            ("quota_attainment", F(0.0)),
            ("attained_quota", B(false)),
            // At 07-31 end: O6's latest row is 07-20 Negotiation 20,000 (p 0.8).
            ("pipeline_value", F(20000.0)),
            ("weighted_pipeline_value", F(16000.0)),
            ("avg_sales_cycle_days", Null),
            ("selling_minutes", F(0.0)),
            ("total_minutes", F(0.0)),
            ("selling_time_share", Null),
            ("prospecting_activities", I(0)),
            ("meeting_rate", Null),
            ("avg_touches_per_won_deal", Null),
            ("won_share_with_follow_ups", Null),
        ],
    );
    check_row(
        &df,
        &[("rep_id", "A"), ("fiscal_quarter", q3)],
        &[
            ("quarter_start", D("2024-08-01")),
            ("quarter_end", D("2024-10-31")),
            ("is_complete", B(false)),
            // O9 (99,999) was created 2024-09-20, after as_of: ignored.
            ("won_amount", F(0.0)),
            ("quota", Null),
            ("quota_attainment", Null),
            ("attained_quota", Null),
            // At as_of: O6 still Negotiation 20,000.
            ("pipeline_value", F(20000.0)),
            ("weighted_pipeline_value", F(16000.0)),
            // a12 (09-16) is after as_of.
            ("total_minutes", F(0.0)),
        ],
    );
    check_row(
        &df,
        &[("rep_id", "B"), ("fiscal_quarter", q1)],
        &[
            // O3: 8,000 EUR closed 04-25; EUR rate of 04-01 (latest on or before) 1.10.
            ("won_amount", F(8800.0)),
            ("won_count", I(1)),
            ("lost_count", I(0)),
            ("win_rate", F(1.0)),
            ("win_rate_value", F(1.0)),
            ("avg_deal_size", F(8800.0)),
            // Hired 03-10: quotas Mar 5,000 + Apr 5,000.
            ("quota", F(10000.0)),
            ("quota_attainment", F(0.88)),
            ("attained_quota", B(false)),
            // O3 (synthetic history) is won by 04-30; O7 did not exist yet.
            ("pipeline_value", F(0.0)),
            ("weighted_pipeline_value", F(0.0)),
            // 2024-03-15 -> 04-25 = 16 + 25 = 41 days.
            ("avg_sales_cycle_days", F(41.0)),
            // meeting a3 60, calls a7 20 and a13 10: all selling.
            ("selling_minutes", F(90.0)),
            ("total_minutes", F(90.0)),
            ("selling_time_share", F(1.0)),
            ("prospecting_activities", I(2)),
            ("meetings", I(1)),
            ("meeting_rate", F(0.5)),
            // L1 created 10:00, a13 at 10:30 -> 30 (a14 at 09:00 is before it);
            // L2 created 08:00, a15 (by A) at 09:30 -> 90. Median of 30, 90 = 60.
            ("median_lead_response_minutes", F(60.0)),
            // O3: a7 only.
            ("avg_touches_per_won_deal", F(1.0)),
            ("won_share_with_follow_ups", F(0.0)),
        ],
    );
    check_row(
        &df,
        &[("rep_id", "B"), ("fiscal_quarter", q2)],
        &[
            ("won_amount", F(0.0)),
            // The May quota is 0: attainment of a 0 quota is null.
            ("quota", F(0.0)),
            ("quota_attainment", Null),
            ("attained_quota", Null),
            // O7 (synthetic, created 06-01) Qualified 10,000 × 0.2.
            ("pipeline_value", F(10000.0)),
            ("weighted_pipeline_value", F(2000.0)),
            // L3 has no response.
            ("median_lead_response_minutes", Null),
        ],
    );
    check_row(
        &df,
        &[("rep_id", "B"), ("fiscal_quarter", q3)],
        &[
            // O10 won, close_date 10-15 in Q3 (no as_of cut on close_date).
            ("won_amount", F(7000.0)),
            ("won_count", I(1)),
            ("win_rate", F(1.0)),
            ("quota", Null),
            // At as_of, O10's synthetic history says Discovery 7,000 (the closing
            // row is at 10-15 00:00, after as_of); O7 Qualified 10,000.
            // 7,000 + 10,000 = 17,000; 700 + 2,000 = 2,700.
            ("pipeline_value", F(17000.0)),
            ("weighted_pipeline_value", F(2700.0)),
            // 2024-08-01 -> 10-15 = 31 + 30 + 14 = 75 days.
            ("avg_sales_cycle_days", F(75.0)),
            // Won deal with no touches counts as 0.
            ("avg_touches_per_won_deal", F(0.0)),
            ("won_share_with_follow_ups", F(0.0)),
        ],
    );
    check_row(
        &df,
        &[("rep_id", "C"), ("fiscal_quarter", q1)],
        &[
            ("won_amount", F(0.0)),
            ("win_rate", Null),
            ("quota", Null),
            // O4 at 04-30 end: 04-28 row Trial 12,000 (p 0.6).
            ("pipeline_value", F(12000.0)),
            ("weighted_pipeline_value", F(7200.0)),
            ("selling_time_share", Null),
        ],
    );
    check_row(
        &df,
        &[("rep_id", "C"), ("fiscal_quarter", q2)],
        &[
            ("won_amount", F(12000.0)),
            ("won_count", I(1)),
            ("avg_deal_size", F(12000.0)),
            // 2024-02-20 -> 05-10 = 9 + 31 + 30 + 10 = 80 days.
            ("avg_sales_cycle_days", F(80.0)),
            ("pipeline_value", F(0.0)),
            // training a10 60: not selling.
            ("selling_minutes", F(0.0)),
            ("total_minutes", F(60.0)),
            ("selling_time_share", F(0.0)),
            ("prospecting_activities", I(0)),
            ("meeting_rate", Null),
            ("avg_touches_per_won_deal", F(0.0)),
        ],
    );
    check_row(
        &df,
        &[("rep_id", "D"), ("fiscal_quarter", q1)],
        &[
            // A quarter with no deals, no quota, no activity: 0 sums, null ratios.
            ("won_amount", F(0.0)),
            ("won_count", I(0)),
            ("lost_count", I(0)),
            ("win_rate", Null),
            ("lost_amount", F(0.0)),
            ("win_rate_value", Null),
            ("avg_deal_size", Null),
            ("quota", Null),
            ("quota_attainment", Null),
            ("attained_quota", Null),
            ("pipeline_value", F(0.0)),
            ("weighted_pipeline_value", F(0.0)),
            ("avg_sales_cycle_days", Null),
            ("selling_minutes", F(0.0)),
            ("total_minutes", F(0.0)),
            ("selling_time_share", Null),
            ("prospecting_activities", I(0)),
            ("meetings", I(0)),
            ("meeting_rate", Null),
            ("median_lead_response_minutes", Null),
            ("avg_touches_per_won_deal", Null),
            ("won_share_with_follow_ups", Null),
        ],
    );
    check_row(
        &df,
        &[("rep_id", "D"), ("fiscal_quarter", q2)],
        &[
            ("won_amount", F(12000.0)),
            ("quota", F(20000.0)),
            ("quota_attainment", F(0.6)),
            ("attained_quota", B(false)),
            // O8 at 07-31 end: Demo 4,000 × 0.4.
            ("pipeline_value", F(4000.0)),
            ("weighted_pipeline_value", F(1600.0)),
            // 2024-05-02 -> 06-30 = 30 + 29 = 59 days.
            ("avg_sales_cycle_days", F(59.0)),
            // meeting a8 30: selling; a meeting but no prospecting -> null rate.
            ("selling_time_share", F(1.0)),
            ("meetings", I(1)),
            ("meeting_rate", Null),
            ("avg_touches_per_won_deal", F(1.0)),
        ],
    );
    check_row(
        &df,
        &[("rep_id", "D"), ("fiscal_quarter", q3)],
        &[
            // O8 lost 4,000.
            ("won_amount", F(0.0)),
            ("lost_count", I(1)),
            ("win_rate", F(0.0)),
            ("lost_amount", F(4000.0)),
            ("win_rate_value", F(0.0)),
            ("avg_deal_size", Null),
            ("pipeline_value", F(0.0)),
            // email a11 5: prospecting, not selling.
            ("selling_time_share", F(0.0)),
            ("prospecting_activities", I(1)),
            ("meeting_rate", F(0.0)),
        ],
    );

    // Five opportunities had no history: O2, O3, O5, O7, O10 (O9 is after as_of).
    assert_eq!(published(&out).synthesized_histories, 5);
}

#[test]
fn rep_quarter_trends_by_hand() {
    let (_dir, out) = run_fixture();
    let df = mart(&out, "rep_quarter_trends");
    assert_eq!(df.height(), 11);
    // Q1 won: A 10,000, B 8,800, C 0, D 0. Median (linear) of 0, 0, 8,800,
    // 10,000: position 1.5 -> 0 + 0.5 × 8,800 = 4,400. No previous quarter.
    let q1 = "FY2025-Q1";
    check_row(
        &df,
        &[("rep_id", "A"), ("fiscal_quarter", q1)],
        &[
            ("rep_name", S("Ann")),
            ("team", S("East")),
            ("region", S("NA")),
            ("level", S("junior")),
            ("quarter_start", D("2024-02-01")),
            ("quarter_end", D("2024-04-30")),
            ("is_complete", B(true)),
            ("metric", F(10000.0)),
            ("prev_metric", Null),
            ("change", Null),
            ("change_pct", Null),
            ("peer_threshold", F(4400.0)),
            ("is_top", B(true)),
            ("rank_in_peer_group", I(1)),
            ("quadrant", Null),
        ],
    );
    check_row(
        &df,
        &[("rep_id", "B"), ("fiscal_quarter", q1)],
        &[("is_top", B(true)), ("rank_in_peer_group", I(2))],
    );
    // C and D tie at 0: both rank 3 ("min" ranking).
    check_row(
        &df,
        &[("rep_id", "C"), ("fiscal_quarter", q1)],
        &[("is_top", B(false)), ("rank_in_peer_group", I(3))],
    );
    check_row(
        &df,
        &[("rep_id", "D"), ("fiscal_quarter", q1)],
        &[("is_top", B(false)), ("rank_in_peer_group", I(3))],
    );

    // Q2 won: A 0, B 0, C 12,000, D 12,000 -> threshold 0 + 0.5 × 12,000 = 6,000.
    let q2 = "FY2025-Q2";
    check_row(
        &df,
        &[("rep_id", "A"), ("fiscal_quarter", q2)],
        &[
            ("metric", F(0.0)),
            ("prev_metric", F(10000.0)),
            ("change", F(-10000.0)),
            ("change_pct", F(-1.0)),
            ("peer_threshold", F(6000.0)),
            ("is_top", B(false)),
            ("rank_in_peer_group", I(3)),
            ("quadrant", S("declining_laggard")),
        ],
    );
    check_row(
        &df,
        &[("rep_id", "B"), ("fiscal_quarter", q2)],
        &[("change", F(-8800.0)), ("quadrant", S("declining_laggard"))],
    );
    check_row(
        &df,
        &[("rep_id", "C"), ("fiscal_quarter", q2)],
        &[
            ("prev_metric", F(0.0)),
            ("change", F(12000.0)),
            // prev_metric 0: change_pct null.
            ("change_pct", Null),
            ("is_top", B(true)),
            ("rank_in_peer_group", I(1)),
            ("quadrant", S("rising_star")),
        ],
    );
    check_row(
        &df,
        &[("rep_id", "D"), ("fiscal_quarter", q2)],
        &[("rank_in_peer_group", I(1)), ("quadrant", S("rising_star"))],
    );

    // Q3 won: A 0, B 7,000, D 0 (C has left) -> median of 0, 0, 7,000 is 0:
    // the tie at the quantile makes A and D top (0 ≥ 0).
    let q3 = "FY2025-Q3";
    check_row(
        &df,
        &[("rep_id", "A"), ("fiscal_quarter", q3)],
        &[
            ("peer_threshold", F(0.0)),
            ("is_top", B(true)),
            ("change", F(0.0)),
            ("rank_in_peer_group", I(2)),
            // Top, change not > 0.
            ("quadrant", S("falling_star")),
        ],
    );
    check_row(
        &df,
        &[("rep_id", "B"), ("fiscal_quarter", q3)],
        &[("rank_in_peer_group", I(1)), ("quadrant", S("rising_star"))],
    );
    check_row(
        &df,
        &[("rep_id", "D"), ("fiscal_quarter", q3)],
        &[
            ("change", F(-12000.0)),
            ("change_pct", F(-1.0)),
            ("is_top", B(true)),
            ("rank_in_peer_group", I(2)),
            ("quadrant", S("falling_star")),
        ],
    );
}

#[test]
fn team_quarter_kpis_by_hand() {
    let (_dir, out) = run_fixture();
    let df = mart(&out, "team_quarter_kpis");
    // company/all, East, West in each of three quarters.
    assert_eq!(df.height(), 9);
    let company = [("scope", "company"), ("scope_id", "all")];
    let east = [("scope", "team"), ("scope_id", "East")];
    let west = [("scope", "team"), ("scope_id", "West")];
    let key = |scope: &[(&'static str, &'static str); 2], q: &'static str| {
        vec![scope[0], scope[1], ("fiscal_quarter", q)]
    };

    check_row(
        &df,
        &key(&company, "FY2025-Q1"),
        &[
            ("quarter_start", D("2024-02-01")),
            ("quarter_end", D("2024-04-30")),
            ("is_complete", B(true)),
            ("reps", I(4)),
            // A 10,000 + B 8,800.
            ("won_amount", F(18800.0)),
            ("won_count", I(2)),
            ("lost_count", I(1)),
            ("win_rate", F(2.0 / 3.0)),
            ("lost_amount", F(5000.0)),
            ("win_rate_value", F(18800.0 / 23800.0)),
            ("avg_deal_size", F(9400.0)),
            // A 30,000 + B 10,000; C and D have none.
            ("quota", F(40000.0)),
            ("quota_attainment", F(18800.0 / 40000.0)),
            // A and B both below quota.
            ("quota_attainment_rate", F(0.0)),
            // A 15,000 + C 12,000; 1,500 + 7,200.
            ("pipeline_value", F(27000.0)),
            ("weighted_pipeline_value", F(8700.0)),
            // Over deals: (44 + 41) / 2.
            ("avg_sales_cycle_days", F(42.5)),
            // (105 + 90) / (228 + 90).
            ("selling_time_share", F(195.0 / 318.0)),
            // (1 + 1) / (6 + 2).
            ("meeting_rate", F(0.25)),
            ("rising_stars", I(0)),
            ("falling_stars", I(0)),
            ("improving_laggards", I(0)),
            ("declining_laggards", I(0)),
        ],
    );
    check_row(
        &df,
        &key(&west, "FY2025-Q1"),
        &[
            ("reps", I(2)),
            ("won_amount", F(0.0)),
            ("win_rate", Null),
            ("avg_deal_size", Null),
            // Nobody in West has a quota: null, not 0.
            ("quota", Null),
            ("quota_attainment", Null),
            ("quota_attainment_rate", Null),
            ("pipeline_value", F(12000.0)),
            ("selling_time_share", Null),
        ],
    );
    check_row(
        &df,
        &key(&company, "FY2025-Q2"),
        &[
            ("won_amount", F(24000.0)),
            ("win_rate", F(1.0)),
            // A 30,000 + B 0 + D 20,000.
            ("quota", F(50000.0)),
            // Won by reps with a quota: A 0 + B 0 + D 12,000.
            ("quota_attainment", F(12000.0 / 50000.0)),
            // A false, D false; B's is null (0 quota) and does not count.
            ("quota_attainment_rate", F(0.0)),
            // A 20,000 + B 10,000 + D 4,000; 16,000 + 2,000 + 1,600.
            ("pipeline_value", F(34000.0)),
            ("weighted_pipeline_value", F(19600.0)),
            // (80 + 59) / 2.
            ("avg_sales_cycle_days", F(69.5)),
            // selling 30 (D's meeting) of 60 + 30.
            ("selling_time_share", F(30.0 / 90.0)),
            ("meeting_rate", Null),
            ("rising_stars", I(2)),
            ("declining_laggards", I(2)),
        ],
    );
    check_row(
        &df,
        &key(&east, "FY2025-Q2"),
        &[
            ("quota", F(30000.0)),
            ("quota_attainment", F(0.0)),
            ("quota_attainment_rate", F(0.0)),
            ("pipeline_value", F(30000.0)),
            ("weighted_pipeline_value", F(18000.0)),
            ("declining_laggards", I(2)),
        ],
    );
    check_row(
        &df,
        &key(&company, "FY2025-Q3"),
        &[
            ("reps", I(3)),
            ("is_complete", B(false)),
            ("won_amount", F(7000.0)),
            ("won_count", I(1)),
            ("lost_count", I(1)),
            ("win_rate", F(0.5)),
            ("win_rate_value", F(7000.0 / 11000.0)),
            ("quota", Null),
            ("pipeline_value", F(37000.0)),
            ("weighted_pipeline_value", F(18700.0)),
            ("avg_sales_cycle_days", F(75.0)),
            ("selling_time_share", F(0.0)),
            ("meeting_rate", F(0.0)),
            ("rising_stars", I(1)),
            ("falling_stars", I(2)),
        ],
    );
    check_row(
        &df,
        &key(&west, "FY2025-Q3"),
        &[
            ("reps", I(1)),
            ("win_rate", F(0.0)),
            ("lost_amount", F(4000.0)),
            ("falling_stars", I(1)),
        ],
    );
}

#[test]
fn trends_on_quota_attainment_within_teams() {
    // The same fixture with trend_metric = quota_attainment, peer_group = team.
    let mut config =
        salesops::config::Config::from_file("tests/fixtures/hand/pipeline.toml").unwrap();
    config.trend_metric = salesops::config::TrendMetric::QuotaAttainment;
    config.peer_group = salesops::config::PeerGroup::Team;
    let dir = tempfile::tempdir().unwrap();
    let out = super::harness::local(dir.path());
    let source = super::harness::local(std::path::Path::new(&config.source));
    super::harness::run_into(&config, &source, &out, "2024-09-15", false).unwrap();
    let df = mart(&out, "rep_quarter_trends");
    let q1 = "FY2025-Q1";
    // East in Q1: A 10,000 / 30,000, B 8,800 / 10,000 = 0.88; the median of
    // the two is their mean.
    let threshold = (10000.0 / 30000.0 + 0.88) / 2.0;
    check_row(
        &df,
        &[("rep_id", "A"), ("fiscal_quarter", q1)],
        &[
            ("metric", F(10000.0 / 30000.0)),
            ("peer_threshold", F(threshold)),
            ("is_top", B(false)),
            ("rank_in_peer_group", I(2)),
        ],
    );
    check_row(
        &df,
        &[("rep_id", "B"), ("fiscal_quarter", q1)],
        &[("is_top", B(true)), ("rank_in_peer_group", I(1))],
    );
    // West has no quotas: no metric, no threshold, no rank, no quadrant.
    check_row(
        &df,
        &[("rep_id", "C"), ("fiscal_quarter", q1)],
        &[
            ("metric", Null),
            ("peer_threshold", Null),
            ("is_top", Null),
            ("rank_in_peer_group", Null),
            ("quadrant", Null),
        ],
    );
    // Q2: A 0 / 30,000 = 0 after 1/3: change -1/3, change_pct -1; B's 0 quota
    // gives a null metric, so B's quadrant is null. East's only value is A's 0,
    // which is its own threshold: top, not improving -> falling_star.
    check_row(
        &df,
        &[("rep_id", "A"), ("fiscal_quarter", "FY2025-Q2")],
        &[
            ("metric", F(0.0)),
            ("change", F(-10000.0 / 30000.0)),
            ("change_pct", F(-1.0)),
            ("peer_threshold", F(0.0)),
            ("is_top", B(true)),
            ("quadrant", S("falling_star")),
        ],
    );
    check_row(
        &df,
        &[("rep_id", "B"), ("fiscal_quarter", "FY2025-Q2")],
        &[("metric", Null), ("quadrant", Null)],
    );
    // D in Q2: 12,000 / 20,000 = 0.6 alone in West -> top, rank 1; Q1 was null.
    check_row(
        &df,
        &[("rep_id", "D"), ("fiscal_quarter", "FY2025-Q2")],
        &[
            ("metric", F(0.6)),
            ("prev_metric", Null),
            ("rank_in_peer_group", I(1)),
            ("quadrant", Null),
        ],
    );
}

/// A table that fails to read while the tables after it wait for it: the
/// run stops with that table's error (no table waits forever).
#[test]
fn a_failed_table_stops_the_tables_waiting_for_it() {
    use salesops::config::Config;
    use salesops::staging::{stage_all_with, Listing};
    let dir = tempfile::tempdir().unwrap();
    super::harness::copy_dir(std::path::Path::new("tests/fixtures/hand"), dir.path());
    std::fs::write(
        dir.path().join("opportunities/broken.parquet"),
        b"PAR1 this is not parquet",
    )
    .unwrap();
    let mut config = Config::from_file("tests/fixtures/hand/pipeline.toml").unwrap();
    config.source = dir.path().to_str().unwrap().to_string();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let source = super::harness::local(std::path::Path::new(&config.source));
        let listing = Listing::of(&source, &config).unwrap();
        let staged = stage_all_with(&source, &listing, &config, 0);
        tx.send(staged.err().map(|e| e.report())).unwrap();
    });
    let error = rx
        .recv_timeout(std::time::Duration::from_secs(120))
        .expect("staging finished")
        .expect("staging failed");
    assert!(
        error.contains("reading table `opportunities`")
            && error.contains("broken.parquet: not a readable Parquet file"),
        "{error}"
    );
}
