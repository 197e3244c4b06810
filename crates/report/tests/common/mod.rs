//! A synthetic results directory with known winners, a tie and a diverged cell.
//!
//! Values are multiples of powers of two so that every difference below is exact in f64.
//!
//! Trial 1 (3 experiments, 4 epochs): cost = 1 + c/8 + e/64, train = test = 0.5 + c/64, except
//! - experiment 0: C5's cost is 0.5 (C5 has the lowest cost);
//! - experiment 1: C3 and C7 tie at cost 0.25 (the tie goes to C3); C4's train accuracy is 0.9921875;
//! - experiment 2: C2 diverged (cost NaN, accuracies 0.999 that must not win; it ran 2 epochs).
//!
//! Trial 2 (6 experiments, 3 epochs): the same formulas, except that in experiment 0 every test
//! accuracy is 0.5 (a 17-way tie that goes to C0).

#![allow(dead_code)]

use std::fmt::Write as _;
use std::path::Path;

/// The study's colours as hex, case 0..16.
pub const COLOURS: [&str; 17] = [
    "#2ca02c", "#d62728", "#9467bd", "#7f7f7f", "#ff7f0e", "#e377c2", "#8c564b", "#00ffff",
    "#f0ffff", "#ff7f50", "#4b0082", "#00ff00", "#d2b48c", "#fffff0", "#add8e6", "#e6e6fa",
    "#008080",
];

/// (trial, experiments, epochs)
pub const TRIALS: [(u32, u32, u32); 2] = [(1, 3, 4), (2, 6, 3)];

/// Final (cost, train, test, diverged, epochs_run) of a cell.
pub fn final_values(t: u32, e: u32, c: usize, epochs: u32) -> (f64, f64, f64, bool, u32) {
    let cf = c as f64;
    let mut cost = 1.0 + cf / 8.0 + e as f64 / 64.0;
    let mut train = 0.5 + cf / 64.0;
    let mut test = 0.5 + cf / 64.0;
    let mut diverged = false;
    let mut run = epochs;
    match (t, e, c) {
        (1, 0, 5) => cost = 0.5,
        (1, 1, 3) | (1, 1, 7) => cost = 0.25,
        (1, 1, 4) => train = 0.9921875,
        (1, 2, 2) => {
            cost = f64::NAN;
            train = 0.999;
            test = 0.999;
            diverged = true;
            run = 2;
        }
        (2, 0, _) => test = 0.5,
        _ => {}
    }
    (cost, train, test, diverged, run)
}

/// A cell's final values as [`final_values`] gives them: (cost, train, test, diverged, epochs_run).
pub type Finals = (f64, f64, f64, bool, u32);

/// Writes the synthetic results directory into `dir`.
pub fn write_results(dir: &Path) {
    write_results_with(dir, |_, _, _, v| v);
}

/// Writes the synthetic results directory into `dir`, with each cell's final values passed
/// through `change(trial, experiment, case, values)` (the curves end at the changed values).
pub fn write_results_with(dir: &Path, change: impl Fn(u32, u32, usize, Finals) -> Finals) {
    std::fs::create_dir_all(dir).unwrap();
    let mut cases = String::from("case,label,colour,gradient,routing,rule,d\n");
    for (c, col) in COLOURS.iter().enumerate() {
        // C0–C6 hand-made (manual gradient), C7–C16 TF1 (exact), as in the study.
        let gradient = if c < 7 { "manual" } else { "exact" };
        // The dilation parameter as the runner writes an f32: widened to f64.
        let d = if (1..5).contains(&c) { (0.08f32 as f64).to_string() } else { String::new() };
        writeln!(cases, "{c},Case number {c},{col},{gradient},standard,sgd,{d}").unwrap();
    }
    std::fs::write(dir.join("cases.csv"), cases).unwrap();

    let mut trials = String::from("trial,learning_rate,hidden,experiments,epochs,batch\n");
    for (t, n, ep) in TRIALS {
        writeln!(trials, "{t},0.001,16,{n},{ep},10").unwrap();
    }
    std::fs::write(dir.join("trials.csv"), trials).unwrap();

    let mut fin = String::from(
        "trial,experiment,case,label,epochs_run,diverged,cost,train_acc,test_acc,wall_s\n",
    );
    let mut met = String::from("trial,experiment,case,epoch,metric,value\n");
    for (t, n, ep) in TRIALS {
        for e in 0..n {
            for c in 0..17 {
                let (cost, train, test, div, run) = change(t, e, c, final_values(t, e, c, ep));
                writeln!(
                    fin,
                    "{t},{e},{c},Case number {c},{run},{},{cost},{train},{test},0.5",
                    u8::from(div)
                )
                .unwrap();
                for k in 0..run {
                    let back = (run - 1 - k) as f64;
                    let cost_k =
                        if div && k == run - 1 { f64::NAN } else { cost.max(0.0) + 0.1 * back };
                    let cost_k = if div && k < run - 1 { 2.0 } else { cost_k };
                    writeln!(met, "{t},{e},{c},{k},cost,{cost_k}").unwrap();
                    writeln!(met, "{t},{e},{c},{k},train_acc,{}", train - 0.05 * back).unwrap();
                    writeln!(met, "{t},{e},{c},{k},test_acc,{}", test - 0.05 * back).unwrap();
                    writeln!(met, "{t},{e},{c},{k},wall_s,0.1").unwrap();
                }
            }
        }
    }
    std::fs::write(dir.join("final.csv"), fin).unwrap();
    std::fs::write(dir.join("metrics.csv"), met).unwrap();
    std::fs::write(
        dir.join("run.json"),
        r#"{"results_version": 2, "handprop_version": "0.1.0", "config_name": "synthetic", "config_hash": "0123456789abcdef",
"cells_total": 153, "cells_done": 153, "epochs": 4, "cell_seconds": 20.0,
"invocations": [{"command": "run", "started": "2026-12-02T04:00:00Z", "shard": "0/1", "threads": 2,
"cells_computed": 153, "wall_seconds": 12.5, "cpu_seconds": 24.0}]}"#,
    )
    .unwrap();
    std::fs::write(
        dir.join("config.toml"),
        "[data]\nmirror = \"https://example.invalid/mnist\" # <not-a-tag>\ntrain_subset = 500\n\n[cases.routing]\nd = 0.07999999821186066\n",
    )
    .unwrap();
}
