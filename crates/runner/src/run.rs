//! Running a config: expand into cells, skip finished ones, train the rest in parallel, merge.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

use handprop_optim::Registry;
use handprop_results::Invocation;
use rayon::prelude::*;

use crate::cells::{all_cells, Cell, Shard};
use crate::config::Config;
use crate::output::{merge, OutDir, OutputError};
use crate::progress::{cell_weight, fit, Progress, WIDTH};
use crate::train::{run_cell_with, CellError, Data};
pub use handprop_results::FrequencyRow;

/// The environment variable that simulates a crash for tests: `HANDPROP_FAULT_SHARD=K` makes shard
/// K exit with an error after writing at most one of its cells.
pub const FAULT_ENV: &str = "HANDPROP_FAULT_SHARD";

/// The most worker threads a run starts (and never more than it has cells to run).
pub const MAX_THREADS: usize = 1024;

/// Options of one invocation (they do not change the results).
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Output directory.
    pub out: PathBuf,
    /// Worker threads; `None` = all cores. Cells run in parallel on them; when fewer cells than
    /// workers remain, a cell also uses the idle ones (bit-identical results). Capped at the
    /// cells to run or the cores, whichever is more.
    pub threads: Option<usize>,
    /// The subset of cells to run.
    pub shard: Shard,
    /// Recompute cells whose results exist.
    pub force: bool,
    /// Merge the tables when every cell exists after this invocation.
    pub merge: bool,
    /// Progress bars (`None`: when stderr is a terminal; plain timestamped lines otherwise).
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
    /// A bad option.
    #[error("{0}")]
    Usage(String),
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

impl From<handprop_results::ResultsError> for RunError {
    fn from(e: handprop_results::ResultsError) -> Self {
        RunError::Output(e.into())
    }
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
    /// CPU time of this invocation (every thread, user + system).
    pub cpu: Duration,
}

/// This process's CPU time so far (user + system, all threads), from `getrusage`.
pub fn process_cpu_time() -> Duration {
    // SAFETY: getrusage writes into the zeroed struct we own and reads nothing else.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) } != 0 {
        return Duration::ZERO;
    }
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(ru.ru_utime) + tv(ru.ru_stime)
}

/// Measures one invocation for `run.json`'s history.
struct Clock {
    started: SystemTime,
    wall: Instant,
    cpu: Duration,
}

impl Clock {
    fn start() -> Self {
        Clock { started: SystemTime::now(), wall: Instant::now(), cpu: process_cpu_time() }
    }

    fn invocation(
        &self,
        command: &str,
        shard: Option<Shard>,
        threads: usize,
        computed: usize,
    ) -> Invocation {
        Invocation {
            command: command.into(),
            started: Invocation::timestamp(self.started),
            shard: shard.map(|s| s.to_string()),
            threads,
            cells_computed: computed,
            wall_seconds: self.wall.elapsed().as_secs_f64(),
            cpu_seconds: (process_cpu_time().saturating_sub(self.cpu)).as_secs_f64(),
        }
    }
}

/// Runs the cells of `opts.shard` that have no (valid) result yet, then merges if the run is
/// complete, resolving the cases with the config's registry ([`Config::registry`]; the study's
/// rules unless the config was loaded with another). Every invocation is added to `run.json`'s
/// history.
pub fn run(config: &Config, data: &Data, opts: &RunOptions) -> Result<RunSummary, RunError> {
    let registry = config.registry().clone();
    run_with(config, data, opts, &registry)
}

/// [`run`] with the cases resolved against `registry`: the study's rules plus a user's own
/// (`Registry::tf1()` then `register_rule("lion", …)`). Their rules run through everything
/// unchanged: cells, threads, shards, resume, tables and the config hash.
///
/// # Errors
/// A case `registry` cannot build ([`RunError::Usage`], naming the case), bad options, result
/// files that cannot be claimed, read or written, a cell that fails.
pub fn run_with(
    config: &Config,
    data: &Data,
    opts: &RunOptions,
    registry: &Registry<f32>,
) -> Result<RunSummary, RunError> {
    let clock = Clock::start();
    let requested = requested_threads(opts)?;
    let mut config = config.clone();
    config.set_registry(registry);
    config
        .validate(Path::new(&format!("config {:?}", config.name)))
        .map_err(|e| RunError::Usage(e.to_string()))?;
    let config = &config;
    let out = OutDir::claim(
        opts.out.clone(),
        config,
        opts.force,
        Some((opts.shard.index, opts.shard.count)),
    )?;
    let plan = Plan::new(config, &out, opts)?;
    let threads = pool_threads(requested, plan.todo.len());
    let diverged = train_cells(config, data, &out, opts, &plan, threads)?;
    if plan.inject {
        return Err(RunError::Injected(opts.shard.index));
    }
    let mut complete = true;
    for c in &plan.cells {
        complete &= out.dir.has_cell(c);
    }
    let invocation = clock.invocation("run", Some(opts.shard), threads, plan.todo.len());
    let frequency = if opts.merge && complete {
        Some(merge(&out, config, invocation)?.frequency)
    } else {
        out.record(config, invocation)?;
        None
    };
    Ok(RunSummary {
        total: plan.cells.len(),
        in_shard: plan.mine,
        skipped: plan.skipped,
        computed: plan.todo.len(),
        diverged,
        frequency,
        wall: clock.wall.elapsed(),
        cpu: process_cpu_time().saturating_sub(clock.cpu),
    })
}

/// `--threads`, checked; `None` = all cores.
fn requested_threads(opts: &RunOptions) -> Result<usize, RunError> {
    if opts.threads == Some(0) || opts.threads.is_some_and(|t| t > MAX_THREADS) {
        return Err(RunError::Usage(format!(
            "--threads {}: must be between 1 and {MAX_THREADS}",
            opts.threads.unwrap_or(0)
        )));
    }
    Ok(opts
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)))
}

/// The worker pool's size: the requested threads, capped at the cells to run, but never below
/// the cores (up to the request) — a cell uses the idle workers when fewer cells than workers
/// remain (see [`spare_threads`]).
fn pool_threads(requested: usize, cells: usize) -> usize {
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    requested.min(cells.max(cores).max(1))
}

/// The threads a running cell may use now: 1 while cells wait to start; once none waits, the
/// pool's workers shared by the running cells (whose results do not depend on it).
fn spare_threads(pool: usize, waiting: usize, running: usize) -> usize {
    if waiting > 0 {
        1
    } else {
        (pool / running.max(1)).max(1)
    }
}

/// The cells of one invocation.
struct Plan {
    /// Every cell of the run, in the stable order.
    cells: Vec<Cell>,
    /// Cells of this shard.
    mine: usize,
    /// Cells of this shard to compute now.
    todo: Vec<Cell>,
    /// Cells of this shard whose valid result exists.
    skipped: usize,
    /// Whether a fault is injected ([`FAULT_ENV`]) after the first cell.
    inject: bool,
}

impl Plan {
    fn new(config: &Config, out: &OutDir, opts: &RunOptions) -> Result<Plan, RunError> {
        let cells = all_cells(config);
        let mine: Vec<Cell> = cells
            .iter()
            .enumerate()
            .filter(|(i, _)| opts.shard.contains(*i))
            .map(|(_, c)| *c)
            .collect();
        let mut todo = Vec::new();
        for c in &mine {
            if opts.force || !out.has_valid_cell(c)? {
                todo.push(*c);
            }
        }
        let skipped = mine.len() - todo.len();
        let fault = std::env::var(FAULT_ENV).ok().and_then(|v| v.trim().parse::<usize>().ok());
        let inject = fault == Some(opts.shard.index);
        if inject {
            todo.truncate(1);
        }
        Ok(Plan { mine: mine.len(), cells, todo, skipped, inject })
    }
}

/// Trains the plan's cells on a pool of `threads` workers, writing each cell as it finishes;
/// returns how many diverged. Stops starting cells after the first error, which it returns.
fn train_cells(
    config: &Config,
    data: &Data,
    out: &OutDir,
    opts: &RunOptions,
    plan: &Plan,
    threads: usize,
) -> Result<usize, RunError> {
    let todo = &plan.todo;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| RunError::Pool { threads, message: e.to_string() })?;
    let progress = Progress::new(config, todo, opts.progress);
    if !todo.is_empty() {
        progress.log(format!(
            "{}: {} cells of shard {} to run ({} done), {} threads",
            config.name,
            todo.len(),
            opts.shard,
            plan.skipped,
            threads,
        ));
        progress.log(format!("results in {}", opts.out.display()));
    }
    let diverged = AtomicUsize::new(0);
    let waiting = AtomicUsize::new(todo.len());
    let running = AtomicUsize::new(0);
    let first_error: Mutex<Option<RunError>> = Mutex::new(None);
    pool.install(|| {
        todo.par_iter().for_each(|cell| {
            waiting.fetch_sub(1, Ordering::SeqCst);
            if first_error.lock().map(|e| e.is_some()).unwrap_or(true) {
                return;
            }
            running.fetch_add(1, Ordering::SeqCst);
            let bar = progress.start_cell(cell);
            let weight = cell_weight(config, cell);
            let share = || {
                let (w, r) = (waiting.load(Ordering::SeqCst), running.load(Ordering::SeqCst));
                spare_threads(threads, w, r)
            };
            let result = run_cell_with(config, data, *cell, config.registry(), share, |epoch| {
                bar.set_position(epoch as u64);
                if epoch > 0 {
                    progress.epoch_done(weight);
                }
            })
            .map_err(RunError::from)
            .and_then(|r| {
                out.write_cell(&r)?;
                Ok(r)
            });
            running.fetch_sub(1, Ordering::SeqCst);
            match result {
                Ok(r) => {
                    if r.diverged() {
                        diverged.fetch_add(1, Ordering::Relaxed);
                    }
                    progress.epoch_done(weight);
                    progress.finish_cell(bar, cell_line(config, &r), weight, r.rows.len());
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
    match first_error.into_inner().ok().flatten() {
        Some(e) => Err(e),
        None => Ok(diverged.into_inner()),
    }
}

/// A finished cell's line, at most 80 columns: `t1-e03-c05 Dilated ADAM, sp… c 0.1234 test 0.9123`.
fn cell_line(config: &Config, r: &crate::output::CellResult) -> String {
    let last = r.rows.last().expect("a cell runs at least one epoch");
    let values = if r.diverged() {
        format!("diverged in epoch {}", last.epoch)
    } else {
        format!("cost {:.4} test {:.4}", last.cost, last.test_acc)
    };
    let label_width = WIDTH - r.cell.id().len() - values.len() - 2;
    format!(
        "{} {:<label_width$} {values}",
        r.cell.id(),
        fit(&config.cases[r.cell.case].label, label_width)
    )
}

/// Merges the tables of a complete run (e.g. after all Slurm shards finished).
pub fn merge_only(config: &Config, out_root: &Path) -> Result<Vec<FrequencyRow>, RunError> {
    let clock = Clock::start();
    let out = OutDir::claim(out_root.to_owned(), config, false, None)?;
    let invocation = clock.invocation("merge", None, 1, 0);
    Ok(merge(&out, config, invocation)?.frequency)
}

/// Formats the win frequencies of each trial for an 80-column terminal: per criterion, every case
/// that won at least once, with its label and wins out of the experiments.
pub fn format_frequency(config: &Config, rows: &[FrequencyRow]) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    for (t, trial) in config.trials.iter().enumerate() {
        let _ = writeln!(
            s,
            "trial {} (η = {}, H = {}, {} experiments)",
            t + 1,
            trial.learning_rate,
            trial.hidden,
            trial.experiments
        );
        for crit in handprop_results::Criterion::ALL {
            let mut winners: Vec<&FrequencyRow> = rows
                .iter()
                .filter(|r| r.trial == t + 1 && r.criterion == crit.name() && r.wins > 0)
                .collect();
            winners.sort_by(|a, b| b.wins.cmp(&a.wins).then(a.case.cmp(&b.case)));
            let name = crit.name().replace('_', " ");
            if winners.is_empty() {
                let _ = writeln!(s, "  {name:<18} no winner (every cell diverged)");
            }
            for (i, r) in winners.iter().enumerate() {
                let head = if i == 0 { name.as_str() } else { "" };
                let wins = format!("{}/{}", r.wins, r.experiments);
                let case = format!("C{}", r.case);
                let label_width = WIDTH - 2 - 18 - 1 - 4 - 1 - wins.len() - 1;
                let _ = writeln!(
                    s,
                    "  {head:<18} {case:<4} {:<label_width$} {wins}",
                    fit(&r.label, label_width)
                );
            }
        }
    }
    s
}

/// Loads the run's data: makes sure MNIST is in `dir` (fetching it if not, see
/// `handprop_mnist::ensure`), loads the config's split, and cuts the subsets.
pub fn load_data(
    config: &Config,
    dir: &Path,
    mirrors: &[handprop_mnist::Mirror],
) -> anyhow::Result<Data> {
    use anyhow::Context;
    let kind = config.data.dataset;
    let options = handprop_mnist::FetchOptions::from_env()?;
    handprop_mnist::ensure_dataset(kind, dir, mirrors, &options)
        .with_context(|| format!("cannot get {kind} into {}", dir.display()))?;
    let mnist = handprop_mnist::load_dataset(kind, dir, config.data.split)?;
    let mut train = mnist.train;
    let mut test = match config.data.evaluate {
        crate::config::Evaluate::Test => mnist.test,
        crate::config::Evaluate::Validation => mnist.validation.ok_or_else(|| {
            anyhow::anyhow!(
                "data.evaluate = \"validation\", but the {} split has no validation images \
                 (use split = \"tf1\")",
                config.data.split
            )
        })?,
    };
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
            "data.test_subset = {n}, but there are only {} {} images",
            test.len,
            if config.data.evaluate == crate::config::Evaluate::Test {
                "test"
            } else {
                "validation"
            }
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
