//! One error type for the whole pipeline. Each variant maps to an exit code
//! (SPEC §6), and every message names what the operator needs to act on:
//! the file, the key, the table, the mart, the value. Causes are kept as
//! `source`s, so `main` prints the whole chain once (`caused by: ...`).

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
    /// `what` says which object and what was being done with it.
    #[error("storage error: {what}")]
    Storage {
        what: String,
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },

    /// A command-line argument that makes no sense.
    #[error("{0}")]
    Usage(String),

    /// A check of salesops' own output failed (a grain not unique, a key
    /// null): a bug in salesops, never the user's data.
    #[error("internal check failed, a bug in salesops (please report it with the manifest and pipeline file): {0}")]
    Bug(String),

    /// Another run replaced `_latest.json` while this one ran (SPEC §5.1).
    /// Nothing of this run is visible; rerunning is safe.
    #[error(
        "another run published while this one ran: `_latest.json` now names run {winner}; \
         this run ({run_id}) published nothing and left its files for retention; rerunning is safe"
    )]
    Conflict { run_id: String, winner: String },

    #[error("polars: {0}")]
    Polars(#[from] PolarsError),

    /// What was being done when `source` failed: which table, mart or file.
    #[error("{context}")]
    Context {
        context: String,
        #[source]
        source: Box<Error>,
    },
}

impl Error {
    /// Exit codes of SPEC §6.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Config { .. } | Error::Data(_) | Error::Bug(_) | Error::Polars(_) => 1,
            Error::Usage(_) => 2,
            Error::Storage { .. } => 3,
            Error::Conflict { .. } => 4,
            Error::Context { source, .. } => source.exit_code(),
        }
    }

    pub fn config(file: &str, message: impl Into<String>) -> Self {
        Error::Config {
            file: file.to_string(),
            message: message.into(),
        }
    }

    /// A storage failure with its cause.
    pub fn storage(
        what: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        Error::Storage {
            what: what.into(),
            source: Some(Box::new(source)),
        }
    }

    /// A storage failure that has no underlying error to show.
    pub fn storage_msg(what: impl Into<String>) -> Self {
        Error::Storage {
            what: what.into(),
            source: None,
        }
    }

    /// The message and each cause's, outermost first.
    pub fn chain(&self) -> Vec<String> {
        let mut out = vec![self.to_string()];
        let mut next = std::error::Error::source(self);
        while let Some(e) = next {
            let text = e.to_string();
            // Many causes repeat their own cause in their message (object_store,
            // reqwest): a cause already said in full is not said again.
            if !out.iter().any(|o| o.contains(&text)) {
                out.push(text);
            }
            next = e.source();
        }
        out
    }

    /// The chain as operators read it: the message, then `caused by:` lines.
    pub fn report(&self) -> String {
        let chain = self.chain();
        let mut s = chain[0].clone();
        for c in &chain[1..] {
            s.push_str("\n  caused by: ");
            s.push_str(c);
        }
        s
    }
}

/// What was being done when an error happened: `.during(|| format!("table `{name}`"))`.
pub trait Context<T> {
    fn during<S: Into<String>>(self, what: impl FnOnce() -> S) -> Result<T>;
}

impl<T, E: Into<Error>> Context<T> for std::result::Result<T, E> {
    fn during<S: Into<String>>(self, what: impl FnOnce() -> S) -> Result<T> {
        self.map_err(|e| Error::Context {
            context: what().into(),
            source: Box::new(e.into()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn during_keeps_the_cause_and_its_exit_code() {
        let e: Result<()> = Err(Error::storage_msg("reading s3://b/x.csv"));
        let e = e.during(|| "table `reps`").unwrap_err();
        assert_eq!(e.exit_code(), 3);
        assert_eq!(
            e.report(),
            "table `reps`\n  caused by: storage error: reading s3://b/x.csv"
        );
    }
}
