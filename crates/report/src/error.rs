//! The report's error type: every variant names the file and, where there is one, the line.

use std::path::PathBuf;

/// Everything that can go wrong while reading a results directory or writing the report.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// A file the report needs does not exist.
    #[error("missing file {path}: {what}")]
    MissingFile {
        /// The file that was looked for.
        path: PathBuf,
        /// Why the report needs it.
        what: String,
    },
    /// Reading or writing a file failed.
    #[error("{path}: {error}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error (in the message, so not also exposed as `source()`:
        /// reporters that print the chain would repeat it)
        error: std::io::Error,
    },
    /// A CSV file could not be parsed (bad header, wrong number of fields, a value of the wrong type).
    #[error("{path}, line {line}: {message}")]
    Csv {
        /// The file.
        path: PathBuf,
        /// The 1-based line number (the header is line 1).
        line: u64,
        /// What went wrong.
        message: String,
    },
    /// A row parsed but its content is inconsistent (unknown case or trial, duplicate cell, bad colour).
    #[error("{path}, line {line}: field `{field}` = {value:?}: {reason}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// The 1-based line number.
        line: u64,
        /// The field that is wrong.
        field: &'static str,
        /// Its value as read.
        value: String,
        /// Why it is rejected.
        reason: String,
    },
    /// A table is empty where the report needs rows.
    #[error("{path}: {what}")]
    Empty {
        /// The file.
        path: PathBuf,
        /// What is missing.
        what: String,
    },
    /// Reading `run.json` or writing a file through the shared results format failed (the message
    /// names the file).
    #[error("{0}")]
    Results(#[from] handprop_results::ResultsError),
    /// Two results directories that must describe the same design do not (the baseline of the
    /// default-η comparison against the tuned run, or the tuning sweep's `tuning.csv` against it).
    #[error("{path} does not match {other}: {what}")]
    Mismatch {
        /// The file that disagrees (in the baseline or the tuning sweep).
        path: PathBuf,
        /// The file it is compared with (in the tuned run).
        other: PathBuf,
        /// What differs.
        what: String,
    },
    /// Drawing a chart failed.
    #[error("chart {path}: {message}")]
    Chart {
        /// The chart file being drawn.
        path: PathBuf,
        /// The backend's message.
        message: String,
    },
}

impl ReportError {
    /// Wraps an I/O error with the file it concerns.
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        ReportError::Io { path: path.into(), error: source }
    }
}
