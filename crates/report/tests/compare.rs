//! The "Default η vs tuned η" comparison on synthetic DEFAULT, TUNED and TUNING directories.
//!
//! DEFAULT is `common`'s results directory. TUNED is the same with two planted changes:
//! - trial 1: C1's final test accuracy is 0.875 in every experiment, above C16's 0.75, so the
//!   highest-test-accuracy winner moves from C16 (3/3) to C1 (3/3); cost and train accuracy are
//!   untouched, so their winners stay;
//! - trial 2: C5's final test accuracy is 0.5 + 12.5/64 in experiments 1..5 (experiment 0 keeps
//!   its 17-way tie at 0.5), between C12 (0.5 + 12/64) and C13: no winner changes, but C5's rank
//!   by mean test accuracy goes from 12 to 5 and C6..C12 each drop one place.
//!
//! TUNING is an ordinary results directory plus a `tuning.csv` with three candidates per (trial,
//! case) at factors 0.1, 1, 10 of η = 0.001.

mod common;

use std::path::Path;

use handprop_report::compare::{COMPARISON_COLUMNS, COMPARISON_FILE};
use handprop_report::{generate, CompareOptions, Metric, ReportError, ReportOptions};
use handprop_results::{write_table, Table as _, TuningRow};

const C5_TUNED_TEST: f64 = 0.5 + 12.5 / 64.0;

fn write_tuned(dir: &Path) {
    common::write_results_with(dir, |t, e, c, mut v| {
        match (t, c) {
            (1, 1) => v.2 = 0.875,
            (2, 5) if e > 0 => v.2 = C5_TUNED_TEST,
            _ => {}
        }
        v
    });
}

/// The candidates of (trial, case): factor 0.1, 1, 10; score 0.65 + c/100 + k/20 − trial/20 for
/// candidate k.
/// Candidate 2 diverges for every case divisible by 3; in trial 2 every candidate of C4 diverges
/// (no selection: C4 keeps its default η). The best non-diverged candidate is selected.
fn tuning_rows(labels: impl Fn(usize) -> String) -> Vec<TuningRow> {
    let mut rows = Vec::new();
    for trial in 1..=2usize {
        for case in 0..17usize {
            let mut mine: Vec<TuningRow> = [0.1, 1.0, 10.0]
                .iter()
                .enumerate()
                .map(|(k, &factor)| {
                    let diverged = (k == 2 && case % 3 == 0) || (trial == 2 && case == 4);
                    let val = if diverged {
                        f64::NAN
                    } else {
                        0.65 + case as f64 / 100.0 + k as f64 / 20.0 - trial as f64 / 20.0
                    };
                    TuningRow {
                        trial,
                        case,
                        label: labels(case),
                        candidate: k,
                        factor,
                        learning_rate: 0.001 * factor,
                        experiments: 2,
                        diverged: usize::from(diverged),
                        val_acc: val,
                        cost: if diverged { f64::NAN } else { 2.0 - val },
                        score: val,
                        selected: 0,
                    }
                })
                .collect();
            if let Some(best) = mine
                .iter_mut()
                .filter(|r| r.diverged == 0)
                .max_by(|a, b| a.score.total_cmp(&b.score))
            {
                best.selected = 1;
            }
            rows.extend(mine);
        }
    }
    rows
}

/// Adds the η columns the runner writes to `cases.csv` (`docs/results.md`): `eta_params` (every
/// case takes η as its `learning_rate`) and, when `rows` is given (a tuned run), `eta_trial1`,
/// `eta_trial2` with each (trial, case)'s selected η (empty without a selection: the trial's η).
fn add_eta_columns(dir: &Path, rows: Option<&[TuningRow]>) {
    let path = dir.join("cases.csv");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut out = String::new();
    for (i, line) in text.lines().enumerate() {
        if i == 0 {
            out.push_str(&format!("{line},eta_params,eta_trial1,eta_trial2\n"));
            continue;
        }
        let case: usize = line.split(',').next().unwrap().parse().unwrap();
        let eta = |trial: usize| {
            rows.into_iter()
                .flatten()
                .find(|r| r.trial == trial && r.case == case && r.selected == 1)
                .map_or(String::new(), |r| r.learning_rate.to_string())
        };
        out.push_str(&format!("{line},learning_rate,{},{}\n", eta(1), eta(2)));
    }
    std::fs::write(path, out).unwrap();
}

fn write_tuning(dir: &Path, rows: &[TuningRow]) {
    common::write_results(dir);
    std::fs::write(dir.join(TuningRow::FILE), write_table(rows)).unwrap();
}

struct Dirs {
    _tmp: tempfile::TempDir,
    default: std::path::PathBuf,
    tuned: std::path::PathBuf,
    tuning: std::path::PathBuf,
}

fn dirs() -> Dirs {
    let tmp = tempfile::tempdir().unwrap();
    let (default, tuned, tuning) =
        (tmp.path().join("quick"), tmp.path().join("quick-tuned"), tmp.path().join("quick-tuning"));
    let rows = tuning_rows(|c| format!("Case number {c}"));
    common::write_results(&default);
    add_eta_columns(&default, None);
    write_tuned(&tuned);
    add_eta_columns(&tuned, Some(&rows));
    write_tuning(&tuning, &rows);
    Dirs { _tmp: tmp, default, tuned, tuning }
}

fn opts(d: &Dirs, tuning: bool, png: bool) -> ReportOptions {
    ReportOptions {
        png,
        experiment_charts: false,
        compare: Some(CompareOptions {
            baseline: d.default.clone(),
            tuning: tuning.then(|| d.tuning.clone()),
        }),
        ..ReportOptions::default()
    }
}

#[test]
fn planted_winner_change_is_reported_and_unchanged_trial_is_not() {
    let d = dirs();
    let s = generate(&d.tuned, &opts(&d, false, false)).unwrap();
    let c = s.comparison.as_ref().expect("a comparison");
    assert_eq!(c.trials.len(), 2);
    let (t1, t2) = (&c.trials[0], &c.trials[1]);
    let test = Metric::TestAcc.index();
    // Trial 1: C16 won test accuracy in all 3 default experiments; C1 wins all 3 tuned ones.
    let w = &t1.winners[test];
    assert_eq!((w.default, w.default_wins, w.tuned, w.tuned_wins), (Some(16), 3, Some(1), 3));
    assert!(w.changed());
    // Cost: C0, C3, C5 one win each in both runs → the tie goes to C0; unchanged.
    let w = &t1.winners[Metric::Cost.index()];
    assert_eq!((w.default, w.tuned, w.default_tied.clone()), (Some(0), Some(0), vec![0, 3, 5]));
    assert!(!w.changed());
    assert_eq!(t1.changed(), 1);
    // Trial 2: every winner stays (test accuracy: C16 5/6 in both).
    assert_eq!(t2.changed(), 0);
    assert_eq!((t2.winners[test].default, t2.winners[test].tuned_wins), (Some(16), 5));

    let md = std::fs::read_to_string(&s.report_md).unwrap();
    let item = |trial: u32| {
        md.lines()
            .find(|l| {
                l.starts_with(&format!("- Trial {trial} (")) && l.contains("experiment(s)): ")
            })
            .unwrap_or_else(|| panic!("no verdict for trial {trial} in\n{md}"))
            .to_string()
    };
    let v1 = item(1);
    assert!(v1.contains("the winners changed under 1 of 3 criteria"), "{v1}");
    assert!(
        v1.contains(
            "highest test accuracy: C16 Case number 16 [TF1] 3/3 → C1 Case number 1 [hand-made] 3/3, changed"
        ),
        "{v1}"
    );
    assert!(v1.contains("ties go to the lowest case"), "{v1}");
    let v2 = item(2);
    assert!(v2.contains("still the tuned winners under all three criteria"), "{v2}");
    assert!(!v2.contains(", changed"), "{v2}");
    // The section sits before "The run", right after the answer.
    let (sec, run) = (md.find("## Default η vs tuned η").unwrap(), md.find("## The run").unwrap());
    assert!(sec < run);
    let html = std::fs::read_to_string(&s.report_html).unwrap();
    assert!(html.contains("<h2>Default η vs tuned η</h2>"));
    // Without --tuning the η come from the runs' cases.csv; no tuning charts are drawn.
    let c1 = &c.trials[0].cases[1];
    assert_eq!(
        (c1.default_eta, c1.tuned_eta, c1.tuned_factor()),
        (Some(0.001), Some(0.01), Some(10.0))
    );
    assert!(!s.charts.iter().any(|f| f.to_string_lossy().contains("tuning-")));
    assert!(s.warnings.is_empty(), "{:?}", s.warnings);
}

#[test]
fn rank_changes_by_hand() {
    let d = dirs();
    let s = generate(&d.tuned, &opts(&d, true, false)).unwrap();
    let c = s.comparison.as_ref().unwrap();
    // Trial 2 (see the module comment): default rank 17 − k for every case (means increase with
    // k); tuned: C5 climbs to 5 (only C13..C16 are above it), C6..C12 drop one place.
    let t2 = &c.trials[1];
    for k in &t2.cases {
        let default = 17.0 - k.case as f64;
        let tuned = match k.case {
            5 => 5.0,
            6..=12 => default + 1.0,
            _ => default,
        };
        assert_eq!((k.default_rank, k.tuned_rank), (default, tuned), "C{}", k.case);
    }
    let c5 = &t2.cases[5];
    assert_eq!((c5.rank_change(), c5.arrow()), (7.0, "↑"));
    assert_eq!((t2.cases[12].rank_change(), t2.cases[12].arrow()), (-1.0, "↓"));
    assert_eq!(t2.cases[3].arrow(), "=");
    // Trial 1: C1 from 16 to 1, everyone from C2 up one place down, C0 stays last.
    let t1 = &c.trials[0];
    assert_eq!((t1.cases[1].default_rank, t1.cases[1].tuned_rank), (16.0, 1.0));
    assert_eq!((t1.cases[16].default_rank, t1.cases[16].tuned_rank), (1.0, 2.0));
    assert_eq!((t1.cases[0].default_rank, t1.cases[0].tuned_rank), (17.0, 17.0));

    // η as the runs used them (cases.csv), which agree with tuning.csv's choices (no warning):
    // C1 (not divisible by 3) selects factor 10, C0 factor 1 (its factor-10 candidate diverged),
    // trial 2's C4 (all diverged) keeps its default.
    assert!(s.warnings.is_empty(), "{:?}", s.warnings);
    let eta = |t: usize, c: usize| (c_eta(&s, t, c, true), c_eta(&s, t, c, false));
    fn c_eta(s: &handprop_report::ReportSummary, t: usize, c: usize, default: bool) -> f64 {
        let k = &s.comparison.as_ref().unwrap().trials[t].cases[c];
        if default { k.default_eta } else { k.tuned_eta }.unwrap()
    }
    assert_eq!(eta(0, 1), (0.001, 0.01));
    assert_eq!(eta(0, 0), (0.001, 0.001));
    assert_eq!(eta(1, 4), (0.001, 0.001));

    // comparison.csv carries the same numbers: trial 2, C5.
    let csv = std::fs::read_to_string(s.comparison_csv.as_ref().unwrap()).unwrap();
    assert_eq!(csv.lines().next().unwrap(), COMPARISON_COLUMNS.join(","));
    assert_eq!(csv.lines().count(), 1 + 2 * 17);
    let row: Vec<&str> = csv.lines().find(|l| l.starts_with("2,5,")).unwrap().split(',').collect();
    let col = |name: &str| row[COMPARISON_COLUMNS.iter().position(|c| *c == name).unwrap()];
    assert_eq!((col("default_rank"), col("tuned_rank"), col("rank_change")), ("12", "5", "7"));
    assert_eq!(
        (col("default_eta"), col("tuned_eta"), col("tuned_factor")),
        ("0.001", "0.01", "10")
    );
    let tuned_mean: f64 = col("tuned_test_acc").parse().unwrap();
    assert!((tuned_mean - (0.5 + 5.0 * C5_TUNED_TEST) / 6.0).abs() < 1e-12, "{tuned_mean}");
    assert_eq!((col("default_wins_highest_test_acc"), col("tuned_n")), ("0", "6"));
    let md = std::fs::read_to_string(&s.report_md).unwrap();
    assert!(md.contains("| 12 → 5 | ↑ 7 |"), "{md}");
}

#[test]
fn tuning_curves_are_drawn_as_png_and_inline() {
    let d = dirs();
    let s = generate(&d.tuned, &opts(&d, true, true)).unwrap();
    for g in ["hand-made", "tf1"] {
        let png = d.tuned.join(format!("report/tuning-{g}.png"));
        let bytes = std::fs::read(&png).unwrap();
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "{}", png.display());
        assert!(s.charts.contains(&png));
        let svg = std::fs::read_to_string(png.with_extension("svg")).unwrap();
        assert!(svg.contains("validation accuracy per candidate η"), "{g}");
        assert!(svg.contains("trial 2 (η = 0.001, H = 16)"));
    }
    let hand = std::fs::read_to_string(d.tuned.join("report/tuning-hand-made.svg")).unwrap();
    // One panel per hand-made case.
    for c in 0..7 {
        assert!(hand.contains(&format!("C{c} Case number {c}")), "C{c}");
    }
    assert!(!hand.contains("C7 Case number 7"));
    let html = std::fs::read_to_string(&s.report_html).unwrap();
    assert!(html.contains("alt=\"Tuning sweep, Hand-made back-prop (C0–C6)"), "inline chart");
}

#[test]
fn mismatched_baseline_and_tuning_are_refused_by_name() {
    let d = dirs();
    // A baseline whose trial 2 ran another width.
    let trials = d.default.join("trials.csv");
    let text = std::fs::read_to_string(&trials).unwrap();
    std::fs::write(&trials, text.replace("2,0.001,16,6,3,10", "2,0.001,32,6,3,10")).unwrap();
    let e = generate(&d.tuned, &opts(&d, false, false)).unwrap_err();
    let msg = e.to_string();
    assert!(matches!(e, ReportError::Mismatch { .. }), "{msg}");
    assert!(msg.contains("quick/trials.csv") && msg.contains("trial 2: hidden 32 vs 16"), "{msg}");
    std::fs::write(&trials, text).unwrap();

    // A baseline whose case 3 has another label.
    let cases = d.default.join("cases.csv");
    let text = std::fs::read_to_string(&cases).unwrap();
    std::fs::write(&cases, text.replace("Case number 3,", "Case three,")).unwrap();
    let msg = generate(&d.tuned, &opts(&d, false, false)).unwrap_err().to_string();
    assert!(msg.contains("cases.csv") && msg.contains("C3: label \"Case three\""), "{msg}");
    std::fs::write(&cases, text).unwrap();
    generate(&d.tuned, &opts(&d, true, false)).expect("the restored set compares");

    // tuning.csv naming a trial the tuned run does not have: file, line and field named.
    let mut rows = tuning_rows(|c| format!("Case number {c}"));
    rows[5].trial = 3;
    write_tuning(&d.tuning, &rows);
    let e = generate(&d.tuned, &opts(&d, true, false)).unwrap_err();
    let msg = e.to_string();
    assert!(matches!(e, ReportError::Invalid { line: 7, field: "trial", .. }), "{msg}");
    assert!(msg.contains("tuning.csv"), "{msg}");
    // … a case with another label …
    let rows = tuning_rows(|c| if c == 9 { "Adam".into() } else { format!("Case number {c}") });
    write_tuning(&d.tuning, &rows);
    let msg = generate(&d.tuned, &opts(&d, true, false)).unwrap_err().to_string();
    assert!(msg.contains("tuning.csv") && msg.contains("\"Case number 9\""), "{msg}");
    // … and one that leaves a case out.
    let rows: Vec<TuningRow> =
        tuning_rows(|c| format!("Case number {c}")).into_iter().filter(|r| r.case != 16).collect();
    write_tuning(&d.tuning, &rows);
    let e = generate(&d.tuned, &opts(&d, true, false)).unwrap_err();
    assert!(e.to_string().contains("case C16 has no candidate in tuning.csv"), "{e}");
    // A missing tuning.csv is named too.
    std::fs::remove_file(d.tuning.join(TuningRow::FILE)).unwrap();
    let e = generate(&d.tuned, &opts(&d, true, false)).unwrap_err();
    assert!(matches!(e, ReportError::MissingFile { .. }) && e.to_string().contains("tuning.csv"));
}

/// A tuned run that did not use the sweep's choices (here: its cases.csv has no `eta_trialN`,
/// so every case ran at the trial's η) is compared, with a warning per disagreeing (trial, case).
#[test]
fn a_tuned_run_that_ignored_the_sweep_is_flagged() {
    let d = dirs();
    common::write_results(&d.tuned);
    add_eta_columns(&d.tuned, None);
    let s = generate(&d.tuned, &opts(&d, true, false)).unwrap();
    let w = "trial 1, C1: the tuned run used η = 0.001 but tuning.csv chose 0.01";
    assert!(s.warnings.iter().any(|x| x == w), "{:?}", s.warnings);
    // C0 selected its default η (factor 1): no warning for it.
    assert!(!s.warnings.iter().any(|x| x.starts_with("trial 1, C0:")), "{:?}", s.warnings);
    let md = std::fs::read_to_string(&s.report_md).unwrap();
    assert!(md.contains(&format!("Warning: {w}.")), "{md}");
}

#[test]
fn without_a_baseline_nothing_changes() {
    let d = dirs();
    let s = generate(&d.tuned, &ReportOptions { png: false, ..ReportOptions::default() }).unwrap();
    assert!(s.comparison.is_none() && s.comparison_csv.is_none());
    assert!(!d.tuned.join(COMPARISON_FILE).exists());
    let md = std::fs::read_to_string(&s.report_md).unwrap();
    assert!(!md.contains("tuned η"), "{md}");
}

/// docs/report.md documents comparison.csv's columns in a table whose first cells are the column
/// names, in order: they must be exactly the header the report writes.
#[test]
fn comparison_csv_header_is_the_documented_one() {
    let doc =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/report.md"))
            .unwrap();
    let lines: Vec<&str> = doc.lines().collect();
    let start = lines
        .iter()
        .position(|l| l.starts_with("`comparison.csv`, one row per"))
        .expect("docs/report.md introduces comparison.csv's columns");
    let documented: Vec<String> = lines[start + 1..]
        .iter()
        .skip_while(|l| l.trim().is_empty())
        .take_while(|l| l.starts_with('|'))
        .skip(2)
        .map(|l| l.split('|').nth(1).unwrap().trim().trim_matches('`').to_string())
        .collect();
    let d = dirs();
    let s = generate(&d.tuned, &opts(&d, true, false)).unwrap();
    let csv = std::fs::read_to_string(s.comparison_csv.unwrap()).unwrap();
    assert_eq!(csv.lines().next().unwrap(), documented.join(","));
    assert_eq!(s.report_md.parent().unwrap().join(COMPARISON_FILE), d.tuned.join("comparison.csv"));
}

#[test]
fn the_binary_takes_baseline_and_tuning() {
    let d = dirs();
    let bin = env!("CARGO_BIN_EXE_handprop-report");
    let out = std::process::Command::new(bin)
        .args(["--no-png", "--tuning"])
        .arg(&d.tuning)
        .arg(&d.tuned)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--tuning needs --baseline"));
    let out = std::process::Command::new(bin)
        .args(["--no-png", "--no-experiment-charts", "--baseline"])
        .arg(&d.default)
        .arg("--tuning")
        .arg(&d.tuning)
        .arg(&d.tuned)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("comparison.csv"));
    assert!(d.tuned.join("comparison.csv").exists());
    assert!(d.tuned.join("report/tuning-tf1.svg").exists());
}
