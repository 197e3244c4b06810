//! `handprop slurm`: the command line of `handprop-slurm` (job arrays over the runner's shards).
//! This module owns the options and every line printed; the library takes plain data, which is
//! built here from the runner's [`Config`] and `handprop-mnist`'s split sizes.

use std::path::{Path, PathBuf};

use handprop_mnist::{FileSet, Split, PIXELS, TF1_VALIDATION};
use handprop_runner::config::{CLASSES, INPUT};
use handprop_runner::run::RunError;
use handprop_runner::{Config, ConfigError};
use handprop_slurm::{
    cells_range, human_seconds, join_ids, shell_quote, Calibration, GenerateOptions, Plan,
    ResolvedConfig, ShardState, SlurmError, TrialPlan,
};

/// Core-seconds for one epoch of one cell at H = [`CALIBRATION_HIDDEN`] with
/// [`CALIBRATION_LAYERS`] hidden layers on one core, training on the TF1 split's training images
/// and evaluating on train and test (≈1.8 TFLOP).
///
/// Measured with `handprop run --config configs/calibrate.toml --threads 1` (one Adam cell, full
/// TF1 split) on this project's 2-core machine with AVX-512, on a quiet machine: 8.09 s and
/// 7.84 s for two epochs at H = 1024 (≈ 230 GFLOP/s), 5.31 s and 5.30 s at H = 824 (the FLOP
/// scaling predicts 5.4 s). Rounded to 8 s. Override it with `--seconds-per-epoch` after
/// measuring on the cluster's own cores with the same config.
pub const SECONDS_PER_EPOCH_AT_H1024: f64 = 8.0;

/// Hidden width of the calibration cell (`configs/calibrate.toml`'s first trial).
pub const CALIBRATION_HIDDEN: usize = 1024;

/// Hidden layers of the calibration cell (the study's network).
pub const CALIBRATION_LAYERS: usize = 4;

/// `handprop slurm`: generate (and optionally submit) a job array, or `status DIR`.
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
    /// The `handprop` binary the tasks run (default: this executable). It must be reachable from
    /// the compute nodes.
    #[arg(long)]
    pub handprop: Option<PathBuf>,
    /// Submit the script with `sbatch --parsable` and print the follow-up commands.
    #[arg(long)]
    pub submit: bool,
    /// Replace a frozen config of an earlier generation that differs from this one.
    #[arg(long)]
    pub force: bool,
}

/// Training and test images of a split, from `handprop-mnist`'s file specs: an IDX image file
/// is a 16-byte header and `PIXELS` bytes per image, and the header is shorter than one image, so
/// the floor of size / `PIXELS` is the image count.
pub fn split_images(split: Split) -> (usize, usize) {
    let files = FileSet::canonical();
    let count = |bytes: u64| (bytes / PIXELS as u64) as usize;
    let (train, test) = (count(files.train_images.bytes), count(files.test_images.bytes));
    match split {
        Split::Full => (train, test),
        Split::Tf1 => (train - TF1_VALIDATION, test),
    }
}

/// The scheduling view of a config: its cells and the shape of an epoch.
pub fn plan(config: &Config) -> Plan {
    let (train, test) = split_images(config.data.split);
    Plan {
        epochs: config.training.epochs,
        hidden_layers: config.training.hidden_layers,
        trials: config
            .trials
            .iter()
            .map(|t| TrialPlan { hidden: t.hidden, experiments: t.experiments })
            .collect(),
        cases: config.cases.len(),
        train_images: config.data.train_subset.unwrap_or(train),
        test_images: config.data.test_subset.unwrap_or(test),
        input: INPUT,
        classes: CLASSES,
    }
}

/// The calibration of `seconds_per_epoch` measured on `configs/calibrate.toml`: one epoch at
/// H = 1024, 4 hidden layers, the whole TF1 split.
pub fn calibration(seconds_per_epoch: f64) -> Calibration {
    let (train, test) = split_images(Split::Tf1);
    let reference = Plan {
        epochs: 1,
        hidden_layers: CALIBRATION_LAYERS,
        trials: Vec::new(),
        cases: 1,
        train_images: train,
        test_images: test,
        input: INPUT,
        classes: CLASSES,
    };
    Calibration::new(seconds_per_epoch, &reference, CALIBRATION_HIDDEN)
}

/// Loads, validates and resolves a config file with the runner's [`Config::load`], so a bad config
/// fails here, before anything is submitted. The frozen copy is the resolved TOML: a relative
/// `case_table` would not survive being copied into the results directory, and loading the
/// resolved form again gives the same config and the same hash.
pub fn resolve(path: &Path) -> Result<ResolvedConfig, ConfigError> {
    let config = Config::load(path)?;
    Ok(ResolvedConfig {
        name: config.name.clone(),
        toml: config.to_toml(),
        config_hash: config.hash(),
        plan: plan(&config),
    })
}

/// The generation options of the command line; the default binary is this executable.
pub fn options(args: &SlurmArgs, name: &str) -> anyhow::Result<GenerateOptions> {
    let handprop = match &args.handprop {
        Some(p) => p.clone(),
        None => std::env::current_exe()
            .map_err(|e| anyhow::anyhow!("locating this executable for --handprop: {e}"))?,
    };
    Ok(GenerateOptions {
        source_config: args.config.clone(),
        out: args.out.clone().unwrap_or_else(|| Path::new("results").join(name)),
        shards: args.shards,
        partition: args.partition.clone(),
        time: args.time.clone(),
        cpus_per_task: args.cpus_per_task,
        mem: args.mem.clone(),
        calibration: calibration(args.seconds_per_epoch),
        data_dir: args.data_dir.clone(),
        sbatch_args: args.sbatch_args.clone(),
        handprop,
        force: args.force,
    })
}

/// A usage error of the library exits like the runner's usage errors (code 2).
fn usage(e: SlurmError) -> anyhow::Error {
    if e.is_usage() {
        RunError::Usage(e.to_string()).into()
    } else {
        e.into()
    }
}

/// Runs `handprop slurm`: generates (and with `--submit` submits) the job array, or `status DIR`.
pub fn run(cmd: SlurmCommand) -> anyhow::Result<()> {
    match cmd.action {
        Some(SlurmAction::Status(a)) => status(&a),
        None => generate(&cmd.args),
    }
}

fn status(a: &StatusArgs) -> anyhow::Result<()> {
    let report = handprop_slurm::status(&a.dir).map_err(|e| match e {
        SlurmError::NoJobRecord(_) => {
            RunError::Usage(format!("{e} (`handprop slurm --config FILE --out DIR`)")).into()
        }
        other => usage(other),
    })?;
    print!("{report}");
    let failed = report.in_state(ShardState::Failed);
    if !a.requeue {
        if !failed.is_empty() {
            println!(
                "  (or: handprop slurm status {} --requeue)",
                shell_quote(&a.dir.to_string_lossy())
            );
        }
    } else if failed.is_empty() {
        println!("nothing to requeue");
    } else {
        let id = handprop_slurm::requeue(&a.dir, &failed).map_err(usage)?;
        println!("requeued shards {} as job {id}", join_ids(&failed));
    }
    Ok(())
}

fn generate(args: &SlurmArgs) -> anyhow::Result<()> {
    let resolved = resolve(&args.config)?;
    let opts = options(args, &resolved.name)?;
    let g = handprop_slurm::generate(&resolved, &opts).map_err(usage)?;
    let est = g.spec.estimate();
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
    if !args.submit {
        println!("submit: sbatch {}", shell_quote(&g.spec.script_path().to_string_lossy()));
        return Ok(());
    }
    let id = handprop_slurm::submit(&g.spec.out, &[])?;
    let handprop = shell_quote(&g.spec.handprop.to_string_lossy());
    println!("submitted job array {id} ({} tasks)", g.spec.shards);
    println!("follow up:");
    println!("  {handprop} slurm status {out}   # shards done / running / failed, requeue hint");
    println!("  squeue -j {id}                  # the queue");
    println!("  scancel {id}                    # cancel (finished cells are kept)");
    println!(
        "  {handprop} merge --config {} --out {out}   # once all cells exist (the last shard merges by itself)",
        shell_quote(&g.spec.config.to_string_lossy())
    );
    println!("  cargo xtask report {out}        # charts and the HTML report");
    Ok(())
}
