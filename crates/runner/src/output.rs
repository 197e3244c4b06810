//! The runner's side of the results format (`handprop-results` defines it): claiming a results
//! directory, writing cells, and merging them into the tables.
//!
//! Concurrency and crashes:
//! - every run holds a **shared** lock on the directory (the shards of one config run side by side);
//!   `--force` needs it **exclusively** and refuses while any other run is in the directory;
//! - `config.toml` is claimed under a short exclusive lock, so two runs with different configs can
//!   never both proceed (the second sees the first's `config.toml` and refuses, naming the part of
//!   the config that differs);
//! - a shard is locked by the process running it, so the same shard never runs twice at once;
//! - cells are written atomically and validated when read: a damaged cell is moved to `damaged/`
//!   and recomputed;
//! - a merge stages every table and `run.json` first (a full disk fails before anything visible
//!   changes), then renames them in, `run.json` last: its manifest of checksums lets readers detect
//!   a merge interrupted between two renames.

use std::collections::BTreeMap;
use std::fs;
use std::path::PathBuf;
use std::time::Duration;

use handprop_results::{
    clean_stale_temps, colour, sha256_hex, winner, write_atomic, write_table, CaseRow, CasesTable,
    Criterion, DirLock, FinalRow, FinalValues, FrequencyRow, Invocation, LockKind, MetricRow,
    ResultsDir, ResultsError, RunInfo, Staging, TimingRow, TrialRow, WinnerRow, TABLES,
};

use crate::cells::{all_cells, Cell};
use crate::config::Config;
pub use handprop_results::EpochRow;

/// The environment variable that simulates a full disk during a merge, for tests:
/// `HANDPROP_FAULT_MERGE=N` makes a merge fail after staging `N` tables.
pub const MERGE_FAULT_ENV: &str = "HANDPROP_FAULT_MERGE";

/// Temp files older than this are the litter of a killed writer (a live write takes milliseconds).
const STALE_TEMP_AGE: Duration = Duration::from_secs(600);

/// An error reading or writing result files; names the file.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    /// A results file could not be read, written or trusted.
    #[error(transparent)]
    Results(#[from] ResultsError),
    /// Cells are missing (or were damaged and moved aside), so the tables cannot be merged.
    #[error("{missing} of {total} cells have no result yet in {dir} (first: {first}){damaged}; run the missing cells or shards (re-run the same command), then merge again")]
    Incomplete {
        /// The cells directory.
        dir: PathBuf,
        /// Missing cells.
        missing: usize,
        /// All cells.
        total: usize,
        /// The first missing cell.
        first: String,
        /// A note on damaged cells moved aside, or empty.
        damaged: String,
    },
    /// The directory holds results of another resolved config.
    #[error("{path} belongs to another config (hash {found}, this config is {expected}; {what}); use another --out, or --force to discard those results")]
    OtherConfig {
        /// The `config.toml` found.
        path: PathBuf,
        /// Its hash.
        found: String,
        /// This config's hash.
        expected: String,
        /// Which parts differ.
        what: String,
    },
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

    /// The final values as the winner rule sees them.
    pub fn final_values(&self) -> Option<FinalValues> {
        let last = self.rows.last()?;
        Some(FinalValues {
            case: self.cell.case,
            diverged: self.diverged(),
            cost: last.cost,
            train_acc: last.train_acc,
            test_acc: last.test_acc,
        })
    }
}

/// A claimed results directory: the locks of this invocation and the config's cell directory.
#[derive(Debug)]
pub struct OutDir {
    /// The directory and the config hash.
    pub dir: ResultsDir,
    epochs: usize,
    _run_lock: Option<DirLock>,
    _shard_lock: Option<DirLock>,
}

impl OutDir {
    /// Claims `root` for `config`: takes the run lock (exclusive with `force`), removes the merged
    /// tables of a forced run before anything else, writes `config.toml` or checks the one there,
    /// locks `shard` (`(index, count)`) if given, and removes temp-file litter of killed writers.
    pub fn claim(
        root: PathBuf,
        config: &Config,
        force: bool,
        shard: Option<(usize, usize)>,
    ) -> Result<OutDir, OutputError> {
        let dir = ResultsDir::new(root, config.hash());
        fs::create_dir_all(&dir.root).map_err(ResultsError::io(&dir.root))?;
        let kind = if force { LockKind::Exclusive } else { LockKind::Shared };
        let holder = if force {
            format!(
                "another handprop run is using {}, and --force needs it alone",
                dir.root.display()
            )
        } else {
            format!("a --force run is rewriting {}", dir.root.display())
        };
        let run_lock = DirLock::try_acquire(&dir.lock_path(), kind, &holder)?;
        {
            let _claim = DirLock::acquire(&dir.root.join(".claim.lock"), LockKind::Exclusive)?;
            if force {
                for name in TABLES.iter().copied().chain([ResultsDir::RUN_JSON]) {
                    remove_if_exists(&dir.table_path(name))?;
                }
            }
            claim_config(&dir, config, force)?;
        }
        let shard_lock = match shard {
            Some((index, count)) => Some(DirLock::try_acquire(
                &dir.shard_lock_path(index, count),
                LockKind::Exclusive,
                &format!(
                    "another process is running shard {index}/{count} into {}",
                    dir.root.display()
                ),
            )?),
            None => None,
        };
        for d in [dir.root.clone(), dir.cells_dir()] {
            for p in clean_stale_temps(&d, STALE_TEMP_AGE) {
                eprintln!("removed {} (left by a killed writer)", p.display());
            }
        }
        Ok(OutDir {
            dir,
            epochs: config.training.epochs,
            _run_lock: Some(run_lock),
            _shard_lock: shard_lock,
        })
    }

    /// Writes a completed cell.
    pub fn write_cell(&self, result: &CellResult) -> Result<(), OutputError> {
        Ok(self.dir.write_cell(&result.cell, &result.rows, self.epochs)?)
    }

    /// Whether a valid result exists for `cell`. A damaged file is moved to `damaged/` with a
    /// warning (and so counts as missing: the cell is recomputed).
    pub fn has_valid_cell(&self, cell: &Cell) -> Result<bool, OutputError> {
        Ok(self.read_valid(cell)?.is_some())
    }

    fn read_valid(&self, cell: &Cell) -> Result<Option<Vec<EpochRow>>, OutputError> {
        match self.dir.read_cell(cell, self.epochs) {
            Ok(rows) => Ok(rows),
            Err(ResultsError::Malformed { message, .. }) => {
                let to = self.dir.quarantine(cell)?;
                eprintln!(
                    "warning: cell {cell} was damaged ({message}); moved to {} and it will be recomputed",
                    to.display()
                );
                Ok(None)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Adds `invocation` to `run.json`'s history (creating a provisional `run.json`, without a table
    /// manifest, when nothing was merged yet).
    pub fn record(&self, config: &Config, invocation: Invocation) -> Result<(), OutputError> {
        let _merge = DirLock::acquire(&self.dir.merge_lock_path(), LockKind::Exclusive)?;
        let path = self.dir.run_json_path();
        let mut info = match RunInfo::load(&path)? {
            Some(info) if info.config_hash == self.dir.hash => info,
            _ => new_run_info(config, 0),
        };
        info.invocations.push(invocation);
        write_atomic(&path, info.to_json().as_bytes())?;
        Ok(())
    }
}

fn remove_if_exists(path: &std::path::Path) -> Result<(), ResultsError> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(ResultsError::Io { path: path.to_owned(), error: e })
        }
        _ => Ok(()),
    }
}

fn new_run_info(config: &Config, cells_done: usize) -> RunInfo {
    RunInfo {
        results_version: handprop_results::RESULTS_VERSION,
        handprop_version: env!("CARGO_PKG_VERSION").to_string(),
        config_name: config.name.clone(),
        config_hash: config.hash(),
        cells_total: config.cell_count(),
        cells_done,
        epochs: config.training.epochs,
        cell_seconds: 0.0,
        kernel: crate::kernel_info(),
        invocations: Vec::new(),
        tables: BTreeMap::new(),
    }
}

/// Writes `config.toml`, or checks the one there: another hash is refused (naming what differs);
/// the same hash with other labels or colours is rewritten (they do not change results).
fn claim_config(dir: &ResultsDir, config: &Config, force: bool) -> Result<(), OutputError> {
    let path = dir.config_path();
    let text = config.to_toml();
    if !force {
        match fs::read_to_string(&path) {
            Ok(found) if found == text => return Ok(()),
            Ok(found) => {
                if let Ok(other) = Config::from_toml(&found, config.registry()) {
                    if other.hash() != dir.hash {
                        return Err(OutputError::OtherConfig {
                            found: other.hash(),
                            expected: dir.hash.clone(),
                            what: config.differences(&other).join(", "),
                            path,
                        });
                    }
                } else {
                    return Err(OutputError::OtherConfig {
                        path,
                        found: "unreadable".into(),
                        expected: dir.hash.clone(),
                        what: "it does not parse as a config".into(),
                    });
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(ResultsError::Io { path, error: e }.into()),
        }
    }
    write_atomic(&path, text.as_bytes())?;
    Ok(())
}

/// Reads every cell of `config`; errors if any is missing or damaged (damaged ones are moved aside).
pub fn read_all(out: &OutDir, config: &Config) -> Result<Vec<CellResult>, OutputError> {
    let cells = all_cells(config);
    let mut results = Vec::with_capacity(cells.len());
    let mut missing = Vec::new();
    let mut damaged = 0;
    for cell in &cells {
        let existed = out.dir.has_cell(cell);
        match out.read_valid(cell)? {
            Some(rows) => results.push(CellResult { cell: *cell, rows }),
            None => {
                damaged += existed as usize;
                missing.push(*cell);
            }
        }
    }
    if let Some(first) = missing.first() {
        return Err(OutputError::Incomplete {
            dir: out.dir.cells_dir(),
            missing: missing.len(),
            total: cells.len(),
            first: first.id(),
            damaged: if damaged > 0 {
                format!(
                    ", {damaged} of them damaged and moved to {}",
                    out.dir.damaged_dir().display()
                )
            } else {
                String::new()
            },
        });
    }
    Ok(results)
}

/// What [`merge`] found while writing the tables.
#[derive(Debug, Clone)]
pub struct Merged {
    /// The frequency table, for printing.
    pub frequency: Vec<FrequencyRow>,
    /// The sum of every cell's epoch wall times: the run's compute, whatever the sharding.
    pub cell_seconds: f64,
}

/// Writes the merged tables and `run.json` (with `invocation` added to its history) from the
/// complete set of cells: staged, then renamed in, `run.json` last.
pub fn merge(out: &OutDir, config: &Config, invocation: Invocation) -> Result<Merged, OutputError> {
    let _merge = DirLock::acquire(&out.dir.merge_lock_path(), LockKind::Exclusive)?;
    let results = read_all(out, config)?;
    let tables = build_tables(config, &results);

    let mut staging = Staging::new(&out.dir.root)?;
    let mut manifest = BTreeMap::new();
    let fault = std::env::var(MERGE_FAULT_ENV).ok().and_then(|v| v.trim().parse::<usize>().ok());
    for (i, (name, bytes)) in tables.files.iter().enumerate() {
        if fault == Some(i) {
            let path = staging_fault_path(&out.dir, name);
            let error = std::io::Error::new(
                std::io::ErrorKind::StorageFull,
                "no space left on device (simulated)",
            );
            return Err(ResultsError::Io { path, error }.into());
        }
        staging.write(name, bytes)?;
        manifest.insert(name.to_string(), sha256_hex(bytes));
    }
    let config_path = out.dir.config_path();
    let config_bytes = fs::read(&config_path).map_err(ResultsError::io(&config_path))?;
    manifest.insert(ResultsDir::CONFIG.to_string(), sha256_hex(&config_bytes));

    let n = config.cell_count();
    let mut info = match RunInfo::load(&out.dir.run_json_path())? {
        Some(old) if old.config_hash == out.dir.hash => {
            RunInfo { invocations: old.invocations, ..new_run_info(config, n) }
        }
        _ => new_run_info(config, n),
    };
    info.cells_done = n;
    info.cell_seconds = tables.cell_seconds;
    info.invocations.push(invocation);
    info.tables = manifest;
    staging.write(ResultsDir::RUN_JSON, info.to_json().as_bytes())?;
    staging.commit(ResultsDir::RUN_JSON)?;
    Ok(Merged { frequency: tables.frequency, cell_seconds: tables.cell_seconds })
}

fn staging_fault_path(dir: &ResultsDir, name: &str) -> PathBuf {
    dir.root.join(".staging").join(name)
}

struct Tables {
    files: Vec<(&'static str, Vec<u8>)>,
    frequency: Vec<FrequencyRow>,
    cell_seconds: f64,
}

fn build_tables(config: &Config, results: &[CellResult]) -> Tables {
    let (metrics, timing, finals, cell_seconds) = cell_tables(config, results);
    let (winners, frequency) = winner_tables(config, results);
    Tables {
        files: vec![
            ("trials.csv", write_table(&trial_rows(config))),
            (CasesTable::FILE, case_table(config).to_csv()),
            ("metrics.csv", write_table(&metrics)),
            ("timing.csv", write_table(&timing)),
            ("final.csv", write_table(&finals)),
            ("winners.csv", write_table(&winners)),
            ("frequency.csv", write_table(&frequency)),
        ],
        frequency,
        cell_seconds,
    }
}

fn trial_rows(config: &Config) -> Vec<TrialRow> {
    config
        .trials
        .iter()
        .enumerate()
        .map(|(i, t)| TrialRow {
            trial: i + 1,
            learning_rate: t.learning_rate,
            hidden: t.hidden,
            experiments: t.experiments,
            epochs: config.training.epochs,
            batch: config.training.batch,
        })
        .collect()
}

fn case_table(config: &Config) -> CasesTable {
    let mut cases = CasesTable::default();
    for (i, c) in config.cases.iter().enumerate() {
        let row = CaseRow {
            case: i,
            label: c.label.clone(),
            group: c.gradient_group().to_string(),
            gradient: c.gradient_name(),
            colour: colour::to_hex(&c.colour).unwrap_or_default(),
            routing: c.routing_name(),
            rule: c.rule_name(),
        };
        cases.push(&row, c.flat_params(&config.trials));
    }

    cases
}

/// `metrics.csv`, `timing.csv` and `final.csv` rows, and the cells' summed epoch times.
fn cell_tables(
    config: &Config,
    results: &[CellResult],
) -> (Vec<MetricRow>, Vec<TimingRow>, Vec<FinalRow>, f64) {
    let mut cell_seconds = 0.0;
    let mut metrics = Vec::new();
    let mut timing = Vec::new();
    let mut finals = Vec::new();
    for r in results {
        let c = r.cell;
        for row in &r.rows {
            for (metric, value) in
                [("cost", row.cost), ("train_acc", row.train_acc), ("test_acc", row.test_acc)]
            {
                metrics.push(MetricRow {
                    trial: c.trial,
                    experiment: c.experiment,
                    case: c.case,
                    epoch: row.epoch,
                    metric: metric.into(),
                    value,
                });
            }
            cell_seconds += row.wall_s;
            timing.push(TimingRow {
                trial: c.trial,
                experiment: c.experiment,
                case: c.case,
                epoch: row.epoch,
                wall_s: row.wall_s,
            });
        }
        let last = r.rows.last().expect("validated cells have rows");
        finals.push(FinalRow {
            trial: c.trial,
            experiment: c.experiment,
            case: c.case,
            label: config.cases[c.case].label.clone(),
            epochs_run: r.rows.len(),
            diverged: r.diverged() as u8,
            cost: last.cost,
            train_acc: last.train_acc,
            test_acc: last.test_acc,
        });
    }

    (metrics, timing, finals, cell_seconds)
}

/// `winners.csv` and `frequency.csv` rows: the winner rule per experiment, then wins per trial.
fn winner_tables(config: &Config, results: &[CellResult]) -> (Vec<WinnerRow>, Vec<FrequencyRow>) {
    // Winners per experiment, then win frequencies per trial.
    let mut by_exp: BTreeMap<(usize, usize), Vec<FinalValues>> = BTreeMap::new();
    for r in results {
        if let Some(v) = r.final_values() {
            by_exp.entry((r.cell.trial, r.cell.experiment)).or_default().push(v);
        }
    }
    let mut wins: BTreeMap<(usize, Criterion, usize), usize> = BTreeMap::new();
    let mut winners = Vec::new();
    for ((trial, experiment), cells) in &by_exp {
        for crit in Criterion::ALL {
            if let Some((case, value)) = winner(cells, crit) {
                *wins.entry((*trial, crit, case)).or_default() += 1;
                winners.push(WinnerRow {
                    trial: *trial,
                    experiment: *experiment,
                    criterion: crit.name().into(),
                    case,
                    label: config.cases[case].label.clone(),
                    value,
                });
            }
        }
    }
    let mut frequency = Vec::new();
    for (t, trial) in config.trials.iter().enumerate() {
        for crit in Criterion::ALL {
            for (case, spec) in config.cases.iter().enumerate() {
                let n = wins.get(&(t + 1, crit, case)).copied().unwrap_or(0);
                frequency.push(FrequencyRow {
                    trial: t + 1,
                    criterion: crit.name().into(),
                    case,
                    label: spec.label.clone(),
                    wins: n,
                    experiments: trial.experiments,
                    share: n as f64 / trial.experiments as f64,
                });
            }
        }
    }

    (winners, frequency)
}
