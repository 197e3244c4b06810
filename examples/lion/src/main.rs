//! `handprop-lion`: the study's runner with Lion registered (see the crate docs).
//!
//! ```text
//! handprop-lion run   --config configs/lion-smoke.toml [--out DIR] [--threads N] [--shard K/N]
//!                     [--data-dir DIR] [--mirror URL]… [--force] [--no-report]
//! handprop-lion check --config FILE
//! ```
//!
//! `run` writes the same cell files, tables and report as `handprop run` and `handprop-report`.

use std::path::PathBuf;

#[cfg(feature = "report")]
use anyhow::Context;
use clap::{Parser, Subcommand};
use handprop_runner::run::format_frequency;
use handprop_runner::{Config, RunOptions, Shard};

#[derive(Parser)]
#[command(name = "handprop-lion", version, about = "The study's runner with Lion registered")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the config's cells (of one shard), merge and write the report when all exist.
    Run {
        /// The run's config (TOML); its cases may use `rule = "lion"`.
        #[arg(long, default_value = "configs/lion-smoke.toml")]
        config: PathBuf,
        /// Output directory (default: `results/<config name>`).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Worker threads (default: all cores).
        #[arg(long)]
        threads: Option<usize>,
        /// Run only shard K of N.
        #[arg(long, default_value = "0/1")]
        shard: Shard,
        /// Recompute cells whose results exist.
        #[arg(long)]
        force: bool,
        /// Skip the report after the merge.
        #[arg(long)]
        no_report: bool,
        /// MNIST cache directory (fetched into if missing).
        #[arg(long, default_value = "data/mnist")]
        data_dir: PathBuf,
        /// Extra MNIST mirrors, tried first (URL, file:// URL or directory).
        #[arg(long = "mirror")]
        mirrors: Vec<String>,
    },
    /// Validate a config against the registry with Lion and print its hash.
    Check {
        /// The config.
        #[arg(long)]
        config: PathBuf,
    },
}

/// Writes the report into the results directory (charts, `report.md`, `report.html`).
#[cfg(feature = "report")]
fn report(out: &std::path::Path) -> anyhow::Result<()> {
    let report = handprop_report::generate(out, &handprop_report::ReportOptions::default())
        .with_context(|| format!("report of {}", out.display()))?;
    println!("report: {}", report.report_html.display());
    Ok(())
}

/// Without the `report` feature: says how to write it.
#[cfg(not(feature = "report"))]
fn report(out: &std::path::Path) -> anyhow::Result<()> {
    println!("report: run `cargo run -p handprop-report -- {}`", out.display());
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let registry = handprop_example_lion::registry()?;
    match Cli::parse().command {
        Command::Run { config, out, threads, shard, force, no_report, data_dir, mirrors } => {
            let config = Config::load_with(&config, &registry)?;
            let out = out.unwrap_or_else(|| PathBuf::from("results").join(&config.name));
            let mirrors = mirrors
                .iter()
                .map(|m| handprop_mnist::Mirror::parse(m))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| anyhow::anyhow!("bad --mirror: {e}"))?;
            let data = handprop_runner::load_data(&config, &data_dir, &mirrors)?;
            let opts =
                RunOptions { out: out.clone(), threads, shard, force, merge: true, progress: None };
            let summary = handprop_runner::run_with(&config, &data, &opts, &registry)?;
            eprintln!(
                "{}: shard {shard}: {} cells computed ({} diverged), {} already there",
                config.name, summary.computed, summary.diverged, summary.skipped
            );
            if let Some(freq) = &summary.frequency {
                println!("Win frequencies (tables in {}):", out.display());
                print!("{}", format_frequency(&config, freq));
                if !no_report {
                    report(&out)?;
                }
            }
            Ok(())
        }
        Command::Check { config: path } => {
            let config = Config::load_with(&path, &registry)?;
            println!(
                "{}: valid; {} cases ({}); config hash {}",
                path.display(),
                config.cases.len(),
                config.cases.iter().map(|c| c.rule_name()).collect::<Vec<_>>().join(", "),
                config.hash()
            );
            Ok(())
        }
    }
}
