//! `handprop-report`: turns a results directory into charts, statistics and a report that
//! answers the study's question first.
//!
//! The report reads only the merged tables of a results directory (`cases.csv`, `trials.csv`,
//! `final.csv`, `metrics.csv`, and optionally `run.json`, `config.toml`, `timing.csv`,
//! `frequency.csv`; each is described in `docs/report.md`), never the runner crate, so it works on
//! any results directory, including one merged from Slurm shards. [`generate`] writes:
//!
//! - `<out>/report.md` and `<out>/report.html` (self-contained: charts inline as `data:` URIs). They
//!   open with a banner that says whether the run is the faithful study or a scaled profile (and
//!   what is scaled, see [`answer::scale_check`]), then one paragraph per trial with its winners,
//!   the hand-made (C0–C6) vs TF1 (C7–C16) result and how far the statistics let one trust it;
//! - `<out>/report/*.svg` and `*.png`: per trial a one-glance chart of final test accuracy with 95 %
//!   intervals, the study's three win-frequency bar charts, the learning curves as small multiples
//!   (hand-made | TF1, log cost); per experiment the study's three line charts;
//! - `<out>/summary.csv`: per trial, metric and case the group, mean ± 95 % CI, mean rank, wins and
//!   the exact Wilcoxon signed-rank test against the best case;
//! - `<out>/time_to_target.csv`, `time_to_target_summary.csv`, `profiles.csv` and a performance
//!   profile chart per trial and target ([`ttt`]: epochs and seconds to a target, AlgoPerf-style
//!   ρ(τ));
//! - with a baseline ([`ReportOptions::compare`]): the "Default η vs tuned η" section,
//!   `<out>/comparison.csv` and, given the tuning sweep, `<out>/report/tuning-*` ([`compare`]).
//!
//! Winners are recomputed from `final.csv` (lowest cost, highest train/test accuracy; ties to the
//! lowest case number; diverged cells never win) and checked against `frequency.csv` when present.
//! `docs/study.md` describes the study itself.

pub mod analysis;
pub mod answer;
mod chart_parts;
pub mod charts;
pub mod compare;
mod compare_report;
mod curves;
pub mod data;
pub mod doc;
mod error;
pub mod fmt;
pub mod published;
mod read;
mod render;
pub mod stats;
pub mod ttt;
mod ttt_report;

use std::path::{Path, PathBuf};

pub use analysis::TrialAnalysis;
pub use compare::{CompareOptions, Comparison};
pub use compare_report::trial_verdict;
pub use data::{Metric, ResultsData};
pub use error::ReportError;
pub use ttt::{Target, TargetError};

/// Options of [`generate`].
#[derive(Debug, Clone, PartialEq)]
pub struct ReportOptions {
    /// Also write a PNG of every chart (text drawn with the embedded DejaVu Sans).
    pub png: bool,
    /// Draw the study's per-experiment line charts (3 per experiment).
    pub experiment_charts: bool,
    /// At most this many points per line (every k-th epoch and the last are kept); 0 = all.
    pub max_points: usize,
    /// The time-to-target targets; empty = [`ttt::default_targets`] per trial (the faithful study:
    /// test accuracy ≥ 0.9 and ≥ 0.97; a scaled run: ≥ 90 % of the trial's best mean final test
    /// accuracy, rounded down to 0.01).
    pub targets: Vec<Target>,
    /// The "Default η vs tuned η" comparison: the report's directory is then the tuned run, and
    /// this names its baseline (and, optionally, the tuning sweep). `None`: no comparison.
    pub compare: Option<CompareOptions>,
}

impl Default for ReportOptions {
    fn default() -> Self {
        ReportOptions {
            png: true,
            experiment_charts: true,
            max_points: 300,
            targets: Vec::new(),
            compare: None,
        }
    }
}

/// What [`generate`] wrote.
#[derive(Debug, Clone)]
pub struct ReportSummary {
    /// `<out>/report.md`.
    pub report_md: PathBuf,
    /// `<out>/report.html`.
    pub report_html: PathBuf,
    /// `<out>/summary.csv`.
    pub summary_csv: PathBuf,
    /// `<out>/time_to_target.csv`, `<out>/time_to_target_summary.csv` and `<out>/profiles.csv`.
    pub time_to_target_csvs: [PathBuf; 3],
    /// Every time-to-target result (per trial and target) the report shows.
    pub time_to_target: Vec<ttt::TargetResult>,
    /// Every chart file written (SVG, and PNG if asked), under `<out>/report/`.
    pub charts: Vec<PathBuf>,
    /// The per-trial analyses the report shows.
    pub trials: Vec<TrialAnalysis>,
    /// Inconsistencies found that did not stop the report (also listed in it).
    pub warnings: Vec<String>,
    /// With [`ReportOptions::compare`]: `<out>/comparison.csv`.
    pub comparison_csv: Option<PathBuf>,
    /// With [`ReportOptions::compare`]: the default-η vs tuned-η comparison the report shows.
    pub comparison: Option<Comparison>,
}

/// Reads `results_dir` and writes the charts, `summary.csv`, `report.md` and `report.html` into it.
/// With [`ReportOptions::compare`], `results_dir` is the tuned run: the report also gets the
/// "Default η vs tuned η" section (and its tuning-curve charts when the sweep is given), and
/// `comparison.csv` is written next to `summary.csv` ([`compare`]).
///
/// # Errors
/// A missing or malformed input file (the error names the file and line), a baseline or tuning
/// sweep whose design differs from the run's ([`ReportError::Mismatch`]), or a failure to draw or
/// write an output file.
pub fn generate(results_dir: &Path, opts: &ReportOptions) -> Result<ReportSummary, ReportError> {
    let data = ResultsData::load(results_dir)?;
    let comparison = opts.compare.as_ref().map(|c| compare::load(&data, c)).transpose()?;
    render::write_report(&data, opts, comparison)
}
