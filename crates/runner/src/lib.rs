//! `handprop-runner`: composes the network (`handprop-layers`) and the update rules
//! (`handprop-optim`) into the study's cases and runs the study on MNIST (`handprop-mnist`).
//!
//! * [`config`]: TOML configs, validated before any work starts; a case is data.
//! * [`cells`]: the run's cells (trial, experiment, case), shards and random streams.
//! * [`train`]: one cell's training loop and [`CaseTrainer`], its per-step core as a public
//!   type.
//! * [`run`](mod@run): parallel, resumable, sharded execution with progress.
//! * [`output`]: atomic cell files, merged tables, winners and win frequencies.
//! * [`tune`]: tuning each case's η on the validation split (`handprop tune`).

mod case;
pub mod cells;
pub use handprop_results::colour;
pub mod config;
pub mod output;
pub mod progress;
pub mod run;
pub mod train;
pub mod tune;

pub use cells::{Cell, Shard};
pub use config::{Config, ConfigError};
pub use handprop_optim::Registry;
pub use run::{load_data, merge_only, run, run_with, RunOptions, RunSummary};
pub use train::{CaseTrainer, Data};

/// The compute kernel this CPU runs (its name, register tile, cache blocking and the caches they
/// derive from: `handprop_tensor::kernel_info`), for `run.json`: the same CPU always picks the
/// same kernel, so results are bit-identical across its runs, resumes and shards.
pub fn kernel_info() -> Option<serde_json::Value> {
    serde_json::to_value(handprop_tensor::kernel_info()).ok()
}
