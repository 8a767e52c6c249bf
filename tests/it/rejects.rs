//! One test per reject reason of SPEC §1.1, plus exact duplicates and the
//! cascade to child rows. Each test stages a tiny source with one kind of
//! bad row and checks the quarantine: the reason, the file and row, and the
//! original text.

use polars::prelude::*;
use salesops::config::Config;
use salesops::pipeline::stage;
use salesops::staging;
use salesops::staging::{Staged, StagedTable};
use salesops::storage::Storage;

const REPS: &str = "rep_id,team,level,hire_date,end_date\nR1,East,junior,2023-01-01,\n";
const OPP_HEADER: &str =
    "opportunity_id,rep_id,created_date,close_date,stage,amount,currency,deal_type\n";
const OPP_OK: &str = "O1,R1,2024-01-05,2024-02-01,Closed Won,100,,new_business\n";

/// Stages a source made of `files` (path, content) on top of valid reps.
fn stage_files(files: &[(&str, &str)]) -> Staged {
    let dir = tempfile::tempdir().unwrap();
    let mut all: Vec<(&str, String)> = vec![("reps/reps.csv", REPS.to_string())];
    if !files.iter().any(|(p, _)| p.starts_with("opportunities/")) {
        all.push(("opportunities/o.csv", format!("{OPP_HEADER}{OPP_OK}")));
    }
    all.extend(files.iter().map(|(p, c)| (*p, c.to_string())));
    for (path, content) in all {
        let full = dir.path().join(path);
        std::fs::create_dir_all(full.parent().unwrap()).unwrap();
        std::fs::write(full, content).unwrap();
    }
    let storage = Storage::open(dir.path().to_str().unwrap(), &Default::default(), false).unwrap();
    stage(
        &storage,
        &salesops::staging::Listing::of(&storage, &Config::default()).unwrap(),
        &Config::default(),
    )
    .unwrap()
}

fn opportunities(rows: &str) -> Staged {
    stage_files(&[(
        "opportunities/o.csv",
        &format!("{OPP_HEADER}{OPP_OK}{rows}"),
    )])
}

/// (source_row, reject_reason) of a table's quarantine, in row order.
pub(super) fn reasons(t: &StagedTable) -> Vec<(i64, String)> {
    let rows = t
        .rejected
        .column("source_row")
        .unwrap()
        .i64()
        .unwrap()
        .clone();
    let rs = t
        .rejected
        .column("reject_reason")
        .unwrap()
        .str()
        .unwrap()
        .clone();
    rows.no_null_iter()
        .zip(rs.no_null_iter().map(String::from))
        .collect()
}

fn text(t: &StagedTable, column: &str, i: usize) -> Option<String> {
    t.rejected
        .column(column)
        .unwrap()
        .str()
        .unwrap()
        .get(i)
        .map(String::from)
}

#[test]
fn missing_required() {
    // Row 2 has no rep_id; row 3 has no amount.
    let s = opportunities(
        "O2,,2024-01-05,2024-02-01,Closed Won,100,,\nO3,R1,2024-01-05,2024-02-01,Closed Won,,,\n",
    );
    assert_eq!(
        reasons(s.get(&staging::opportunities::SPEC)),
        [
            (2, "missing_required".into()),
            (3, "missing_required".into())
        ]
    );
    assert_eq!(s.get(&staging::opportunities::SPEC).valid.height(), 1);
    let t = s.get(&staging::opportunities::SPEC);
    assert!(text(t, "source_file", 0)
        .unwrap()
        .ends_with("opportunities/o.csv"));
    assert_eq!(text(t, "table", 0).as_deref(), Some("opportunities"));
}

#[test]
fn unparsable_value() {
    // A thousands separator, a leading space, a US date, a deal_type outside its set.
    let s = opportunities(concat!(
        "O2,R1,2024-01-05,2024-02-01,Closed Won,\"1,000\",,\n",
        "O3,R1,2024-01-05,2024-02-01,Closed Won, 100,,\n",
        "O4,R1,01/05/2024,2024-02-01,Closed Won,100,,\n",
        "O5,R1,2024-01-05,2024-02-01,Closed Won,100,,barter\n",
    ));
    let r = reasons(s.get(&staging::opportunities::SPEC));
    assert_eq!(r.len(), 4);
    assert!(
        r.iter().all(|(_, reason)| reason == "unparsable_value"),
        "{r:?}"
    );
    // The original text is kept.
    assert_eq!(
        text(s.get(&staging::opportunities::SPEC), "amount", 0).as_deref(),
        Some("1,000")
    );
    assert_eq!(
        text(s.get(&staging::opportunities::SPEC), "amount", 1).as_deref(),
        Some(" 100")
    );
}

#[test]
fn negative_amount() {
    let s = stage_files(&[
        ("opportunities/o.csv", &format!("{OPP_HEADER}{OPP_OK}O2,R1,2024-01-05,2024-02-01,Closed Won,-1,,\n")),
        (
            "activities/a.csv",
            "activity_id,rep_id,activity_type,started_at,duration_minutes\nA1,R1,call,2024-01-05T10:00:00Z,-5\nA2,R1,call,2024-01-05T11:00:00Z,5\n",
        ),
        ("fx_rates/fx.csv", "currency,rate_date,rate_to_reporting\nEUR,2024-01-01,0\nEUR,2024-02-01,1.1\n"),
    ]);
    assert_eq!(
        reasons(s.get(&staging::opportunities::SPEC)),
        [(2, "negative_amount".into())]
    );
    assert_eq!(
        reasons(s.get(&staging::activities::SPEC)),
        [(1, "negative_amount".into())]
    );
    // A rate ≤ 0 is filed under negative_amount (SPEC §7).
    assert_eq!(
        reasons(s.get(&staging::fx_rates::SPEC)),
        [(1, "negative_amount".into())]
    );
}

#[test]
fn invalid_month() {
    let s = stage_files(&[(
        "quotas/q.csv",
        "rep_id,month,quota_amount\nR1,2024-01-01,10\nR1,2024-02-15,10\n",
    )]);
    assert_eq!(
        reasons(s.get(&staging::quotas::SPEC)),
        [(2, "invalid_month".into())]
    );
}

#[test]
fn invalid_quarter_start() {
    // Calendar fiscal year: quarters start in Jan, Apr, Jul, Oct.
    let s = stage_files(&[(
        "forecast_submissions/f.csv",
        "rep_id,quarter_start,submitted_at,amount\nR1,2024-04-01,2024-04-02,10\nR1,2024-02-01,2024-02-02,10\n",
    )]);
    assert_eq!(
        reasons(s.get(&staging::forecast_submissions::SPEC)),
        [(2, "invalid_quarter_start".into())]
    );
}

#[test]
fn date_order() {
    let s = stage_files(&[
        (
            "opportunities/o.csv",
            &format!("{OPP_HEADER}{OPP_OK}O2,R1,2024-03-05,2024-02-01,Closed Won,1,,\n"),
        ),
        (
            "reps/more.csv",
            "rep_id,team,level,hire_date,end_date\nR2,East,junior,2024-01-01,2023-12-31\n",
        ),
    ]);
    assert_eq!(
        reasons(s.get(&staging::opportunities::SPEC)),
        [(2, "date_order".into())]
    );
    assert_eq!(
        reasons(s.get(&staging::reps::SPEC)),
        [(1, "date_order".into())]
    );
}

#[test]
fn unknown_stage() {
    // Stage names match exactly, case included.
    let s = opportunities("O2,R1,2024-01-05,2024-02-01,Closed Maybe,1,,\nO3,R1,2024-01-05,2024-02-01,closed won,1,,\n");
    assert_eq!(
        reasons(s.get(&staging::opportunities::SPEC)),
        [(2, "unknown_stage".into()), (3, "unknown_stage".into())]
    );
}

#[test]
fn unknown_activity_type() {
    let s = stage_files(&[(
        "activities/a.csv",
        "activity_id,rep_id,activity_type,started_at\nA1,R1,lunch,2024-01-05T10:00:00Z\nA2,R1,call,2024-01-05\n",
    )]);
    assert_eq!(
        reasons(s.get(&staging::activities::SPEC)),
        [(1, "unknown_activity_type".into())]
    );
}

#[test]
fn duplicate_key() {
    // O2 twice with different amounts: both rejected. O3 twice where one copy
    // is already negative: that one keeps its earlier reason.
    let s = opportunities(concat!(
        "O2,R1,2024-01-05,2024-02-01,Closed Won,1,,\n",
        "O2,R1,2024-01-05,2024-02-01,Closed Won,2,,\n",
        "O3,R1,2024-01-05,2024-02-01,Closed Won,-3,,\n",
        "O3,R1,2024-01-05,2024-02-01,Closed Won,3,,\n",
    ));
    assert_eq!(
        reasons(s.get(&staging::opportunities::SPEC)),
        [
            (2, "duplicate_key".into()),
            (3, "duplicate_key".into()),
            (4, "negative_amount".into()),
            (5, "duplicate_key".into()),
        ]
    );
}

#[test]
fn activity_ids_are_checked_but_not_staged() {
    // A1 twice with different types: both rows are quarantined with their
    // ids; the staged rows (A2 alone) do not carry activity_id, which no
    // mart reads.
    let s = stage_files(&[(
        "activities/a.csv",
        concat!(
            "activity_id,rep_id,activity_type,started_at\n",
            "A1,R1,call,2024-01-05T10:00:00Z\n",
            "A1,R1,email,2024-01-05T11:00:00Z\n",
            "A2,R1,meeting,2024-01-06T09:00:00Z\n",
        ),
    )]);
    let activities = s.get(&staging::activities::SPEC);
    assert_eq!(
        reasons(activities),
        [(1, "duplicate_key".into()), (2, "duplicate_key".into())]
    );
    assert_eq!(text(activities, "activity_id", 0).as_deref(), Some("A1"));
    assert_eq!(text(activities, "activity_id", 1).as_deref(), Some("A1"));
    let valid = &activities.valid;
    assert_eq!(valid.height(), 1);
    assert!(valid.column("activity_id").is_err(), "{:?}", valid.schema());
    // Held as an Enum of the configured types (`validate::OneOf`), as is
    // rep_id of the reps' ids.
    let held = |name: &str| valid.column(name).unwrap().clone();
    assert!(
        matches!(held("activity_type").dtype(), DataType::Enum(_, _)),
        "{:?}",
        valid.schema()
    );
    assert!(
        matches!(held("rep_id").dtype(), DataType::Enum(_, _)),
        "{:?}",
        valid.schema()
    );
    let text = |name: &str| held(name).cast(&DataType::String).unwrap();
    assert_eq!(text("activity_type").str().unwrap().get(0), Some("meeting"));
    assert_eq!(text("rep_id").str().unwrap().get(0), Some("R1"));
}

/// The activities' rep_id and activity_type are checked by their cast to
/// an Enum (`validate::OneOf`): a rep that is not a valid rep (R2 is
/// rejected for its dates, R9 is nowhere) is unknown_reference, a type
/// outside the configured ones (types match exactly: "Call" is not "call")
/// is unknown_activity_type, and that reason comes first when both are
/// wrong (A3); a missing rep_id is missing_required. The valid rows, A1
/// and A7, hold each column as an Enum of exactly the accepted values:
/// the valid reps R1 and R3, the seven default types in name order.
#[test]
fn activity_reps_and_types_are_checked_by_their_enum() {
    let s = stage_files(&[
        (
            "reps/reps.csv",
            concat!(
                "rep_id,team,level,hire_date,end_date\n",
                "R1,East,junior,2023-01-01,\n",
                "R2,East,junior,2023-05-01,2023-01-01\n",
                "R3,West,senior,2023-01-01,\n",
            ),
        ),
        (
            "activities/a.csv",
            concat!(
                "activity_id,rep_id,activity_type,started_at\n",
                "A1,R1,call,2024-01-05T10:00:00Z\n",
                "A2,R2,call,2024-01-05T10:00:00Z\n",
                "A3,R9,fax,2024-01-05T10:00:00Z\n",
                "A4,R9,call,2024-01-05T10:00:00Z\n",
                "A5,,call,2024-01-05T10:00:00Z\n",
                "A6,R3,Call,2024-01-05T10:00:00Z\n",
                "A7,R3,meeting,2024-01-06T10:00:00Z\n",
            ),
        ),
    ]);
    assert_eq!(
        reasons(s.get(&staging::reps::SPEC)),
        [(2, "date_order".into())]
    );
    let activities = s.get(&staging::activities::SPEC);
    assert_eq!(
        reasons(activities),
        [
            (2, "unknown_reference".into()),
            (3, "unknown_activity_type".into()),
            (4, "unknown_reference".into()),
            (5, "missing_required".into()),
            (6, "unknown_activity_type".into()),
        ]
    );
    // The quarantine keeps the texts as they were.
    assert_eq!(text(activities, "rep_id", 1).as_deref(), Some("R9"));
    assert_eq!(text(activities, "activity_type", 1).as_deref(), Some("fax"));
    let valid = &activities.valid;
    let values = |name: &str| -> (Vec<String>, Vec<String>) {
        let column = valid.column(name).unwrap();
        let DataType::Enum(categories, _) = column.dtype() else {
            panic!("{name} is {:?}, not an Enum", column.dtype());
        };
        let categories = categories
            .categories()
            .values_iter()
            .map(String::from)
            .collect();
        let text = column.cast(&DataType::String).unwrap();
        let rows = text
            .str()
            .unwrap()
            .iter()
            .map(|v| v.unwrap().to_string())
            .collect();
        (rows, categories)
    };
    assert_eq!(
        values("rep_id"),
        (
            vec!["R1".into(), "R3".into()],
            vec!["R1".into(), "R3".into()]
        )
    );
    let (types, categories) = values("activity_type");
    assert_eq!(types, ["call", "meeting"]);
    assert_eq!(
        categories,
        [
            "admin",
            "call",
            "demo",
            "email",
            "internal_meeting",
            "meeting",
            "training"
        ]
    );
}

/// A rejected row names its file and its row in that file (from 1), with
/// files read in path order: a.csv's second row, then c.csv's first and
/// third (b.csv, between them, has a header and no rows, so c.csv's rows
/// start where b.csv's would have).
#[test]
fn rejected_rows_name_their_file_and_row_in_it() {
    let bad = |id: &str| format!("{id},R1,2024-01-05,2024-02-01,Closed Won,-1,,\n");
    let good = |id: &str| format!("{id},R1,2024-01-05,2024-02-01,Closed Won,5,,\n");
    let s = stage_files(&[
        (
            "opportunities/a.csv",
            &format!("{OPP_HEADER}{OPP_OK}{}", bad("O2")),
        ),
        ("opportunities/b.csv", OPP_HEADER),
        (
            "opportunities/c.csv",
            &format!("{OPP_HEADER}{}{}{}", bad("O4"), good("O5"), bad("O6")),
        ),
    ]);
    let t = s.get(&staging::opportunities::SPEC);
    assert_eq!(
        reasons(t),
        [
            (2, "negative_amount".into()),
            (1, "negative_amount".into()),
            (3, "negative_amount".into())
        ]
    );
    let files: Vec<String> = (0..3)
        .map(|i| text(t, "source_file", i).unwrap())
        .map(|f| f.rsplit('/').next().unwrap().to_string())
        .collect();
    assert_eq!(files, ["a.csv", "c.csv", "c.csv"]);
    let ids: Vec<_> = (0..3).map(|i| text(t, "opportunity_id", i)).collect();
    assert_eq!(
        ids,
        [Some("O2".into()), Some("O4".into()), Some("O6".into())]
    );
}

#[test]
fn exact_duplicates_collapse_across_files() {
    // 100 equals 100.0 after parsing; the copy in the second file is collapsed, not rejected.
    let s = stage_files(&[
        ("opportunities/a.csv", &format!("{OPP_HEADER}{OPP_OK}")),
        (
            "opportunities/b.csv",
            &format!("{OPP_HEADER}O1,R1,2024-01-05,2024-02-01,Closed Won,100.0,,new_business\n"),
        ),
    ]);
    assert_eq!(s.get(&staging::opportunities::SPEC).stats.rows_read, 2);
    assert_eq!(
        s.get(&staging::opportunities::SPEC)
            .stats
            .duplicates_collapsed,
        1
    );
    assert_eq!(s.get(&staging::opportunities::SPEC).stats.rejected, 0);
    assert_eq!(s.get(&staging::opportunities::SPEC).valid.height(), 1);
}

#[test]
fn exact_duplicates_of_a_table_without_a_key() {
    // lead_events has no key: only exact copies collapse. Row 2 is row 1
    // once parsed (a date alone is 00:00 UTC) and row 7 is row 1 again:
    // both collapse. Rows 4 and 5 do not parse (unparsable_value); alike
    // once parsed (no instant) but not in their text, they are two rows,
    // and neither is a duplicate key. Row 6 is row 4's text again:
    // collapsed. Valid: rows 1 and 3.
    let s = stage_files(&[
        (
            "leads/l.csv",
            "lead_id,created_at,rep_id\nL1,2024-01-05,R1\n",
        ),
        (
            "lead_events/e.csv",
            "lead_id,event_type,occurred_at\n\
             L1,email_open,2024-01-06\n\
             L1,email_open,2024-01-06T00:00:00Z\n\
             L1,email_open,2024-01-07\n\
             L1,email_open,not-a-date\n\
             L1,email_open,also-bad\n\
             L1,email_open,not-a-date\n\
             L1,email_open,2024-01-06\n",
        ),
    ]);
    let events = s.get(&staging::lead_events::SPEC);
    assert_eq!(events.stats.rows_read, 7);
    assert_eq!(events.stats.duplicates_collapsed, 3);
    assert_eq!(
        reasons(events),
        [
            (4, "unparsable_value".into()),
            (5, "unparsable_value".into())
        ]
    );
    assert_eq!(events.valid.height(), 2);
    let instants = events
        .valid
        .column("occurred_at")
        .unwrap()
        .cast(&DataType::String)
        .unwrap();
    let days: Vec<String> = instants
        .str()
        .unwrap()
        .iter()
        .map(|t| t.unwrap()[..10].to_string())
        .collect();
    assert_eq!(days, ["2024-01-06", "2024-01-07"]);
}

#[test]
fn unknown_reference_cascades_to_children() {
    // O2's rep does not exist; O3 is rejected for its amount. Their history
    // rows and the activity's rep follow; the lead event of an unknown lead too.
    let s = stage_files(&[
        (
            "opportunities/o.csv",
            &format!("{OPP_HEADER}{OPP_OK}O2,R9,2024-01-05,2024-02-01,Closed Won,1,,\nO3,R1,2024-01-05,2024-02-01,Closed Won,-1,,\n"),
        ),
        (
            "opportunity_history/h.csv",
            "opportunity_id,changed_at,stage,amount,close_date\nO1,2024-01-05,Discovery,100,2024-02-01\nO2,2024-01-05,Discovery,1,2024-02-01\nO3,2024-01-05,Discovery,1,2024-02-01\n",
        ),
        ("activities/a.csv", "activity_id,rep_id,activity_type,started_at\nA1,R9,call,2024-01-05\n"),
        ("leads/l.csv", "lead_id,created_at,rep_id\nL1,2024-01-05,R1\nL2,2024-01-05,R9\nL3,2024-01-05,\n"),
        ("lead_events/e.csv", "lead_id,event_type,occurred_at\nL1,email_open,2024-01-06\nL2,email_open,2024-01-06\nL9,email_open,2024-01-06\n"),
    ]);
    assert_eq!(
        reasons(s.get(&staging::opportunities::SPEC)),
        [
            (2, "unknown_reference".into()),
            (3, "negative_amount".into())
        ]
    );
    assert_eq!(
        reasons(s.get(&staging::opportunity_history::SPEC)),
        [
            (2, "unknown_reference".into()),
            (3, "unknown_reference".into())
        ]
    );
    assert_eq!(
        reasons(s.get(&staging::activities::SPEC)),
        [(1, "unknown_reference".into())]
    );
    // A lead without a rep is fine; one with an unknown rep is not.
    assert_eq!(
        reasons(s.get(&staging::leads::SPEC)),
        [(2, "unknown_reference".into())]
    );
    assert_eq!(
        reasons(s.get(&staging::lead_events::SPEC)),
        [
            (2, "unknown_reference".into()),
            (3, "unknown_reference".into())
        ]
    );
}

#[test]
fn missing_fx_rate() {
    // JPY has no rate; a EUR deal closing before the first EUR rate has none;
    // a history row uses its opportunity's currency and its own close_date.
    let s = stage_files(&[
        (
            "opportunities/o.csv",
            &format!(
                "{OPP_HEADER}{OPP_OK}O2,R1,2024-01-05,2024-02-01,Closed Won,1,JPY,\nO3,R1,2023-01-05,2023-02-01,Closed Won,1,EUR,\nO4,R1,2024-01-05,2024-02-01,Closed Won,1,EUR,\n"
            ),
        ),
        ("fx_rates/fx.csv", "currency,rate_date,rate_to_reporting\nEUR,2024-01-01,1.1\n"),
        (
            "opportunity_history/h.csv",
            "opportunity_id,changed_at,stage,amount,close_date\nO4,2024-01-05,Discovery,1,2023-12-31\nO4,2024-01-06,Discovery,1,2024-01-01\n",
        ),
    ]);
    assert_eq!(
        reasons(s.get(&staging::opportunities::SPEC)),
        [(2, "missing_fx_rate".into()), (3, "missing_fx_rate".into())]
    );
    assert_eq!(
        reasons(s.get(&staging::opportunity_history::SPEC)),
        [(1, "missing_fx_rate".into())]
    );
    let rate = s
        .get(&staging::opportunities::SPEC)
        .valid
        .column("fx_rate")
        .unwrap()
        .f64()
        .unwrap()
        .get(1);
    assert_eq!(rate, Some(1.1));
}

#[test]
fn a_reason_per_row_in_spec_order() {
    // Missing rep_id and a negative amount: missing_required comes first.
    let s = opportunities("O2,,2024-01-05,2024-02-01,Closed Maybe,-1,,\n");
    assert_eq!(
        reasons(s.get(&staging::opportunities::SPEC)),
        [(2, "missing_required".into())]
    );
    // The quarantine's columns: its own four, then the contract's as text.
    let names: Vec<String> = s
        .get(&staging::opportunities::SPEC)
        .rejected
        .get_column_names()
        .iter()
        .map(|n| n.to_string())
        .collect();
    assert_eq!(
        &names[..5],
        [
            "table",
            "source_file",
            "source_row",
            "reject_reason",
            "opportunity_id"
        ]
    );
    assert!(s.get(&staging::opportunities::SPEC).rejected.dtypes()[5..]
        .iter()
        .all(|d| *d == DataType::String));
}

#[test]
fn typed_parquet_columns_are_accepted_when_their_type_fits() {
    // A Parquet file beside a CSV file in one table: a typed date, a float
    // amount and an integer id are fine; a timestamp in a date column is not.
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("reps")).unwrap();
    std::fs::write(dir.path().join("reps/reps.csv"), REPS).unwrap();
    std::fs::create_dir_all(dir.path().join("opportunities")).unwrap();
    std::fs::write(
        dir.path().join("opportunities/a.csv"),
        format!("{OPP_HEADER}{OPP_OK}"),
    )
    .unwrap();
    let days = |s: &str| {
        salesops::calendar::days_since_epoch(
            chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap(),
        )
    };
    let df = df!(
        "Opportunity_ID" => [7i64, 8],
        "rep_id" => ["R1", "R1"],
        "created_date" => [days("2024-01-05"), days("2024-01-06")],
        "close_date" => [days("2024-02-01"), days("2024-02-02")],
        "stage" => ["Closed Won", "Closed Won"],
        "amount" => [250.5f64, 10.0],
    )
    .unwrap()
    .lazy()
    .with_columns([
        col("created_date").cast(DataType::Date),
        col("close_date").cast(DataType::Date),
    ])
    .collect()
    .unwrap();
    // The second row, with close_date written as a timestamp.
    let bad = df
        .clone()
        .lazy()
        .with_column(col("close_date").cast(DataType::Datetime(TimeUnit::Microseconds, None)))
        .collect()
        .unwrap();
    let good = salesops::parquet::parquet_bytes(&mut df.slice(0, 1)).unwrap();
    let wrong = salesops::parquet::parquet_bytes(&mut bad.slice(1, 1)).unwrap();
    std::fs::write(dir.path().join("opportunities/b.parquet"), good).unwrap();
    std::fs::write(dir.path().join("opportunities/c.parquet"), wrong).unwrap();
    let storage = Storage::open(dir.path().to_str().unwrap(), &Default::default(), false).unwrap();
    let s = stage(
        &storage,
        &salesops::staging::Listing::of(&storage, &Config::default()).unwrap(),
        &Config::default(),
    )
    .unwrap();
    // O1 from the CSV and 7 from Parquet (column name matched in any case).
    let ids: Vec<&str> = s
        .get(&staging::opportunities::SPEC)
        .valid
        .column("opportunity_id")
        .unwrap()
        .str()
        .unwrap()
        .no_null_iter()
        .collect();
    assert_eq!(ids, ["O1", "7"]);
    let amount = s
        .get(&staging::opportunities::SPEC)
        .valid
        .column("amount")
        .unwrap()
        .f64()
        .unwrap()
        .get(1);
    assert_eq!(amount, Some(250.5));
    assert_eq!(
        reasons(s.get(&staging::opportunities::SPEC)),
        [(1, "unparsable_value".into())]
    );
    assert!(text(s.get(&staging::opportunities::SPEC), "source_file", 0)
        .unwrap()
        .ends_with("c.parquet"));
    assert!(text(s.get(&staging::opportunities::SPEC), "close_date", 0)
        .unwrap()
        .starts_with("2024-02-02T00:00:00"));
}
