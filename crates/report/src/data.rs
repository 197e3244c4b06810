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

use handprop_results::{Criterion, Table as _};
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

    fn from_name(s: &str) -> Option<Metric> {
        Metric::ALL.into_iter().find(|m| m.name() == s)
    }

    fn from_criterion(s: &str) -> Option<Metric> {
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

/// Parses `#rrggbb` or a matplotlib colour name (the results format's colour table,
/// `handprop_results::colour`).
pub fn parse_colour(s: &str) -> Option<Rgb> {
    let hex = handprop_results::colour::to_hex(s).ok()?;
    let p = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).ok();
    Some((p(1)?, p(3)?, p(5)?))
}

/// The colour of a case whose `colour` cell is empty: a neutral dark grey.
pub const NO_COLOUR: Rgb = (0x44, 0x44, 0x44);

/// Reads a CSV file with a header into typed rows, each with its 1-based line number.
/// Missing columns are reported against line 1; a bad row against its own line.
fn read_table<T: DeserializeOwned>(
    path: &Path,
    required: &[&str],
    what: &str,
) -> Result<Vec<(u64, T)>, ReportError> {
    read_table_with_header(path, required, what).map(|(_, rows)| rows)
}

/// A table's header and its rows, each with its 1-based line number.
type Table<T> = (Vec<String>, Vec<(u64, T)>);

/// [`read_table`], also returning the header.
fn read_table_with_header<T: DeserializeOwned>(
    path: &Path,
    required: &[&str],
    what: &str,
) -> Result<Table<T>, ReportError> {
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
    Ok((headers.iter().map(String::from).collect(), rows))
}

/// Columns of `cases.csv` that are not parameters.
const CASE_COLUMNS: [&str; 5] = ["case", "label", "colour", "group", "gradient"];

/// Reads `cases.csv` by header name: `case`, `label`, optional `colour`, `group` (or, when absent,
/// derived from `gradient`), and every further column as a parameter.
fn read_cases(path: &Path) -> Result<BTreeMap<usize, CaseInfo>, ReportError> {
    let invalid =
        |line: u64, field: &'static str, value: &str, reason: &str| ReportError::Invalid {
            path: path.to_path_buf(),
            line,
            field,
            value: value.to_string(),
            reason: reason.to_string(),
        };
    let (header, rows) = read_table_with_header::<HashMap<String, String>>(
        path,
        &["case", "label"],
        "the case labels, groups and colours",
    )?;
    if !header.iter().any(|h| h == "group" || h == "gradient") {
        return Err(ReportError::Csv {
            path: path.to_path_buf(),
            line: 1,
            message: format!(
                "needs a `group` (hand-made/tf1) or a `gradient` (manual/exact) column (header is `{}`)",
                header.join(",")
            ),
        });
    }
    let mut cases = BTreeMap::new();
    for (line, r) in rows {
        let get = |k: &str| r.get(k).map(|v| v.trim()).unwrap_or("");
        let case: usize = get("case")
            .parse()
            .map_err(|_| invalid(line, "case", get("case"), "expected a case number"))?;
        let colour_text = get("colour");
        let colour = if colour_text.is_empty() {
            NO_COLOUR
        } else {
            parse_colour(colour_text).ok_or_else(|| {
                invalid(line, "colour", colour_text, "expected #rrggbb or a matplotlib colour name")
            })?
        };
        let gradient = get("gradient").to_string();
        let group = match get("group") {
            "" => Group::from_gradient(&gradient).ok_or_else(|| {
                invalid(line, "gradient", &gradient, "expected manual or exact (no group column)")
            })?,
            g => Group::from_name(g)
                .ok_or_else(|| invalid(line, "group", g, "expected hand-made or tf1"))?,
        };
        let params = header
            .iter()
            .filter(|h| !CASE_COLUMNS.contains(&h.as_str()))
            .filter_map(|h| {
                let v = get(h);
                (!v.is_empty()).then(|| (h.clone(), param_text(v)))
            })
            .collect();
        if cases.contains_key(&case) {
            return Err(invalid(line, "case", &case.to_string(), "listed twice"));
        }
        let label = get("label").to_string();
        cases.insert(case, CaseInfo { case, label, colour, group, gradient, params });
    }
    if cases.is_empty() {
        return Err(ReportError::Empty {
            path: path.to_path_buf(),
            what: "no cases listed".into(),
        });
    }
    Ok(cases)
}

/// A parameter cell as shown: a float in its shortest f32 form, anything else as written.
fn param_text(v: &str) -> String {
    match v.parse::<f64>() {
        Ok(x) if v.contains(['.', 'e', 'E']) => crate::fmt::param(x),
        _ => v.to_string(),
    }
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
    epoch: u32,
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
    /// case or trial, a duplicate cell, a cell whose curve misses epochs, an empty `final.csv`, or
    /// tables that no longer match `run.json`'s manifest.
    pub fn load(dir: &Path) -> Result<ResultsData, ReportError> {
        // A directory merged by results format 2 or later carries run.json with a manifest of its
        // tables: refuse a set that no longer matches it (a table changed after the merge, a merge
        // interrupted between two renames) instead of rendering mixed results. Older directories
        // have no manifest to check.
        let run = RunInfo::load(&dir.join("run.json"))?;
        if run.as_ref().is_some_and(|r| !r.tables.is_empty()) {
            handprop_results::verify_dir(dir)?;
        }
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

/// A cell's key: (trial, experiment, case).
type CellKey = (u32, u32, usize);

/// Win counts by (trial, metric, case).
type WinCounts = HashMap<(u32, Metric, usize), u64>;

fn invalid(
    path: &Path,
    line: u64,
    field: &'static str,
    value: String,
    reason: &str,
) -> ReportError {
    ReportError::Invalid {
        path: path.to_path_buf(),
        line,
        field,
        value,
        reason: reason.to_string(),
    }
}

/// `trials.csv`, by trial.
fn read_trials(dir: &Path) -> Result<BTreeMap<u32, TrialInfo>, ReportError> {
    let path = dir.join("trials.csv");
    let mut trials = BTreeMap::new();
    for (line, t) in
        read_table::<TrialInfo>(&path, handprop_results::TrialRow::COLUMNS, "the trial settings")?
    {
        if trials.contains_key(&t.trial) {
            return Err(invalid(&path, line, "trial", t.trial.to_string(), "listed twice"));
        }
        trials.insert(t.trial, t);
    }

    Ok(trials)
}

/// `final.csv`: every cell's final row, and the line each cell is on.
fn read_finals(
    dir: &Path,
    trials: &BTreeMap<u32, TrialInfo>,
    cases: &BTreeMap<usize, CaseInfo>,
) -> Result<(Vec<FinalRow>, HashMap<CellKey, u64>), ReportError> {
    let path = dir.join("final.csv");
    let mut finals = Vec::new();
    let mut seen = HashMap::new();
    for (line, r) in read_table::<FinalCsv>(
        &path,
        &["trial", "experiment", "case", "epochs_run", "diverged", "cost", "train_acc", "test_acc"],
        "the final values of every cell (written by the runner's merge step)",
    )? {
        if !trials.contains_key(&r.trial) {
            return Err(invalid(&path, line, "trial", r.trial.to_string(), "not in trials.csv"));
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

    Ok((finals, seen))
}

/// `metrics.csv`: every cell's curves, each complete (epochs `0..epochs_run`).
fn read_series(
    dir: &Path,
    seen: &HashMap<CellKey, u64>,
    finals: &[FinalRow],
) -> Result<HashMap<CellKey, CellSeries>, ReportError> {
    let path = dir.join("metrics.csv");
    let mut series: HashMap<(u32, u32, usize), CellSeries> = HashMap::new();
    for (line, r) in read_table::<MetricCsv>(
        &path,
        handprop_results::MetricRow::COLUMNS,
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
    // Every cell the report plots needs its whole curve: epochs 0..epochs_run of each metric.
    for f in finals {
        let curve = series.get(&(f.trial, f.experiment, f.case));
        for m in Metric::ALL {
            let epochs: Vec<u32> =
                curve.map(|c| c[m.index()].iter().map(|(e, _)| *e).collect()).unwrap_or_default();
            if epochs.len() != f.epochs_run as usize
                || epochs.iter().enumerate().any(|(i, e)| *e != i as u32)
            {
                return Err(ReportError::Empty {
                    path: path.clone(),
                    what: format!(
                        "the {} curve of cell (trial {}, experiment {}, case {}) has {} of its {} epochs",
                        m.name(),
                        f.trial,
                        f.experiment,
                        f.case,
                        epochs.len(),
                        f.epochs_run
                    ),
                });
            }
        }
    }

    Ok(series)
}

/// `timing.csv` (optional): per-epoch wall times by cell; fills in `finals`' missing wall times.
fn read_timing(
    dir: &Path,
    finals: &mut [FinalRow],
) -> Result<HashMap<CellKey, Vec<(u32, f64)>>, ReportError> {
    let path = dir.join("timing.csv");
    let mut epoch_wall: HashMap<(u32, u32, usize), Vec<(u32, f64)>> = HashMap::new();
    if path.exists() {
        let mut sums: HashMap<(u32, u32, usize), f64> = HashMap::new();
        for (line, r) in read_table::<TimingCsv>(
            &path,
            handprop_results::TimingRow::COLUMNS,
            "per-epoch wall times",
        )? {
            if !(r.wall_s.is_finite() && r.wall_s >= 0.0) {
                return Err(invalid(
                    &path,
                    line,
                    "wall_s",
                    r.wall_s.to_string(),
                    "expected a finite, non-negative number of seconds",
                ));
            }
            *sums.entry((r.trial, r.experiment, r.case)).or_default() += r.wall_s;
            epoch_wall
                .entry((r.trial, r.experiment, r.case))
                .or_default()
                .push((r.epoch, r.wall_s));
        }
        for v in epoch_wall.values_mut() {
            v.sort_by_key(|(e, _)| *e);
        }
        for f in finals.iter_mut().filter(|f| f.wall_s.is_nan()) {
            if let Some(s) = sums.get(&(f.trial, f.experiment, f.case)) {
                f.wall_s = *s;
            }
        }
    }

    Ok(epoch_wall)
}

/// `config.toml` (optional): its text, parsed table, or the parse error to show.
/// What [`read_config`] found: the text, the parsed table, the parse error.
type ConfigParts = (Option<String>, Option<toml::Table>, Option<String>);

fn read_config(dir: &Path) -> Result<ConfigParts, ReportError> {
    let path = dir.join("config.toml");
    let config_toml = if path.exists() {
        Some(std::fs::read_to_string(&path).map_err(|e| ReportError::io(&path, e))?)
    } else {
        None
    };
    let (config, config_error) = match config_toml.as_deref().map(str::parse::<toml::Table>) {
        None => (None, None),
        Some(Ok(t)) => (Some(t), None),
        Some(Err(e)) => (None, Some(format!("{}: {}", path.display(), e.message().trim_end()))),
    };

    Ok((config_toml, config, config_error))
}

/// `frequency.csv` (optional): win counts by (trial, metric, case).
fn read_frequency(dir: &Path) -> Result<Option<WinCounts>, ReportError> {
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

    Ok(frequency)
}
