//! `handprop-report [--baseline DEFAULT_DIR [--tuning TUNING_DIR]] RESULTS_DIR`: charts,
//! statistics, `report.md` and `report.html` from a results directory (see
//! [`handprop_report::generate`]); with `--baseline`, RESULTS_DIR is a tuned run compared with
//! its default-η baseline. `cargo xtask report` and `cargo xtask trials`
//! build it in release mode and call it.

use std::path::PathBuf;
use std::process::ExitCode;

use handprop_report::{CompareOptions, ReportOptions, Target};

const USAGE: &str = "usage: handprop-report [--no-png] [--no-experiment-charts] [--max-points N] \
[--target METRIC=THRESHOLD]... [--baseline DEFAULT_DIR [--tuning TUNING_DIR]] RESULTS_DIR
  --baseline  RESULTS_DIR is a tuned run: compare it with DEFAULT_DIR, the same trials, experiments
              and seeds at the default learning rate (section \"Default η vs tuned η\" and
              comparison.csv)
  --tuning    the tuning sweep's directory (its tuning.csv): η columns and tuning-curve charts
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
                if let Some(c) = &summary.comparison_csv {
                    println!("default η vs tuned η: {}", c.display());
                }
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
    let (mut baseline, mut tuning) = (None, None);
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
            "--baseline" => {
                baseline = Some(PathBuf::from(args.next().ok_or("--baseline needs DEFAULT_DIR")?))
            }
            "--tuning" => {
                tuning = Some(PathBuf::from(args.next().ok_or("--tuning needs TUNING_DIR")?))
            }
            "-h" | "--help" => return Err("help".into()),
            s if s.starts_with('-') => return Err(format!("unknown option {s}")),
            _ if dir.is_some() => {
                return Err(format!("one results directory only (got also {a:?})"))
            }
            _ => dir = Some(PathBuf::from(a)),
        }
    }
    opts.compare = match (baseline, tuning) {
        (Some(baseline), tuning) => Some(CompareOptions { baseline, tuning }),
        (None, Some(_)) => {
            return Err("--tuning needs --baseline (the comparison it belongs to)".into())
        }
        (None, None) => None,
    };
    Ok((dir.ok_or("no results directory given")?, opts))
}
