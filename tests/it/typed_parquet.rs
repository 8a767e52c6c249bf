//! The typed Parquet path (issue 10): a Parquet column whose type already
//! is the contract's is validated as typed values; text goes through the
//! text rules. The same rows written as CSV, as text Parquet and as typed
//! Parquet give the same valid rows and the same quarantine (reasons,
//! rows and texts; only the file names differ).

use polars::prelude::*;
use salesops::config::Config;
use salesops::pipeline::stage;
use salesops::staging::{self, StagedTable};
use salesops::storage::Storage;

use super::rejects::reasons;

const REPS: &str = "rep_id,team,level,hire_date,end_date\nR1,East,junior,2023-01-01,\n";
const OPPS: &str = "opportunity_id,rep_id,created_date,close_date,stage,amount\n\
                    O1,R1,2024-01-05,2024-02-01,Discovery,100\n";

/// History rows as text, in the canonical forms a typed value prints (so
/// the quarantine's texts agree across the three layouts). Row by row:
/// 1 valid; 2 valid (microseconds); 3 an exact duplicate of 1 (collapsed);
/// 4 no changed_at (missing_required); 5 NaN (unparsable_value); 6 −5
/// (negative_amount); 7 an unknown stage; 8 an unknown opportunity
/// (unknown_reference); 9 and 10 one key twice (duplicate_key); 11 inf
/// (unparsable_value); 12 no close_date (missing_required).
const ROWS: [[Option<&str>; 5]; 12] = [
    [
        Some("O1"),
        Some("2024-01-10T09:00:00.000000Z"),
        Some("Discovery"),
        Some("100.5"),
        Some("2024-02-01"),
    ],
    [
        Some("O1"),
        Some("2024-01-11T09:30:00.123456Z"),
        Some("Demo"),
        Some("200.0"),
        Some("2024-02-03"),
    ],
    [
        Some("O1"),
        Some("2024-01-10T09:00:00.000000Z"),
        Some("Discovery"),
        Some("100.5"),
        Some("2024-02-01"),
    ],
    [
        Some("O1"),
        None,
        Some("Demo"),
        Some("1.0"),
        Some("2024-02-01"),
    ],
    [
        Some("O1"),
        Some("2024-01-12T00:00:00.000000Z"),
        Some("Demo"),
        Some("NaN"),
        Some("2024-02-01"),
    ],
    [
        Some("O1"),
        Some("2024-01-13T00:00:00.000000Z"),
        Some("Demo"),
        Some("-5.0"),
        Some("2024-02-01"),
    ],
    [
        Some("O1"),
        Some("2024-01-14T00:00:00.000000Z"),
        Some("Closed Maybe"),
        Some("5.0"),
        Some("2024-02-01"),
    ],
    [
        Some("O2"),
        Some("2024-01-14T00:00:00.000000Z"),
        Some("Demo"),
        Some("5.0"),
        Some("2024-02-01"),
    ],
    [
        Some("O1"),
        Some("2024-01-15T08:00:00.000000Z"),
        Some("Demo"),
        Some("6.0"),
        Some("2024-02-01"),
    ],
    [
        Some("O1"),
        Some("2024-01-15T08:00:00.000000Z"),
        Some("Trial"),
        Some("7.0"),
        Some("2024-02-01"),
    ],
    [
        Some("O1"),
        Some("2024-01-16T00:00:00.000000Z"),
        Some("Demo"),
        Some("inf"),
        Some("2024-02-01"),
    ],
    [
        Some("O1"),
        Some("2024-01-17T00:00:00.000000Z"),
        Some("Demo"),
        Some("8.0"),
        None,
    ],
];
const COLUMNS: [&str; 5] = [
    "opportunity_id",
    "changed_at",
    "stage",
    "amount",
    "close_date",
];

fn text_frame() -> DataFrame {
    let cols: Vec<Column> = COLUMNS
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let values: Vec<Option<&str>> = ROWS.iter().map(|r| r[i]).collect();
            Column::new((*name).into(), values)
        })
        .collect();
    DataFrame::new(ROWS.len(), cols).unwrap()
}

/// The same text with every missing value written as an empty string, as
/// many exporters do (read as null, SPEC §7).
fn text_frame_with_empty_strings() -> DataFrame {
    text_frame()
        .lazy()
        .with_columns([all().as_expr().fill_null(lit(""))])
        .collect()
        .unwrap()
}

/// The same rows with the contract's types: a UTC timestamp, a Float64
/// amount (NaN and inf included), a Date.
fn typed_frame() -> DataFrame {
    text_frame()
        .lazy()
        .with_columns([
            utc_instants("changed_at"),
            col("amount").cast(DataType::Float64),
            col("close_date").str().to_date(StrptimeOptions {
                format: Some("%Y-%m-%d".into()),
                ..Default::default()
            }),
        ])
        .collect()
        .unwrap()
}

/// The text `column` (`YYYY-MM-DDTHH:MM:SS.ffffffZ`) as UTC instants.
fn utc_instants(column: &str) -> Expr {
    col(column).str().to_datetime(
        Some(TimeUnit::Microseconds),
        Some(TimeZone::UTC),
        StrptimeOptions {
            format: Some("%Y-%m-%dT%H:%M:%S%.6fZ".into()),
            ..Default::default()
        },
        lit("raise"),
    )
}

fn csv_text() -> String {
    csv_text_of(0..ROWS.len())
}

/// `rows` of `ROWS` (counted from 0) as CSV text.
fn csv_text_of(rows: std::ops::Range<usize>) -> String {
    let mut out = COLUMNS.join(",") + "\n";
    for r in &ROWS[rows] {
        out += &r.map(|v| v.unwrap_or("")).join(",");
        out += "\n";
    }
    out
}

/// `df` as Parquet with the given statistics and row groups of at most
/// `rows` rows.
fn parquet_written(mut df: DataFrame, statistics: StatisticsOptions, rows: usize) -> Vec<u8> {
    let mut buf = Vec::new();
    ParquetWriter::new(&mut buf)
        .with_statistics(statistics)
        .with_row_group_size(Some(rows))
        .finish(&mut df)
        .unwrap();
    buf
}

/// The history staged from one layout: `file` (name, bytes).
fn staged_history(file: (&str, Vec<u8>)) -> StagedTable {
    staged_history_from(vec![file])
}

/// The history staged from `files` (name, bytes), read in path order.
fn staged_history_from(files: Vec<(&str, Vec<u8>)>) -> StagedTable {
    staged_table(files, &staging::opportunity_history::SPEC)
}

/// `spec`'s table staged from `files` (name, bytes) beside one rep and one
/// opportunity.
fn staged_table(files: Vec<(&str, Vec<u8>)>, spec: &staging::TableSpec) -> StagedTable {
    let dir = tempfile::tempdir().unwrap();
    let parents = [
        ("reps/reps.csv", REPS.as_bytes().to_vec()),
        ("opportunities/o.csv", OPPS.as_bytes().to_vec()),
    ];
    for (path, bytes) in parents.into_iter().chain(files) {
        let full = dir.path().join(path);
        std::fs::create_dir_all(full.parent().unwrap()).unwrap();
        std::fs::write(full, bytes).unwrap();
    }
    let storage = Storage::open(dir.path().to_str().unwrap(), &Default::default(), false).unwrap();
    let config = Config::default();
    let listing = staging::Listing::of(&storage, &config).unwrap();
    let staged = stage(&storage, &listing, &config).unwrap();
    let t = staged.get(spec);
    StagedTable {
        name: t.name,
        valid: t.valid.clone(),
        rejected: t.rejected.clone(),
        stats: t.stats.clone(),
        files: t.files.clone(),
    }
}

#[test]
fn csv_text_parquet_and_typed_parquet_give_the_same_staged_rows() {
    let parquet = |mut df: DataFrame| salesops::parquet::parquet_bytes(&mut df).unwrap();
    let csv = staged_history(("opportunity_history/h.csv", csv_text().into_bytes()));
    let text = staged_history(("opportunity_history/h.parquet", parquet(text_frame())));
    let typed = staged_history(("opportunity_history/h.parquet", parquet(typed_frame())));
    let empty = staged_history((
        "opportunity_history/h.parquet",
        parquet(text_frame_with_empty_strings()),
    ));
    // Empty strings are found from the statistics' least values where a
    // file has them, by a pass over the values where it has none; in row
    // groups of five rows, changed_at's "" (row 4) is in the first group
    // and close_date's (row 12) only in the last.
    let empty_without_statistics = staged_history((
        "opportunity_history/h.parquet",
        parquet_written(
            text_frame_with_empty_strings(),
            StatisticsOptions::empty(),
            12,
        ),
    ));
    let empty_in_row_groups = staged_history((
        "opportunity_history/h.parquet",
        parquet_written(
            text_frame_with_empty_strings(),
            StatisticsOptions::full(),
            5,
        ),
    ));

    // By hand: rows 1 and 2 are valid; row 3 is collapsed; the other nine
    // are rejected with the reasons of the table above.
    let expected: Vec<(i64, String)> = [
        (4, "missing_required"),
        (5, "unparsable_value"),
        (6, "negative_amount"),
        (7, "unknown_stage"),
        (8, "unknown_reference"),
        (9, "duplicate_key"),
        (10, "duplicate_key"),
        (11, "unparsable_value"),
        (12, "missing_required"),
    ]
    .into_iter()
    .map(|(r, s)| (r, s.to_string()))
    .collect();
    for (layout, t) in [
        ("CSV", &csv),
        ("text Parquet", &text),
        ("typed Parquet", &typed),
        ("text Parquet with empty strings", &empty),
        ("... without statistics", &empty_without_statistics),
        ("... in row groups of five", &empty_in_row_groups),
    ] {
        assert_eq!(reasons(t), expected, "{layout}");
        assert_eq!(t.valid.height(), 2, "{layout}");
        assert_eq!(t.stats.duplicates_collapsed, 1, "{layout}");
        assert_eq!(t.stats.rows_read, 12, "{layout}");
    }
    // Row 2's instant, to the microsecond, and its amount.
    let at = typed
        .valid
        .column("changed_at")
        .unwrap()
        .get(1)
        .unwrap()
        .to_string();
    assert!(at.starts_with("2024-01-11 09:30:00.123456"), "{at}");
    assert_eq!(
        typed.valid.column("amount").unwrap().f64().unwrap().get(0),
        Some(100.5)
    );

    for (layout, t) in [
        ("text Parquet", &text),
        ("typed Parquet", &typed),
        ("text Parquet with empty strings", &empty),
        ("... without statistics", &empty_without_statistics),
        ("... in row groups of five", &empty_in_row_groups),
    ] {
        assert_staged_alike(layout, t, &csv, &["source_file"]);
    }
}

/// `t` has `csv`'s valid rows, its rejected rows but for the `place`
/// columns (where a row was read), and its counts.
fn assert_staged_alike(layout: &str, t: &StagedTable, csv: &StagedTable, place: &[&str]) {
    assert!(
        t.valid.equals_missing(&csv.valid),
        "{layout} valid rows:\n{}\n{}",
        t.valid,
        csv.valid
    );
    let rejected = |t: &StagedTable| t.rejected.drop_many(place.iter().copied());
    assert!(
        rejected(t).equals_missing(&rejected(csv)),
        "{layout} quarantine:\n{}\n{}",
        rejected(t),
        rejected(csv)
    );
    assert_eq!(t.stats, csv.stats, "{layout}");
}

/// Each rejected row's file (its name alone), `source_row` and reason.
fn reasons_by_file(t: &StagedTable) -> Vec<(String, i64, String)> {
    let files = t
        .rejected
        .column("source_file")
        .unwrap()
        .str()
        .unwrap()
        .clone();
    files
        .iter()
        .map(|f| f.unwrap().rsplit('/').next().unwrap().to_string())
        .zip(reasons(t))
        .map(|(f, (row, reason))| (f, row, reason))
        .collect()
}

/// A table whose files come in both forms (a CSV export beside typed
/// Parquet, as the benchmark's history corrections): the same twelve rows,
/// rows 1–2 in `h-0` and rows 3–12 in `h-1`, once with the CSV first and
/// once with the Parquet first. Row 3, an exact copy of row 1, is in the
/// other file and the other form, and is still collapsed. Every reason is
/// the single file's (the rows of `h-1` counted from its own first row:
/// row k is `h-1` row k - 2), and the valid rows, the rejected rows'
/// texts and the counts are the CSV layout's.
#[test]
fn a_table_with_csv_and_typed_parquet_files_is_staged_as_either() {
    let parquet = |df: DataFrame| salesops::parquet::parquet_bytes(&mut df.clone()).unwrap();
    let typed = typed_frame();
    let csv_first = staged_history_from(vec![
        (
            "opportunity_history/h-0.csv",
            csv_text_of(0..2).into_bytes(),
        ),
        (
            "opportunity_history/h-1.parquet",
            parquet(typed.slice(2, 10)),
        ),
    ]);
    let parquet_first = staged_history_from(vec![
        (
            "opportunity_history/h-0.parquet",
            parquet(typed.slice(0, 2)),
        ),
        (
            "opportunity_history/h-1.csv",
            csv_text_of(2..12).into_bytes(),
        ),
    ]);
    let csv = staged_history(("opportunity_history/h.csv", csv_text().into_bytes()));

    let expected: Vec<(i64, String)> = [
        (2, "missing_required"),
        (3, "unparsable_value"),
        (4, "negative_amount"),
        (5, "unknown_stage"),
        (6, "unknown_reference"),
        (7, "duplicate_key"),
        (8, "duplicate_key"),
        (9, "unparsable_value"),
        (10, "missing_required"),
    ]
    .into_iter()
    .map(|(r, s)| (r, s.to_string()))
    .collect();
    for (layout, t, h1) in [
        ("CSV, then Parquet", &csv_first, "h-1.parquet"),
        ("Parquet, then CSV", &parquet_first, "h-1.csv"),
    ] {
        assert_eq!(reasons(t), expected, "{layout}");
        let files: Vec<Option<&str>> = t
            .rejected
            .column("source_file")
            .unwrap()
            .str()
            .unwrap()
            .iter()
            .collect();
        assert!(
            files.iter().all(|f| f.is_some_and(|f| f.ends_with(h1))),
            "{layout}: {files:?}"
        );
        assert_staged_alike(layout, t, &csv, &["source_file", "source_row"]);
    }
}

/// A table without a key whose files come in both forms: lead events, two
/// rows as CSV text and three as typed Parquet. By hand, CSV first
/// (`e-0.csv`, then `e-1.parquet`): CSV row 1 valid; CSV row 2's
/// `01/03/2024 10:00` unparsable_value; Parquet row 1 the same event as
/// CSV row 1 (the same instant, typed) and collapsed as its later copy;
/// Parquet row 2's lead L9 unknown_reference; Parquet row 3 valid. With
/// the Parquet file first (`e-0.parquet`) its row 1 is the one kept and
/// the CSV's row 1 is collapsed: the same two valid events, the same two
/// reasons in the other order.
#[test]
fn a_table_without_a_key_with_csv_and_typed_parquet_files() {
    let leads = (
        "leads/l.csv",
        b"lead_id,created_at\nL1,2024-01-01T00:00:00Z\n".to_vec(),
    );
    let csv = "lead_id,event_type,occurred_at\n\
               L1,email_open,2024-01-02T10:00:00Z\n\
               L1,reply,01/03/2024 10:00\n";
    let mut typed = df!(
        "lead_id" => ["L1", "L9", "L1"],
        "event_type" => ["email_open", "reply", "meeting"],
        "occurred_at" => [
            "2024-01-02T10:00:00.000000Z",
            "2024-01-04T00:00:00.000000Z",
            "2024-01-05T00:00:00.000000Z",
        ],
    )
    .unwrap()
    .lazy()
    .with_column(utc_instants("occurred_at"))
    .collect()
    .unwrap();
    let parquet = salesops::parquet::parquet_bytes(&mut typed).unwrap();
    let csv_first = staged_table(
        vec![
            leads.clone(),
            ("lead_events/e-0.csv", csv.as_bytes().to_vec()),
            ("lead_events/e-1.parquet", parquet.clone()),
        ],
        &staging::lead_events::SPEC,
    );
    let parquet_first = staged_table(
        vec![
            leads,
            ("lead_events/e-0.parquet", parquet),
            ("lead_events/e-1.csv", csv.as_bytes().to_vec()),
        ],
        &staging::lead_events::SPEC,
    );
    let expected = |first: &str, second: &str, first_reason: &str, second_reason: &str| {
        vec![
            (first.to_string(), 2, first_reason.to_string()),
            (second.to_string(), 2, second_reason.to_string()),
        ]
    };
    assert_eq!(
        reasons_by_file(&csv_first),
        expected(
            "e-0.csv",
            "e-1.parquet",
            "unparsable_value",
            "unknown_reference"
        )
    );
    assert_eq!(
        reasons_by_file(&parquet_first),
        expected(
            "e-0.parquet",
            "e-1.csv",
            "unknown_reference",
            "unparsable_value"
        )
    );
    for (layout, t) in [("CSV first", &csv_first), ("Parquet first", &parquet_first)] {
        assert_eq!(t.stats.rows_read, 5, "{layout}");
        assert_eq!(t.stats.duplicates_collapsed, 1, "{layout}");
        assert_eq!(t.stats.rejected, 2, "{layout}");
        let texts = |name: &str| -> Vec<String> {
            let column = t
                .valid
                .column(name)
                .unwrap()
                .cast(&DataType::String)
                .unwrap();
            let values = column.str().unwrap().clone();
            values.iter().map(|v| v.unwrap().to_string()).collect()
        };
        let events: Vec<(String, String)> = texts("event_type")
            .into_iter()
            .zip(texts("occurred_at"))
            .collect();
        assert_eq!(
            events,
            [
                (
                    "email_open".to_string(),
                    "2024-01-02 10:00:00.000000".to_string()
                ),
                (
                    "meeting".to_string(),
                    "2024-01-05 00:00:00.000000".to_string()
                ),
            ],
            "{layout}"
        );
    }
}

/// The activities `typed` staged from two typed Parquet files: its first
/// `first` rows in `a-0`, the rest in `a-1`, in row groups of at most
/// `groups.0` and `groups.1` rows.
fn activities_in_two_files(typed: &DataFrame, first: usize, groups: (usize, usize)) -> StagedTable {
    let file =
        |rows: DataFrame, group: usize| parquet_written(rows, StatisticsOptions::full(), group);
    staged_table(
        vec![
            (
                "activities/a-0.parquet",
                file(typed.slice(0, first), groups.0),
            ),
            (
                "activities/a-1.parquet",
                file(typed.slice(first as i64, typed.height() - first), groups.1),
            ),
        ],
        &staging::activities::SPEC,
    )
}

/// A large table arrives in files of several row groups each, and staging
/// leaves it in those pieces rather than copying it into one (issue 10).
/// Twelve activities by hand, typed Parquet: rows 1–5 in `a-0` (row groups
/// of two: pieces of 2, 2, 1), rows 6–12 in `a-1` (groups of three: 3, 3,
/// 1). `a-0`: rows 1 and 2 valid; row 3's rep R9 unknown_reference; row
/// 4's type fax unknown_activity_type; row 5's −1 minutes
/// negative_amount. `a-1`: row 1 (table row 6) has no started_at,
/// missing_required; row 2 is an exact copy of `a-0` row 1 and is
/// collapsed; row 3 valid; rows 4 and 5 share A9, duplicate_key both; row
/// 6's NaN minutes unparsable_value; row 7 valid. The valid rows, the
/// rejected rows' texts and the counts are those of the same rows staged
/// from one CSV file, and the valid rows are still in pieces.
#[test]
fn a_table_in_pieces_is_staged_as_one_file() {
    let ids = [
        "A1", "A2", "A4", "A5", "A6", "A7", "A1", "A8", "A9", "A9", "A11", "A12",
    ];
    let reps = [
        "R1", "R1", "R9", "R1", "R1", "R1", "R1", "R1", "R1", "R1", "R1", "R1",
    ];
    let types = [
        "call", "email", "call", "fax", "call", "call", "call", "call", "call", "email", "meeting",
        "email",
    ];
    let days = [
        Some(10),
        Some(11),
        Some(12),
        Some(13),
        Some(14),
        None,
        Some(10),
        Some(16),
        Some(17),
        Some(18),
        Some(19),
        Some(20),
    ];
    let minutes = [
        10.0,
        5.0,
        3.0,
        3.0,
        -1.0,
        2.0,
        10.0,
        4.0,
        1.0,
        2.0,
        f64::NAN,
        7.0,
    ];
    let instants: Vec<Option<String>> = days
        .iter()
        .map(|d| d.map(|d| format!("2024-01-{d:02}T09:00:00.000000Z")))
        .collect();
    let text = df!(
        "activity_id" => ids,
        "rep_id" => reps,
        "activity_type" => types,
        "started_at" => instants,
        "duration_minutes" => minutes.map(|m| if m.is_nan() { "NaN".to_string() } else { format!("{m:.1}") }),
    )
    .unwrap();
    let typed = text
        .clone()
        .lazy()
        .with_columns([
            utc_instants("started_at"),
            col("duration_minutes").cast(DataType::Float64),
        ])
        .collect()
        .unwrap();
    let in_pieces = activities_in_two_files(&typed, 5, (2, 3));
    let mut csv = Vec::new();
    CsvWriter::new(&mut csv).finish(&mut text.clone()).unwrap();
    let one_file = staged_table(vec![("activities/a.csv", csv)], &staging::activities::SPEC);

    let expected: Vec<(String, i64, String)> = [
        ("a-0.parquet", 3, "unknown_reference"),
        ("a-0.parquet", 4, "unknown_activity_type"),
        ("a-0.parquet", 5, "negative_amount"),
        ("a-1.parquet", 1, "missing_required"),
        ("a-1.parquet", 4, "duplicate_key"),
        ("a-1.parquet", 5, "duplicate_key"),
        ("a-1.parquet", 6, "unparsable_value"),
    ]
    .into_iter()
    .map(|(f, r, s)| (f.to_string(), r, s.to_string()))
    .collect();
    assert_eq!(reasons_by_file(&in_pieces), expected);
    assert_eq!(in_pieces.stats.rows_read, 12);
    assert_eq!(in_pieces.stats.duplicates_collapsed, 1);
    // activity_type is held as an Enum of the configured types.
    let types = in_pieces
        .valid
        .column("activity_type")
        .unwrap()
        .cast(&DataType::String)
        .unwrap();
    let valid: Vec<(String, f64)> = types
        .str()
        .unwrap()
        .iter()
        .zip(
            in_pieces
                .valid
                .column("duration_minutes")
                .unwrap()
                .f64()
                .unwrap()
                .iter(),
        )
        .map(|(t, m)| (t.unwrap().to_string(), m.unwrap()))
        .collect();
    assert_eq!(
        valid,
        [
            ("call".to_string(), 10.0),
            ("email".to_string(), 5.0),
            ("call".to_string(), 4.0),
            ("email".to_string(), 7.0),
        ]
    );
    // Every column, the Enums too, in the same pieces.
    assert!(
        staging::read::pieces(&in_pieces.valid).is_some_and(|p| p.len() > 1),
        "the valid rows were copied into one piece, or their columns cut unlike: {:?}",
        in_pieces
            .valid
            .columns()
            .iter()
            .map(|c| (c.name().clone(), c.n_chunks()))
            .collect::<Vec<_>>()
    );
    // The one CSV file's rows are numbered over the whole table.
    assert_staged_alike(
        "in pieces",
        &in_pieces,
        &one_file,
        &["source_file", "source_row"],
    );
}

/// Five valid activities in two typed Parquet files, of three rows and
/// two (each file one piece): every row is kept, so the valid rows are
/// the checked table as it is, and every column of them, rep_id and
/// activity_type held as Enums (`validate::OneOf`) too, is in those two
/// pieces. polars casts a column to an Enum in one piece; a table whose
/// columns are cut unlike is copied into one piece by the next plan.
#[test]
fn activities_held_as_enums_stay_in_their_pieces() {
    let text = df!(
        "activity_id" => ["A1", "A2", "A3", "A4", "A5"],
        "rep_id" => ["R1"; 5],
        "activity_type" => ["call", "email", "meeting", "call", "demo"],
        "started_at" => (10..15).map(|d| format!("2024-01-{d}T09:00:00.000000Z")).collect::<Vec<_>>(),
        "duration_minutes" => [10.0, 5.0, 30.0, 2.0, 45.0],
    )
    .unwrap();
    let typed = text
        .lazy()
        .with_column(utc_instants("started_at"))
        .collect()
        .unwrap();
    let staged = activities_in_two_files(&typed, 3, (3, 2));
    assert_eq!(staged.stats.rejected, 0);
    let valid = &staged.valid;
    let layout: Vec<(String, Vec<usize>)> = valid
        .columns()
        .iter()
        .map(|c| {
            let lengths = c.as_materialized_series().chunk_lengths().collect();
            (c.name().to_string(), lengths)
        })
        .collect();
    for (name, lengths) in &layout {
        assert_eq!(lengths, &[3, 2], "{name}: {layout:?}");
    }
    assert!(matches!(
        valid.column("rep_id").unwrap().dtype(),
        DataType::Enum(_, _)
    ));
}
