//! `cargo xtask report [RESULTS_DIR]`: charts, statistics and an HTML report from a results
//! directory (see `handprop_report::generate`).

use std::path::{Path, PathBuf};

use anyhow::Context;
use handprop_report::{ReportOptions, ReportSummary};

/// Arguments of `cargo xtask report`.
#[derive(clap::Args)]
pub struct Args {
    /// The results directory (the runner's `--out`), holding cases.csv, trials.csv, final.csv and
    /// metrics.csv.
    #[arg(default_value = "results/quick")]
    pub results_dir: PathBuf,
    /// Write SVG charts only (no PNG copies).
    #[arg(long)]
    pub no_png: bool,
    /// Leave out the per-experiment line charts (3 per experiment).
    #[arg(long)]
    pub no_experiment_charts: bool,
    /// At most this many points per line in the charts (every k-th epoch and the last); 0 = all.
    #[arg(long, default_value_t = 300)]
    pub max_points: usize,
}

/// Runs the task.
pub fn run(args: Args) -> anyhow::Result<()> {
    let opts = ReportOptions {
        png: !args.no_png,
        experiment_charts: !args.no_experiment_charts,
        max_points: args.max_points,
    };
    write_report(&args.results_dir, &opts)?;
    Ok(())
}

/// Writes the report of `results_dir` with the default options (what `cargo xtask trials` calls
/// at the end of a run).
pub fn generate(results_dir: &Path) -> anyhow::Result<()> {
    write_report(results_dir, &ReportOptions::default()).map(|_| ())
}

/// Writes the report of `results_dir` and prints where it went and any warnings.
pub fn write_report(results_dir: &Path, opts: &ReportOptions) -> anyhow::Result<ReportSummary> {
    let summary = handprop_report::generate(results_dir, opts)
        .with_context(|| format!("writing the report of {}", results_dir.display()))?;
    for w in &summary.warnings {
        eprintln!("warning: {w}");
    }
    println!(
        "report: {} ({} charts in {}), {}, {}",
        summary.report_html.display(),
        summary.charts.len(),
        results_dir.join("report").display(),
        summary.report_md.display(),
        summary.summary_csv.display()
    );
    Ok(summary)
}
