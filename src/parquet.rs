//! The one Parquet writer: marts, the quarantine and generated inputs are
//! written the same way (SPEC §5).

use polars::prelude::*;

use crate::error::Result;

/// At most this many rows per row group (SPEC §5). polars' in-memory writer
/// makes one row group of everything unless told.
pub const ROW_GROUP_ROWS: usize = 1_000_000;

/// Parquet as SPEC §5 asks: zstd, statistics, row groups of at most
/// `ROW_GROUP_ROWS` rows.
pub fn parquet_bytes(df: &mut DataFrame) -> Result<Vec<u8>> {
    let mut buf = Vec::new();
    ParquetWriter::new(&mut buf)
        .with_compression(ParquetCompression::Zstd(None))
        .with_statistics(StatisticsOptions::full())
        .with_row_group_size(Some(ROW_GROUP_ROWS))
        .finish(df)?;
    Ok(buf)
}
