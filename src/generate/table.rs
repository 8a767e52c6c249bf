//! A generated table: rows of text, written as CSV or as Parquet with the
//! contract's types where asked.

use polars::prelude::*;

use crate::error::Result;
use crate::publish::parquet_bytes;

/// A table being generated: text columns, written as CSV or Parquet.
pub struct Table {
    pub columns: Vec<&'static str>,
    pub rows: Vec<Vec<Option<String>>>,
}

impl Table {
    pub fn new(columns: &[&'static str]) -> Self {
        Table {
            columns: columns.to_vec(),
            rows: Vec::new(),
        }
    }

    /// A row's value in the named column.
    pub fn value<'a>(&self, row: &'a [Option<String>], name: &str) -> Option<&'a str> {
        let i = self
            .columns
            .iter()
            .position(|c| *c == name)
            .unwrap_or_else(|| panic!("generated tables have `{name}`"));
        row[i].as_deref()
    }

    /// Writes every row as `<name>.csv`, or as `<name>.parquet` with text
    /// columns (an export's own types are not known).
    pub fn put_export(
        &self,
        output: &crate::storage::Storage,
        name: &str,
        parquet: bool,
    ) -> Result<()> {
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
    pub fn parquet(
        &self,
        rows: &[Vec<Option<String>>],
        types: &[(&str, DataType)],
    ) -> Result<Vec<u8>> {
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

/// A date as CRMs export a datetime: UTC, milliseconds.
pub fn exported_at(date: Option<&str>, time: &str) -> Option<String> {
    date.map(|d| format!("{d}T{time}.000Z"))
}
