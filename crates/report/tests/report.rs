//! End-to-end tests of `generate` on the synthetic results directory of `common`.

mod common;

use handprop_report::{generate, Metric, ReportError, ReportOptions};

fn opts() -> ReportOptions {
    ReportOptions { png: true, experiment_charts: true, ..ReportOptions::default() }
}

fn wins_of(t: &handprop_report::TrialAnalysis, m: Metric) -> Vec<(usize, usize)> {
    t.cases.iter().zip(&t.wins[m.index()]).filter(|(_, w)| **w > 0).map(|(c, w)| (*c, *w)).collect()
}

#[test]
fn frequencies_ties_and_divergence() {
    let dir = tempfile::tempdir().unwrap();
    common::write_results(dir.path());
    let s = generate(dir.path(), &opts()).unwrap();
    assert_eq!(s.trials.len(), 2);
    let t1 = &s.trials[0];
    // Lowest cost: C5 (exp 0), C3 over C7 by the tie rule (exp 1), C0 because C2 diverged (exp 2).
    assert_eq!(wins_of(t1, Metric::Cost), vec![(0, 1), (3, 1), (5, 1)]);
    assert_eq!(t1.winners[1][0], Some(3));
    // Train: C16 except exp 1 (C4); the diverged C2's 0.999 never wins.
    assert_eq!(wins_of(t1, Metric::TrainAcc), vec![(4, 1), (16, 2)]);
    assert_eq!(wins_of(t1, Metric::TestAcc), vec![(16, 3)]);
    assert_eq!(t1.diverged, vec![(2, 2, 2)]);
    let t2 = &s.trials[1];
    assert_eq!(wins_of(t2, Metric::Cost), vec![(0, 6)]);
    // Experiment 0's 17-way tie in test accuracy goes to C0.
    assert_eq!(wins_of(t2, Metric::TestAcc), vec![(0, 1), (16, 5)]);
    assert!(s.warnings.is_empty(), "{:?}", s.warnings);

    let md = std::fs::read_to_string(&s.report_md).unwrap();
    assert!(md.contains("Frequency of Lowest Cost among total of 3 trials"));
    assert!(md.contains("Frequency of Highest Accuracy on Train Images among total of 6 trials"));
    // The diverged column of the frequency table (C2 diverged once in trial 1).
    assert!(
        md.contains(
            "| C2 | hand-made | Case number 2 | 0 (0 %) | 0 % | 0 (0 %) | 0 % | 0 (0 %) | 0 % | 1 |"
        ),
        "{md}"
    );
    let svg = std::fs::read_to_string(dir.path().join("report/trial1-curve-cost.svg")).unwrap();
    assert!(svg.contains("C2 Case number 2 (diverged in 1/3)"));
    // The published table sits beside the run's: trial 1's C5 had 60 % lowest-cost wins in the study.
    assert!(md.contains("| C5 | hand-made | Case number 5 | 1 (33 %) | 60 % |"), "{md}");
}

#[test]
fn statistics_match_hand_computation() {
    let dir = tempfile::tempdir().unwrap();
    common::write_results(dir.path());
    let s = generate(dir.path(), &opts()).unwrap();
    let cost1 = &s.trials[0].metrics[Metric::Cost.index()];
    // Mean ranks (see common): C0 (2 + 3 + 1)/3 = 2 is the best; C3 (5 + 1.5 + 3)/3; C5 (1 + 7 + 5)/3.
    assert_eq!(cost1.best, 0);
    assert!((cost1.cases[0].mean_rank - 2.0).abs() < 1e-12);
    assert!((cost1.cases[3].mean_rank - 9.5 / 3.0).abs() < 1e-12);
    assert!((cost1.cases[5].mean_rank - 13.0 / 3.0).abs() < 1e-12);
    // C2 diverged in experiment 2 and ranks last (17) there; exp 0: behind C5, C0, C1 (4);
    // exp 1: behind C3, C7, C0, C1 (5): (4 + 5 + 17)/3.
    assert!((cost1.cases[2].mean_rank - 26.0 / 3.0).abs() < 1e-12);
    // C0's costs 1, 1 + 1/64, 1 + 2/64: mean 1.015625, s = 1/64, h = t(0.975, 2)·s/√3 = 0.0388141.
    let ci = cost1.cases[0].ci;
    assert!((ci.mean - 1.015625).abs() < 1e-12);
    assert!((ci.sd - 0.015625).abs() < 1e-12);
    assert!((ci.half_width - 0.0388141).abs() < 1e-6, "{}", ci.half_width);
    // C3 vs C0: d = 3/8, −0.765625, 3/8 → midranks 1.5, 3, 1.5; W⁺ = 3 = W⁻; p = 1.
    let w = cost1.cases[3].vs_best.unwrap();
    assert_eq!((w.n, w.w_plus, w.w_minus), (3, 3.0, 3.0));
    assert!((w.p_two_sided - 1.0).abs() < 1e-12);
    // Three experiments are too few: the sentence says so.
    assert!(cost1.note.contains("too few"));
    assert_eq!(cost1.cases[2].ci.n, 2);
    assert_eq!(cost1.cases[2].diverged, 1);

    // Trial 2: C5 − C0 = 5/8 in all six experiments: W⁺ = 21, p = 2/64.
    let cost2 = &s.trials[1].metrics[Metric::Cost.index()];
    let w = cost2.cases[5].vs_best.unwrap();
    assert_eq!((w.n, w.w_plus), (6, 21.0));
    assert!((w.p_two_sided - 0.03125).abs() < 1e-12);
    assert!(!cost2.note.contains("too few"));

    // summary.csv carries the same numbers.
    let csv = std::fs::read_to_string(&s.summary_csv).unwrap();
    let row =
        csv.lines().find(|l| l.starts_with("2,cost,5,")).expect("row for trial 2, cost, case 5");
    let f: Vec<&str> = row.split(',').collect();
    assert_eq!(f[4], "hand-made", "group");
    assert_eq!(f[13], "0", "best case");
    assert_eq!(f[14], "6");
    assert_eq!(f[18], "0.03125");
    // Six pairs: the smallest possible p is 2/2⁶.
    assert_eq!(f[19], "0.03125");
    assert_eq!(csv.lines().count(), 1 + 2 * 3 * 17);
}

#[test]
fn every_chart_is_written_and_html_is_self_contained() {
    let dir = tempfile::tempdir().unwrap();
    common::write_results(dir.path());
    let s = generate(dir.path(), &opts()).unwrap();
    // Per trial 1 overview + 3 bar charts + 3 curves + 1 performance profile (the default target)
    // + 3 per experiment; 3 + 6 experiments; SVG and PNG each.
    assert_eq!(s.charts.len(), 2 * (8 * 2 + 3 * (3 + 6)));
    for f in &s.charts {
        let len = std::fs::metadata(f).unwrap().len();
        assert!(len > 1000, "{} has {len} bytes", f.display());
        assert!(f.starts_with(dir.path().join("report")));
    }
    for name in ["trial1-wins-lowest_cost", "trial2-curve-test_acc", "trial1-exp02-cost"] {
        assert!(dir.path().join("report").join(format!("{name}.svg")).exists(), "{name}");
        let png = std::fs::read(dir.path().join("report").join(format!("{name}.png"))).unwrap();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    }
    let svg =
        std::fs::read_to_string(dir.path().join("report/trial1-wins-lowest_cost.svg")).unwrap();
    assert!(svg.contains("Frequency of Lowest Cost among total of 3 trials"));
    assert!(svg.contains("#E377C2") || svg.contains("#e377c2"), "C5's tab:pink bar");
    let exp = std::fs::read_to_string(dir.path().join("report/trial1-exp02-cost.svg")).unwrap();
    assert!(exp.contains("(diverged at epoch 1)"));

    let html = std::fs::read_to_string(&s.report_html).unwrap();
    let lower = html.to_ascii_lowercase();
    // Nothing is loaded from outside: every src= is a data: URI; the only href= are plain
    // hyperlinks (<a>) to the original post and the author's scripts.
    for (i, _) in lower.match_indices("src=") {
        let v = &lower[i + 4..(i + 16).min(lower.len())];
        assert!(v.starts_with("\"data:"), "external src= at {i}: {v}");
    }
    for (i, _) in lower.match_indices("href=") {
        assert!(lower[..i].ends_with("<a "), "href= outside a link at {i}");
    }
    assert!(html.contains("<a href=\"https://towardsdatascience.com/outperforming-tensorflows-default-auto-differentiation-optimizers-with-interactive-code-manual-e587a82d340e\">"));
    assert!(!lower.contains("<link") && !lower.contains("<script"));
    assert!(html.matches("src=\"data:image/svg+xml;base64,").count() == s.charts.len() / 2);
    // The config's URL is shown as escaped text, never as a reference.
    assert!(html.contains("https://example.invalid/mnist") && html.contains("&lt;not-a-tag&gt;"));
    assert!(html.contains("Frequency of Lowest Cost among total of 3 trials"));
    assert!(html.contains("12.5 s"));
}

#[test]
fn frequency_csv_disagreement_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    common::write_results(dir.path());
    std::fs::write(
        dir.path().join("frequency.csv"),
        "trial,criterion,case,label,wins,experiments,share\n1,lowest_cost,7,Case number 7,1,3,0.333\n",
    )
    .unwrap();
    let s = generate(
        dir.path(),
        &ReportOptions {
            png: false,
            experiment_charts: false,
            max_points: 0,
            ..ReportOptions::default()
        },
    )
    .unwrap();
    assert!(s.charts.iter().all(|f| f.extension().unwrap() == "svg"));
    assert_eq!(s.charts.len(), 16);
    // C7 claimed 1 win (the tie rule gives it to C3), and C0, C3, C5 lack theirs in frequency.csv.
    assert!(s.warnings.iter().any(|w| w.contains("case 7 has 0 win(s)")), "{:?}", s.warnings);
    assert!(s.warnings.iter().any(|w| w.contains("case 3 has 1 win(s)")));
    let md = std::fs::read_to_string(&s.report_md).unwrap();
    assert!(md.contains("- trial 1, lowest_cost: case 7"), "{md}");
}

#[test]
fn missing_file_is_named() {
    let dir = tempfile::tempdir().unwrap();
    common::write_results(dir.path());
    std::fs::remove_file(dir.path().join("final.csv")).unwrap();
    let e = generate(dir.path(), &opts()).unwrap_err();
    assert!(matches!(e, ReportError::MissingFile { .. }), "{e}");
    assert!(e.to_string().contains("final.csv"), "{e}");
}

#[test]
fn malformed_rows_are_named_by_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    common::write_results(dir.path());
    let path = dir.path().join("final.csv");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    // Line 5 (the header is line 1): a cost that is not a number.
    lines[4] = "1,0,3,Case number 3,4,0,abc,0.5,0.5,0.5".into();
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    let e = generate(dir.path(), &opts()).unwrap_err();
    let msg = e.to_string();
    assert!(matches!(e, ReportError::Csv { line: 5, .. }), "{msg}");
    assert!(msg.contains("final.csv") && msg.contains("line 5"), "{msg}");

    // A row with too few fields, on line 3 of metrics.csv.
    common::write_results(dir.path());
    let path = dir.path().join("metrics.csv");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    lines[2] = "1,0,0,1".into();
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    let msg = generate(dir.path(), &opts()).unwrap_err().to_string();
    assert!(msg.contains("metrics.csv") && msg.contains("line 3"), "{msg}");

    // An unknown case and a bad colour are named with their field.
    common::write_results(dir.path());
    let path = dir.path().join("cases.csv");
    let text = std::fs::read_to_string(&path).unwrap().replace("#d62728", "red-ish");
    std::fs::write(&path, text).unwrap();
    let msg = generate(dir.path(), &opts()).unwrap_err().to_string();
    assert!(msg.contains("cases.csv, line 3") && msg.contains("colour"), "{msg}");

    common::write_results(dir.path());
    let path = dir.path().join("final.csv");
    let text = std::fs::read_to_string(&path).unwrap() + "1,0,17,Case 17,4,0,1,0.5,0.5,0.5\n";
    std::fs::write(&path, text).unwrap();
    let msg = generate(dir.path(), &opts()).unwrap_err().to_string();
    assert!(msg.contains("final.csv") && msg.contains("not in cases.csv"), "{msg}");

    // A missing column is reported against the header line.
    common::write_results(dir.path());
    std::fs::write(dir.path().join("trials.csv"), "trial,learning_rate\n1,0.1\n").unwrap();
    let msg = generate(dir.path(), &opts()).unwrap_err().to_string();
    assert!(msg.contains("trials.csv, line 1") && msg.contains("hidden"), "{msg}");
}

#[test]
fn runner_layout_without_wall_s_uses_timing_csv() {
    // The runner keeps wall times in timing.csv, not in final.csv: the report takes them from there.
    let dir = tempfile::tempdir().unwrap();
    common::write_results(dir.path());
    let path = dir.path().join("final.csv");
    let text = std::fs::read_to_string(&path).unwrap();
    let stripped: String =
        text.lines().map(|l| format!("{}\n", &l[..l.rfind(',').unwrap()])).collect();
    assert!(stripped
        .starts_with("trial,experiment,case,label,epochs_run,diverged,cost,train_acc,test_acc\n"));
    std::fs::write(&path, stripped).unwrap();
    // A run.json from before `cell_seconds` existed (it defaults to 0): the cells' times then
    // come from timing.csv.
    std::fs::write(
        dir.path().join("run.json"),
        r#"{"handprop_version": "0.1.0", "config_name": "synthetic", "config_hash": "ab",
"cells_total": 153, "cells_done": 153, "epochs": 4}"#,
    )
    .unwrap();
    // Two cells with two epochs each: 0.25 + 0.5 and 1 + 2 seconds.
    std::fs::write(
        dir.path().join("timing.csv"),
        "trial,experiment,case,epoch,wall_s\n1,0,0,0,0.25\n1,0,0,1,0.5\n1,0,1,0,1\n1,0,1,1,2\n",
    )
    .unwrap();
    let s = generate(
        dir.path(),
        &ReportOptions { png: false, experiment_charts: false, ..ReportOptions::default() },
    )
    .unwrap();
    let md = std::fs::read_to_string(&s.report_md).unwrap();
    assert!(
        md.contains(
            "| compute | no invocation history in run.json; the cells' epochs took 3.8 s in total |"
        ),
        "{md}"
    );
    // The statistics do not depend on wall times.
    assert_eq!(s.trials[0].metrics[0].best, 0);
}

/// A directory whose tables no longer match run.json's manifest (an interrupted merge, an edited
/// table) is refused, naming the file; a cell whose curve misses epochs is refused, naming it.
#[test]
fn mixed_tables_and_short_curves_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    common::write_results(dir.path());
    let mut tables = std::collections::BTreeMap::new();
    for name in handprop_results::TABLES.iter().copied().chain(["config.toml"]) {
        let path = dir.path().join(name);
        if !path.exists() {
            // The fixture leaves out tables the report does not need: header-only copies.
            use handprop_results::{FrequencyRow, Table, TimingRow, WinnerRow};
            let header = match name {
                "timing.csv" => TimingRow::COLUMNS.join(","),
                "winners.csv" => WinnerRow::COLUMNS.join(","),
                "frequency.csv" => FrequencyRow::COLUMNS.join(","),
                _ => String::new(),
            };
            std::fs::write(&path, format!("{header}\n")).unwrap();
        }
        let bytes = std::fs::read(&path).unwrap();
        tables.insert(name.to_string(), handprop_results::sha256_hex(&bytes));
    }
    let run = handprop_results::RunInfo {
        results_version: 2,
        handprop_version: "0.1.0".into(),
        config_name: "fixture".into(),
        config_hash: "00".into(),
        cells_total: 1,
        cells_done: 1,
        epochs: 4,
        cell_seconds: 1.0,
        kernel: None,
        invocations: Vec::new(),
        tables,
    };
    std::fs::write(dir.path().join("run.json"), run.to_json()).unwrap();
    let opts = ReportOptions { png: false, experiment_charts: false, ..ReportOptions::default() };
    handprop_report::ResultsData::load(dir.path()).expect("a consistent set loads");

    // As if a merge had renamed a new final.csv in and died before writing run.json.
    let final_csv = dir.path().join("final.csv");
    let text = std::fs::read_to_string(&final_csv).unwrap();
    std::fs::write(&final_csv, text.replacen("0.5", "0.75", 1)).unwrap();
    let err = handprop_report::generate(dir.path(), &opts).unwrap_err().to_string();
    assert!(err.contains("final.csv") && err.contains("manifest"), "{err}");

    // Without a manifest (an older directory), a curve with a missing epoch is still refused.
    std::fs::remove_file(dir.path().join("run.json")).unwrap();
    std::fs::write(&final_csv, text).unwrap();
    let metrics = dir.path().join("metrics.csv");
    let m = std::fs::read_to_string(&metrics).unwrap();
    let cut: String =
        m.lines().filter(|l| !l.starts_with("1,0,3,1,cost,")).map(|l| format!("{l}\n")).collect();
    std::fs::write(&metrics, cut).unwrap();
    let err = handprop_report::ResultsData::load(dir.path()).unwrap_err().to_string();
    assert!(
        err.contains("cost curve of cell (trial 1, experiment 0, case 3) has 3 of its 4 epochs"),
        "{err}"
    );
}
