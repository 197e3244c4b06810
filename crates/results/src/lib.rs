//! `handprop-results`: the one definition of handprop's results format, shared by the runner (which
//! writes it), the Slurm tooling (which inspects it) and the report (which reads it).
//!
//! A results directory (`results/<config name>/`):
//!
//! | file | contents | row type |
//! |---|---|---|
//! | `config.toml` | the resolved config, loadable again | — |
//! | `run.json` | provenance, history of invocations, manifest of the tables | [`RunInfo`] |
//! | `cells/<hash>/t1-e03-c05.csv` | one cell, one row per epoch | [`EpochRow`] |
//! | `trials.csv` | one row per trial | [`TrialRow`] |
//! | `cases.csv` | one row per case, one column per parameter | [`CasesTable`] |
//! | `metrics.csv` | long: one row per cell, epoch and metric | [`MetricRow`] |
//! | `final.csv` | the final epoch of every cell | [`FinalRow`] |
//! | `timing.csv` | wall seconds per cell and epoch | [`TimingRow`] |
//! | `winners.csv` | winner per experiment and criterion | [`WinnerRow`] |
//! | `frequency.csv` | wins per trial, criterion and case | [`FrequencyRow`] |
//! | `tuning.csv` | a tuning sweep's candidates and choice (sweeps only) | [`TuningRow`] |
//!
//! `docs/results.md` documents every column for readers of the CSVs. The format is versioned by
//! [`RESULTS_VERSION`], which also enters the config hash, so a change of numerics or format never
//! reuses stale cells.

mod atomic;
mod cell;
pub mod colour;
mod error;
mod layout;
mod lock;
mod num;
mod run_info;
mod tables;
mod tuning;
mod verify;
mod winner;

pub use atomic::{clean_stale_temps, write_atomic, Staging, TEMP_SUFFIX};
pub use cell::{CellId, CellProblem, EpochRow};
pub use error::ResultsError;
pub use layout::{ResultsDir, TABLES};
pub use lock::{DirLock, LockKind};
pub use num::{fmt_f32, fmt_f64};
pub use run_info::{sha256_hex, Invocation, RunInfo};
pub use tables::{
    read_columns, read_table, write_table, CaseRow, CasesTable, FinalRow, FrequencyRow, MetricRow,
    Table, TimingRow, TrialRow, WinnerRow, CASE_COLUMNS,
};
pub use tuning::{TuningRow, TUNED_CONFIG_FILE};
pub use verify::{verify_dir, Verified};
pub use winner::{winner, Criterion, FinalValues};

/// The version of the results format and of the numerics behind it. Bump it whenever a change
/// alters a table's bytes or a cell's values (a kernel with another summation order, a new column):
/// it enters the config hash, so cells computed by older code are never reused.
///
/// History: 1 = the first format; 2 = flat `cases.csv` (one column per parameter, a `group`
/// column), `run.json` with invocation history and a table manifest; 3 = handprop's own GEMM
/// kernels (another summation order than faer's, so other last bits in every product).
pub const RESULTS_VERSION: u32 = 3;
