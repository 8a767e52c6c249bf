//! salesops: CRM history in object storage -> validated staging tables ->
//! shared intermediate building blocks -> Parquet marts, published with
//! write-audit-publish. The layers follow dbt's: see STYLE in the README.

pub mod calendar;
pub mod config;
pub mod domain;
pub mod error;
pub mod generate;
pub mod intermediate;
pub mod marts;
pub mod parquet;
pub mod pipeline;
pub mod presets;
pub mod publish;
pub mod staging;
pub mod storage;

pub use error::{Error, Result};
