//! Reading one input table: every `*.csv` and `*.parquet` under
//! `<source>/<table>/`, recursively, in path order (SPEC §1, §7 "Files").
//!
//! Each file becomes a frame of the table's contract columns, stacked in
//! path order; a rejected row's file and `source_row` are found from its
//! place in the table (`SourceFile::first_row`), so no row carries its
//! file. A value arrives in one of two forms:
//! - as text (every CSV value, and Parquet columns whose type is not the
//!   contract's): the column under its own name, which staging parses with
//!   one set of parsers, and which the quarantine keeps as it was;
//! - typed (a Parquet column whose type already is the contract's: Date for
//!   a date, a Datetime for a timestamp, Float64 for a number, Boolean for a
//!   bool): `<column>__typed`, in the contract's type, so nothing is printed
//!   and parsed again. Its text is only made for rows that are rejected, and
//!   it is the canonical text a typed value always had (dates `YYYY-MM-DD`,
//!   instants `YYYY-MM-DDTHH:MM:SS.ffffffZ`), so the quarantine is the same
//!   whichever form a value came in.

use std::io::Cursor;

use bytes::Bytes;
use polars::io::parquet::metadata::FileMetadataRef;
use polars::io::parquet::read::FileMetadata;
use polars::prelude::*;

use crate::error::{Error, Result};
use crate::staging::parse::ValueType;
use crate::staging::TableSpec;
use object_store::ObjectMeta;

use crate::storage::{fingerprint, Fingerprint, Storage};

pub struct RawTable {
    /// Contract columns as text (String) and the typed columns of the
    /// non-text ones (`typed_name`); a mapping's rows, which a filter may
    /// have thinned, also carry their `source_file` and `source_row`.
    pub frame: DataFrame,
    /// The files in path order, their rows one after another in `frame`
    /// (empty for a mapping's rows).
    pub sources: Vec<SourceFile>,
    pub files: Vec<Fingerprint>,
}

/// A file of a table as read: its name as the quarantine shows it, and
/// the table row (`_row`, counted from 0 over the files in path order) of
/// its first row, from which a rejected row's `source_row` is found.
#[derive(Debug, Clone)]
pub struct SourceFile {
    pub name: String,
    pub first_row: i64,
}

pub fn is_data_file(path: &str) -> bool {
    let lower = path.to_ascii_lowercase();
    lower.ends_with(".csv") || lower.ends_with(".parquet")
}

/// Reads the table's files as listed (`Listing`), in path order.
pub fn read_table(
    storage: &Storage,
    spec: &TableSpec,
    listed: &[(String, ObjectMeta)],
) -> Result<RawTable> {
    if listed.is_empty() && spec.required {
        return Err(Error::Data(format!(
            "required table `{}` has no .csv or .parquet files under {}/",
            spec.name,
            storage.display(spec.name)
        )));
    }
    let paths: Vec<String> = listed.iter().map(|(p, _)| p.clone()).collect();
    let contents = storage.get_many(&paths)?;
    let mut parts = Vec::with_capacity(paths.len());
    let mut sources = Vec::with_capacity(paths.len());
    let mut first_row = 0;
    for (path, bytes) in paths.iter().zip(contents) {
        let shown = storage.display(path);
        let (cols, height) = if path.to_ascii_lowercase().ends_with(".csv") {
            read_csv(&shown, spec, &bytes)?
        } else {
            read_parquet(&shown, spec, bytes)?
        };
        parts.push(DataFrame::new(height, cols)?);
        sources.push(SourceFile {
            name: shown,
            first_row,
        });
        first_row += height as i64;
    }
    Ok(RawTable {
        frame: stacked(spec, parts)?,
        sources,
        files: listed.iter().map(|(p, m)| fingerprint(p, m)).collect(),
    })
}

/// The most pieces a table is left in (`stacked`).
const MAX_PIECES: usize = 64;

/// The files' frames one under the other. Each file's columns come in
/// pieces, one per row group; when every column of the table is cut into
/// the same pieces, and there are at most `MAX_PIECES`, the table is left
/// in them: polars evaluates an expression piece by piece, side by side
/// on every core, and copying 31M activity rows into one piece took 2–3 s
/// of a 10x run (fresh pages for about 3 GB). Otherwise its columns are
/// copied into one piece, one column at a time, each file's copy dropped
/// once stacked: the table is held once, plus one column, not twice.
fn stacked(spec: &TableSpec, parts: Vec<DataFrame>) -> Result<DataFrame> {
    if parts.is_empty() {
        return Ok(empty_frame(spec));
    }
    let height: usize = parts.iter().map(DataFrame::height).sum();
    let mut parts: Vec<Vec<Column>> = parts.into_iter().map(DataFrame::into_columns).collect();
    let width = parts[0].len();
    let mut columns = Vec::with_capacity(width);
    for j in 0..width {
        // A column no file has a value in (the text of a column every file
        // gave typed, or the typed values of a text one) stays one null
        // value, not a null per row: at 10x, 31M rows of 16-byte text
        // views each.
        if parts.iter().all(|p| p[j].null_count() == p[j].len()) {
            let empty = &parts[0][j];
            columns.push(Column::full_null(
                empty.name().clone(),
                height,
                empty.dtype(),
            ));
            continue;
        }
        let mut pieces = parts
            .iter_mut()
            .map(|p| std::mem::replace(&mut p[j], Column::new_empty("".into(), &DataType::Null)));
        let mut series = pieces.next().expect("a file").take_materialized_series();
        for piece in pieces {
            series.append_owned(piece.take_materialized_series())?;
        }
        columns.push(series.into_column());
    }
    let mut frame = DataFrame::new(height, columns)?;
    if pieces(&frame).is_none_or(|p| p.len() > MAX_PIECES) {
        frame.rechunk_mut();
    }
    Ok(frame)
}

/// The lengths of the pieces every column of `frame` that holds a value
/// per row is cut into, when they are all cut alike; `None` when they are
/// not. A column of one value (`Column::full_null`) has no pieces and is
/// not looked at (validation drops those before any expression:
/// `Forms::without_unused`).
pub fn pieces(frame: &DataFrame) -> Option<Vec<usize>> {
    let mut lengths = frame
        .columns()
        .iter()
        .filter_map(|c| c.as_series().map(|s| s.chunk_lengths().collect::<Vec<_>>()));
    let first = lengths.next().unwrap_or_else(|| vec![frame.height()]);
    lengths.all(|l| l == first).then_some(first)
}

/// The column that holds a contract column's typed values.
pub fn typed_name(column: &str) -> String {
    format!("{column}__typed")
}

fn empty_frame(spec: &TableSpec) -> DataFrame {
    let mut cols: Vec<Column> = spec
        .columns
        .iter()
        .map(|c| Column::new_empty(c.name.into(), &DataType::String))
        .collect();
    cols.extend(
        spec.columns
            .iter()
            .filter(|c| c.ty != ValueType::Text)
            .map(|c| Column::new_empty(typed_name(c.name).into(), &c.ty.dtype())),
    );
    DataFrame::new_infer_height(cols).expect("empty columns")
}

/// Header position of each contract column (names trimmed, any case).
fn locate_columns(file: &str, spec: &TableSpec, header: &[String]) -> Result<Vec<Option<usize>>> {
    let normalised: Vec<String> = header.iter().map(|h| h.trim().to_lowercase()).collect();
    spec.columns
        .iter()
        .map(|c| {
            let hits: Vec<usize> = normalised
                .iter()
                .enumerate()
                .filter(|(_, h)| h.as_str() == c.name)
                .map(|(i, _)| i)
                .collect();
            match hits.len() {
                0 if c.required => Err(Error::Data(format!(
                    "{file}: missing required column `{}` of table `{}` (columns found: {})",
                    c.name,
                    spec.name,
                    header.join(", ")
                ))),
                0 => Ok(None),
                1 => Ok(Some(hits[0])),
                _ => Err(Error::Data(format!(
                    "{file}: column `{}` appears {} times (names are matched case-insensitively)",
                    c.name,
                    hits.len()
                ))),
            }
        })
        .collect()
}

fn with_source(file: &str, mut cols: Vec<Column>, height: usize) -> Result<DataFrame> {
    cols.push(Column::new_scalar(
        "source_file".into(),
        Scalar::new(DataType::String, AnyValue::StringOwned(file.into())),
        height,
    ));
    cols.push(Column::new(
        "source_row".into(),
        (1..=height as i64).collect::<Vec<_>>(),
    ));
    Ok(DataFrame::new(height, cols)?)
}

/// CSV via the `csv` crate, which rejects ragged rows and invalid UTF-8 with
/// the line they are on; polars' reader would pad or truncate them silently.
/// This is a parser, the one place that walks rows in Rust. `pick` chooses
/// from the header the columns to keep (`None`: one the file lacks, all
/// null). Returns the header, the kept columns as text (an empty field,
/// quoted or not, is null: SPEC §7) and the row count.
type CsvText = (Vec<String>, Vec<Vec<Option<String>>>, usize);

fn read_csv_text(
    file: &str,
    bytes: &[u8],
    pick: impl FnOnce(&[String]) -> Result<Vec<Option<usize>>>,
) -> Result<CsvText> {
    let unreadable = |e: csv::Error| {
        let at = e
            .position()
            .map(|p| format!(" (line {})", p.line()))
            .unwrap_or_default();
        Error::Data(format!("{file}: not a readable CSV file{at}: {e}"))
    };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .from_reader(bytes);
    let header: Vec<String> = reader
        .headers()
        .map_err(unreadable)?
        .iter()
        .map(String::from)
        .collect();
    let positions = pick(&header)?;
    let mut values: Vec<Vec<Option<String>>> = vec![Vec::new(); positions.len()];
    let mut record = csv::StringRecord::new();
    let mut height = 0;
    while reader.read_record(&mut record).map_err(unreadable)? {
        height += 1;
        for (out, pos) in values.iter_mut().zip(&positions) {
            out.push(
                pos.and_then(|i| record.get(i))
                    .filter(|v| !v.is_empty())
                    .map(String::from),
            );
        }
    }
    Ok((header, values, height))
}

/// A CSV file's contract columns and row count, as `read_parquet`.
fn read_csv(file: &str, spec: &TableSpec, bytes: &[u8]) -> Result<(Vec<Column>, usize)> {
    let (_, values, height) = read_csv_text(file, bytes, |h| locate_columns(file, spec, h))?;
    let mut cols: Vec<Column> = spec
        .columns
        .iter()
        .zip(values)
        .map(|(c, v)| Column::new(c.name.into(), v))
        .collect();
    // Every CSV value is text: the typed columns are empty.
    cols.extend(
        spec.columns
            .iter()
            .filter(|c| c.ty != ValueType::Text)
            .map(|c| Column::full_null(typed_name(c.name).into(), height, &c.ty.dtype())),
    );
    Ok((cols, height))
}

/// A Parquet file, its column names, and its footer (`FileMetadata`).
fn parquet_frame(file: &str, bytes: Bytes) -> Result<(DataFrame, Vec<String>, FileMetadataRef)> {
    let unreadable =
        |e: PolarsError| Error::Data(format!("{file}: not a readable Parquet file: {e}"));
    let mut reader = ParquetReader::new(Cursor::new(bytes));
    let metadata = reader.get_metadata().map_err(unreadable)?.clone();
    let df = reader.finish().map_err(unreadable)?;
    let header = df
        .get_column_names()
        .iter()
        .map(|s| s.to_string())
        .collect();
    Ok((df, header, metadata))
}

/// True when the file's statistics show that `column` has no empty value:
/// in every row group its least value (`min_value`: exact, or a prefix of
/// the least value, which is no greater) is not empty, and "" is less
/// than any other text. Without statistics for a row group, or with an
/// empty least value, the values are looked at.
/// At 1x that pass took 45–50 ms of each activities file's read in the run.
fn no_empty_text_by_statistics(metadata: &FileMetadata, column: &str) -> bool {
    !metadata.row_groups.is_empty()
        && metadata.row_groups.iter().all(|group| {
            group
                .columns_under_root_iter(column)
                .is_some_and(|mut chunks| {
                    chunks.len() == 1
                        && chunks.all(|chunk| {
                            chunk
                                .statistics(&metadata.footer_buf)
                                .and_then(|stats| stats.ok())
                                .and_then(|stats| stats.into_binary())
                                .and_then(|stats| stats.min_value)
                                .is_some_and(|least| !least.is_empty())
                        })
                })
        })
}

/// A Parquet file's contract columns (as text, then the typed ones) and
/// row count.
fn read_parquet(file: &str, spec: &TableSpec, bytes: Bytes) -> Result<(Vec<Column>, usize)> {
    let (df, header, metadata) = parquet_frame(file, bytes)?;
    let positions = locate_columns(file, spec, &header)?;
    let height = df.height();
    let mut texts = Vec::new();
    let mut typed = Vec::new();
    for (c, pos) in spec.columns.iter().zip(&positions) {
        let found = pos.map(|i| header[i].as_str());
        let typed_value = match found {
            Some(name) if c.ty != ValueType::Text => {
                typed_value(name, df.column(name)?.dtype(), c.ty)
            }
            _ => None,
        };
        let text = match (found, &typed_value) {
            // Text with no empty value is taken as it is (no pass that
            // rebuilds the column to turn "" into null).
            (Some(name), None) if is_text_without_empty(&metadata, name, df.column(name)?) => {
                col(name)
            }
            (Some(name), None) => as_text(file, name, df.column(name)?.dtype())?,
            _ => lit(NULL).cast(DataType::String),
        };
        texts.push(text.alias(c.name));
        if c.ty != ValueType::Text {
            typed.push(
                typed_value
                    .unwrap_or_else(|| lit(NULL).cast(c.ty.dtype()))
                    .alias(typed_name(c.name)),
            );
        }
    }
    let cols = df
        .lazy()
        .select([texts, typed].concat())
        .collect()?
        .into_columns();
    Ok((cols, height))
}

/// A String column with no empty value (an empty value is read as null,
/// SPEC §7): shown by the file's statistics where they can
/// (`no_empty_text_by_statistics`), else by looking at the values.
fn is_text_without_empty(metadata: &FileMetadata, name: &str, column: &Column) -> bool {
    column
        .str()
        .is_ok_and(|s| no_empty_text_by_statistics(metadata, name) || !s.equal("").any())
}

/// A Parquet column of `dtype` as the typed values of a contract column of
/// type `ty`, when its type already is the contract's; `None` sends it
/// through the text rules. Integers and Float32 take the text path: the
/// text they print (`100`, the shortest f32 digits) is what the quarantine
/// has always shown, and what the number parser reads.
fn typed_value(name: &str, dtype: &DataType, ty: ValueType) -> Option<Expr> {
    let c = col(name);
    match (ty, dtype) {
        (ValueType::Date, DataType::Date) => Some(c),
        // To naive UTC microseconds, as `as_text` prints it.
        (ValueType::Timestamp, DataType::Datetime(_, _)) => Some(
            c.dt()
                .timestamp(TimeUnit::Microseconds)
                .cast(ValueType::Timestamp.dtype()),
        ),
        // NaN and ±inf are kept: staging rejects them as unparsable.
        (ValueType::Number, DataType::Float64) => Some(c),
        (ValueType::Bool, DataType::Boolean) => Some(c),
        _ => None,
    }
}

/// The canonical text of a typed Parquet column.
fn as_text(file: &str, name: &str, dtype: &DataType) -> Result<Expr> {
    let c = col(name);
    Ok(match dtype {
        DataType::String => when(c.clone().eq(lit("")))
            .then(lit(NULL).cast(DataType::String))
            .otherwise(c),
        DataType::Date => c.cast(DataType::String),
        DataType::Datetime(_, _) => c
            .dt()
            .timestamp(TimeUnit::Microseconds)
            .cast(DataType::Datetime(TimeUnit::Microseconds, None))
            .dt()
            .strftime("%Y-%m-%dT%H:%M:%S%.6fZ"),
        DataType::Null => c.cast(DataType::String),
        d if d.is_bool() || d.is_primitive_numeric() => c.cast(DataType::String),
        other => {
            return Err(Error::Data(format!(
                "{file}: column `{name}` has Parquet type {other}, which no contract column takes \
                 (text, number, date, timestamp or bool)"
            )))
        }
    })
}

/// A column name as mappings match it (SPEC §1.2): case and underscores
/// ignored, so `StageName`, `stage_name` and `STAGENAME` are one name.
pub fn normalized(name: &str) -> String {
    name.trim().to_lowercase().replace('_', "")
}

/// The normalized column names of a file, each once; two columns that are
/// one name when normalized make the file unreadable.
fn normalized_header(file: &str, header: &[String]) -> Result<Vec<String>> {
    let names: Vec<String> = header.iter().map(|h| normalized(h)).collect();
    for (i, n) in names.iter().enumerate() {
        if let Some(j) = names[..i].iter().position(|m| m == n) {
            return Err(Error::Data(format!(
                "{file}: columns `{}` and `{}` are one name when case and underscores are ignored",
                header[j], header[i]
            )));
        }
    }
    Ok(names)
}

/// The column names of a file, from its first bytes (CSV) or its footer
/// (Parquet), without reading a data row.
pub fn header(storage: &Storage, path: &str, size: u64) -> Result<Vec<String>> {
    let shown = storage.display(path);
    if path.to_ascii_lowercase().ends_with(".csv") {
        // A header longer than this is read with the whole file.
        let head = storage.get_range(path, 0..size.min(1 << 16))?;
        let bytes = if head.contains(&b'\n') || head.len() as u64 == size {
            head
        } else {
            storage.get(path)?
        };
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(true)
            .from_reader(bytes.as_ref());
        let header = reader
            .headers()
            .map_err(|e| Error::Data(format!("{shown}: not a readable CSV file: {e}")))?;
        return Ok(header.iter().map(String::from).collect());
    }
    // The footer is at the end: a reader over the last bytes finds it.
    let tail_len = size.min(1 << 20);
    let tail = storage.get_range(path, size - tail_len..size)?;
    let schema = match ParquetReader::new(Cursor::new(tail)).schema() {
        Ok(s) => s,
        // A footer longer than the tail: read the whole file.
        Err(_) => ParquetReader::new(Cursor::new(storage.get(path)?))
            .schema()
            .map_err(|e| Error::Data(format!("{shown}: not a readable Parquet file: {e}")))?,
    };
    Ok(schema.iter_names().map(|n| n.to_string()).collect())
}

/// Every column of a file as text, under its normalized name, plus
/// `source_file` and `source_row`: what a mapping's expressions read. One
/// text form for CSV and Parquet, so one mapping serves both.
pub fn read_all_as_text(file: &str, bytes: Bytes) -> Result<DataFrame> {
    let (cols, height) = if file.to_ascii_lowercase().ends_with(".csv") {
        let (header, values, height) = read_csv_text(file, bytes.as_ref(), |h| {
            Ok((0..h.len()).map(Some).collect())
        })?;
        let names = normalized_header(file, &header)?;
        let cols = names
            .iter()
            .zip(values)
            .map(|(n, v)| Column::new(n.into(), v))
            .collect();
        (cols, height)
    } else {
        let (df, header, _) = parquet_frame(file, bytes)?;
        let names = normalized_header(file, &header)?;
        let height = df.height();
        let mut exprs = Vec::new();
        for (h, n) in header.iter().zip(&names) {
            exprs.push(as_text(file, h, df.column(h)?.dtype())?.alias(n.as_str()));
        }
        (df.lazy().select(exprs).collect()?.into_columns(), height)
    };
    with_source(file, cols, height)
}

/// The canonical text of a value of `dtype` (what typed Parquet columns
/// and typed mapping results become before the contract's parsing).
pub fn to_text(what: &str, name: &str, dtype: &DataType) -> Result<Expr> {
    as_text(what, name, dtype)
}

/// The canonical text of a contract column's typed values (`typed`, in the
/// contract's type): the quarantine's text of a row that came typed.
pub fn typed_as_text(typed: Expr, ty: ValueType) -> Expr {
    match ty {
        ValueType::Timestamp => typed.dt().strftime("%Y-%m-%dT%H:%M:%S%.6fZ"),
        _ => typed.cast(DataType::String),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two files of two and one rows: a column with values is stacked into
    /// one piece of three; a column null in every file (a typed column's
    /// text) stays one null value for the three rows.
    #[test]
    fn a_column_null_in_every_file_is_stacked_as_one_null() {
        let part = |ids: &[&str]| {
            let n = ids.len();
            DataFrame::new(
                n,
                vec![
                    Column::new("activity_id".into(), ids),
                    Column::full_null("started_at".into(), n, &DataType::String),
                ],
            )
            .unwrap()
        };
        let spec = &crate::staging::activities::SPEC;
        let df = stacked(spec, vec![part(&["a1", "a2"]), part(&["a3"])]).unwrap();
        assert_eq!(df.height(), 3);
        let ids: Vec<_> = df
            .column("activity_id")
            .unwrap()
            .str()
            .unwrap()
            .iter()
            .collect();
        assert_eq!(ids, [Some("a1"), Some("a2"), Some("a3")]);
        let started = df.column("started_at").unwrap();
        assert_eq!(started.null_count(), 3);
        assert_eq!(started.dtype(), &DataType::String);
        assert!(matches!(started, Column::Scalar(_)), "{started:?}");
    }
}
