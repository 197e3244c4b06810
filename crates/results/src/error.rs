//! Errors reading or writing results; every one names the file.

use std::path::PathBuf;

/// An error reading or writing a results directory.
#[derive(Debug, thiserror::Error)]
pub enum ResultsError {
    /// A file could not be read or written.
    #[error("{path}: {error}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause (in the message, so deliberately not also `source()`: reporters that print
        /// the chain would repeat it).
        error: std::io::Error,
    },
    /// A file is malformed or does not fit the rest of the directory.
    #[error("{path}: {message}")]
    Malformed {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// Another process holds the directory.
    #[error("{path}: {message}")]
    Busy {
        /// The lock file.
        path: PathBuf,
        /// Who holds it and what to do.
        message: String,
    },
}

impl ResultsError {
    /// An I/O error on `path`.
    pub fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> ResultsError {
        let path = path.into();
        move |error| ResultsError::Io { path, error }
    }

    /// A malformed file.
    pub fn malformed(path: impl Into<PathBuf>, message: impl Into<String>) -> ResultsError {
        ResultsError::Malformed { path: path.into(), message: message.into() }
    }
}
