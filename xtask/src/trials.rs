//! `cargo xtask trials`: the main job. Makes sure MNIST is present, builds the `handprop` runner in
//! release mode, runs the config (all four trials in parallel cells), then writes the report.

use std::path::PathBuf;

use anyhow::Context;

use crate::{cargo, project_root};

/// Arguments of `cargo xtask trials`.
#[derive(clap::Args)]
pub struct Args {
    /// The run's config.
    #[arg(long, default_value = "configs/quick.toml")]
    config: PathBuf,
    /// Worker threads, one cell each (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
    /// Run only shard K of N.
    #[arg(long)]
    shard: Option<String>,
    /// Output directory (default: results/<config name>).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Recompute cells whose results exist.
    #[arg(long)]
    force: bool,
    /// MNIST cache directory.
    #[arg(long, default_value = "data/mnist")]
    data_dir: PathBuf,
    /// Extra MNIST mirrors, tried first (URL, file:// URL or directory).
    #[arg(long = "mirror")]
    mirrors: Vec<String>,
    /// Skip the report at the end.
    #[arg(long)]
    no_report: bool,
}

/// Runs the task.
pub fn run(args: Args) -> anyhow::Result<()> {
    let root = project_root();
    std::env::set_current_dir(&root)?;

    // Fetch first, with a progress bar here rather than inside the runner's log.
    let mirrors = args
        .mirrors
        .iter()
        .map(|m| handprop_mnist::Mirror::parse(m))
        .collect::<Result<Vec<_>, _>>()
        .context("bad --mirror")?;
    let report = handprop_mnist::ensure(&args.data_dir, &mirrors)
        .with_context(|| format!("cannot get MNIST into {}", args.data_dir.display()))?;
    if report.fetched() > 0 {
        eprintln!("fetched {} MNIST files into {}", report.fetched(), args.data_dir.display());
    }

    let handprop = cargo::build_runner()?;
    let mut cmd = std::process::Command::new(&handprop);
    cmd.arg("run").arg("--config").arg(&args.config).arg("--data-dir").arg(&args.data_dir);
    if let Some(t) = args.threads {
        cmd.arg("--threads").arg(t.to_string());
    }
    if let Some(s) = &args.shard {
        cmd.arg("--shard").arg(s);
    }
    if let Some(o) = &args.out {
        cmd.arg("--out").arg(o);
    }
    if args.force {
        cmd.arg("--force");
    }
    for m in &args.mirrors {
        cmd.arg("--mirror").arg(m);
    }
    let status = cmd.status().with_context(|| format!("cannot start {}", handprop.display()))?;
    anyhow::ensure!(
        status.success(),
        "the run failed ({status}); re-run the same command to resume"
    );

    let config = handprop_runner::Config::load(&args.config)?;
    let out = args.out.unwrap_or_else(|| PathBuf::from("results").join(&config.name));
    if args.no_report {
        return Ok(());
    }
    if out.join("frequency.csv").exists() {
        crate::report::generate(&out)?;
    } else {
        eprintln!("not every cell exists yet (sharded run): the report is written once all shards are merged");
    }
    Ok(())
}
