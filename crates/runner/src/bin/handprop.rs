//! `handprop`: the study's runner as a standalone binary (for cluster nodes, where there may be no
//! cargo). `cargo xtask trials` builds it in release mode and calls `handprop run`.
//!
//! ```text
//! handprop run   --config FILE [--shard K/N] [--out DIR] [--threads N] [--force] [--no-merge]
//! handprop merge --config FILE [--out DIR]
//! handprop slurm ...            (job arrays over shards, see docs/scaling.md)
//! ```

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use handprop_runner::run::{format_frequency, RunError};
use handprop_runner::{Config, RunOptions, Shard};

#[derive(Parser)]
#[command(
    name = "handprop",
    version,
    about = "Hand-made back-propagation vs TF1's optimizers on MNIST"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Args)]
struct Common {
    /// The run's config (TOML).
    #[arg(long, default_value = "configs/quick.toml")]
    config: PathBuf,
    /// Output directory (default: results/<config name>).
    #[arg(long)]
    out: Option<PathBuf>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the cells (of one shard) that have no result yet, then merge if all exist.
    Run {
        #[command(flatten)]
        common: Common,
        /// Worker threads, one cell each (default: all cores).
        #[arg(long)]
        threads: Option<usize>,
        /// Run only shard K of N (0 ≤ K < N): cells whose position is K modulo N.
        #[arg(long, default_value = "0/1")]
        shard: Shard,
        /// Recompute cells whose results exist.
        #[arg(long)]
        force: bool,
        /// Do not merge the tables at the end.
        #[arg(long)]
        no_merge: bool,
        /// MNIST cache directory (fetched into if missing).
        #[arg(long, default_value = "data/mnist")]
        data_dir: PathBuf,
        /// Extra MNIST mirrors, tried first (URL, file:// URL or directory).
        #[arg(long = "mirror")]
        mirrors: Vec<String>,
    },
    /// Write the merged tables of a run whose cells all exist.
    Merge {
        #[command(flatten)]
        common: Common,
    },
    /// Run on a Slurm cluster as a job array of shards.
    Slurm(handprop_runner::slurm::SlurmCommand),
}

fn out_dir(config: &Config, out: Option<PathBuf>) -> PathBuf {
    out.unwrap_or_else(|| PathBuf::from("results").join(&config.name))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match real_main(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            // A simulated crash exits like a killed task would, distinct from a usage error.
            if matches!(err.downcast_ref::<RunError>(), Some(RunError::Injected(_))) {
                ExitCode::from(3)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}

fn real_main(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Run { common, threads, shard, force, no_merge, data_dir, mirrors } => {
            let config = Config::load(&common.config)?;
            let out = out_dir(&config, common.out);
            let mirrors = mirrors
                .iter()
                .map(|m| handprop_mnist::Mirror::parse(m))
                .collect::<Result<Vec<_>, _>>()
                .context("bad --mirror")?;
            if threads == Some(0) {
                anyhow::bail!("--threads must be at least 1");
            }
            let data = handprop_runner::load_data(&config, &data_dir, &mirrors)?;
            let opts = RunOptions {
                out: out.clone(),
                threads,
                shard,
                force,
                merge: !no_merge,
                progress: None,
            };
            let summary = handprop_runner::run(&config, &data, &opts)?;
            eprintln!(
                "{}: shard {} done: {} cells computed ({} diverged), {} already there, {:.1} s",
                config.name,
                shard,
                summary.computed,
                summary.diverged,
                summary.skipped,
                summary.wall.as_secs_f64()
            );
            match &summary.frequency {
                Some(freq) => {
                    println!("Win frequencies (tables in {}):", out.display());
                    print!("{}", format_frequency(&config, freq));
                }
                None if no_merge => {}
                None => eprintln!(
                    "other shards' cells are still missing; the last shard to finish merges (or run `handprop merge --config {} --out {}`)",
                    common.config.display(),
                    out.display()
                ),
            }
            Ok(())
        }
        Command::Merge { common } => {
            let config = Config::load(&common.config)?;
            let out = out_dir(&config, common.out);
            let freq = handprop_runner::merge_only(&config, &out)?;
            println!("Win frequencies (tables in {}):", out.display());
            print!("{}", format_frequency(&config, &freq));
            Ok(())
        }
        Command::Slurm(cmd) => handprop_runner::slurm::run(cmd),
    }
}
