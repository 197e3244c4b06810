//! `cargo xtask report [RESULTS_DIR] [--baseline DIR [--tuning DIR]]`: charts, statistics and an
//! HTML report from a results directory (`handprop-report`).

use std::path::PathBuf;

use crate::cargo::{absolute, build_release, command, run_tied};

/// Arguments of `cargo xtask report`.
#[derive(clap::Args)]
pub struct Args {
    /// The results directory (the runner's `--out`) [default: results/quick in the workspace].
    pub results_dir: Option<PathBuf>,
    /// Write SVG charts only (no PNG copies).
    #[arg(long)]
    pub no_png: bool,
    /// Leave out the per-experiment line charts (3 per experiment).
    #[arg(long)]
    pub no_experiment_charts: bool,
    /// At most this many points per line in the charts (every k-th epoch and the last); 0 = all.
    #[arg(long, default_value_t = 300)]
    pub max_points: usize,
    /// A default-η run to compare RESULTS_DIR (its tuned run) with: the "Default η vs tuned η"
    /// section and comparison.csv (docs/tuning.md).
    #[arg(long)]
    pub baseline: Option<PathBuf>,
    /// The tuning sweep's directory (tuning.csv), for the tuning charts; needs --baseline.
    #[arg(long, requires = "baseline")]
    pub tuning: Option<PathBuf>,
}

/// Runs the task.
pub fn run(args: Args) -> anyhow::Result<()> {
    let dir = args
        .results_dir
        .as_deref()
        .map(absolute)
        .unwrap_or_else(|| crate::project_root().join("results/quick"));
    let bins = build_release()?;
    let mut cmd = command(&bins.report);
    if args.no_png {
        cmd.arg("--no-png");
    }
    if args.no_experiment_charts {
        cmd.arg("--no-experiment-charts");
    }
    if let Some(b) = &args.baseline {
        cmd.arg("--baseline").arg(absolute(b));
    }
    if let Some(t) = &args.tuning {
        cmd.arg("--tuning").arg(absolute(t));
    }
    cmd.arg("--max-points").arg(args.max_points.to_string()).arg(dir);
    let status = run_tied(&mut cmd)?;
    anyhow::ensure!(status.success(), "the report failed ({status})");
    Ok(())
}
