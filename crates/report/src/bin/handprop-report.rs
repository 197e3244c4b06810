//! `handprop-report RESULTS_DIR`: charts, statistics, `report.md` and `report.html` from a results
//! directory (see [`handprop_report::generate`]). `cargo xtask report` and `cargo xtask trials`
//! build it in release mode and call it.

use std::path::PathBuf;
use std::process::ExitCode;

use handprop_report::{ReportOptions, Target};

const USAGE: &str = "usage: handprop-report [--no-png] [--no-experiment-charts] [--max-points N] \
[--target METRIC=THRESHOLD]... RESULTS_DIR
  --target  a time-to-target target, repeatable: test_acc=0.95 (accuracies: value >= threshold),
            cost=0.1 (value <= threshold); default: test_acc 0.9 and 0.97 for the faithful
            study, 90 % of the trial's best mean final test accuracy for a scaled run";

fn main() -> ExitCode {
    match parse(std::env::args().skip(1)) {
        Ok((dir, opts)) => match handprop_report::generate(&dir, &opts) {
            Ok(summary) => {
                for w in &summary.warnings {
                    eprintln!("warning: {w}");
                }
                println!(
                    "report: {} ({} charts in {}), {}, {}",
                    summary.report_html.display(),
                    summary.charts.len(),
                    dir.join("report").display(),
                    summary.report_md.display(),
                    summary.summary_csv.display()
                );
                let [ttt, ttt_summary, profiles] = &summary.time_to_target_csvs;
                println!(
                    "time to target: {}, {}, {}",
                    ttt.display(),
                    ttt_summary.display(),
                    profiles.display()
                );
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: the report of {}: {e}", dir.display());
                ExitCode::FAILURE
            }
        },
        Err(message) => {
            eprintln!("error: {message}\n{USAGE}");
            ExitCode::from(2)
        }
    }
}

fn parse(args: impl Iterator<Item = String>) -> Result<(PathBuf, ReportOptions), String> {
    let mut opts = ReportOptions::default();
    let mut dir = None;
    let mut args = args.peekable();
    while let Some(a) = args.next() {
        match a.as_str() {
            "--no-png" => opts.png = false,
            "--no-experiment-charts" => opts.experiment_charts = false,
            "--max-points" => {
                let v = args.next().ok_or("--max-points needs a number")?;
                opts.max_points =
                    v.parse().map_err(|_| format!("--max-points {v:?} is not a number"))?;
            }
            "--target" => {
                let v = args.next().ok_or("--target needs METRIC=THRESHOLD")?;
                let t: Target =
                    v.parse().map_err(|e: handprop_report::TargetError| e.to_string())?;
                if !opts.targets.contains(&t) {
                    opts.targets.push(t);
                }
            }
            "-h" | "--help" => return Err("help".into()),
            s if s.starts_with('-') => return Err(format!("unknown option {s}")),
            _ if dir.is_some() => {
                return Err(format!("one results directory only (got also {a:?})"))
            }
            _ => dir = Some(PathBuf::from(a)),
        }
    }
    Ok((dir.ok_or("no results directory given")?, opts))
}
