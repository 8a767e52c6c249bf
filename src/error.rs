//! One error type for the whole pipeline. Each variant maps to an exit code
//! (SPEC §6), and every message names what the operator needs to act on:
//! the file, the key, the table, the value.

use polars::prelude::PolarsError;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The pipeline file is wrong: stops the run before any work.
    #[error("config error in {file}: {message}")]
    Config { file: String, message: String },

    /// The input data cannot be used: an unreadable file, a missing required
    /// table or column, or too many rejected rows.
    #[error("{0}")]
    Data(String),

    /// Object storage or local I/O failed (after the store's own retries).
    #[error("storage error: {0}")]
    Storage(String),

    /// A command-line argument that makes no sense.
    #[error("{0}")]
    Usage(String),

    /// A published mart broke one of its own checks (grain not unique, a
    /// key null). This is a bug in salesops, never the user's data.
    #[error("mart check failed: {0}")]
    Check(String),

    #[error("polars: {0}")]
    Polars(#[from] PolarsError),
}

impl Error {
    /// Exit codes of SPEC §6.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Config { .. } | Error::Data(_) | Error::Check(_) | Error::Polars(_) => 1,
            Error::Usage(_) => 2,
            Error::Storage(_) => 3,
        }
    }

    pub fn config(file: &str, message: impl Into<String>) -> Self {
        Error::Config {
            file: file.to_string(),
            message: message.into(),
        }
    }
}
