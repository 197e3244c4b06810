//! `handprop-slurm`: Slurm job arrays over the runner's shards.
//!
//! A study is split into N shards by the runner's `--shard K/N` contract (cell i of the stable
//! order trial, experiment, case belongs to shard i mod N). This crate turns that into one Slurm
//! job array `0..N-1` where task K runs `handprop run --shard K/N`. It takes plain data — a
//! [`ResolvedConfig`] (name, resolved TOML, config hash, [`Plan`]) and [`GenerateOptions`] — and
//! never parses configs, prints, or knows which program called it; the `handprop slurm`
//! subcommand builds the data from the runner's config and prints.
//!
//! * [`generate`] freezes the resolved config as `<out>/slurm/config.toml` (pinned by its
//!   SHA-256, which every task checks before it starts, so a later edit of the source config can
//!   never mix two configurations in one results directory), and writes the sbatch script
//!   `<out>/slurm/<name>.sbatch` and the job record `<out>/slurm/job.json`. The script header
//!   states the cells per shard and the estimated core-hours.
//! * [`submit`] runs `sbatch --parsable` and records the job id; [`requeue`] submits chosen
//!   shards again.
//! * [`status`] reports each shard as done / running / pending / failed from the result files
//!   (a shard is done when every one of its cells has its file; names and paths come from
//!   `handprop-results`) and from `scontrol -o show job` (no accounting database needed). A
//!   requeued shard only computes its missing cells, because the runner skips existing ones.
//!
//! # Cost model
//!
//! One epoch of one cell costs, in core-seconds, `s(H) = s_ref · flop(H) / flop_ref` with
//! `flop(H) = (8·n_train + 2·n_test) · w(H)` and `w(H) = I·H + (L−1)·H² + C·H` the weight count
//! of the network with input width I, L hidden layers of width H and C classes: every FLOP of an
//! epoch (forward, backward, update and evaluation) is a matrix product over the weights.
//! `s_ref` is a measured figure for a reference cell ([`Calibration`]). A shard's wall time is
//! its cells' total core-seconds divided by the CPUs it uses (the runner trains cells in
//! parallel, one per thread), but never less than its longest cell.
//!
//! Every error is a [`SlurmError`] naming the file, option or value at fault.

mod error;
mod job;
mod plan;
mod script;
mod status;
mod time;

pub use error::SlurmError;
pub use job::{
    generate, join_ids, parse_sbatch_parsable, requeue, sbatch, submit, GenerateOptions, Generated,
    JobRecord, ResolvedConfig,
};
pub use plan::{auto_shards, estimate, Calibration, Estimate, Plan, TrialPlan};
pub use script::{shell_quote, ScriptSpec};
pub use status::{
    classify, parse_scontrol, parse_task_ids, status, ShardState, ShardStatus, StatusReport,
    TaskRecord,
};
pub use time::{cells_range, format_slurm_time, human_seconds, parse_slurm_time};

/// The directory inside a results directory that holds the script, the frozen config, the job
/// record and the logs.
pub const SLURM_DIR: &str = "slurm";

/// Below this estimated wall time per shard, Slurm's per-task overhead (scheduling, launching,
/// loading the data; seconds to a minute, plus queue wait) is a large part of the shard's time
/// and the header warns: use fewer shards.
pub const MIN_USEFUL_SHARD_SECONDS: f64 = 120.0;

/// Without an explicit number of shards, it is chosen so that one shard takes about this long.
pub const TARGET_SHARD_SECONDS: f64 = 12.0 * 3600.0;

/// Without an explicit time limit, the limit is the estimate times this factor plus
/// [`TIME_MARGIN_SECONDS`]: the estimate is only a model, and a task killed at its limit loses its
/// cells in flight.
pub const TIME_SAFETY_FACTOR: f64 = 1.5;

/// Added to the estimated wall time for the default time limit.
pub const TIME_MARGIN_SECONDS: f64 = 600.0;
