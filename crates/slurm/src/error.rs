//! The one error type of the crate: every variant names the file, option or value at fault.

use std::path::PathBuf;

use handprop_results::ResultsError;

/// An error of the Slurm tooling.
#[derive(Debug, thiserror::Error)]
pub enum SlurmError {
    /// A time limit is not in one of Slurm's formats.
    #[error("--time {0:?}: not a Slurm time (MM, MM:SS, HH:MM:SS, D-HH, D-HH:MM or D-HH:MM:SS)")]
    BadTime(String),
    /// Zero shards were asked for.
    #[error("--shards must be at least 1")]
    NoShards,
    /// The number of shards exceeds the number of cells, so some tasks would have nothing to do.
    #[error("--shards {shards} exceeds the {cells} cells of the run; use at most {cells}")]
    TooManyShards {
        /// Requested shards.
        shards: usize,
        /// Cells of the run.
        cells: usize,
    },
    /// The plan has no cells at all.
    #[error("the run has no cells (no trial has an experiment, or there are no cases)")]
    NoCells,
    /// The `handprop` binary the tasks would run does not exist.
    #[error("--handprop {path}: {error}")]
    NoHandprop {
        /// The path given.
        path: PathBuf,
        /// Why it cannot be used.
        error: std::io::Error,
    },
    /// The frozen config of an earlier generation differs from this one.
    #[error(
        "{path} already pins another config (sha256 {found}, this one is {expected}); a job array \
         may still use it: choose another --out, or pass --force if nothing runs there"
    )]
    PinnedElsewhere {
        /// The frozen config.
        path: PathBuf,
        /// Its SHA-256.
        found: String,
        /// The SHA-256 of the config being generated.
        expected: String,
    },
    /// A directory has no job record.
    #[error("{0}: no Slurm job record (slurm/job.json); generate the job array into it first")]
    NoJobRecord(PathBuf),
    /// A file written by this crate or the runner is malformed.
    #[error("{path}: {message}")]
    Malformed {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A file or directory could not be read, written or created.
    #[error("{path}: {error}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        error: std::io::Error,
    },
    /// Reading or writing the results directory failed (the error names the file).
    #[error(transparent)]
    Results(#[from] ResultsError),
    /// A Slurm command could not be started.
    #[error("running {program} (is Slurm installed and SLURM_CONF set?): {error}")]
    Spawn {
        /// `sbatch` or `scontrol`.
        program: &'static str,
        /// The cause.
        error: std::io::Error,
    },
    /// `sbatch` refused the script.
    #[error("sbatch {script} failed ({status}): {stderr}")]
    Sbatch {
        /// The script.
        script: PathBuf,
        /// Its exit status.
        status: String,
        /// What it said.
        stderr: String,
    },
    /// `sbatch --parsable` printed something that is not a job id.
    #[error("sbatch printed {0:?}, not a job id")]
    BadJobId(String),
    /// A requeue was asked for with no shards.
    #[error("no shards to requeue")]
    NothingToRequeue,
}

impl SlurmError {
    /// Whether the error is the caller's input (an option, a config, a directory without a job
    /// record) rather than a failure of Slurm or the file system; nothing was submitted.
    pub fn is_usage(&self) -> bool {
        matches!(
            self,
            SlurmError::BadTime(_)
                | SlurmError::NoShards
                | SlurmError::TooManyShards { .. }
                | SlurmError::NoCells
                | SlurmError::NoHandprop { .. }
                | SlurmError::PinnedElsewhere { .. }
                | SlurmError::NoJobRecord(_)
                | SlurmError::NothingToRequeue
        )
    }

    /// An I/O error on `path`.
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> SlurmError {
        let path = path.into();
        move |error| SlurmError::Io { path, error }
    }
}
