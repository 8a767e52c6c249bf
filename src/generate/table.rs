//! A generated table: rows of text, written as CSV or as Parquet with the
//! contract's types where asked.

use polars::prelude::*;

use crate::error::Result;
use crate::parquet::parquet_bytes;
use crate::staging::parse::ValueType;
use crate::staging::TableSpec;
use crate::storage::Storage;

/// A row of text values, one per column (None: empty).
pub type Row = Vec<Option<String>>;

/// A table being generated: text columns, written as CSV or Parquet.
pub struct Table {
    /// The contract table it is (its columns, and their types for Parquet);
    /// None for an export's own tables.
    pub spec: Option<&'static TableSpec>,
    pub columns: Vec<&'static str>,
    pub rows: Vec<Row>,
}

impl Table {
    /// An export's table with its own columns.
    pub fn new(columns: &[&'static str]) -> Self {
        Table {
            spec: None,
            columns: columns.to_vec(),
            rows: Vec::new(),
        }
    }

    /// A contract table, with the columns of its spec.
    pub fn of(spec: &'static TableSpec) -> Self {
        Table {
            spec: Some(spec),
            columns: spec.columns.iter().map(|c| c.name).collect(),
            rows: Vec::new(),
        }
    }

    fn position(&self, name: &str) -> usize {
        self.columns
            .iter()
            .position(|c| *c == name)
            .unwrap_or_else(|| panic!("generated tables have `{name}`"))
    }

    /// `row` with the named columns set to new values.
    pub fn with(&self, row: &[Option<String>], changes: &[(&str, &str)]) -> Row {
        let mut row = row.to_vec();
        for (name, value) in changes {
            row[self.position(name)] = Some(value.to_string());
        }
        row
    }

    /// Adds a row given by column name; the columns not named are empty.
    pub fn push_named(&mut self, values: &[(&str, &str)]) {
        let row = self.with(&vec![None; self.columns.len()], values);
        self.push(row);
    }

    /// Writes `rows` as `<name>.csv`, or as `<name>.parquet` with the
    /// contract's types for dates, timestamps and numbers (the rest stays
    /// text, as many exports write flags).
    pub fn put(&self, output: &Storage, name: &str, rows: &[Row], parquet: bool) -> Result<()> {
        if !parquet {
            return output.put(&format!("{name}.csv"), self.csv(rows).into());
        }
        let types: Vec<(&str, DataType)> = self
            .spec
            .map(|spec| spec.columns)
            .unwrap_or_default()
            .iter()
            .filter_map(|c| match c.ty {
                ValueType::Date => Some((c.name, DataType::Date)),
                ValueType::Timestamp => {
                    Some((c.name, DataType::Datetime(TimeUnit::Microseconds, None)))
                }
                ValueType::Number => Some((c.name, DataType::Float64)),
                ValueType::Text | ValueType::Bool => None,
            })
            .collect();
        output.put(
            &format!("{name}.parquet"),
            self.parquet(rows, &types)?.into(),
        )
    }

    /// Every row, its values read by column name.
    pub fn records(&self) -> impl Iterator<Item = Record<'_>> {
        self.rows.iter().map(move |row| Record { table: self, row })
    }

    /// A row's value in the named column.
    pub fn value<'a>(&self, row: &'a [Option<String>], name: &str) -> Option<&'a str> {
        row[self.position(name)].as_deref()
    }

    /// Writes every row as `<name>.csv`, or as `<name>.parquet` with text
    /// columns (an export's own types are not known).
    pub fn put_export(&self, output: &Storage, name: &str, parquet: bool) -> Result<()> {
        if parquet {
            output.put(
                &format!("{name}.parquet"),
                self.parquet(&self.rows, &[])?.into(),
            )
        } else {
            output.put(&format!("{name}.csv"), self.csv(&self.rows).into())
        }
    }

    pub fn push(&mut self, row: Vec<Option<String>>) {
        debug_assert_eq!(row.len(), self.columns.len());
        self.rows.push(row);
    }

    pub fn csv(&self, rows: &[Vec<Option<String>>]) -> Vec<u8> {
        let mut w = csv::Writer::from_writer(Vec::new());
        w.write_record(&self.columns).unwrap();
        for r in rows {
            w.write_record(r.iter().map(|v| v.as_deref().unwrap_or("")))
                .unwrap();
        }
        w.into_inner().unwrap()
    }

    /// Parquet with typed columns where the contract has types (`types`
    /// maps a column to a polars type; others stay text).
    fn parquet(&self, rows: &[Vec<Option<String>>], types: &[(&str, DataType)]) -> Result<Vec<u8>> {
        let cols: Vec<Column> = self
            .columns
            .iter()
            .enumerate()
            .map(|(i, name)| {
                let values: Vec<Option<&str>> = rows.iter().map(|r| r[i].as_deref()).collect();
                Column::new((*name).into(), values)
            })
            .collect();
        let df = DataFrame::new(rows.len(), cols)?;
        let casts: Vec<Expr> = types
            .iter()
            .map(|(name, dtype)| match dtype {
                DataType::Datetime(_, _) => col(*name)
                    .str()
                    .to_datetime(
                        Some(TimeUnit::Microseconds),
                        Some(TimeZone::UTC),
                        StrptimeOptions {
                            format: Some("%Y-%m-%dT%H:%M:%SZ".into()),
                            ..Default::default()
                        },
                        lit("raise"),
                    )
                    .alias(*name),
                DataType::Date => col(*name)
                    .str()
                    .to_date(StrptimeOptions {
                        format: Some("%Y-%m-%d".into()),
                        ..Default::default()
                    })
                    .alias(*name),
                other => col(*name).cast(other.clone()).alias(*name),
            })
            .collect();
        let mut df = df.lazy().with_columns(casts).collect()?;
        parquet_bytes(&mut df)
    }
}

/// A row of a generated table, read by column name.
#[derive(Clone, Copy)]
pub struct Record<'a> {
    table: &'a Table,
    row: &'a [Option<String>],
}

impl<'a> Record<'a> {
    pub fn get(&self, name: &str) -> Option<&'a str> {
        self.table.value(self.row, name)
    }

    /// The value as an owned string (an export's column of the same value).
    pub fn text(&self, name: &str) -> Option<String> {
        self.get(name).map(String::from)
    }
}

/// A date as CRMs export a datetime: UTC, milliseconds.
pub fn exported_at(date: Option<&str>, time: &str) -> Option<String> {
    date.map(|d| format!("{d}T{time}.000Z"))
}
