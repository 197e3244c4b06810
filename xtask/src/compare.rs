//! `cargo xtask compare`: handprop against PyTorch (eager) and TensorFlow (v1 graph) on the study's
//! network, interleaved, in CPU seconds per epoch.
//!
//! Each round runs, one after the other, handprop (the layers crate's `step` bench in
//! `--compare-epochs` mode: the network with handprop's TF1 Adam, on the same MNIST files as the
//! Python side when a directory is given, else on synthetic data), then
//! `bench/compare/study_net.py --framework torch` and `--framework tf`, each for `--epochs`
//! epochs in a fresh process on one thread. Every process prints one line per epoch with its CPU
//! seconds; the first epoch of each process is a warm-up and is left out. The table gives min and
//! median CPU s per epoch per framework and width, and handprop's ratio to each. Interleaving the
//! rounds lets load from other processes hit all three alike; CPU time leaves out time spent
//! waiting for a core.
//!
//! The Python side needs `torch`, `tensorflow-cpu` (or `tensorflow`) and `numpy`: see
//! docs/performance.md for the venv. A framework that cannot be imported is reported and skipped.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;

use anyhow::Context;

use crate::project_root;

/// Arguments of `cargo xtask compare`.
#[derive(clap::Args)]
pub struct Args {
    /// Python interpreter with torch and tensorflow (default: $HANDPROP_PYTHON, else python3).
    #[arg(long)]
    python: Option<PathBuf>,
    /// Hidden widths to compare.
    #[arg(long = "hidden", default_values_t = [1024, 824])]
    hidden: Vec<usize>,
    /// Interleaved rounds.
    #[arg(long, default_value_t = 2)]
    rounds: usize,
    /// Epochs per process (the first is a warm-up and not counted).
    #[arg(long, default_value_t = 3)]
    epochs: usize,
    /// MNIST directory for all three sides (default: $HANDPROP_MNIST_DIR, else synthetic data).
    /// Real images matter: handprop skips their zero pixels exactly in the first layer.
    #[arg(long)]
    mnist: Option<PathBuf>,
    /// Only these frameworks (handprop, torch, tf).
    #[arg(long = "only")]
    only: Vec<String>,
}

/// Runs the task.
pub fn run(mut args: Args) -> anyhow::Result<()> {
    if args.mnist.is_none() {
        args.mnist = std::env::var_os("HANDPROP_MNIST_DIR").map(PathBuf::from);
    }
    anyhow::ensure!(args.epochs >= 2, "--epochs must be at least 2 (the first is a warm-up)");
    let root = project_root();
    let python = args
        .python
        .or_else(|| std::env::var_os("HANDPROP_PYTHON").map(PathBuf::from))
        .unwrap_or_else(|| "python3".into());
    let script = root.join("bench/compare/study_net.py");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    eprintln!("building the handprop side (release)…");
    let status = Command::new(&cargo)
        .current_dir(&root)
        .args(["bench", "--quiet", "-p", "handprop-layers", "--bench", "step", "--no-run"])
        .status()
        .context("cannot run cargo")?;
    anyhow::ensure!(status.success(), "building the step bench failed ({status})");
    let frameworks: Vec<&str> = ["handprop", "torch", "tf"]
        .into_iter()
        .filter(|f| args.only.is_empty() || args.only.iter().any(|o| o == f))
        .collect();
    // (framework, hidden) → CPU seconds of every counted epoch.
    let mut times: BTreeMap<(usize, String), Vec<f64>> = BTreeMap::new();
    let mut skipped: Vec<String> = Vec::new();
    for round in 1..=args.rounds {
        for &h in &args.hidden {
            for &fw in &frameworks {
                if skipped.iter().any(|s| s == fw) {
                    continue;
                }
                let mut cmd = if fw == "handprop" {
                    let mut c = Command::new(&cargo);
                    c.current_dir(&root).args([
                        "bench",
                        "--quiet",
                        "-p",
                        "handprop-layers",
                        "--bench",
                        "step",
                        "--",
                        "--compare-epochs",
                        &h.to_string(),
                        &args.epochs.to_string(),
                    ]);
                    if let Some(dir) = &args.mnist {
                        c.arg("--mnist").arg(dir);
                    }
                    c
                } else {
                    let mut c = Command::new(&python);
                    c.arg(&script)
                        .args(["--framework", fw, "--hidden", &h.to_string()])
                        .args(["--epochs", &args.epochs.to_string()]);
                    if let Some(dir) = &args.mnist {
                        c.arg("--mnist").arg(dir);
                    }
                    c
                };
                eprintln!("round {round}/{}: {fw}, H = {h}", args.rounds);
                let out = cmd.output().with_context(|| format!("cannot start {fw}"))?;
                let stdout = String::from_utf8_lossy(&out.stdout);
                let epochs = parse_epochs(&stdout);
                if !out.status.success() || epochs.is_empty() {
                    let err = String::from_utf8_lossy(&out.stderr);
                    let last: Vec<&str> = err.lines().rev().take(3).collect();
                    eprintln!("  {fw} failed ({}); skipping it: {}", out.status, last.join(" | "));
                    skipped.push(fw.to_string());
                    continue;
                }
                for (e, cpu) in &epochs {
                    eprintln!("  epoch {e}: {cpu:.2} CPU s");
                }
                times
                    .entry((h, fw.to_string()))
                    .or_default()
                    .extend(epochs.iter().filter(|(e, _)| *e > 0).map(|(_, c)| *c));
            }
        }
    }
    print_table(&times, &args.hidden, &frameworks);
    if !skipped.is_empty() {
        println!("not measured (could not run): {}", skipped.join(", "));
    }
    Ok(())
}

/// `(epoch, cpu_s)` from lines `epoch <i> cpu_s <s> …`.
fn parse_epochs(stdout: &str) -> Vec<(usize, f64)> {
    stdout
        .lines()
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            match f.as_slice() {
                ["epoch", e, "cpu_s", s, ..] => Some((e.parse().ok()?, s.parse().ok()?)),
                _ => None,
            }
        })
        .collect()
}

fn min_median(v: &[f64]) -> Option<(f64, f64)> {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    Some((*v.first()?, v[v.len() / 2]))
}

fn print_table(times: &BTreeMap<(usize, String), Vec<f64>>, hidden: &[usize], fws: &[&str]) {
    println!();
    println!(
        "CPU s per epoch (55 steps of 1000 with Adam + evaluation of 65,000 rows), one thread"
    );
    println!(
        "{:>5} {:>9} {:>7} {:>9} {:>9} {:>16}",
        "H", "framework", "epochs", "min", "median", "handprop/it (med)"
    );
    for &h in hidden {
        let ours = times.get(&(h, "handprop".into())).and_then(|v| min_median(v));
        for &fw in fws {
            let Some(v) = times.get(&(h, fw.to_string())) else { continue };
            let Some((min, med)) = min_median(v) else { continue };
            let ratio = match ours {
                Some((_, our_med)) if fw != "handprop" => format!("{:.2}×", our_med / med),
                _ => String::new(),
            };
            println!("{h:>5} {fw:>9} {:>7} {min:>9.2} {med:>9.2} {ratio:>16}", v.len());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epoch_lines_are_parsed_and_other_lines_ignored() {
        let out = "WARNING x\nepoch 0 cpu_s 12.5 wall_s 13 train_acc 0.1 test_acc 0.1\n\
                   epoch 1 cpu_s 11.25 wall_s 12\nepoch two cpu_s 1\n";
        assert_eq!(parse_epochs(out), vec![(0, 12.5), (1, 11.25)]);
        assert_eq!(min_median(&[3.0, 1.0, 2.0]), Some((1.0, 2.0)));
        assert_eq!(min_median(&[]), None);
    }
}
