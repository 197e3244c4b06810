//! Reading a results directory (the runner's merged tables, see `notes/results-contract.md`).
//!
//! Only the merged tables are read, never `cells/`, so the report works on any results directory,
//! including one merged from Slurm shards. Required: `cases.csv`, `trials.csv`, `final.csv`,
//! `metrics.csv`. Optional: `run.json`, `config.toml` (shown verbatim), `timing.csv` (per-epoch wall
//! times, summed per cell when `final.csv` has no `wall_s`), `frequency.csv` (cross-checked against
//! the winners the report recomputes from `final.csv`).

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::Deserialize;

use crate::error::ReportError;

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
        !matches!(self, Metric::Cost)
    }

    /// The winner criterion of `winners.csv`/`frequency.csv` that uses this metric.
    pub fn criterion(self) -> &'static str {
        match self {
            Metric::Cost => "lowest_cost",
            Metric::TrainAcc => "highest_train_acc",
            Metric::TestAcc => "highest_test_acc",
        }
    }

    /// The study's bar-chart title for this criterion over `n` experiments (spec §8; the study
    /// called its experiments "trials").
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

    fn from_name(s: &str) -> Option<Metric> {
        Metric::ALL.into_iter().find(|m| m.name() == s)
    }

    fn from_criterion(s: &str) -> Option<Metric> {
        Metric::ALL.into_iter().find(|m| m.criterion() == s)
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

/// What `run.json` says about the run. Every field is optional so that an older or newer runner's
/// file still gives what it has; unknown fields are ignored because this is output, not config.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct RunInfo {
    /// Version of handprop that ran.
    pub handprop_version: Option<String>,
    /// Config name (file stem).
    pub config_name: Option<String>,
    /// Hash of the resolved config.
    pub config_hash: Option<String>,
    /// Cells in the whole run.
    pub cells_total: Option<u64>,
    /// Cells completed.
    pub cells_done: Option<u64>,
    /// Epochs per cell.
    pub epochs: Option<u64>,
    /// Wall time of the run in seconds.
    pub wall_seconds: Option<f64>,
    /// CPU time of the run in seconds.
    pub cpu_seconds: Option<f64>,
    /// Threads used.
    pub threads: Option<u64>,
}

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
    /// `run.json`, if present.
    pub run: Option<RunInfo>,
    /// `config.toml` verbatim, if present.
    pub config_toml: Option<String>,
    /// Win counts from `frequency.csv` by (trial, metric, case), if present.
    pub frequency: Option<HashMap<(u32, Metric, usize), u64>>,
}

/// The matplotlib colours of spec §8 for cases 0..16, as hex, for results without a colour column.
/// tab:* are matplotlib's Tableau palette; the others are CSS4 named colours.
pub const SPEC_COLOURS: [(&str, &str); 17] = [
    ("tab:green", "#2ca02c"),
    ("tab:red", "#d62728"),
    ("tab:purple", "#9467bd"),
    ("tab:gray", "#7f7f7f"),
    ("tab:orange", "#ff7f0e"),
    ("tab:pink", "#e377c2"),
    ("tab:brown", "#8c564b"),
    ("aqua", "#00ffff"),
    ("azure", "#f0ffff"),
    ("coral", "#ff7f50"),
    ("indigo", "#4b0082"),
    ("lime", "#00ff00"),
    ("tan", "#d2b48c"),
    ("ivory", "#fffff0"),
    ("lightblue", "#add8e6"),
    ("lavender", "#e6e6fa"),
    ("teal", "#008080"),
];

/// Parses "#rrggbb" (or a matplotlib name of [`SPEC_COLOURS`]).
pub fn parse_colour(s: &str) -> Option<Rgb> {
    let s = s.trim();
    let hex = SPEC_COLOURS.iter().find(|(name, _)| *name == s).map(|(_, h)| *h).unwrap_or(s);
    let h = hex.strip_prefix('#')?;
    if h.len() != 6 || !h.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    let p = |i: usize| u8::from_str_radix(&h[i..i + 2], 16).ok();
    Some((p(0)?, p(2)?, p(4)?))
}

/// Reads a CSV file with a header into typed rows, each with its 1-based line number.
/// Missing columns are reported against line 1; a bad row against its own line.
fn read_table<T: DeserializeOwned>(
    path: &Path,
    required: &[&str],
    what: &str,
) -> Result<Vec<(u64, T)>, ReportError> {
    if !path.exists() {
        return Err(ReportError::MissingFile { path: path.to_path_buf(), what: what.to_string() });
    }
    let csv_err = |line: u64, e: &dyn std::fmt::Display| ReportError::Csv {
        path: path.to_path_buf(),
        line,
        message: e.to_string(),
    };
    let mut rdr =
        csv::ReaderBuilder::new().has_headers(true).trim(csv::Trim::All).from_path(path).map_err(
            |e| match e.into_kind() {
                csv::ErrorKind::Io(io) => ReportError::io(path, io),
                other => csv_err(1, &format!("{other:?}")),
            },
        )?;
    let headers = rdr.headers().map_err(|e| csv_err(1, &e))?.clone();
    for col in required {
        if !headers.iter().any(|h| h == *col) {
            return Err(csv_err(
                1,
                &format!(
                    "missing column `{col}` (header is `{}`)",
                    headers.iter().collect::<Vec<_>>().join(",")
                ),
            ));
        }
    }
    let mut rows = Vec::new();
    for rec in rdr.records() {
        let rec = rec.map_err(|e| {
            let line = e.position().map_or(0, |p| p.line());
            csv_err(line, &e)
        })?;
        let line = rec.position().map_or(0, |p| p.line());
        let row: T = rec.deserialize(Some(&headers)).map_err(|e| csv_err(line, &e))?;
        rows.push((line, row));
    }
    Ok(rows)
}

fn de_flag<'de, D: serde::Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    let s = String::deserialize(d)?;
    match s.trim() {
        "0" | "false" | "False" => Ok(false),
        "1" | "true" | "True" => Ok(true),
        other => Err(serde::de::Error::custom(format!("expected 0/1 for a flag, got {other:?}"))),
    }
}

#[derive(Deserialize)]
struct CaseCsv {
    case: usize,
    label: String,
    #[serde(default)]
    colour: String,
}

#[derive(Deserialize)]
struct FinalCsv {
    trial: u32,
    experiment: u32,
    case: usize,
    epochs_run: u32,
    #[serde(deserialize_with = "de_flag")]
    diverged: bool,
    cost: f64,
    train_acc: f64,
    test_acc: f64,
    // The contract lists wall_s here; the runner keeps wall times in timing.csv instead.
    #[serde(default)]
    wall_s: Option<f64>,
}

#[derive(Deserialize)]
struct MetricCsv {
    trial: u32,
    experiment: u32,
    case: usize,
    epoch: u32,
    metric: String,
    value: f64,
}

#[derive(Deserialize)]
struct TimingCsv {
    trial: u32,
    experiment: u32,
    case: usize,
    wall_s: f64,
}

#[derive(Deserialize)]
struct FrequencyCsv {
    trial: u32,
    criterion: String,
    case: usize,
    wins: u64,
}

impl ResultsData {
    /// Reads the results directory `dir`.
    ///
    /// # Errors
    /// A missing required file, a malformed row (named by file and line), a row naming an unknown
    /// case or trial, a duplicate cell, or an empty `final.csv`.
    pub fn load(dir: &Path) -> Result<ResultsData, ReportError> {
        let invalid = |path: &Path, line: u64, field: &'static str, value: String, reason: &str| {
            ReportError::Invalid {
                path: path.to_path_buf(),
                line,
                field,
                value,
                reason: reason.to_string(),
            }
        };

        let path = dir.join("cases.csv");
        let mut cases = BTreeMap::new();
        for (line, r) in
            read_table::<CaseCsv>(&path, &["case", "label"], "the case labels and colours")?
        {
            let colour = if r.colour.trim().is_empty() {
                // No colour given: fall back to the study's colour for that case, if it has one.
                SPEC_COLOURS
                    .get(r.case)
                    .and_then(|(_, h)| parse_colour(h))
                    .unwrap_or((0x44, 0x44, 0x44))
            } else {
                parse_colour(&r.colour).ok_or_else(|| {
                    invalid(&path, line, "colour", r.colour.clone(), "expected #rrggbb")
                })?
            };
            if cases.contains_key(&r.case) {
                return Err(invalid(&path, line, "case", r.case.to_string(), "listed twice"));
            }
            cases.insert(r.case, CaseInfo { case: r.case, label: r.label, colour });
        }
        if cases.is_empty() {
            return Err(ReportError::Empty { path, what: "no cases listed".into() });
        }

        let path = dir.join("trials.csv");
        let mut trials = BTreeMap::new();
        for (line, t) in read_table::<TrialInfo>(
            &path,
            &["trial", "learning_rate", "hidden", "experiments", "epochs", "batch"],
            "the trial settings",
        )? {
            if trials.contains_key(&t.trial) {
                return Err(invalid(&path, line, "trial", t.trial.to_string(), "listed twice"));
            }
            trials.insert(t.trial, t);
        }

        let path = dir.join("final.csv");
        let mut finals = Vec::new();
        let mut seen = HashMap::new();
        for (line, r) in read_table::<FinalCsv>(
            &path,
            &[
                "trial",
                "experiment",
                "case",
                "epochs_run",
                "diverged",
                "cost",
                "train_acc",
                "test_acc",
            ],
            "the final values of every cell (written by the runner's merge step)",
        )? {
            if !trials.contains_key(&r.trial) {
                return Err(invalid(
                    &path,
                    line,
                    "trial",
                    r.trial.to_string(),
                    "not in trials.csv",
                ));
            }
            if !cases.contains_key(&r.case) {
                return Err(invalid(&path, line, "case", r.case.to_string(), "not in cases.csv"));
            }
            if let Some(prev) = seen.insert((r.trial, r.experiment, r.case), line) {
                return Err(invalid(
                    &path,
                    line,
                    "case",
                    r.case.to_string(),
                    &format!(
                        "cell (trial {}, experiment {}) already on line {prev}",
                        r.trial, r.experiment
                    ),
                ));
            }
            finals.push(FinalRow {
                trial: r.trial,
                experiment: r.experiment,
                case: r.case,
                epochs_run: r.epochs_run,
                diverged: r.diverged,
                values: [r.cost, r.train_acc, r.test_acc],
                wall_s: r.wall_s.unwrap_or(f64::NAN),
            });
        }
        if finals.is_empty() {
            return Err(ReportError::Empty {
                path,
                what: "no cells: the run has not been merged yet".into(),
            });
        }

        let path = dir.join("metrics.csv");
        let mut series: HashMap<(u32, u32, usize), CellSeries> = HashMap::new();
        for (line, r) in read_table::<MetricCsv>(
            &path,
            &["trial", "experiment", "case", "epoch", "metric", "value"],
            "the per-epoch learning curves",
        )? {
            if r.metric == "wall_s" {
                continue;
            }
            let Some(m) = Metric::from_name(&r.metric) else {
                return Err(invalid(
                    &path,
                    line,
                    "metric",
                    r.metric,
                    "expected cost, train_acc, test_acc or wall_s",
                ));
            };
            if !seen.contains_key(&(r.trial, r.experiment, r.case)) {
                return Err(invalid(
                    &path,
                    line,
                    "case",
                    r.case.to_string(),
                    &format!(
                        "no cell (trial {}, experiment {}, case {}) in final.csv",
                        r.trial, r.experiment, r.case
                    ),
                ));
            }
            series.entry((r.trial, r.experiment, r.case)).or_default()[m.index()]
                .push((r.epoch, r.value));
        }
        for s in series.values_mut() {
            for v in s.iter_mut() {
                v.sort_by_key(|(e, _)| *e);
            }
        }

        let path = dir.join("timing.csv");
        if path.exists() {
            let mut sums: HashMap<(u32, u32, usize), f64> = HashMap::new();
            for (_, r) in read_table::<TimingCsv>(
                &path,
                &["trial", "experiment", "case", "epoch", "wall_s"],
                "per-epoch wall times",
            )? {
                *sums.entry((r.trial, r.experiment, r.case)).or_default() += r.wall_s;
            }
            for f in finals.iter_mut().filter(|f| f.wall_s.is_nan()) {
                if let Some(s) = sums.get(&(f.trial, f.experiment, f.case)) {
                    f.wall_s = *s;
                }
            }
        }

        let path = dir.join("run.json");
        let run = if path.exists() {
            let text = std::fs::read_to_string(&path).map_err(|e| ReportError::io(&path, e))?;
            Some(
                serde_json::from_str(&text)
                    .map_err(|source| ReportError::Json { path, error: source })?,
            )
        } else {
            None
        };

        let path = dir.join("config.toml");
        let config_toml = if path.exists() {
            Some(std::fs::read_to_string(&path).map_err(|e| ReportError::io(&path, e))?)
        } else {
            None
        };

        let path = dir.join("frequency.csv");
        let frequency = if path.exists() {
            let mut map = HashMap::new();
            for (line, r) in read_table::<FrequencyCsv>(
                &path,
                &["trial", "criterion", "case", "wins"],
                "win counts",
            )? {
                let m = Metric::from_criterion(&r.criterion).ok_or_else(|| {
                    invalid(
                        &path,
                        line,
                        "criterion",
                        r.criterion.clone(),
                        "expected lowest_cost, highest_train_acc or highest_test_acc",
                    )
                })?;
                map.insert((r.trial, m, r.case), r.wins);
            }
            Some(map)
        } else {
            None
        };

        Ok(ResultsData {
            dir: dir.to_path_buf(),
            cases,
            trials,
            finals,
            series,
            run,
            config_toml,
            frequency,
        })
    }
}
