//! `cargo xtask <task>`: the project's tasks in one binary, one module per task.
//!
//! xtask holds no experiment logic and links no product crate: each task checks its arguments,
//! builds the release binaries (`handprop`, `handprop-report`) once, and runs them (see `cargo`).

mod bench;
mod cargo;
mod compare;
mod download;
mod report;
mod slurm;
mod trials;
mod tune;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// The workspace root (xtask lives one level below it).
pub fn project_root() -> PathBuf {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    dir.parent().unwrap_or(dir).to_path_buf()
}

#[derive(Parser)]
#[command(name = "cargo xtask", about = "handprop's tasks", version)]
struct Cli {
    #[command(subcommand)]
    task: Task,
}

#[derive(Subcommand)]
enum Task {
    /// Fetch and verify MNIST into the download cache.
    Download(download::Args),
    /// Run the study (the main job): trials × experiments × cases, then the report.
    Trials(trials::Args),
    /// Tune every case's η on the validation split, then compare default and tuned η.
    Tune(tune::Args),
    /// Run the benchmarks (GEMM, training step, optimizer updates) in release mode.
    Bench(bench::Args),
    /// Time handprop, PyTorch and TensorFlow on the study's network, interleaved.
    Compare(compare::Args),
    /// Turn a results directory into charts, statistics and an HTML report.
    Report(report::Args),
    /// Run the study on a Slurm cluster as a job array of shards.
    Slurm(slurm::Args),
}

fn main() {
    let cli = Cli::parse();
    let result = match cli.task {
        Task::Download(args) => download::run(args),
        Task::Trials(args) => trials::run(args),
        Task::Tune(args) => tune::run(args),
        Task::Bench(args) => bench::run(args),
        Task::Compare(args) => compare::run(args),
        Task::Report(args) => report::run(args),
        Task::Slurm(args) => slurm::run(args),
    };
    if let Err(err) = result {
        eprintln!("error: {err:#}");
        std::process::exit(1);
    }
}
