//! Slurm job arrays over the runner's shards: `handprop slurm` and `cargo xtask slurm`.
//!
//! A study is split into N shards by the runner's `--shard K/N` contract (cell i of the stable
//! order trial, experiment, case belongs to shard i mod N). This module turns that into one Slurm
//! job array `0..N-1` where task K runs `handprop run --shard K/N`:
//!
//! * [`generate`] resolves the config, freezes the resolved copy as `<out>/slurm/config.toml`
//!   (pinned by its SHA-256, which every task checks before it starts, so a later edit of the
//!   source config can never mix two configurations in one results directory), and writes the
//!   sbatch script `<out>/slurm/<name>.sbatch` and the job record `<out>/slurm/job.json`. The
//!   script header states the cells per shard and the estimated core-hours.
//! * [`submit`] runs `sbatch --parsable` and records the job id.
//! * [`status`] reports each shard as done / running / pending / failed from the result files
//!   (a shard is done when every one of its cells has its file) and from `scontrol -o show job`
//!   (no accounting database needed), and gives the command that requeues the failed shards.
//!   A requeued shard only computes its missing cells, because the runner skips existing ones.
//!
//! # Cost model
//!
//! One epoch of one cell costs, in core-seconds,
//! `s(H) = s₁₀₂₄ · w(H) / w(1024)` with `w(H) = 784·H + (L−1)·H² + 10·H` the weight count of the
//! network with L hidden layers of width H: every FLOP of an epoch (forward, backward, update and
//! evaluation) is a matrix product over the weights, so the time scales with the weight count.
//! `s₁₀₂₄` is a measured figure passed as `--seconds-per-epoch`; its default is
//! [`SECONDS_PER_EPOCH_AT_H1024`]. A shard's wall time is its cells' total core-seconds divided
//! by the CPUs it uses (the runner trains cells in parallel, one per thread), but never less than
//! its longest cell.

use std::collections::BTreeMap;
use std::fmt::{self, Write as _};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::Context as _;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::config::{Config, ConfigError};
use handprop_mnist::Split;

/// Core-seconds for one epoch of one cell at H = 1024 (4 hidden layers) on one core, training on
/// the 55,000 TF1 training images and evaluating on train and test (≈1.8 TFLOP, spec §10).
///
/// Measured with `handprop run --config configs/calibrate.toml --threads 1` (one Adam cell, full
/// TF1 split) on this project's 2-core AMD EPYC with AVX-512, on a quiet machine: 8.09 s and
/// 7.84 s for two epochs at H = 1024 (≈ 230 GFLOP/s), 5.31 s and 5.30 s at H = 824 (the FLOP
/// scaling predicts 5.4 s). Rounded to 8 s. Override it with `--seconds-per-epoch` after
/// measuring on the cluster's own cores with the same config.
pub const SECONDS_PER_EPOCH_AT_H1024: f64 = 8.0;

/// Below this estimated wall time per shard, Slurm's per-task overhead (scheduling, launching,
/// loading MNIST; seconds to a minute, plus queue wait) is a large part of the shard's time and
/// the header warns: use fewer shards.
pub const MIN_USEFUL_SHARD_SECONDS: f64 = 120.0;

/// Without `--shards`, the number of shards is chosen so that one shard takes about this long.
pub const TARGET_SHARD_SECONDS: f64 = 12.0 * 3600.0;

/// Without `--time`, the limit is the estimate times this factor plus [`TIME_MARGIN_SECONDS`]:
/// the estimate is only a model, and a task killed at its limit loses its cells in flight.
pub const TIME_SAFETY_FACTOR: f64 = 1.5;

/// Added to the estimated wall time for the default `--time`.
pub const TIME_MARGIN_SECONDS: f64 = 600.0;

/// Bad input to the Slurm tooling, naming the file, field or value.
#[derive(Debug, thiserror::Error)]
pub enum SlurmError {
    /// `--time` is not in one of Slurm's formats.
    #[error("--time {0:?}: not a Slurm time (MM, MM:SS, HH:MM:SS, D-HH, D-HH:MM or D-HH:MM:SS)")]
    BadTime(String),
    /// `--shards` is zero.
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
    /// The config file cannot be used (the error names the file and the key).
    #[error(transparent)]
    Config(#[from] ConfigError),
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
    #[error(
        "{0}: no Slurm job record (slurm/job.json); generate one with `handprop slurm --out DIR`"
    )]
    NoJobRecord(PathBuf),
    /// A file written by this module or the runner is malformed.
    #[error("{path}: {message}")]
    Malformed {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// `sbatch --parsable` printed something that is not a job id.
    #[error("sbatch printed {0:?}, not a job id")]
    BadJobId(String),
}

/// `handprop slurm` / `cargo xtask slurm`: generate (and optionally submit) a job array, or
/// `status DIR`.
#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct SlurmCommand {
    /// `status DIR`; without a subcommand, generate the job array.
    #[command(subcommand)]
    pub action: Option<SlurmAction>,
    /// Options of the generation.
    #[command(flatten)]
    pub args: SlurmArgs,
}

/// The subcommands of `slurm`.
#[derive(Debug, clap::Subcommand)]
pub enum SlurmAction {
    /// Shards done / running / failed, from the result files and `scontrol`, and how to requeue.
    Status(StatusArgs),
}

/// `slurm status DIR [--requeue]`.
#[derive(Debug, clap::Args)]
pub struct StatusArgs {
    /// The results directory the job array writes to (holds `slurm/job.json`).
    pub dir: PathBuf,
    /// Submit the failed shards again (`sbatch --array=<failed> <script>`) and record the job id.
    #[arg(long)]
    pub requeue: bool,
}

/// Options of `slurm` (the generation of the sbatch script).
#[derive(Debug, Clone, clap::Args)]
pub struct SlurmArgs {
    /// The study config.
    #[arg(long, default_value = "configs/paper.toml")]
    pub config: PathBuf,
    /// Number of shards = array tasks (default: shards of about 12 hours each, at most one per
    /// cell).
    #[arg(long)]
    pub shards: Option<usize>,
    /// Results directory (default `results/<config name>`).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Slurm partition (default: the cluster's default partition).
    #[arg(long)]
    pub partition: Option<String>,
    /// Time limit per task in a Slurm format such as `2-00:00:00` (default: the estimate × 1.5
    /// + 10 minutes).
    #[arg(long)]
    pub time: Option<String>,
    /// CPUs per task; the runner uses as many threads (one cell per thread).
    #[arg(long, default_value_t = 1)]
    pub cpus_per_task: u32,
    /// Memory per task, Slurm syntax (measured at H = 1024: about 0.24 GB + 0.14 GB per thread).
    #[arg(long, default_value = "1G")]
    pub mem: String,
    /// Measured core-seconds per epoch of one cell at H = 1024, for the estimates.
    #[arg(long, default_value_t = SECONDS_PER_EPOCH_AT_H1024)]
    pub seconds_per_epoch: f64,
    /// MNIST cache directory the tasks read (fetched into once if missing; made absolute, and it
    /// must be reachable from the compute nodes).
    #[arg(long, default_value = "data/mnist")]
    pub data_dir: PathBuf,
    /// Extra `#SBATCH` options, e.g. `--sbatch-arg=--account=proj --sbatch-arg=--qos=long`.
    #[arg(long = "sbatch-arg", allow_hyphen_values = true)]
    pub sbatch_args: Vec<String>,
    /// The `handprop` binary the tasks run (default: this executable when it is `handprop`; the
    /// xtask builds `target/release/handprop`). It must be reachable from the compute nodes.
    #[arg(long)]
    pub handprop: Option<PathBuf>,
    /// Submit the script with `sbatch --parsable` and print the follow-up commands.
    #[arg(long)]
    pub submit: bool,
    /// Replace a frozen config of an earlier generation that differs from this one.
    #[arg(long)]
    pub force: bool,
}

/// The cells of a run as far as scheduling is concerned: trials (with H and experiments), the
/// number of cases and epochs. Cells are enumerated exactly as the runner does.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// Epochs per cell (an upper bound: a diverged cell stops early).
    pub epochs: usize,
    /// Hidden layers of width H.
    pub hidden_layers: usize,
    /// The trials, numbered from 1 in this order.
    pub trials: Vec<TrialPlan>,
    /// Cases per experiment.
    pub cases: usize,
    /// Training images per epoch (55,000 for the TF1 split).
    pub train_images: usize,
    /// Test images evaluated per epoch (10,000).
    pub test_images: usize,
}

/// One trial of a [`Plan`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrialPlan {
    /// Hidden width H.
    pub hidden: usize,
    /// Experiments.
    pub experiments: usize,
}

/// A (trial, experiment, case) cell; trials count from 1, experiments and cases from 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CellKey {
    /// Trial, from 1.
    pub trial: usize,
    /// Experiment, from 0.
    pub experiment: usize,
    /// Case, from 0.
    pub case: usize,
}

impl CellKey {
    /// The result file name `t{T}-e{EE}-c{CC}.csv` of the results contract.
    pub fn file_name(&self) -> String {
        format!("t{}-e{:02}-c{:02}.csv", self.trial, self.experiment, self.case)
    }

    /// Parses a name written by [`CellKey::file_name`]; `None` for anything else (temp files).
    pub fn parse_file_name(name: &str) -> Option<CellKey> {
        let stem = name.strip_suffix(".csv")?;
        let mut parts = stem.split('-');
        let mut field = |prefix: char| -> Option<usize> {
            let p = parts.next()?.strip_prefix(prefix)?;
            if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            p.parse().ok()
        };
        let key = CellKey { trial: field('t')?, experiment: field('e')?, case: field('c')? };
        (parts.next().is_none() && key.trial > 0 && key.file_name() == name).then_some(key)
    }
}

impl Plan {
    /// Every cell in the stable order (trial, experiment, case), as the runner enumerates them.
    pub fn cells(&self) -> Vec<CellKey> {
        let mut cells = Vec::new();
        for (t, trial) in self.trials.iter().enumerate() {
            for experiment in 0..trial.experiments {
                for case in 0..self.cases {
                    cells.push(CellKey { trial: t + 1, experiment, case });
                }
            }
        }
        cells
    }

    /// The cells of shard `k` of `n`: position i belongs to shard i mod n.
    pub fn shard_cells(&self, k: usize, n: usize) -> Vec<CellKey> {
        self.cells().into_iter().enumerate().filter(|(i, _)| i % n == k).map(|(_, c)| c).collect()
    }

    /// Weight count `784·H + (L−1)·H² + 10·H` of a network with `hidden_layers` = L layers of
    /// width H (no biases).
    pub fn weights(&self, hidden: usize) -> f64 {
        let h = hidden as f64;
        784.0 * h + (self.hidden_layers.saturating_sub(1)) as f64 * h * h + 10.0 * h
    }

    /// Passes over the weights per epoch, in image units: `6·n_train` for training (forward
    /// 2·w, backward 4·w FLOP per image) plus `2·(n_train + n_test)` for evaluating both splits.
    pub fn image_passes(&self) -> f64 {
        8.0 * self.train_images as f64 + 2.0 * self.test_images as f64
    }

    /// FLOP of one epoch of a cell of width `hidden`: `image_passes · w(H)` (the update's few
    /// operations per weight and batch are negligible). At H = 1024 on the TF1 split, 1.8 TFLOP.
    pub fn flop_per_epoch(&self, hidden: usize) -> f64 {
        self.image_passes() * self.weights(hidden)
    }

    /// Core-seconds of one epoch of a cell of width `hidden`, from the figure for the study's
    /// epoch at H = 1024 (4 hidden layers, TF1 split), scaled by the FLOP.
    pub fn seconds_per_epoch(&self, hidden: usize, at_1024: f64) -> f64 {
        let reference = (8.0 * 55_000.0 + 2.0 * 10_000.0)
            * (784.0 * 1024.0 + 3.0 * 1024.0 * 1024.0 + 10.0 * 1024.0);
        at_1024 * self.flop_per_epoch(hidden) / reference
    }
}

/// The estimated cost of a sharding of a [`Plan`].
#[derive(Debug, Clone, PartialEq)]
pub struct Estimate {
    /// Cells of the run.
    pub cells: usize,
    /// Shards.
    pub shards: usize,
    /// Fewest cells in a shard.
    pub min_cells_per_shard: usize,
    /// Most cells in a shard.
    pub max_cells_per_shard: usize,
    /// Core-hours of the whole run (upper bound: diverged cells stop early).
    pub core_hours: f64,
    /// Wall seconds of the longest shard at the given CPUs per task.
    pub max_shard_wall_seconds: f64,
}

/// Estimates the cost of `plan` in `shards` shards at `cpus` CPUs per task, from the measured
/// core-seconds per epoch at H = 1024.
pub fn estimate(plan: &Plan, shards: usize, cpus: u32, at_1024: f64) -> Estimate {
    let cells = plan.cells();
    let mut per_shard = vec![(0usize, 0.0f64, 0.0f64); shards.max(1)];
    for (i, cell) in cells.iter().enumerate() {
        let hidden = plan.trials[cell.trial - 1].hidden;
        let secs = plan.epochs as f64 * plan.seconds_per_epoch(hidden, at_1024);
        let s = &mut per_shard[i % shards.max(1)];
        s.0 += 1;
        s.1 += secs;
        s.2 = s.2.max(secs);
    }
    let wall = |&(n, total, longest): &(usize, f64, f64)| {
        let parallel = (cpus.max(1) as usize).min(n.max(1)) as f64;
        (total / parallel).max(longest)
    };
    Estimate {
        cells: cells.len(),
        shards,
        min_cells_per_shard: per_shard.iter().map(|s| s.0).min().unwrap_or(0),
        max_cells_per_shard: per_shard.iter().map(|s| s.0).max().unwrap_or(0),
        core_hours: per_shard.iter().map(|s| s.1).sum::<f64>() / 3600.0,
        max_shard_wall_seconds: per_shard.iter().map(wall).fold(0.0, f64::max),
    }
}

/// The number of shards for a target wall time per shard: enough that no shard takes much longer
/// than `target_seconds`, at most one per cell.
pub fn auto_shards(plan: &Plan, cpus: u32, at_1024: f64, target_seconds: f64) -> usize {
    let cells = plan.cells().len().max(1);
    let one = estimate(plan, 1, cpus, at_1024);
    let total_wall = one.core_hours * 3600.0 / cpus.max(1) as f64;
    let n = (total_wall / target_seconds).ceil().max(1.0) as usize;
    n.min(cells)
}

/// Parses a Slurm time limit (`MM`, `MM:SS`, `HH:MM:SS`, `D-HH`, `D-HH:MM`, `D-HH:MM:SS`) into
/// seconds.
pub fn parse_slurm_time(text: &str) -> Result<u64, SlurmError> {
    let bad = || SlurmError::BadTime(text.to_owned());
    let num = |s: &str| -> Result<u64, SlurmError> {
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        s.parse().map_err(|_| bad())
    };
    let (days, rest) = match text.split_once('-') {
        Some((d, rest)) => (Some(num(d)?), rest),
        None => (None, text),
    };
    let parts: Vec<u64> = rest.split(':').map(num).collect::<Result<_, _>>()?;
    let secs = match (days, parts.as_slice()) {
        (None, [m]) => m * 60,
        (None, [m, s]) => m * 60 + s,
        (None, [h, m, s]) => h * 3600 + m * 60 + s,
        (Some(d), [h]) => d * 86400 + h * 3600,
        (Some(d), [h, m]) => d * 86400 + h * 3600 + m * 60,
        (Some(d), [h, m, s]) => d * 86400 + h * 3600 + m * 60 + s,
        _ => return Err(bad()),
    };
    Ok(secs)
}

/// Formats seconds as Slurm's `D-HH:MM:SS`, rounded up to whole minutes.
pub fn format_slurm_time(seconds: f64) -> String {
    let minutes = (seconds.max(60.0) / 60.0).ceil() as u64;
    let (d, h, m) = (minutes / 1440, minutes % 1440 / 60, minutes % 60);
    format!("{d}-{h:02}:{m:02}:00")
}

fn human_seconds(seconds: f64) -> String {
    if seconds < 10.0 {
        format!("{seconds:.1} s")
    } else if seconds < 120.0 {
        format!("{seconds:.0} s")
    } else if seconds < 7200.0 {
        format!("{:.1} min", seconds / 60.0)
    } else {
        format!("{:.1} h", seconds / 3600.0)
    }
}

/// A resolved, self-contained config as the Slurm tasks will run it.
#[derive(Debug, Clone)]
pub struct ResolvedConfig {
    /// The run's name.
    pub name: String,
    /// The resolved TOML ([`Config::to_toml`]: case table inlined, loadable again as a config).
    pub toml: String,
    /// The runner's hash of the config ([`Config::hash`]), naming `<out>/cells/<hash>/`.
    pub config_hash: String,
    /// The cells.
    pub plan: Plan,
}

impl ResolvedConfig {
    /// SHA-256 of [`ResolvedConfig::toml`], the pin every task checks.
    pub fn sha256(&self) -> String {
        hex::encode(Sha256::digest(self.toml.as_bytes()))
    }
}

impl From<&Config> for Plan {
    fn from(config: &Config) -> Plan {
        Plan {
            epochs: config.training.epochs,
            hidden_layers: config.training.hidden_layers,
            trials: config
                .trials
                .iter()
                .map(|t| TrialPlan { hidden: t.hidden, experiments: t.experiments })
                .collect(),
            cases: config.cases.len(),
            train_images: config.data.train_subset.unwrap_or(match config.data.split {
                // All 60,000 training images; otherwise TF1's 55,000.
                Split::Full => 60_000,
                _ => 55_000,
            }),
            test_images: config.data.test_subset.unwrap_or(10_000),
        }
    }
}

/// Loads, validates and resolves a config file with the runner's [`Config::load`], so a bad config
/// fails here, before anything is submitted. The frozen copy is the resolved TOML: a relative
/// `case_table` would not survive being copied into the results directory, and loading the
/// resolved form again gives the same config and the same hash.
pub fn resolve_config(path: &Path) -> Result<ResolvedConfig, SlurmError> {
    let config = Config::load(path)?;
    Ok(ResolvedConfig {
        name: config.name.clone(),
        toml: config.to_toml(),
        config_hash: config.hash(),
        plan: Plan::from(&config),
    })
}

/// Everything the sbatch script is made of.
#[derive(Debug, Clone, PartialEq)]
pub struct ScriptSpec {
    /// The run's name (job name `handprop-<name>`).
    pub name: String,
    /// The config file the user named (informational).
    pub source_config: PathBuf,
    /// The frozen resolved config the tasks run (absolute).
    pub config: PathBuf,
    /// Its SHA-256.
    pub config_sha256: String,
    /// The results directory (absolute).
    pub out: PathBuf,
    /// The `handprop` binary (absolute).
    pub handprop: PathBuf,
    /// The MNIST cache directory (absolute).
    pub data_dir: PathBuf,
    /// Shards = array tasks.
    pub shards: usize,
    /// `--partition`.
    pub partition: Option<String>,
    /// `--time`, Slurm syntax.
    pub time: String,
    /// `--cpus-per-task`.
    pub cpus_per_task: u32,
    /// `--mem`.
    pub mem: String,
    /// Extra `#SBATCH` options.
    pub sbatch_args: Vec<String>,
    /// The cells.
    pub plan: Plan,
    /// Core-seconds per epoch at H = 1024 the estimate uses.
    pub seconds_per_epoch: f64,
}

impl ScriptSpec {
    /// The directory of the script, the frozen config, the job record and the logs.
    pub fn slurm_dir(&self) -> PathBuf {
        self.out.join("slurm")
    }

    /// The script's path.
    pub fn script_path(&self) -> PathBuf {
        self.slurm_dir().join(format!("{}.sbatch", self.name))
    }

    /// The warnings about the sizing (short shards, a time limit below the estimate).
    pub fn warnings(&self) -> Vec<String> {
        let est = estimate(&self.plan, self.shards, self.cpus_per_task, self.seconds_per_epoch);
        let mut w = Vec::new();
        if est.max_shard_wall_seconds < MIN_USEFUL_SHARD_SECONDS {
            w.push(format!(
                "shards are short (about {} each): Slurm's start-up per task (scheduling, launch, \
                 loading MNIST) dominates; fewer shards would use the allocation better",
                human_seconds(est.max_shard_wall_seconds)
            ));
        }
        if let Ok(limit) = parse_slurm_time(&self.time) {
            if (limit as f64) < est.max_shard_wall_seconds {
                w.push(format!(
                    "--time {} is below the estimated {} of the longest shard: tasks would be \
                     killed at the limit (their finished cells are kept; requeue to continue)",
                    self.time,
                    human_seconds(est.max_shard_wall_seconds)
                ));
            }
        }
        w
    }

    /// The sbatch script.
    pub fn render(&self) -> String {
        let est = estimate(&self.plan, self.shards, self.cpus_per_task, self.seconds_per_epoch);
        let q = |p: &Path| shell_quote(&p.to_string_lossy());
        let mut s = String::new();
        let _ = writeln!(s, "#!/bin/bash");
        let _ = writeln!(
            s,
            "# handprop study {:?} as a Slurm job array: task K runs shard K/{}.",
            self.name, self.shards
        );
        let _ = writeln!(
            s,
            "# Generated by `handprop slurm` {}; submit with `sbatch {}`.",
            env!("CARGO_PKG_VERSION"),
            self.script_path().display()
        );
        let _ = writeln!(s, "#");
        let _ = writeln!(
            s,
            "# config:  {} (resolved and frozen as {},",
            self.source_config.display(),
            self.config.display()
        );
        let _ = writeln!(s, "#          sha256 {}; every task checks it)", self.config_sha256);
        let _ = writeln!(
            s,
            "# cells:   {} = {} experiments in {} trial(s) x {} case(s), {} epochs each",
            est.cells,
            self.plan.trials.iter().map(|t| t.experiments).sum::<usize>(),
            self.plan.trials.len(),
            self.plan.cases,
            self.plan.epochs
        );
        let _ = writeln!(
            s,
            "# shards:  {} (array 0-{}), {} cells per shard",
            self.shards,
            self.shards - 1,
            cells_range(est.min_cells_per_shard, est.max_cells_per_shard)
        );
        let _ = writeln!(
            s,
            "# cost:    about {:.1} core-hours in all (upper bound: diverged cells stop early),",
            est.core_hours
        );
        let _ = writeln!(
            s,
            "#          at {} core-seconds per epoch of one cell at H=1024 (--seconds-per-epoch)",
            self.seconds_per_epoch
        );
        let _ = writeln!(
            s,
            "# shard:   about {} wall at {} CPU(s) per task; time limit {}",
            human_seconds(est.max_shard_wall_seconds),
            self.cpus_per_task,
            self.time
        );
        for w in self.warnings() {
            let _ = writeln!(s, "# WARNING: {w}");
        }
        let _ = writeln!(s, "#");
        let _ = writeln!(s, "# A task that fails or is cancelled keeps its finished cells; submitting its shard again");
        let _ = writeln!(
            s,
            "# (`sbatch --array=K {}`) runs only the missing ones.",
            self.script_path().display()
        );
        let _ =
            writeln!(s, "#SBATCH --job-name={}", sbatch_value(&format!("handprop-{}", self.name)));
        let _ = writeln!(s, "#SBATCH --array=0-{}", self.shards - 1);
        let _ = writeln!(
            s,
            "#SBATCH --output={}",
            sbatch_value(&self.slurm_dir().join("logs").join("%A_%a.log").to_string_lossy())
        );
        // Append, so a requeued task's log keeps the earlier attempt's output.
        let _ = writeln!(s, "#SBATCH --open-mode=append");
        let _ = writeln!(s, "#SBATCH --cpus-per-task={}", self.cpus_per_task);
        let _ = writeln!(s, "#SBATCH --mem={}", sbatch_value(&self.mem));
        let _ = writeln!(s, "#SBATCH --time={}", sbatch_value(&self.time));
        if let Some(p) = &self.partition {
            let _ = writeln!(s, "#SBATCH --partition={}", sbatch_value(p));
        }
        for a in &self.sbatch_args {
            let _ = writeln!(s, "#SBATCH {}", sbatch_value(a));
        }
        let _ = writeln!(s);
        let _ = writeln!(s, "set -euo pipefail");
        let _ = writeln!(s, "HANDPROP={}", q(&self.handprop));
        let _ = writeln!(s, "CONFIG={}", q(&self.config));
        let _ = writeln!(s, "CONFIG_SHA256={}", self.config_sha256);
        let _ = writeln!(s, "OUT={}", q(&self.out));
        let _ = writeln!(s, "DATA_DIR={}", q(&self.data_dir));
        let _ = writeln!(s, "SHARDS={}", self.shards);
        let _ = writeln!(s, "K=${{SLURM_ARRAY_TASK_ID:?this script runs as a Slurm array task (sbatch), not by hand}}");
        let _ = writeln!(s);
        let _ = writeln!(s, "# The pin: a frozen config that changed since generation would mix two configurations.");
        let _ = writeln!(s, "actual=$(sha256sum \"$CONFIG\" | cut -d' ' -f1)");
        let _ = writeln!(s, "if [ \"$actual\" != \"$CONFIG_SHA256\" ]; then");
        let _ = writeln!(s, "  echo \"handprop: $CONFIG changed since the script was generated (sha256 $actual, expected $CONFIG_SHA256); refusing to run\" >&2");
        let _ = writeln!(s, "  exit 2");
        let _ = writeln!(s, "fi");
        let _ = writeln!(s, "echo \"handprop shard $K/$SHARDS: job ${{SLURM_ARRAY_JOB_ID:-?}}_$K on $(hostname), restart ${{SLURM_RESTART_COUNT:-0}}, $(date -u +%Y-%m-%dT%H:%M:%SZ)\"");
        let _ = writeln!(s, "# exec: scancel's SIGTERM goes straight to the runner, which never leaves a partial cell file.");
        let _ = writeln!(s, "exec \"$HANDPROP\" run --config \"$CONFIG\" --shard \"$K/$SHARDS\" --out \"$OUT\" --data-dir \"$DATA_DIR\" --threads \"${{SLURM_CPUS_PER_TASK:-{}}}\"", self.cpus_per_task);
        s
    }
}

fn cells_range(min: usize, max: usize) -> String {
    if min == max {
        min.to_string()
    } else {
        format!("{min}-{max}")
    }
}

/// Quotes a string for bash (single quotes, with embedded quotes escaped).
pub fn shell_quote(s: &str) -> String {
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"/._-+=:,@%".contains(&b)) {
        s.to_owned()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

/// `#SBATCH` lines are parsed by sbatch, not the shell: a value must not contain a newline, which
/// would end the directive and start a shell line.
fn sbatch_value(s: &str) -> String {
    s.replace(['\n', '\r'], " ")
}

/// The job record `<out>/slurm/job.json`: what [`status`] needs without the config.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobRecord {
    /// handprop's version that generated the script.
    pub handprop_version: String,
    /// The run's name.
    pub name: String,
    /// The frozen config.
    pub config: PathBuf,
    /// Its SHA-256.
    pub config_sha256: String,
    /// The runner's config hash: the cells live in `<out>/cells/<config_hash>/`.
    pub config_hash: String,
    /// Shards = array tasks.
    pub shards: usize,
    /// The sbatch script.
    pub script: PathBuf,
    /// The `handprop` binary.
    pub handprop: PathBuf,
    /// The cells.
    pub plan: Plan,
    /// Job ids of every submission (the array itself, then requeues), oldest first.
    #[serde(default)]
    pub job_ids: Vec<String>,
}

impl JobRecord {
    /// The record's path inside a results directory.
    pub fn path(out: &Path) -> PathBuf {
        out.join("slurm").join("job.json")
    }

    /// Reads the record of a results directory.
    pub fn load(out: &Path) -> Result<JobRecord, SlurmError> {
        let path = Self::path(out);
        let text =
            fs::read_to_string(&path).map_err(|_| SlurmError::NoJobRecord(out.to_owned()))?;
        serde_json::from_str(&text)
            .map_err(|e| SlurmError::Malformed { path, message: e.to_string() })
    }

    /// Writes the record atomically.
    pub fn save(&self, out: &Path) -> anyhow::Result<()> {
        let json = serde_json::to_string_pretty(self).expect("a job record always serialises");
        write_atomic(&Self::path(out), json.as_bytes())
    }
}

/// Writes `bytes` to `path` through a temp file in the same directory and a rename.
fn write_atomic(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let tmp = dir.join(format!(
        ".{}.tmp{}",
        path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
        std::process::id()
    ));
    fs::write(&tmp, bytes).with_context(|| format!("writing {}", tmp.display()))?;
    fs::rename(&tmp, path)
        .with_context(|| format!("renaming {} to {}", tmp.display(), path.display()))
}

/// What [`generate`] wrote.
#[derive(Debug, Clone)]
pub struct Generated {
    /// The script's contents and parameters.
    pub spec: ScriptSpec,
    /// The job record.
    pub record: JobRecord,
}

/// The `handprop` binary to put in the script: `--handprop`, else this executable if it is
/// `handprop`.
pub fn handprop_binary(explicit: Option<&Path>) -> anyhow::Result<PathBuf> {
    let path = match explicit {
        Some(p) => p.to_owned(),
        None => {
            let exe = std::env::current_exe().context("locating the current executable")?;
            if exe.file_stem().is_some_and(|s| s == "handprop") {
                exe
            } else {
                anyhow::bail!(
                    "no handprop binary: pass --handprop PATH (e.g. from `cargo install --path \
                     crates/runner`), or run `handprop slurm`"
                )
            }
        }
    };
    fs::canonicalize(&path).with_context(|| format!("--handprop {}: not found", path.display()))
}

/// Writes the frozen config, the sbatch script and the job record into `<out>/slurm/`, and the
/// log directory. Runs no work and submits nothing.
pub fn generate(args: &SlurmArgs) -> anyhow::Result<Generated> {
    let resolved = resolve_config(&args.config)?;
    let cells = resolved.plan.cells().len();
    let shards = match args.shards {
        Some(0) => return Err(SlurmError::NoShards.into()),
        Some(n) if n > cells => return Err(SlurmError::TooManyShards { shards: n, cells }.into()),
        Some(n) => n,
        None => auto_shards(
            &resolved.plan,
            args.cpus_per_task,
            args.seconds_per_epoch,
            TARGET_SHARD_SECONDS,
        ),
    };
    let time = match &args.time {
        Some(t) => {
            parse_slurm_time(t)?;
            t.clone()
        }
        None => {
            let est = estimate(&resolved.plan, shards, args.cpus_per_task, args.seconds_per_epoch);
            format_slurm_time(est.max_shard_wall_seconds * TIME_SAFETY_FACTOR + TIME_MARGIN_SECONDS)
        }
    };
    let handprop = handprop_binary(args.handprop.as_deref())?;
    let out = args.out.clone().unwrap_or_else(|| Path::new("results").join(&resolved.name));
    let data_dir = std::path::absolute(&args.data_dir)
        .with_context(|| format!("--data-dir {}", args.data_dir.display()))?;
    let slurm_dir = out.join("slurm");
    fs::create_dir_all(slurm_dir.join("logs"))
        .with_context(|| format!("creating {}", slurm_dir.join("logs").display()))?;
    // Absolute paths: the tasks start in whatever directory sbatch was called from.
    let out = fs::canonicalize(&out).with_context(|| format!("resolving {}", out.display()))?;
    let slurm_dir = out.join("slurm");
    let config = slurm_dir.join("config.toml");
    let sha = resolved.sha256();
    if let Ok(existing) = fs::read(&config) {
        let found = hex::encode(Sha256::digest(&existing));
        if found != sha && !args.force {
            return Err(SlurmError::PinnedElsewhere { path: config, found, expected: sha }.into());
        }
    }
    write_atomic(&config, resolved.toml.as_bytes())?;
    let spec = ScriptSpec {
        name: resolved.name.clone(),
        source_config: args.config.clone(),
        config: config.clone(),
        config_sha256: sha.clone(),
        out: out.clone(),
        handprop: handprop.clone(),
        data_dir,
        shards,
        partition: args.partition.clone(),
        time,
        cpus_per_task: args.cpus_per_task,
        mem: args.mem.clone(),
        sbatch_args: args.sbatch_args.clone(),
        plan: resolved.plan.clone(),
        seconds_per_epoch: args.seconds_per_epoch,
    };
    let script = spec.script_path();
    write_atomic(&script, spec.render().as_bytes())?;
    // Keep the job ids of earlier submissions of the same pinned config: status still needs them.
    let job_ids = JobRecord::load(&out)
        .ok()
        .filter(|r| r.config_sha256 == sha && r.shards == shards)
        .map(|r| r.job_ids)
        .unwrap_or_default();
    let record = JobRecord {
        handprop_version: env!("CARGO_PKG_VERSION").to_owned(),
        name: resolved.name,
        config,
        config_sha256: sha,
        config_hash: resolved.config_hash,
        shards,
        script,
        handprop,
        plan: resolved.plan,
        job_ids,
    };
    record.save(&out)?;
    Ok(Generated { spec, record })
}

/// Parses `sbatch --parsable` output (`JOBID` or `JOBID;CLUSTER`).
pub fn parse_sbatch_parsable(stdout: &str) -> Result<String, SlurmError> {
    let line = stdout.lines().map(str::trim).rfind(|l| !l.is_empty()).unwrap_or("");
    let id = line.split(';').next().unwrap_or("");
    if !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()) {
        Ok(id.to_owned())
    } else {
        Err(SlurmError::BadJobId(stdout.to_owned()))
    }
}

/// Runs `sbatch --parsable [extra...] SCRIPT` and returns the job id.
pub fn sbatch(script: &Path, extra: &[String]) -> anyhow::Result<String> {
    let output = Command::new("sbatch")
        .arg("--parsable")
        .args(extra)
        .arg(script)
        .output()
        .context("running sbatch (is Slurm installed and SLURM_CONF set?)")?;
    if !output.status.success() {
        anyhow::bail!(
            "sbatch {} failed ({}): {}",
            script.display(),
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(parse_sbatch_parsable(&String::from_utf8_lossy(&output.stdout))?)
}

/// Submits the whole array of a results directory and records the job id. `extra` options go to
/// sbatch before the script (they override the script's `#SBATCH` lines), e.g.
/// `--export=ALL,VAR=value`.
pub fn submit(out: &Path, extra: &[String]) -> anyhow::Result<String> {
    let mut record = JobRecord::load(out)?;
    let id = sbatch(&record.script, extra)?;
    record.job_ids.push(id.clone());
    record.save(out)?;
    Ok(id)
}

/// Submits the listed shards again (`sbatch --array=LIST SCRIPT`) and records the job id. The
/// runner skips the shards' existing cells, so only the missing ones run.
pub fn requeue(out: &Path, shards: &[usize]) -> anyhow::Result<String> {
    anyhow::ensure!(!shards.is_empty(), "no shards to requeue");
    let mut record = JobRecord::load(out)?;
    let id = sbatch(&record.script, &[format!("--array={}", join_ids(shards))])?;
    record.job_ids.push(id.clone());
    record.save(out)?;
    Ok(id)
}

fn join_ids(ids: &[usize]) -> String {
    ids.iter().map(|i| i.to_string()).collect::<Vec<_>>().join(",")
}

/// One array task (or a pending range of tasks) as `scontrol -o show job` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskRecord {
    /// The array's job id (`ArrayJobId`).
    pub array_job_id: String,
    /// The task ids this line covers (one, or a pending range).
    pub tasks: Vec<usize>,
    /// `JobState`, e.g. `RUNNING`, `FAILED`.
    pub state: String,
    /// `ExitCode`, e.g. `3:0`.
    pub exit_code: String,
    /// `Restarts`.
    pub restarts: u32,
}

/// Parses Slurm's task-id lists: `3`, `0-3`, `1,3,5-7`, `0-15%4` (the `%` throttle is ignored),
/// `0-7:2` (a step).
pub fn parse_task_ids(text: &str) -> Option<Vec<usize>> {
    let text = text.split('%').next()?;
    let mut ids = Vec::new();
    for part in text.split(',').filter(|p| !p.is_empty()) {
        let (range, step) = match part.split_once(':') {
            Some((r, s)) => (r, s.parse::<usize>().ok().filter(|&s| s > 0)?),
            None => (part, 1),
        };
        match range.split_once('-') {
            Some((a, b)) => {
                let (a, b) = (a.parse::<usize>().ok()?, b.parse::<usize>().ok()?);
                ids.extend((a..=b).step_by(step));
            }
            None => ids.push(range.parse().ok()?),
        }
    }
    Some(ids)
}

/// Parses `scontrol -o show job ID` (one line per task or pending range) into task records.
/// Lines of jobs that are not array tasks are skipped.
pub fn parse_scontrol(text: &str) -> Vec<TaskRecord> {
    let mut out = Vec::new();
    for line in text.lines() {
        let mut fields = BTreeMap::new();
        for word in line.split_whitespace() {
            if let Some((k, v)) = word.split_once('=') {
                fields.entry(k).or_insert(v);
            }
        }
        let (Some(job), Some(tasks), Some(state)) =
            (fields.get("ArrayJobId"), fields.get("ArrayTaskId"), fields.get("JobState"))
        else {
            continue;
        };
        let Some(tasks) = parse_task_ids(tasks) else { continue };
        out.push(TaskRecord {
            array_job_id: (*job).to_owned(),
            tasks,
            state: (*state).to_owned(),
            exit_code: fields.get("ExitCode").map(|s| (*s).to_owned()).unwrap_or_default(),
            restarts: fields.get("Restarts").and_then(|r| r.parse().ok()).unwrap_or(0),
        });
    }
    out
}

/// A shard's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ShardState {
    /// Every cell has its result file.
    Done,
    /// A task of it runs (or is completing, configuring, suspended).
    Running,
    /// A task of it waits in the queue.
    Pending,
    /// Its last task ended (failed, cancelled, timed out, out of memory, …) with cells missing,
    /// or it has cells missing and Slurm no longer knows its task: requeue it.
    Failed,
    /// Never submitted.
    NotSubmitted,
}

impl fmt::Display for ShardState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ShardState::Done => "done",
            ShardState::Running => "running",
            ShardState::Pending => "pending",
            ShardState::Failed => "failed",
            ShardState::NotSubmitted => "not submitted",
        })
    }
}

/// One shard in a [`StatusReport`].
#[derive(Debug, Clone, PartialEq)]
pub struct ShardStatus {
    /// K.
    pub shard: usize,
    /// Its cells.
    pub cells: usize,
    /// Its cells with a result file.
    pub done: usize,
    /// The latest Slurm task running it (`JOB_K STATE (exit)`), if Slurm still knows it.
    pub slurm: Option<String>,
    /// The verdict.
    pub state: ShardState,
}

/// The status of a job array's results directory.
#[derive(Debug, Clone, PartialEq)]
pub struct StatusReport {
    /// The results directory.
    pub out: PathBuf,
    /// The job record.
    pub record: JobRecord,
    /// The cells directory that was read: `<out>/cells/<config_hash>/`.
    pub cells_dir: PathBuf,
    /// Every shard.
    pub shards: Vec<ShardStatus>,
    /// Remarks: why Slurm's view is missing, a `run.json` of another config.
    pub notes: Vec<String>,
}

impl StatusReport {
    /// The shards in a state.
    pub fn in_state(&self, state: ShardState) -> Vec<usize> {
        self.shards.iter().filter(|s| s.state == state).map(|s| s.shard).collect()
    }

    /// Whether every cell has its file.
    pub fn complete(&self) -> bool {
        self.shards.iter().all(|s| s.state == ShardState::Done)
    }

    /// The command that submits the failed shards again, if any failed.
    pub fn requeue_command(&self) -> Option<String> {
        let failed = self.in_state(ShardState::Failed);
        (!failed.is_empty()).then(|| {
            format!(
                "sbatch --array={} {}",
                join_ids(&failed),
                shell_quote(&self.record.script.to_string_lossy())
            )
        })
    }
}

impl fmt::Display for StatusReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let cells: usize = self.shards.iter().map(|s| s.cells).sum();
        let done: usize = self.shards.iter().map(|s| s.done).sum();
        writeln!(
            f,
            "{}: study {:?}, {} shards, {done}/{cells} cells done; jobs: {}",
            self.out.display(),
            self.record.name,
            self.record.shards,
            if self.record.job_ids.is_empty() {
                "none".into()
            } else {
                self.record.job_ids.join(", ")
            }
        )?;
        for note in &self.notes {
            writeln!(f, "note: {note}")?;
        }
        writeln!(f, "{:>5}  {:>11}  {:<28}  state", "shard", "cells done", "slurm task")?;
        for s in &self.shards {
            writeln!(
                f,
                "{:>5}  {:>11}  {:<28}  {}",
                s.shard,
                format!("{}/{}", s.done, s.cells),
                s.slurm.as_deref().unwrap_or("-"),
                s.state
            )?;
        }
        let count = |st| self.in_state(st).len();
        writeln!(
            f,
            "summary: {} done, {} running, {} pending, {} failed, {} not submitted",
            count(ShardState::Done),
            count(ShardState::Running),
            count(ShardState::Pending),
            count(ShardState::Failed),
            count(ShardState::NotSubmitted)
        )?;
        if let Some(cmd) = self.requeue_command() {
            writeln!(f, "requeue the failed shards (only their missing cells run again):")?;
            writeln!(f, "  {cmd}")?;
            writeln!(
                f,
                "  (or: {} status {} --requeue)",
                program(),
                shell_quote(&self.out.to_string_lossy())
            )?;
        }
        if self.complete() {
            writeln!(
                f,
                "all cells done; merge (idempotent; the last shard normally did it already):"
            )?;
            writeln!(
                f,
                "  {} merge --config {} --out {}",
                shell_quote(&self.record.handprop.to_string_lossy()),
                shell_quote(&self.record.config.to_string_lossy()),
                shell_quote(&self.out.to_string_lossy())
            )?;
        }
        Ok(())
    }
}

/// Judges a shard from its cells and the latest Slurm record of its task.
pub fn classify(
    cells: usize,
    done: usize,
    task: Option<&TaskRecord>,
    submitted: bool,
) -> ShardState {
    if done >= cells {
        return ShardState::Done;
    }
    match task.map(|t| t.state.as_str()) {
        Some("PENDING" | "REQUEUED" | "REQUEUE_HOLD" | "REQUEUE_FED" | "RESV_DEL_HOLD") => {
            ShardState::Pending
        }
        Some(
            "RUNNING" | "CONFIGURING" | "COMPLETING" | "SUSPENDED" | "STOPPED" | "RESIZING"
            | "SIGNALING" | "STAGE_OUT",
        ) => ShardState::Running,
        // Ended (any state, COMPLETED included: a task that exited 0 with cells missing did not do
        // its work) or forgotten by Slurm with cells missing.
        Some(_) => ShardState::Failed,
        None if submitted => ShardState::Failed,
        None => ShardState::NotSubmitted,
    }
}

/// Checks `<out>/run.json` (written by the first task) against the job record: the same config
/// hash and cell count. A mismatch means another config's run shares the directory.
fn check_run_json(out: &Path, record: &JobRecord) -> Result<Option<String>, SlurmError> {
    let path = out.join("run.json");
    let Ok(text) = fs::read_to_string(&path) else { return Ok(None) };
    let v: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| SlurmError::Malformed { path: path.clone(), message: e.to_string() })?;
    let hash = v.get("config_hash").and_then(|h| h.as_str());
    let total = v.get("cells_total").and_then(|n| n.as_u64());
    let cells = record.plan.cells().len() as u64;
    Ok(match (hash, total) {
        (Some(h), _) if h != record.config_hash => Some(format!(
            "{} is of config hash {h}, the job array's is {}",
            path.display(),
            record.config_hash
        )),
        (_, Some(n)) if n != cells => {
            Some(format!("{} counts {n} cells, the job record {cells}", path.display()))
        }
        _ => None,
    })
}

/// Asks `scontrol -o show job` about each job id; records of later submissions win.
fn slurm_tasks(job_ids: &[String]) -> (BTreeMap<usize, TaskRecord>, Option<String>) {
    let mut latest = BTreeMap::new();
    let mut notes = Vec::new();
    for id in job_ids {
        match Command::new("scontrol").args(["-o", "show", "job", id]).output() {
            Ok(o) if o.status.success() => {
                for rec in parse_scontrol(&String::from_utf8_lossy(&o.stdout)) {
                    for &t in &rec.tasks {
                        latest.insert(t, rec.clone());
                    }
                }
            }
            Ok(o) => notes.push(format!(
                "scontrol knows no job {id} ({}); judged by the result files",
                String::from_utf8_lossy(&o.stderr).trim()
            )),
            Err(e) => {
                notes.push(format!("scontrol unavailable ({e}); judged by the result files only"));
                break;
            }
        }
    }
    (latest, (!notes.is_empty()).then(|| notes.join("; ")))
}

/// The status of a results directory: per shard, the cells done (from the files) and the latest
/// Slurm task (from `scontrol`).
pub fn status(out: &Path) -> anyhow::Result<StatusReport> {
    let record = JobRecord::load(out)?;
    let run_note = check_run_json(out, &record)?;
    let cells_dir = out.join("cells").join(&record.config_hash);
    let present: std::collections::HashSet<CellKey> = fs::read_dir(&cells_dir)
        .ok()
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .filter_map(|e| CellKey::parse_file_name(&e.file_name().to_string_lossy()))
                .collect()
        })
        .unwrap_or_default();
    let (tasks, slurm_note) = if record.job_ids.is_empty() {
        (BTreeMap::new(), None)
    } else {
        slurm_tasks(&record.job_ids)
    };
    let n = record.shards;
    let mut shards: Vec<ShardStatus> = (0..n)
        .map(|k| ShardStatus { shard: k, cells: 0, done: 0, slurm: None, state: ShardState::Done })
        .collect();
    for (i, cell) in record.plan.cells().iter().enumerate() {
        let s = &mut shards[i % n];
        s.cells += 1;
        s.done += usize::from(present.contains(cell));
    }
    for s in &mut shards {
        let task = tasks.get(&s.shard);
        s.state = classify(s.cells, s.done, task, !record.job_ids.is_empty());
        s.slurm = task.map(|t| {
            let mut d = format!("{}_{} {}", t.array_job_id, s.shard, t.state);
            if t.exit_code != "0:0"
                && !t.exit_code.is_empty()
                && t.state != "PENDING"
                && t.state != "RUNNING"
            {
                let _ = write!(d, " ({})", t.exit_code);
            }
            d
        });
    }
    let notes = run_note.into_iter().chain(slurm_note).collect();
    Ok(StatusReport { out: out.to_owned(), record, cells_dir, shards, notes })
}

/// The program name for follow-up commands: `handprop slurm` from the binary, else the xtask.
fn program() -> &'static str {
    let is_handprop = std::env::current_exe()
        .ok()
        .is_some_and(|e| e.file_stem().is_some_and(|s| s == "handprop"));
    if is_handprop {
        "handprop slurm"
    } else {
        "cargo xtask slurm"
    }
}

/// Runs `slurm`: generates (and with `--submit` submits) the job array, or `status DIR`.
pub fn run(cmd: SlurmCommand) -> anyhow::Result<()> {
    match cmd.action {
        Some(SlurmAction::Status(a)) => {
            let report = status(&a.dir)?;
            print!("{report}");
            if a.requeue {
                let failed = report.in_state(ShardState::Failed);
                if failed.is_empty() {
                    println!("nothing to requeue");
                } else {
                    let id = requeue(&a.dir, &failed)?;
                    println!("requeued shards {} as job {id}", join_ids(&failed));
                }
            }
            Ok(())
        }
        None => {
            let g = generate(&cmd.args)?;
            let est = estimate(
                &g.spec.plan,
                g.spec.shards,
                g.spec.cpus_per_task,
                g.spec.seconds_per_epoch,
            );
            let out = shell_quote(&g.spec.out.to_string_lossy());
            println!("wrote {}", g.spec.script_path().display());
            println!(
                "  {} cells in {} shards ({} per shard), about {:.1} core-hours, {} per shard at {} CPU(s); time limit {}",
                est.cells,
                g.spec.shards,
                cells_range(est.min_cells_per_shard, est.max_cells_per_shard),
                est.core_hours,
                human_seconds(est.max_shard_wall_seconds),
                g.spec.cpus_per_task,
                g.spec.time
            );
            for w in g.spec.warnings() {
                eprintln!("warning: {w}");
            }
            if cmd.args.submit {
                let id = submit(&g.spec.out, &[])?;
                println!("submitted job array {id} ({} tasks)", g.spec.shards);
                println!("follow up:");
                println!(
                    "  {} status {out}            # shards done / running / failed, requeue hint",
                    program()
                );
                println!("  squeue -j {id}                  # the queue");
                println!("  scancel {id}                    # cancel (finished cells are kept)");
                println!(
                    "  {} merge --config {} --out {out}   # once all cells exist (the last shard merges by itself)",
                    shell_quote(&g.spec.handprop.to_string_lossy()),
                    shell_quote(&g.spec.config.to_string_lossy())
                );
                println!("  cargo xtask report {out}        # charts and the HTML report");
            } else {
                println!("submit: sbatch {}", shell_quote(&g.spec.script_path().to_string_lossy()));
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn plan() -> Plan {
        Plan {
            epochs: 3,
            hidden_layers: 4,
            trials: vec![
                TrialPlan { hidden: 1024, experiments: 2 },
                TrialPlan { hidden: 824, experiments: 1 },
            ],
            cases: 3,
            train_images: 55_000,
            test_images: 10_000,
        }
    }

    const CONFIG: &str = r#"
case_table = "cases/t.toml"
only_cases = [2, 0]

[data]
split = "tf1"
train_subset = 1000

[training]
batch = 100
epochs = 2
seed = 7

[[trials]]
learning_rate = 0.001
hidden = 16
experiments = 2

[[trials]]
learning_rate = 0.0025
hidden = 8
experiments = 1
"#;

    /// A config directory with a case table, like `configs/`.
    fn config_dir() -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join("cases")).unwrap();
        let study = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs/cases/study.toml");
        fs::copy(study, dir.path().join("cases/t.toml")).unwrap();
        let path = dir.path().join("tiny.toml");
        fs::write(&path, CONFIG).unwrap();
        (dir, path)
    }

    fn args(config: &Path, out: &Path, shards: usize) -> SlurmArgs {
        SlurmArgs {
            config: config.to_owned(),
            shards: Some(shards),
            out: Some(out.to_owned()),
            partition: None,
            time: None,
            cpus_per_task: 1,
            mem: "512M".into(),
            seconds_per_epoch: SECONDS_PER_EPOCH_AT_H1024,
            data_dir: "data/mnist".into(),
            sbatch_args: vec![],
            // Any existing file will do: the script is only written, not run.
            handprop: Some(std::env::current_exe().unwrap()),
            submit: false,
            force: false,
        }
    }

    #[test]
    fn cell_file_names_round_trip_and_reject_other_files() {
        let key = CellKey { trial: 4, experiment: 9, case: 16 };
        assert_eq!(key.file_name(), "t4-e09-c16.csv");
        assert_eq!(CellKey::parse_file_name("t4-e09-c16.csv"), Some(key));
        for bad in [
            "t4-e09-c16.csv.tmp",
            ".t4-e09-c16.csv.tmp123",
            "t0-e00-c00.csv",
            "t1-e9-c00.csv",
            "t1-e00-c00",
            "t1-e00-c00-x.csv",
            "t1-e+1-c00.csv",
        ] {
            assert_eq!(CellKey::parse_file_name(bad), None, "{bad}");
        }
    }

    #[test]
    fn cells_follow_the_stable_order_and_shards_partition_them() {
        let p = plan();
        let cells = p.cells();
        assert_eq!(cells.len(), (2 + 1) * 3);
        assert_eq!(cells[0], CellKey { trial: 1, experiment: 0, case: 0 });
        assert_eq!(cells[4], CellKey { trial: 1, experiment: 1, case: 1 });
        assert_eq!(cells[8], CellKey { trial: 2, experiment: 0, case: 2 });
        let mut sorted = cells.clone();
        sorted.sort();
        assert_eq!(sorted, cells, "the stable order is (trial, experiment, case)");
        let n = 4;
        let mut union: Vec<CellKey> = (0..n).flat_map(|k| p.shard_cells(k, n)).collect();
        union.sort();
        assert_eq!(union, cells, "every cell in exactly one shard");
        assert_eq!(p.shard_cells(1, n), vec![cells[1], cells[5]]);
    }

    #[test]
    fn cost_scales_with_weights_and_images() {
        let p = plan();
        assert_eq!(p.seconds_per_epoch(1024, 45.0), 45.0);
        let ratio = p.seconds_per_epoch(824, 1.0);
        assert!(
            (ratio - 0.68).abs() < 0.005,
            "spec §10 says H = 824 costs about 0.68x, got {ratio}"
        );
        // Spec §10: ≈1.3 TFLOP of training plus ≈0.5 TFLOP of evaluation per epoch at H = 1024.
        let tflop = p.flop_per_epoch(1024) / 1e12;
        assert!((tflop - 1.82).abs() < 0.01, "{tflop}");
        // A subset costs in proportion to its image passes.
        let small = Plan { train_images: 5_000, test_images: 1_000, ..plan() };
        let expected = (8.0 * 5_000.0 + 2.0 * 1_000.0) / (8.0 * 55_000.0 + 2.0 * 10_000.0);
        assert!((small.seconds_per_epoch(1024, 1.0) - expected).abs() < 1e-12);
    }

    #[test]
    fn estimate_counts_cells_core_hours_and_parallel_wall() {
        let p = plan();
        let s1024 = 3.0 * 36.0;
        let s824 = 3.0 * p.seconds_per_epoch(824, 36.0);
        let e = estimate(&p, 4, 1, 36.0);
        assert_eq!((e.cells, e.min_cells_per_shard, e.max_cells_per_shard), (9, 2, 3));
        let total = 6.0 * s1024 + 3.0 * s824;
        assert!((e.core_hours - total / 3600.0).abs() < 1e-9);
        // Shard 0 holds positions 0, 4, 8: two H=1024 cells and one H=824 cell.
        assert!((e.max_shard_wall_seconds - (2.0 * s1024 + s824)).abs() < 1e-9);
        // With 8 CPUs, a shard is never faster than its longest cell.
        let wide = estimate(&p, 1, 8, 36.0);
        assert!((wide.max_shard_wall_seconds - total / 8.0).abs() < 1e-9);
        let wider = estimate(&p, 4, 8, 36.0);
        assert!((wider.max_shard_wall_seconds - s1024).abs() < 1e-9);
    }

    #[test]
    fn auto_shards_targets_the_wall_time_and_never_exceeds_the_cells() {
        let p = plan();
        let total = estimate(&p, 1, 1, 36.0).core_hours * 3600.0;
        assert_eq!(auto_shards(&p, 1, 36.0, total * 2.0), 1);
        assert_eq!(auto_shards(&p, 1, 36.0, total / 3.0 + 1.0), 3);
        assert_eq!(auto_shards(&p, 1, 36.0, 1.0), 9);
    }

    #[test]
    fn slurm_times_parse_and_format() {
        assert_eq!(parse_slurm_time("30").unwrap(), 1800);
        assert_eq!(parse_slurm_time("5:30").unwrap(), 330);
        assert_eq!(parse_slurm_time("02:00:01").unwrap(), 7201);
        assert_eq!(parse_slurm_time("1-2").unwrap(), 93600);
        assert_eq!(parse_slurm_time("1-02:30").unwrap(), 86400 + 9000);
        assert_eq!(parse_slurm_time("2-00:00:00").unwrap(), 172800);
        for bad in ["", "1:2:3:4", "x", "1-", "-5", "1-2:3:4:5", "1h"] {
            assert!(
                matches!(parse_slurm_time(bad), Err(SlurmError::BadTime(t)) if t == bad),
                "{bad}"
            );
        }
        assert_eq!(format_slurm_time(1.0), "0-00:01:00");
        assert_eq!(format_slurm_time(3601.0), "0-01:01:00");
        assert_eq!(format_slurm_time(90000.0), "1-01:00:00");
        assert_eq!(parse_slurm_time(&format_slurm_time(7000.0)).unwrap(), 7020);
    }

    #[test]
    fn resolving_inlines_the_case_table_and_is_idempotent() {
        let (dir, path) = config_dir();
        let r = resolve_config(&path).unwrap();
        assert_eq!(r.name, "tiny");
        assert_eq!(
            r.plan,
            Plan {
                epochs: 2,
                hidden_layers: 4,
                trials: vec![
                    TrialPlan { hidden: 16, experiments: 2 },
                    TrialPlan { hidden: 8, experiments: 1 }
                ],
                cases: 2,
                train_images: 1000,
                test_images: 10_000,
            }
        );
        let table: toml::Table = r.toml.parse().unwrap();
        assert!(table.get("case_table").is_none() && table.get("only_cases").is_none());
        let labels: Vec<&str> = table["cases"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["label"].as_str().unwrap())
            .collect();
        assert_eq!(labels, ["Dilated, sparse + noise", "Google Brain noise + standard BP"]);
        // The frozen copy lives elsewhere under another name and resolves to itself, so the pin
        // and the runner's hash are stable.
        let frozen = dir.path().join("elsewhere.toml");
        fs::write(&frozen, &r.toml).unwrap();
        let again = resolve_config(&frozen).unwrap();
        assert_eq!(again.name, "tiny");
        assert_eq!(again.toml, r.toml);
        assert_eq!(again.plan, r.plan);
        assert_eq!((again.sha256(), again.config_hash), (r.sha256(), r.config_hash));
    }

    #[test]
    fn resolving_names_the_file_and_field_on_errors() {
        let (dir, path) = config_dir();
        fs::write(&path, CONFIG.replace("hidden = 8\n", "")).unwrap();
        let e = resolve_config(&path).unwrap_err().to_string();
        assert!(e.contains("tiny.toml") && e.contains("hidden"), "{e}");
        fs::write(&path, CONFIG.replace("[2, 0]", "[40]")).unwrap();
        let e = resolve_config(&path).unwrap_err().to_string();
        assert!(e.contains("only_cases") && e.contains("40"), "{e}");
        let e = resolve_config(&dir.path().join("missing.toml")).unwrap_err().to_string();
        assert!(e.contains("missing.toml") && e.contains("cannot read"), "{e}");
    }

    #[test]
    fn the_script_runs_one_shard_per_task_with_the_pinned_config() {
        let (dir, path) = config_dir();
        let out = dir.path().join("results dir");
        let mut a = args(&path, &out, 2);
        a.partition = Some("short".into());
        a.time = Some("0-01:00:00".into());
        a.sbatch_args = vec!["--account=proj".into()];
        let g = generate(&a).unwrap();
        let out = fs::canonicalize(&out).unwrap();
        let script = fs::read_to_string(out.join("slurm/tiny.sbatch")).unwrap();
        assert_eq!(script, g.spec.render());
        let frozen = fs::read(out.join("slurm/config.toml")).unwrap();
        let sha = hex::encode(Sha256::digest(&frozen));
        for line in [
            "#SBATCH --array=0-1".to_string(),
            "#SBATCH --job-name=handprop-tiny".into(),
            format!("#SBATCH --output={}/slurm/logs/%A_%a.log", out.display()),
            "#SBATCH --open-mode=append".into(),
            "#SBATCH --cpus-per-task=1".into(),
            "#SBATCH --mem=512M".into(),
            "#SBATCH --time=0-01:00:00".into(),
            "#SBATCH --partition=short".into(),
            "#SBATCH --account=proj".into(),
            format!("CONFIG_SHA256={sha}"),
            "SHARDS=2".into(),
            "# cells:   6 = 3 experiments in 2 trial(s) x 2 case(s), 2 epochs each".into(),
            "# shards:  2 (array 0-1), 3 cells per shard".into(),
        ] {
            assert!(script.lines().any(|l| l == line), "missing {line:?} in\n{script}");
        }
        // The path with a space is quoted for bash.
        assert!(script.contains(&format!("OUT='{}'", out.display())), "{script}");
        assert!(script.contains(
            r#"exec "$HANDPROP" run --config "$CONFIG" --shard "$K/$SHARDS" --out "$OUT" --data-dir "$DATA_DIR""#
        ));
        // The data directory is absolute: tasks start wherever sbatch was called.
        let data_dir = std::env::current_dir().unwrap().join("data/mnist");
        assert!(script
            .lines()
            .any(|l| l == format!("DATA_DIR={}", shell_quote(&data_dir.to_string_lossy()))));
        // Tiny cells: the sizing warning is in the header, before the first shell line.
        let warn =
            script.lines().position(|l| l.starts_with("# WARNING: shards are short")).unwrap();
        let first_sbatch = script.lines().position(|l| l.starts_with("#SBATCH")).unwrap();
        assert!(warn < first_sbatch);
        assert!(out.join("slurm/logs").is_dir());
        let rec = JobRecord::load(&out).unwrap();
        assert_eq!(
            (rec.shards, rec.config_sha256.as_str(), rec.job_ids.len()),
            (2, sha.as_str(), 0)
        );
    }

    #[test]
    fn long_shards_do_not_warn_and_a_short_time_limit_does() {
        let spec = ScriptSpec {
            name: "paper".into(),
            source_config: "configs/paper.toml".into(),
            config: "/r/slurm/config.toml".into(),
            config_sha256: "00".into(),
            out: "/r".into(),
            handprop: "/bin/handprop".into(),
            data_dir: "/data/mnist".into(),
            shards: 4,
            partition: None,
            time: "3-00:00:00".into(),
            cpus_per_task: 1,
            mem: "1G".into(),
            sbatch_args: vec![],
            plan: Plan { epochs: 801, ..plan() },
            seconds_per_epoch: 45.0,
        };
        assert!(spec.warnings().is_empty(), "{:?}", spec.warnings());
        let script = spec.render();
        assert!(!script.contains("WARNING") && !script.contains("--partition"));
        let short = ScriptSpec { time: "10".into(), ..spec };
        let w = short.warnings();
        assert_eq!(w.len(), 1);
        assert!(w[0].starts_with("--time 10 is below the estimated"), "{w:?}");
    }

    #[test]
    fn default_time_covers_the_estimate_with_a_margin() {
        let (dir, path) = config_dir();
        let mut a = args(&path, &dir.path().join("out"), 3);
        a.seconds_per_epoch = 1.0e6;
        let g = generate(&a).unwrap();
        let est = estimate(&g.spec.plan, 3, 1, 1.0e6);
        let limit = parse_slurm_time(&g.spec.time).unwrap() as f64;
        assert!(limit >= est.max_shard_wall_seconds * TIME_SAFETY_FACTOR + TIME_MARGIN_SECONDS);
        assert!(
            limit < est.max_shard_wall_seconds * TIME_SAFETY_FACTOR + TIME_MARGIN_SECONDS + 60.0
        );
    }

    #[test]
    fn generation_rejects_bad_shard_counts_and_a_different_pin() {
        let (dir, path) = config_dir();
        let out = dir.path().join("out");
        assert!(matches!(
            generate(&args(&path, &out, 0)).unwrap_err().downcast_ref(),
            Some(SlurmError::NoShards)
        ));
        assert!(matches!(
            generate(&args(&path, &out, 7)).unwrap_err().downcast_ref(),
            Some(SlurmError::TooManyShards { shards: 7, cells: 6 })
        ));
        generate(&args(&path, &out, 2)).unwrap();
        // A recorded submission survives regenerating the same pin.
        let mut rec = JobRecord::load(&out).unwrap();
        rec.job_ids.push("41".into());
        rec.save(&out).unwrap();
        generate(&args(&path, &out, 2)).unwrap();
        assert_eq!(JobRecord::load(&out).unwrap().job_ids, ["41"]);
        // An edited source config cannot replace the pin of a possibly running array.
        fs::write(&path, CONFIG.replace("epochs = 2", "epochs = 3")).unwrap();
        let err = generate(&args(&path, &out, 2)).unwrap_err();
        assert!(matches!(err.downcast_ref(), Some(SlurmError::PinnedElsewhere { .. })), "{err}");
        let mut forced = args(&path, &out, 2);
        forced.force = true;
        let g = generate(&forced).unwrap();
        assert_eq!(g.record.plan.epochs, 3);
        assert!(g.record.job_ids.is_empty(), "job ids of another pin are dropped");
    }

    #[test]
    fn sbatch_parsable_output() {
        assert_eq!(parse_sbatch_parsable("123\n").unwrap(), "123");
        assert_eq!(parse_sbatch_parsable("123;cluster\n").unwrap(), "123");
        assert!(matches!(
            parse_sbatch_parsable("Submitted batch job 12"),
            Err(SlurmError::BadJobId(_))
        ));
        assert!(parse_sbatch_parsable("").is_err());
    }

    #[test]
    fn task_id_lists() {
        assert_eq!(parse_task_ids("3"), Some(vec![3]));
        assert_eq!(parse_task_ids("0-3"), Some(vec![0, 1, 2, 3]));
        assert_eq!(parse_task_ids("1,3,5-6"), Some(vec![1, 3, 5, 6]));
        assert_eq!(parse_task_ids("0-15%4").map(|v| v.len()), Some(16));
        assert_eq!(parse_task_ids("0-6:3"), Some(vec![0, 3, 6]));
        assert_eq!(parse_task_ids("x"), None);
        assert_eq!(parse_task_ids("0-6:0"), None);
    }

    /// Abridged `scontrol -o show job 7` of Slurm 22.05 for a 4-task array: task 1 failed,
    /// task 0 completed, tasks 2-3 pending in one record; plus a line of an ordinary job.
    const SCONTROL: &str = "\
JobId=8 ArrayJobId=7 ArrayTaskId=1 JobName=handprop-smoke UserId=root(0) Priority=1 JobState=FAILED Reason=NonZeroExitCode Dependency=(null) Requeue=1 Restarts=0 BatchFlag=1 Reboot=0 ExitCode=3:0 RunTime=00:00:02
JobId=7 ArrayJobId=7 ArrayTaskId=0 JobName=handprop-smoke UserId=root(0) JobState=COMPLETED Reason=None Restarts=1 ExitCode=0:0
JobId=7 ArrayJobId=7 ArrayTaskId=2-3%1 JobName=handprop-smoke JobState=PENDING Reason=JobArrayTaskLimit ExitCode=0:0
JobId=9 JobName=wrap UserId=root(0) JobState=RUNNING Reason=None ExitCode=0:0
";

    #[test]
    fn scontrol_lines_become_task_records() {
        let recs = parse_scontrol(SCONTROL);
        assert_eq!(recs.len(), 3);
        assert_eq!(
            recs[0],
            TaskRecord {
                array_job_id: "7".into(),
                tasks: vec![1],
                state: "FAILED".into(),
                exit_code: "3:0".into(),
                restarts: 0,
            }
        );
        assert_eq!((recs[1].tasks.as_slice(), recs[1].restarts), (&[0][..], 1));
        assert_eq!((recs[2].tasks.as_slice(), recs[2].state.as_str()), (&[2, 3][..], "PENDING"));
    }

    #[test]
    fn shards_are_judged_by_files_first_then_by_slurm() {
        let rec = |state: &str| TaskRecord {
            array_job_id: "7".into(),
            tasks: vec![0],
            state: state.into(),
            exit_code: "0:0".into(),
            restarts: 0,
        };
        assert_eq!(classify(3, 3, Some(&rec("FAILED")), true), ShardState::Done);
        assert_eq!(classify(3, 3, None, false), ShardState::Done);
        assert_eq!(classify(3, 1, Some(&rec("RUNNING")), true), ShardState::Running);
        assert_eq!(classify(3, 0, Some(&rec("PENDING")), true), ShardState::Pending);
        for ended in ["FAILED", "CANCELLED", "TIMEOUT", "OUT_OF_MEMORY", "NODE_FAIL", "COMPLETED"] {
            assert_eq!(classify(3, 2, Some(&rec(ended)), true), ShardState::Failed, "{ended}");
        }
        assert_eq!(classify(3, 2, None, true), ShardState::Failed);
        assert_eq!(classify(3, 0, None, false), ShardState::NotSubmitted);
    }

    #[test]
    fn status_reads_the_cell_files_of_the_runs_hash() {
        let (dir, path) = config_dir();
        let out = dir.path().join("out");
        generate(&args(&path, &out, 2)).unwrap();
        let out = fs::canonicalize(&out).unwrap();
        let st = status(&out).unwrap();
        assert_eq!(st.in_state(ShardState::NotSubmitted), [0, 1]);
        assert_eq!(st.requeue_command(), None);
        // The runner's files: shard 0 (positions 0, 2, 4) is complete, shard 1 has one of its
        // cells plus a temp file, and a stale directory of another hash holds the rest (it must
        // not count).
        let hash = JobRecord::load(&out).unwrap().config_hash;
        assert_eq!(hash, resolve_config(&path).unwrap().config_hash);
        let run_json = format!(r#"{{"config_hash": "{hash}", "cells_total": 6}}"#);
        fs::write(out.join("run.json"), &run_json).unwrap();
        let cells = out.join("cells").join(&hash);
        fs::create_dir_all(&cells).unwrap();
        fs::create_dir_all(out.join("cells/ffff")).unwrap();
        let all = JobRecord::load(&out).unwrap().plan.cells();
        for i in [0, 2, 4, 1] {
            fs::write(cells.join(all[i].file_name()), "epoch\n").unwrap();
        }
        fs::write(cells.join(format!(".{}.tmp", all[3].file_name())), "").unwrap();
        for c in &all {
            fs::write(out.join("cells/ffff").join(c.file_name()), "").unwrap();
        }
        let mut rec = JobRecord::load(&out).unwrap();
        // A job id no Slurm knows (or no Slurm at all): judged by the files.
        rec.job_ids.push("999999999".into());
        rec.save(&out).unwrap();
        let st = status(&out).unwrap();
        assert_eq!(st.cells_dir, cells);
        assert_eq!(
            (st.shards[0].done, st.shards[0].cells, st.shards[0].state),
            (3, 3, ShardState::Done)
        );
        assert_eq!(
            (st.shards[1].done, st.shards[1].cells, st.shards[1].state),
            (1, 3, ShardState::Failed)
        );
        assert_eq!(st.notes.len(), 1, "only the unknown job: {:?}", st.notes);
        let cmd = st.requeue_command().unwrap();
        assert_eq!(
            cmd,
            format!(
                "sbatch --array=1 {}",
                shell_quote(&out.join("slurm/tiny.sbatch").to_string_lossy())
            )
        );
        let text = st.to_string();
        assert!(text.contains("4/6 cells done") && text.contains(&cmd), "{text}");
        assert!(!text.contains("all cells done"));
        // A run.json of another config is pointed out.
        fs::write(out.join("run.json"), run_json.replace(&hash, "ffff")).unwrap();
        let st = status(&out).unwrap();
        assert!(st.notes.iter().any(|n| n.contains("ffff")), "{:?}", st.notes);
    }

    #[test]
    fn status_without_a_job_record_says_how_to_make_one() {
        let dir = tempfile::tempdir().unwrap();
        let err = status(dir.path()).unwrap_err();
        assert!(matches!(err.downcast_ref(), Some(SlurmError::NoJobRecord(_))), "{err}");
    }

    #[test]
    fn shell_quoting() {
        assert_eq!(shell_quote("/a/b-c_d.e"), "/a/b-c_d.e");
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(shell_quote(""), "''");
    }

    #[derive(Parser)]
    struct Cli {
        #[command(subcommand)]
        cmd: Top,
    }

    #[derive(clap::Subcommand)]
    enum Top {
        Slurm(SlurmCommand),
    }

    #[test]
    fn command_line_parses_generation_and_status() {
        let Top::Slurm(c) = Cli::try_parse_from([
            "x",
            "slurm",
            "--config",
            "configs/smoke.toml",
            "--shards",
            "4",
            "--out",
            "r",
            "--partition",
            "p",
            "--time",
            "10",
            "--cpus-per-task",
            "2",
            "--mem",
            "2G",
            "--sbatch-arg=--qos=long",
            "--submit",
        ])
        .unwrap()
        .cmd;
        assert!(c.action.is_none());
        let a = c.args;
        assert_eq!(a.config, Path::new("configs/smoke.toml"));
        assert_eq!((a.shards, a.cpus_per_task, a.mem.as_str(), a.submit), (Some(4), 2, "2G", true));
        assert_eq!((a.partition.as_deref(), a.time.as_deref()), (Some("p"), Some("10")));
        assert_eq!(a.sbatch_args, ["--qos=long"]);
        let Top::Slurm(c) =
            Cli::try_parse_from(["x", "slurm", "status", "r", "--requeue"]).unwrap().cmd;
        let Some(SlurmAction::Status(s)) = c.action else { panic!("not status") };
        assert_eq!((s.dir.as_path(), s.requeue), (Path::new("r"), true));
        assert!(Cli::try_parse_from(["x", "slurm", "--shards", "2", "status", "r"]).is_err());
    }
}
