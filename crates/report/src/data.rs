//! Reading a results directory (the runner's merged tables; each file and column is listed in
//! `docs/report.md`).
//!
//! Only the merged tables are read, never `cells/`, so the report works on any results directory,
//! including one merged from Slurm shards. Required: `cases.csv`, `trials.csv`, `final.csv`,
//! `metrics.csv`. Optional: `run.json`, `config.toml` (shown verbatim), `timing.csv` (per-epoch wall
//! times, summed per cell when `final.csv` has no `wall_s`), `frequency.csv` (cross-checked against
//! the winners the report recomputes from `final.csv`).
//!
//! Tables are read by header name: extra columns are tolerated (and, in `cases.csv`, kept as the
//! case's parameters), so a newer runner's tables still load.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use handprop_results::Criterion;
use serde::Deserialize;

use crate::error::ReportError;
use crate::read::{
    read_cases, read_config, read_finals, read_frequency, read_series, read_timing, read_trials,
};

/// One of the three per-epoch metrics the study compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Metric {
    /// Training cost per image (lower is better).
    Cost,
    /// Accuracy on the training images (higher is better).
    TrainAcc,
    /// Accuracy on the test images (higher is better).
    TestAcc,
}

impl Metric {
    /// The three metrics in the study's order.
    pub const ALL: [Metric; 3] = [Metric::Cost, Metric::TrainAcc, Metric::TestAcc];

    /// The column / metric name used in the result tables.
    pub fn name(self) -> &'static str {
        match self {
            Metric::Cost => "cost",
            Metric::TrainAcc => "train_acc",
            Metric::TestAcc => "test_acc",
        }
    }

    /// A human-readable name for axes and headings.
    pub fn title(self) -> &'static str {
        match self {
            Metric::Cost => "cost per image",
            Metric::TrainAcc => "train accuracy",
            Metric::TestAcc => "test accuracy",
        }
    }

    /// Whether a larger value is better (accuracies) or worse (cost).
    pub fn higher_is_better(self) -> bool {
        self.rule().higher_is_better()
    }

    /// The winner rule on this metric (the results format's, shared with the runner).
    pub fn rule(self) -> Criterion {
        match self {
            Metric::Cost => Criterion::LowestCost,
            Metric::TrainAcc => Criterion::HighestTrainAcc,
            Metric::TestAcc => Criterion::HighestTestAcc,
        }
    }

    /// The name of the winner criterion of `winners.csv`/`frequency.csv` that uses this metric.
    pub fn criterion(self) -> &'static str {
        self.rule().name()
    }

    /// The study's bar-chart title for this criterion over `n` experiments (`docs/study.md`,
    /// "Winners"; the study called its experiments "trials").
    pub fn study_title(self, n: usize) -> String {
        match self {
            Metric::Cost => format!("Frequency of Lowest Cost among total of {n} trials"),
            Metric::TrainAcc => {
                format!("Frequency of Highest Accuracy on Train Images among total of {n} trials")
            }
            Metric::TestAcc => {
                format!("Frequency of Highest Accuracy on Test Images among total of {n} trials")
            }
        }
    }

    pub(crate) fn from_name(s: &str) -> Option<Metric> {
        Metric::ALL.into_iter().find(|m| m.name() == s)
    }

    pub(crate) fn from_criterion(s: &str) -> Option<Metric> {
        let c = Criterion::from_name(s)?;
        Metric::ALL.into_iter().find(|m| m.rule() == c)
    }

    /// Index 0..3 in [`Metric::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }
}

/// An RGB colour.
pub type Rgb = (u8, u8, u8);

/// A case as listed in `cases.csv`.
#[derive(Debug, Clone, PartialEq)]
pub struct CaseInfo {
    /// Case number (0..17 in the study).
    pub case: usize,
    /// Its label, e.g. "Dilated ADAM, sparse".
    pub label: String,
    /// Its chart colour.
    pub colour: Rgb,
    /// Hand-made back-propagation or a TF1 optimizer on the exact gradient.
    pub group: Group,
    /// The `gradient` column as written (`manual`, `exact`), empty if absent.
    pub gradient: String,
    /// Every other column of `cases.csv` (routing, rule and noise parameters), in header order,
    /// with empty values left out and numbers in their shortest f32 form.
    pub params: Vec<(String, String)>,
}

/// The study's central split of the 17 cases.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Group {
    /// Hand-made back-propagation (C0–C6 in the study): the manual gradient seed δ = p − y and the
    /// study's own rules (gradient noise, dilated routing, per-layer Adam).
    HandMade,
    /// TF1's ten optimizers on the exact gradient of the cost (C7–C16 in the study).
    Tf1,
}

impl Group {
    /// Both groups in report order.
    pub const ALL: [Group; 2] = [Group::HandMade, Group::Tf1];

    /// The `group` value of `cases.csv` and `summary.csv`: `hand-made` or `tf1`.
    pub fn name(self) -> &'static str {
        match self {
            Group::HandMade => "hand-made",
            Group::Tf1 => "tf1",
        }
    }

    /// A short label for tables and legends.
    pub fn title(self) -> &'static str {
        match self {
            Group::HandMade => "hand-made back-prop",
            Group::Tf1 => "TF1 optimizer, exact gradient",
        }
    }

    /// The group of a `gradient` value: `manual` → hand-made, `exact` → TF1.
    pub fn from_gradient(s: &str) -> Option<Group> {
        match s {
            "manual" => Some(Group::HandMade),
            "exact" => Some(Group::Tf1),
            _ => None,
        }
    }

    /// The group of a `group` value.
    pub fn from_name(s: &str) -> Option<Group> {
        Group::ALL.into_iter().find(|g| g.name() == s)
    }
}

/// A trial as listed in `trials.csv`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct TrialInfo {
    /// Trial number (1..4 in the study).
    pub trial: u32,
    /// Learning rate η.
    pub learning_rate: f64,
    /// Hidden width H.
    pub hidden: u64,
    /// Experiments configured for the trial.
    pub experiments: u32,
    /// Epochs configured per cell.
    pub epochs: u32,
    /// Batch size.
    pub batch: u64,
}

/// One row of `final.csv`: a cell's final-epoch values.
#[derive(Debug, Clone, PartialEq)]
pub struct FinalRow {
    /// Trial number.
    pub trial: u32,
    /// Experiment number (from 0).
    pub experiment: u32,
    /// Case number.
    pub case: usize,
    /// Epochs the cell ran (fewer than configured if it diverged).
    pub epochs_run: u32,
    /// Whether the cell diverged (NaN/inf).
    pub diverged: bool,
    /// Final cost, train accuracy and test accuracy, indexed by [`Metric::index`].
    pub values: [f64; 3],
    /// Wall time of the cell in seconds: `final.csv`'s `wall_s` if it has that column, else the sum
    /// of the cell's epochs in `timing.csv`, else NaN.
    pub wall_s: f64,
}

impl FinalRow {
    /// The final value of `m` if the cell did not diverge and the value is finite; `None` otherwise
    /// (such a cell never wins and ranks last).
    pub fn usable(&self, m: Metric) -> Option<f64> {
        let v = self.values[m.index()];
        (!self.diverged && v.is_finite()).then_some(v)
    }
}

/// What `run.json` says about the run: the results format's own type (provenance, the history of
/// invocations, `cell_seconds`).
pub use handprop_results::{Invocation, RunInfo};

/// Per-epoch values of one cell: for each metric, (epoch, value) sorted by epoch.
pub type CellSeries = [Vec<(u32, f64)>; 3];

/// Everything the report reads from a results directory.
#[derive(Debug, Clone)]
pub struct ResultsData {
    /// The directory read.
    pub dir: PathBuf,
    /// Cases by number.
    pub cases: BTreeMap<usize, CaseInfo>,
    /// Trials by number.
    pub trials: BTreeMap<u32, TrialInfo>,
    /// Final values of every cell present.
    pub finals: Vec<FinalRow>,
    /// Per-epoch series by (trial, experiment, case).
    pub series: HashMap<(u32, u32, usize), CellSeries>,
    /// Per-epoch wall seconds from `timing.csv` by (trial, experiment, case): (epoch, wall_s)
    /// sorted by epoch; empty when there is no `timing.csv`. A cell runs on one thread, so these
    /// are its compute seconds.
    pub epoch_wall: HashMap<(u32, u32, usize), Vec<(u32, f64)>>,
    /// `run.json`, if present.
    pub run: Option<RunInfo>,
    /// `config.toml` verbatim, if present.
    pub config_toml: Option<String>,
    /// `config.toml` parsed, if present and valid TOML.
    pub config: Option<toml::Table>,
    /// Why `config.toml` could not be parsed, if it could not (the report warns and goes on: the
    /// scale of the run is then judged from `trials.csv` alone).
    pub config_error: Option<String>,
    /// Win counts from `frequency.csv` by (trial, metric, case), if present.
    pub frequency: Option<HashMap<(u32, Metric, usize), u64>>,
}

/// Reads `dir/run.json` (if any) and, when it carries a table manifest, checks the tables against
/// it with `handprop_results::verify_dir`.
///
/// A directory merged by results format 2 or later carries run.json with a manifest of its
/// tables: a set that no longer matches it (a table changed after the merge, a merge interrupted
/// between two renames) is refused instead of rendered as mixed results. Older directories have no
/// manifest to check.
pub(crate) fn verify_manifest(dir: &Path) -> Result<Option<RunInfo>, ReportError> {
    let run = RunInfo::load(&dir.join("run.json"))?;
    if run.as_ref().is_some_and(|r| !r.tables.is_empty()) {
        handprop_results::verify_dir(dir)?;
    }
    Ok(run)
}

/// Parses `#rrggbb` or a matplotlib colour name (the results format's colour table,
/// `handprop_results::colour`).
pub fn parse_colour(s: &str) -> Option<Rgb> {
    let hex = handprop_results::colour::to_hex(s).ok()?;
    let p = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).ok();
    Some((p(1)?, p(3)?, p(5)?))
}

/// The colour of a case whose `colour` cell is empty: a neutral dark grey.
pub const NO_COLOUR: Rgb = (0x44, 0x44, 0x44);

impl ResultsData {
    /// Reads the results directory `dir`.
    ///
    /// # Errors
    /// A missing required file, a malformed row (named by file and line), a row naming an unknown
    /// case or trial, a duplicate cell, a cell whose curve misses epochs, an empty `final.csv`, or
    /// tables that no longer match `run.json`'s manifest.
    pub fn load(dir: &Path) -> Result<ResultsData, ReportError> {
        let run = verify_manifest(dir)?;
        let cases = read_cases(&dir.join("cases.csv"))?;
        let trials = read_trials(dir)?;
        let (mut finals, seen) = read_finals(dir, &trials, &cases)?;
        let series = read_series(dir, &seen, &finals)?;
        let epoch_wall = read_timing(dir, &mut finals)?;
        let (config_toml, config, config_error) = read_config(dir)?;
        let frequency = read_frequency(dir)?;
        Ok(ResultsData {
            dir: dir.to_path_buf(),
            cases,
            trials,
            finals,
            series,
            epoch_wall,
            run,
            config_toml,
            config,
            config_error,
            frequency,
        })
    }
}
