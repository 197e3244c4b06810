//! Running a config: expand into cells, skip finished ones, train the rest in parallel, merge.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::cells::{all_cells, Cell, Shard};
use crate::config::Config;
use crate::output::{merge, write_atomic, FrequencyRow, OutDir, OutputError};
use crate::train::{run_cell, CellError, Data};

/// The environment variable that simulates a crash for tests: `HANDPROP_FAULT_SHARD=K` makes shard
/// K exit with an error after writing at most one of its cells.
pub const FAULT_ENV: &str = "HANDPROP_FAULT_SHARD";

/// Options of one invocation (they do not change the results).
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Output directory.
    pub out: PathBuf,
    /// Worker threads (cells in parallel); `None` = all cores.
    pub threads: Option<usize>,
    /// The subset of cells to run.
    pub shard: Shard,
    /// Recompute cells whose results exist.
    pub force: bool,
    /// Merge the tables when every cell exists after this invocation.
    pub merge: bool,
    /// Progress bars (`None`: when stderr is a terminal).
    pub progress: Option<bool>,
}

/// An error of a run.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// Result files.
    #[error(transparent)]
    Output(#[from] OutputError),
    /// A cell failed to run (not divergence: that is a result).
    #[error(transparent)]
    Cell(#[from] CellError),
    /// The thread pool could not be built.
    #[error("cannot start {threads} worker threads: {message}")]
    Pool {
        /// Requested threads.
        threads: usize,
        /// Why.
        message: String,
    },
    /// A fault injected through [`FAULT_ENV`].
    #[error("fault injected by {FAULT_ENV}={0} after one cell (a simulated crash)")]
    Injected(usize),
}

/// What a run did.
#[derive(Debug, Clone)]
pub struct RunSummary {
    /// Cells in the whole run.
    pub total: usize,
    /// Cells of this shard.
    pub in_shard: usize,
    /// Cells skipped because their result existed.
    pub skipped: usize,
    /// Cells computed now.
    pub computed: usize,
    /// Cells computed now that diverged.
    pub diverged: usize,
    /// The frequency table, when the run was complete and merged.
    pub frequency: Option<Vec<FrequencyRow>>,
    /// Wall time of this invocation.
    pub wall: Duration,
}

/// `run.json`: provenance of the merged tables.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunInfo {
    /// handprop's version.
    pub handprop_version: String,
    /// The config's name.
    pub config_name: String,
    /// The resolved config's hash (names `cells/<hash>/`).
    pub config_hash: String,
    /// Cells in the run.
    pub cells_total: usize,
    /// Cells with results.
    pub cells_done: usize,
    /// Epochs per cell.
    pub epochs: usize,
    /// Wall seconds of the invocation that merged.
    pub wall_seconds: f64,
    /// Sum of every cell's epoch wall times (the run's compute, whatever the sharding).
    pub cpu_seconds: f64,
    /// Worker threads of the invocation that merged.
    pub threads: usize,
}

/// Runs the cells of `opts.shard` that have no result yet, then merges if the run is complete.
pub fn run(config: &Config, data: &Data, opts: &RunOptions) -> Result<RunSummary, RunError> {
    let start = Instant::now();
    let out = OutDir::new(opts.out.clone(), config);
    out.claim(config, opts.force)?;

    let cells = all_cells(config);
    let mine: Vec<Cell> = cells
        .iter()
        .enumerate()
        .filter(|(i, _)| opts.shard.contains(*i))
        .map(|(_, c)| *c)
        .collect();
    let mut todo: Vec<Cell> =
        mine.iter().copied().filter(|c| opts.force || !out.has_cell(c)).collect();
    let skipped = mine.len() - todo.len();

    let fault = std::env::var(FAULT_ENV).ok().and_then(|v| v.trim().parse::<usize>().ok());
    let inject = fault == Some(opts.shard.index);
    if inject {
        todo.truncate(1);
    }

    let threads = opts
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1));
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| RunError::Pool { threads, message: e.to_string() })?;

    let show_bars = opts.progress.unwrap_or_else(|| std::io::stderr().is_terminal());
    let progress = Progress::new(show_bars, todo.len(), config.training.epochs);
    if !todo.is_empty() {
        progress.log(format!(
            "{}: {} cells in shard {} ({} already done), {} threads, results in {}",
            config.name,
            todo.len(),
            opts.shard,
            skipped,
            threads,
            opts.out.display()
        ));
    }
    let diverged = AtomicUsize::new(0);
    let first_error: Mutex<Option<RunError>> = Mutex::new(None);
    pool.install(|| {
        todo.par_iter().for_each(|cell| {
            if first_error.lock().map(|e| e.is_some()).unwrap_or(true) {
                return;
            }
            let bar = progress.start_cell(cell);
            let result = run_cell(config, data, *cell, |epoch| bar.set_position(epoch as u64))
                .map_err(RunError::from)
                .and_then(|r| {
                    out.write_cell(&r)?;
                    Ok(r)
                });
            match result {
                Ok(r) => {
                    if r.diverged() {
                        diverged.fetch_add(1, Ordering::Relaxed);
                    }
                    let last = r.rows.last().expect("a cell runs at least one epoch");
                    progress.finish_cell(
                        bar,
                        format!(
                            "{} {:<38} cost {:.5} train {:.4} test {:.4}{}",
                            cell.id(),
                            config.cases[cell.case].label,
                            last.cost,
                            last.train_acc,
                            last.test_acc,
                            if r.diverged() { "  DIVERGED" } else { "" }
                        ),
                    );
                }
                Err(e) => {
                    bar.abandon();
                    if let Ok(mut slot) = first_error.lock() {
                        slot.get_or_insert(e);
                    }
                }
            }
        });
    });
    progress.done();
    if let Some(e) = first_error.into_inner().ok().flatten() {
        return Err(e);
    }
    if inject {
        return Err(RunError::Injected(opts.shard.index));
    }

    let complete = cells.iter().all(|c| out.has_cell(c));
    let frequency = if opts.merge && complete {
        Some(merge_and_record(&out, config, start, threads)?)
    } else {
        None
    };
    Ok(RunSummary {
        total: cells.len(),
        in_shard: mine.len(),
        skipped,
        computed: todo.len(),
        diverged: diverged.into_inner(),
        frequency,
        wall: start.elapsed(),
    })
}

/// Merges the tables of a complete run (e.g. after all Slurm shards finished).
pub fn merge_only(config: &Config, out_root: &Path) -> Result<Vec<FrequencyRow>, RunError> {
    let start = Instant::now();
    let out = OutDir::new(out_root.to_owned(), config);
    out.claim(config, false)?;
    Ok(merge_and_record(&out, config, start, 1)?)
}

/// Writes the merged tables and `run.json` (provenance, wall time since `start`, and the cells'
/// summed epoch times, which `merge` totals while it reads the cells).
fn merge_and_record(
    out: &OutDir,
    config: &Config,
    start: Instant,
    threads: usize,
) -> Result<Vec<FrequencyRow>, OutputError> {
    let merged = merge(out, config)?;
    let n = config.cell_count();
    let info = RunInfo {
        handprop_version: env!("CARGO_PKG_VERSION").to_string(),
        config_name: config.name.clone(),
        config_hash: config.hash(),
        cells_total: n,
        cells_done: n,
        epochs: config.training.epochs,
        wall_seconds: start.elapsed().as_secs_f64(),
        cpu_seconds: merged.cell_seconds,
        threads,
    };
    let json = serde_json::to_string_pretty(&info).expect("plain data serialises");
    write_atomic(&out.root.join("run.json"), json.as_bytes())?;
    Ok(merged.frequency)
}

/// Formats the frequency table of each trial for the terminal: per criterion, the cases that won
/// at least once with their share.
pub fn format_frequency(config: &Config, rows: &[FrequencyRow]) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    for (t, trial) in config.trials.iter().enumerate() {
        let _ = writeln!(
            s,
            "trial {} (η = {}, H = {}, {} experiments):",
            t + 1,
            trial.learning_rate,
            trial.hidden,
            trial.experiments
        );
        for crit in crate::output::Criterion::ALL {
            let mut winners: Vec<&FrequencyRow> = rows
                .iter()
                .filter(|r| r.trial == t + 1 && r.criterion == crit && r.wins > 0)
                .collect();
            winners.sort_by(|a, b| b.wins.cmp(&a.wins).then(a.case.cmp(&b.case)));
            let list: Vec<String> =
                winners.iter().map(|r| format!("C{} {:.0}%", r.case, 100.0 * r.share())).collect();
            let _ = writeln!(
                s,
                "  {:<18} {}",
                crit.name(),
                if list.is_empty() { "no winner (all diverged)".into() } else { list.join(", ") }
            );
        }
    }
    s
}

/// Progress display: a bar for cells done with ETA and a line per running cell with its epoch,
/// or plain log lines when stderr is not a terminal.
struct Progress {
    multi: Option<MultiProgress>,
    total: Option<ProgressBar>,
    epochs: u64,
}

impl Progress {
    fn new(bars: bool, cells: usize, epochs: usize) -> Self {
        if !bars || cells == 0 {
            return Progress { multi: None, total: None, epochs: epochs as u64 };
        }
        let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
        let total = multi.add(ProgressBar::new(cells as u64));
        total.set_style(
            ProgressStyle::with_template(
                "{prefix:>6} [{elapsed_precise}] {wide_bar} {pos}/{len} cells, ETA {eta_precise}",
            )
            .expect("static template")
            .progress_chars("=> "),
        );
        total.set_prefix("cells");
        total.enable_steady_tick(Duration::from_millis(500));
        Progress { multi: Some(multi), total: Some(total), epochs: epochs as u64 }
    }

    fn log(&self, line: String) {
        match &self.multi {
            Some(m) => {
                let _ = m.println(line);
            }
            None => eprintln!("{line}"),
        }
    }

    fn start_cell(&self, cell: &Cell) -> ProgressBar {
        match &self.multi {
            Some(m) => {
                let bar = m.add(ProgressBar::new(self.epochs));
                bar.set_style(
                    ProgressStyle::with_template("{prefix:>11} epoch {pos}/{len} {bar:30}")
                        .expect("static template"),
                );
                bar.set_prefix(cell.id());
                bar
            }
            None => ProgressBar::hidden(),
        }
    }

    fn finish_cell(&self, bar: ProgressBar, line: String) {
        bar.finish_and_clear();
        if let Some(m) = &self.multi {
            m.remove(&bar);
        }
        if let Some(t) = &self.total {
            t.inc(1);
        }
        self.log(line);
    }

    fn done(&self) {
        if let Some(t) = &self.total {
            t.finish_and_clear();
        }
    }
}

/// Loads the run's data: makes sure MNIST is in `dir` (fetching it if not, see
/// `handprop_mnist::ensure`), loads the config's split, and cuts the subsets.
pub fn load_data(
    config: &Config,
    dir: &Path,
    mirrors: &[handprop_mnist::Mirror],
) -> anyhow::Result<Data> {
    use anyhow::Context;
    handprop_mnist::ensure(dir, mirrors)
        .with_context(|| format!("cannot get MNIST into {}", dir.display()))?;
    let mnist = handprop_mnist::load(dir, config.data.split)?;
    let (mut train, mut test) = (mnist.train, mnist.test);
    if let Some(n) = config.data.train_subset {
        anyhow::ensure!(
            n <= train.len,
            "data.train_subset = {n}, but the {} split has only {} training images",
            config.data.split,
            train.len
        );
        train.truncate(n);
    }
    if let Some(n) = config.data.test_subset {
        anyhow::ensure!(
            n <= test.len,
            "data.test_subset = {n}, but there are only {} test images",
            test.len
        );
        test.truncate(n);
    }
    anyhow::ensure!(
        train.len % config.training.batch == 0,
        "{} training images are not a whole number of batches of {}; set data.train_subset",
        train.len,
        config.training.batch
    );
    // Truncation keeps the capacity of the whole split; give it back, since every worker thread
    // shares this data for the whole run.
    for v in [&mut train.images, &mut train.one_hot, &mut test.images, &mut test.one_hot] {
        v.shrink_to_fit();
    }
    Ok(Data {
        train_images: train.images,
        train_one_hot: train.one_hot,
        train_labels: train.labels,
        test_images: test.images,
        test_labels: test.labels,
    })
}
