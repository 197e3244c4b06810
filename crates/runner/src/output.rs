//! Result files: one CSV per cell (written atomically), and the merged tables.
//!
//! Layout under the output directory (`results/<config name>/` by default):
//!
//! | file | contents |
//! |---|---|
//! | `config.toml` | the resolved config, loadable again |
//! | `run.json` | handprop version, config name and hash, cells, epochs, wall and CPU seconds |
//! | `cells/<hash>/t1-e03-c05.csv` | one cell: `epoch,cost,train_acc,test_acc,wall_s,diverged` |
//! | `trials.csv` | `trial,learning_rate,hidden,experiments,epochs,batch` |
//! | `cases.csv` | `case,label,colour,gradient,routing,rule` |
//! | `metrics.csv` | long: `trial,experiment,case,epoch,metric,value` (cost, train_acc, test_acc) |
//! | `final.csv` | final epoch per cell: `trial,experiment,case,label,epochs_run,diverged,cost,train_acc,test_acc` |
//! | `timing.csv` | `trial,experiment,case,epoch,wall_s` |
//! | `winners.csv` | `trial,experiment,criterion,case,label,value` |
//! | `frequency.csv` | `trial,criterion,case,label,wins,experiments,share` |
//!
//! A cell file exists only once the cell is complete (temp file + rename), so a crash loses at most
//! the cells in flight. Cells live under the hash of the resolved config, so results of another
//! config are never mixed in. Wall times live only in `timing.csv` and `run.json`: every other
//! table is bit-identical whatever the thread count, order or sharding.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::cells::{all_cells, Cell};
use crate::config::Config;

/// An error reading or writing result files; names the file.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    /// A file could not be read or written.
    #[error("{path}: {error}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause (shown in the message, so deliberately not exposed as `source()` too: error
        /// reporters that print the chain would repeat it).
        error: std::io::Error,
    },
    /// A result file is malformed.
    #[error("{path}: {message}")]
    Malformed {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// Cells are missing, so the tables cannot be merged.
    #[error("{missing} of {total} cells have no result yet in {dir} (first: {first}); run the missing shards, then merge again")]
    Incomplete {
        /// The cells directory.
        dir: PathBuf,
        /// Missing cells.
        missing: usize,
        /// All cells.
        total: usize,
        /// The first missing cell.
        first: String,
    },
    /// The directory holds results of another resolved config.
    #[error("{path} belongs to another config (hash {found}, this config is {expected}); use another --out or --force")]
    OtherConfig {
        /// The `config.toml` found.
        path: PathBuf,
        /// Its hash.
        found: String,
        /// This config's hash.
        expected: String,
    },
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> OutputError + '_ {
    move |error| OutputError::Io { path: path.to_owned(), error }
}

/// Writes `bytes` to `path` atomically: a temp file in the same directory, flushed, then renamed.
/// A reader (or a resumed run) sees either the old file, or the complete new one.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), OutputError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(dir).map_err(io_err(dir))?;
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let result = (|| {
        let mut f = fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result.map_err(io_err(path))
}

/// One epoch of one cell.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct EpochRow {
    /// Epoch t, from 0.
    pub epoch: usize,
    /// Sum of the epoch's batch costs / number of training images.
    pub cost: f64,
    /// Argmax accuracy on the whole training split after the epoch.
    pub train_acc: f64,
    /// Argmax accuracy on the test split after the epoch.
    pub test_acc: f64,
    /// Wall seconds of the epoch, evaluation included.
    pub wall_s: f64,
    /// 1 when the cost or the weights became NaN or infinite in this epoch (the cell stops).
    pub diverged: u8,
}

/// The rows of a complete cell.
#[derive(Debug, Clone, PartialEq)]
pub struct CellResult {
    /// Which cell.
    pub cell: Cell,
    /// One row per epoch run.
    pub rows: Vec<EpochRow>,
}

impl CellResult {
    /// Whether the cell diverged.
    pub fn diverged(&self) -> bool {
        self.rows.last().is_some_and(|r| r.diverged != 0)
    }
}

/// Where a run's files go.
#[derive(Debug, Clone)]
pub struct OutDir {
    /// The output directory.
    pub root: PathBuf,
    /// The config hash, naming the cells subdirectory.
    pub hash: String,
}

impl OutDir {
    /// The output directory of `config` under `root`.
    pub fn new(root: PathBuf, config: &Config) -> Self {
        OutDir { root, hash: config.hash() }
    }

    /// The directory holding this config's cell files.
    pub fn cells_dir(&self) -> PathBuf {
        self.root.join("cells").join(&self.hash)
    }

    /// A cell's result file.
    pub fn cell_path(&self, cell: &Cell) -> PathBuf {
        self.cells_dir().join(format!("{}.csv", cell.id()))
    }

    /// Writes `config.toml`, or checks that the one there is the same resolved config.
    pub fn claim(&self, config: &Config, force: bool) -> Result<(), OutputError> {
        let path = self.root.join("config.toml");
        if !force && path.exists() {
            let text = fs::read_to_string(&path).map_err(io_err(&path))?;
            let found = toml::from_str::<Config>(&text)
                .map(|c| c.hash())
                .unwrap_or_else(|_| "unreadable".into());
            if found != self.hash {
                return Err(OutputError::OtherConfig { path, found, expected: self.hash.clone() });
            }
            return Ok(());
        }
        write_atomic(&path, config.to_toml().as_bytes())
    }

    /// Writes a completed cell.
    pub fn write_cell(&self, result: &CellResult) -> Result<(), OutputError> {
        let mut w = csv::Writer::from_writer(Vec::new());
        for row in &result.rows {
            w.serialize(row).expect("serialising plain numbers to memory cannot fail");
        }
        let bytes = w.into_inner().expect("flushing to memory cannot fail");
        write_atomic(&self.cell_path(&result.cell), &bytes)
    }

    /// Reads a cell's file; `Ok(None)` when it does not exist yet.
    pub fn read_cell(&self, cell: &Cell) -> Result<Option<CellResult>, OutputError> {
        let path = self.cell_path(cell);
        if !path.exists() {
            return Ok(None);
        }
        let mut r = csv::Reader::from_path(&path)
            .map_err(|e| OutputError::Malformed { path: path.clone(), message: e.to_string() })?;
        let rows = r
            .deserialize()
            .collect::<Result<Vec<EpochRow>, _>>()
            .map_err(|e| OutputError::Malformed { path: path.clone(), message: e.to_string() })?;
        if rows.is_empty() {
            return Err(OutputError::Malformed { path, message: "no epochs".into() });
        }
        Ok(Some(CellResult { cell: *cell, rows }))
    }

    /// Whether a cell's result exists.
    pub fn has_cell(&self, cell: &Cell) -> bool {
        self.cell_path(cell).exists()
    }
}

/// A criterion that picks an experiment's winner from the cells' final-epoch values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Criterion {
    /// Lowest cost.
    LowestCost,
    /// Highest train accuracy.
    HighestTrainAcc,
    /// Highest test accuracy.
    HighestTestAcc,
}

impl Criterion {
    /// All three, in the study's order.
    pub const ALL: [Criterion; 3] =
        [Criterion::LowestCost, Criterion::HighestTrainAcc, Criterion::HighestTestAcc];

    /// The name used in the tables.
    pub fn name(self) -> &'static str {
        match self {
            Criterion::LowestCost => "lowest_cost",
            Criterion::HighestTrainAcc => "highest_train_acc",
            Criterion::HighestTestAcc => "highest_test_acc",
        }
    }

    fn value(self, row: &EpochRow) -> f64 {
        match self {
            Criterion::LowestCost => row.cost,
            Criterion::HighestTrainAcc => row.train_acc,
            Criterion::HighestTestAcc => row.test_acc,
        }
    }

    fn better(self, a: f64, b: f64) -> bool {
        match self {
            Criterion::LowestCost => a < b,
            _ => a > b,
        }
    }
}

/// The winning case of one experiment under `criterion`, with its value: the best final-epoch
/// value among cells that did not diverge; ties go to the lowest case number (cells are given in
/// case order); `None` when every cell diverged.
pub fn winner(cells: &[&CellResult], criterion: Criterion) -> Option<(usize, f64)> {
    let mut best: Option<(usize, f64)> = None;
    for c in cells {
        if c.diverged() {
            continue;
        }
        let Some(last) = c.rows.last() else { continue };
        let v = criterion.value(last);
        if !v.is_finite() {
            continue;
        }
        match best {
            Some((_, b)) if !criterion.better(v, b) => {}
            _ => best = Some((c.cell.case, v)),
        }
    }
    best
}

/// Reads every cell of `config`; errors if any is missing.
pub fn read_all(out: &OutDir, config: &Config) -> Result<Vec<CellResult>, OutputError> {
    let cells = all_cells(config);
    let missing: Vec<&Cell> = cells.iter().filter(|c| !out.has_cell(c)).collect();
    if let Some(first) = missing.first() {
        return Err(OutputError::Incomplete {
            dir: out.cells_dir(),
            missing: missing.len(),
            total: cells.len(),
            first: first.id(),
        });
    }
    cells
        .iter()
        .map(|c| out.read_cell(c).map(|r| r.expect("checked above that the file exists")))
        .collect()
}

fn table(header: &[&str]) -> csv::Writer<Vec<u8>> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(header).expect("writing to memory cannot fail");
    w
}

fn finish(root: &Path, name: &str, w: csv::Writer<Vec<u8>>) -> Result<(), OutputError> {
    let bytes = w.into_inner().expect("flushing to memory cannot fail");
    write_atomic(&root.join(name), &bytes)
}

/// Formats a float the same way everywhere (shortest round-trip form).
fn num(v: f64) -> String {
    format!("{v}")
}

/// What [`merge`] found while writing the tables.
#[derive(Debug, Clone)]
pub struct Merged {
    /// The frequency table, for printing.
    pub frequency: Vec<FrequencyRow>,
    /// The sum of every cell's epoch wall times: the run's compute, whatever the sharding.
    pub cell_seconds: f64,
}

/// Writes the merged tables (everything but `config.toml`, `run.json` and `cells/`) from the
/// complete set of cells.
pub fn merge(out: &OutDir, config: &Config) -> Result<Merged, OutputError> {
    let results = read_all(out, config)?;
    let root = &out.root;

    let mut w = table(&["trial", "learning_rate", "hidden", "experiments", "epochs", "batch"]);
    for (i, t) in config.trials.iter().enumerate() {
        w.write_record([
            (i + 1).to_string(),
            num(t.learning_rate),
            t.hidden.to_string(),
            t.experiments.to_string(),
            config.training.epochs.to_string(),
            config.training.batch.to_string(),
        ])
        .expect("in memory");
    }
    finish(root, "trials.csv", w)?;

    let mut w = table(&["case", "label", "colour", "gradient", "routing", "rule"]);
    for (i, c) in config.cases.iter().enumerate() {
        let routing = serde_json::to_string(&c.routing).unwrap_or_default();
        let mut rule = c.update.get("rule").and_then(|v| v.as_str()).unwrap_or("?").to_string();
        if let Some(noise) = &c.noise {
            rule =
                format!("{} + noise({})", rule, serde_json::to_string(noise).unwrap_or_default());
        }
        let gradient = serde_json::to_value(c.gradient)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        w.write_record([
            i.to_string(),
            c.label.clone(),
            crate::colour::to_hex(&c.colour).unwrap_or_default(),
            gradient,
            routing,
            rule,
        ])
        .expect("in memory");
    }
    finish(root, "cases.csv", w)?;

    let mut cell_seconds = 0.0;
    let mut metrics = table(&["trial", "experiment", "case", "epoch", "metric", "value"]);
    let mut timing = table(&["trial", "experiment", "case", "epoch", "wall_s"]);
    let mut fin = table(&[
        "trial",
        "experiment",
        "case",
        "label",
        "epochs_run",
        "diverged",
        "cost",
        "train_acc",
        "test_acc",
    ]);
    for r in &results {
        let c = r.cell;
        let key = [c.trial.to_string(), c.experiment.to_string(), c.case.to_string()];
        for row in &r.rows {
            for (metric, v) in
                [("cost", row.cost), ("train_acc", row.train_acc), ("test_acc", row.test_acc)]
            {
                metrics
                    .write_record(key.iter().cloned().chain([
                        row.epoch.to_string(),
                        metric.into(),
                        num(v),
                    ]))
                    .expect("in memory");
            }
            cell_seconds += row.wall_s;
            timing
                .write_record(key.iter().cloned().chain([row.epoch.to_string(), num(row.wall_s)]))
                .expect("in memory");
        }
        let last = r.rows.last().expect("read_cell rejects empty cells");
        fin.write_record(key.iter().cloned().chain([
            config.cases[c.case].label.clone(),
            r.rows.len().to_string(),
            (r.diverged() as u8).to_string(),
            num(last.cost),
            num(last.train_acc),
            num(last.test_acc),
        ]))
        .expect("in memory");
    }
    finish(root, "metrics.csv", metrics)?;
    finish(root, "timing.csv", timing)?;
    finish(root, "final.csv", fin)?;

    // Winners per experiment, then win frequencies per trial.
    let mut by_exp: BTreeMap<(usize, usize), Vec<&CellResult>> = BTreeMap::new();
    for r in &results {
        by_exp.entry((r.cell.trial, r.cell.experiment)).or_default().push(r);
    }
    let mut wins: BTreeMap<(usize, &str, usize), usize> = BTreeMap::new();
    let mut w = table(&["trial", "experiment", "criterion", "case", "label", "value"]);
    for ((trial, experiment), cells) in &by_exp {
        for crit in Criterion::ALL {
            if let Some((case, value)) = winner(cells, crit) {
                *wins.entry((*trial, crit.name(), case)).or_default() += 1;
                w.write_record([
                    trial.to_string(),
                    experiment.to_string(),
                    crit.name().to_string(),
                    case.to_string(),
                    config.cases[case].label.clone(),
                    num(value),
                ])
                .expect("in memory");
            }
        }
    }
    finish(root, "winners.csv", w)?;

    let mut freq = Vec::new();
    let mut w = table(&["trial", "criterion", "case", "label", "wins", "experiments", "share"]);
    for (t, trial) in config.trials.iter().enumerate() {
        for crit in Criterion::ALL {
            for (case, spec) in config.cases.iter().enumerate() {
                let n = wins.get(&(t + 1, crit.name(), case)).copied().unwrap_or(0);
                let row = FrequencyRow {
                    trial: t + 1,
                    criterion: crit,
                    case,
                    label: spec.label.clone(),
                    wins: n,
                    experiments: trial.experiments,
                };
                w.write_record([
                    row.trial.to_string(),
                    crit.name().to_string(),
                    case.to_string(),
                    row.label.clone(),
                    n.to_string(),
                    trial.experiments.to_string(),
                    num(row.share()),
                ])
                .expect("in memory");
                freq.push(row);
            }
        }
    }
    finish(root, "frequency.csv", w)?;
    Ok(Merged { frequency: freq, cell_seconds })
}

/// One row of `frequency.csv`.
#[derive(Debug, Clone, PartialEq)]
pub struct FrequencyRow {
    /// Trial, from 1.
    pub trial: usize,
    /// The criterion.
    pub criterion: Criterion,
    /// Case.
    pub case: usize,
    /// Its label.
    pub label: String,
    /// Experiments it won.
    pub wins: usize,
    /// Experiments in the trial.
    pub experiments: usize,
}

impl FrequencyRow {
    /// wins / experiments.
    pub fn share(&self) -> f64 {
        self.wins as f64 / self.experiments as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cell(case: usize, cost: f64, train: f64, test: f64, diverged: bool) -> CellResult {
        CellResult {
            cell: Cell { trial: 1, experiment: 0, case },
            rows: vec![
                EpochRow {
                    epoch: 0,
                    cost: 9.0,
                    train_acc: 0.1,
                    test_acc: 0.1,
                    wall_s: 1.0,
                    diverged: 0,
                },
                EpochRow {
                    epoch: 1,
                    cost,
                    train_acc: train,
                    test_acc: test,
                    wall_s: 1.0,
                    diverged: diverged as u8,
                },
            ],
        }
    }

    #[test]
    fn ties_go_to_the_lowest_case() {
        let cells = [
            cell(0, 0.5, 0.8, 0.7, false),
            cell(1, 0.4, 0.9, 0.7, false),
            cell(2, 0.4, 0.9, 0.9, false),
        ];
        let refs: Vec<&CellResult> = cells.iter().collect();
        assert_eq!(winner(&refs, Criterion::LowestCost), Some((1, 0.4)));
        assert_eq!(winner(&refs, Criterion::HighestTrainAcc), Some((1, 0.9)));
        assert_eq!(winner(&refs, Criterion::HighestTestAcc), Some((2, 0.9)));
    }

    #[test]
    fn diverged_and_nan_cells_never_win() {
        let cells = [
            cell(0, f64::NAN, f64::NAN, f64::NAN, true),
            cell(1, 0.0, 1.0, 1.0, true),
            cell(2, 0.6, f64::NAN, 0.5, false),
            cell(3, 0.7, 0.5, 0.4, false),
        ];
        let refs: Vec<&CellResult> = cells.iter().collect();
        assert_eq!(winner(&refs, Criterion::LowestCost), Some((2, 0.6)));
        assert_eq!(winner(&refs, Criterion::HighestTrainAcc), Some((3, 0.5)));
        assert_eq!(winner(&refs, Criterion::HighestTestAcc), Some((2, 0.5)));
        assert_eq!(winner(&refs[..2], Criterion::LowestCost), None);
    }

    #[test]
    fn atomic_write_replaces_whole_files_and_leaves_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/a.csv");
        write_atomic(&path, b"one").unwrap();
        write_atomic(&path, b"two").unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "two");
        let names: Vec<_> =
            fs::read_dir(dir.path().join("sub")).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names, vec![std::ffi::OsString::from("a.csv")]);
    }
}
