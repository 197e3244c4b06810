//! The answer-first summary, the scaled-profile banner, grouping by gradient, clean numbers,
//! visible pale colours and coinciding cases, on the synthetic results of `common`.

mod common;

use std::path::Path;

use handprop_report::{generate, ReportError, ReportOptions};

fn quick() -> ReportOptions {
    ReportOptions {
        png: false,
        experiment_charts: false,
        max_points: 0,
        ..ReportOptions::default()
    }
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap()
}

/// Rewrites the rows of `file` for which `keep` returns false with `edit`.
fn edit_lines(dir: &Path, file: &str, edit: impl Fn(&str) -> Option<String>) {
    let path = dir.join(file);
    let text: String = read(&path)
        .lines()
        .map(|l| format!("{}\n", edit(l).unwrap_or_else(|| l.to_string())))
        .collect();
    std::fs::write(path, text).unwrap();
}

#[test]
fn the_answer_comes_first_and_names_each_trials_winners() {
    let dir = tempfile::tempdir().unwrap();
    common::write_results(dir.path());
    let s = generate(dir.path(), &quick()).unwrap();
    let md = read(&s.report_md);
    let answer = md.find("## The answer").expect("an answer section");
    let run = md.find("## The run").expect("a run section");
    let trial1 = md.find("## Trial 1").expect("a trial section");
    assert!(answer < run && run < trial1, "the answer comes before the details");

    // The banner is the first thing after the title and says what is scaled.
    let banner = md.lines().nth(2).unwrap();
    assert!(
        banner.starts_with("> **Scaled profile: this run cannot reproduce the study."),
        "{banner}"
    );
    for part in [
        "trials: 2 (study: 4)",
        "hidden widths H: 16, 16 (study: 1024, 824, 824, 1024)",
        "learning rates η: 0.001, 0.001 (study: 0.001, 0.0025, 0.001, 0.0025)",
        "experiments per trial: 3, 6 (study: 10)",
        "epochs per cell: 3, 4 (study: 801)",
        "batch size: 10 (study: 1000)",
        "training images: the first 500 (study: all 55,000)",
        "configs/paper.toml is the faithful study",
    ] {
        assert!(banner.contains(part), "{part:?} missing from {banner}");
    }

    let summary = &md[answer..run];
    // Trial 1: lowest cost won once each by C0, C3, C5; test accuracy by C16 in all three.
    assert!(summary.contains("Trial 1 (η = 0.001, H = 16, 3 experiment(s) × 4 epoch(s)). Winners: lowest cost C0 Case number 0 [hand-made] 1/3, C3 Case number 3 [hand-made] 1/3, C5 Case number 5 [hand-made] 1/3; highest train accuracy C16 Case number 16 [TF1] 2/3, C4 Case number 4 [hand-made] 1/3; highest test accuracy C16 Case number 16 [TF1] 3/3."), "{summary}");
    // 9 wins in trial 1: C0, C3, C5, C4 hand-made (4), C16 five times.
    assert!(
        summary.contains("hand-made cases took 4 and TF1 optimizers 5 of the 9 wins"),
        "{summary}"
    );
    assert!(summary.contains("Confidence: none yet. With 3 experiment(s)"), "{summary}");
    // Trial 2 has six experiments: the test is run and its p reported.
    assert!(summary.contains("Trial 2 (η = 0.001, H = 16, 6 experiment(s) × 3 epoch(s)). Winners: lowest cost C0 Case number 0 [hand-made] 6/6;"), "{summary}");
    assert!(summary.contains("Confidence: exact Wilcoxon signed-rank test of C"), "{summary}");
    // The original post is linked, and no citation points outside the repository.
    assert!(md.contains("(https://towardsdatascience.com/outperforming-tensorflows-default-auto-differentiation-optimizers-with-interactive-code-manual-e587a82d340e)"));
    assert!(
        !md.contains("spec §")
            && !md.contains(concat!("/work", "/shared"))
            && !md.contains(concat!("..", "/shared"))
    );
}

#[test]
fn the_study_settings_give_the_faithful_banner() {
    let dir = tempfile::tempdir().unwrap();
    common::write_results(dir.path());
    std::fs::write(
        dir.path().join("trials.csv"),
        "trial,learning_rate,hidden,experiments,epochs,batch\n1,0.0010000000474974513,1024,10,801,1000\n2,0.0024999999441206455,824,10,801,1000\n3,0.001,824,10,801,1000\n4,0.0025,1024,10,801,1000\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("config.toml"), "[data]\nsplit = \"tf1\"\n").unwrap();
    let s = generate(dir.path(), &quick()).unwrap();
    let md = read(&s.report_md);
    assert!(md.contains("> **Faithful profile: this run uses the study's settings"), "{md}");
    assert!(!md.contains("Scaled profile"));
    // η read back from f32 widened to f64 prints as the study's η.
    assert!(md.contains("| 1 | 0.001 | 1024 | 10 | 801 | 1000 |"), "{md}");
}

#[test]
fn no_negative_zero_and_no_repeated_note() {
    let dir = tempfile::tempdir().unwrap();
    common::write_results(dir.path());
    // Trial 2's C9 ends every experiment at a cost of -0: its mean, interval and differences are
    // zeros that a naive formatter prints as "-0".
    edit_lines(dir.path(), "final.csv", |l| {
        let f: Vec<&str> = l.split(',').collect();
        (f[0] == "2" && f[2] == "9").then(|| {
            let mut g: Vec<String> = f.iter().map(|s| s.to_string()).collect();
            g[6] = "-0".into();
            g.join(",")
        })
    });
    let s = generate(dir.path(), &quick()).unwrap();
    let csv = read(&s.summary_csv);
    let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
    assert!(!header.contains(&"note"), "{header:?}");
    let mut rdr = csv::Reader::from_reader(csv.as_bytes());
    let mut zeros = 0;
    for rec in rdr.records() {
        for field in rec.unwrap().iter() {
            if field.parse::<f64>().is_ok_and(|v| v == 0.0) {
                zeros += 1;
                assert!(!field.starts_with('-'), "negative zero {field:?} in summary.csv");
            }
            // Every cell is a number, a label or a group: no sentence repeated per row.
            assert!(field.len() < 40, "long text {field:?} in summary.csv");
        }
    }
    assert!(zeros > 0, "the fixture has zeros");
    let row = csv.lines().find(|l| l.starts_with("2,cost,9,")).unwrap();
    assert!(row.contains(",0,0,0,0,"), "mean, sd and interval of C9 are 0: {row}");
    let md = read(&s.report_md);
    for token in md.split(|c: char| c.is_whitespace() || "|()/,;".contains(c)) {
        if token.starts_with('-') && token.parse::<f64>().is_ok_and(|v| v == 0.0) {
            panic!("negative zero {token:?} in report.md");
        }
    }
    // The too-few-pairs remark is one footnote per trial (trial 2 has it too: its tied test
    // accuracies leave 5 pairs), not a sentence per row.
    assert_eq!(md.matches("† Too few paired differences").count(), 2);
    assert!(md.matches(" †").count() > 10);
    // Parameters in their shortest f32 form, in the cases table and in config.toml.
    assert!(md.contains("routing = standard; rule = sgd; d = 0.08 |"), "{md}");
    assert!(md.contains("d = 0.08\n") && !md.contains("0.0799999"), "{md}");
}

#[test]
fn cases_are_grouped_by_gradient() {
    let dir = tempfile::tempdir().unwrap();
    common::write_results(dir.path());
    let s = generate(dir.path(), &quick()).unwrap();
    let md = read(&s.report_md);
    assert!(md.contains("| C6 | hand-made | Case number 6 | manual |"), "{md}");
    assert!(md.contains("| C7 | TF1 | Case number 7 | exact |"), "{md}");
    // Statistics tables carry the group too.
    assert!(md.contains("| C16 | TF1 | Case number 16 | 3 | 0 |"), "{md}");
    for chart in ["trial1-wins-lowest_cost", "trial1-curve-cost", "trial2-overview-test_acc"] {
        let svg = read(&dir.path().join(format!("report/{chart}.svg")));
        assert!(
            svg.contains("Hand-made back-prop") || svg.contains("hand-made back-prop"),
            "{chart} has no hand-made group in its legend"
        );
        assert!(
            svg.contains("TF1 optimizers, exact gradient (C7–C16)")
                || svg.contains("TF1 optimizer, exact gradient"),
            "{chart} has no TF1 group in its legend"
        );
    }
    let curves = read(&dir.path().join("report/trial1-curve-cost.svg"));
    assert!(curves.contains("Hand-made back-prop (C0–C6) (left)"));
    assert!(curves.contains("(log scale)"));

    // A `group` column wins over `gradient`; without either the file is rejected by name.
    let path = dir.path().join("cases.csv");
    let with_group = read(&path)
        .replacen("gradient", "group", 1)
        .replace(",manual,", ",hand-made,")
        .replace(",exact,", ",tf1,");
    std::fs::write(&path, &with_group).unwrap();
    let s = generate(dir.path(), &quick()).unwrap();
    assert!(read(&s.report_md).contains("| C7 | TF1 | Case number 7 | – |"));
    std::fs::write(&path, with_group.replace(",tf1,", ",tf2,")).unwrap();
    let e = generate(dir.path(), &quick()).unwrap_err();
    assert!(matches!(e, ReportError::Invalid { field: "group", line: 9, .. }), "{e}");
    assert!(e.to_string().contains("cases.csv") && e.to_string().contains("tf2"), "{e}");
    std::fs::write(&path, read(&path).replacen("group", "kind", 1)).unwrap();
    let e = generate(dir.path(), &quick()).unwrap_err().to_string();
    assert!(e.contains("cases.csv, line 1") && e.contains("`group`"), "{e}");
}

#[test]
fn pale_colours_get_a_visible_edge() {
    let dir = tempfile::tempdir().unwrap();
    common::write_results(dir.path());
    // Make ivory C13 win trial 1's test accuracy in experiment 0, so it has a bar.
    edit_lines(dir.path(), "final.csv", |l| {
        l.starts_with("1,0,13,")
            .then(|| l.replace(",0.703125,0.703125,", ",0.703125,0.9990234375,"))
    });
    let s = generate(dir.path(), &quick()).unwrap();
    assert_eq!(s.trials[0].winners[0][2], Some(13));
    let bars =
        read(&dir.path().join("report/trial1-wins-highest_test_acc.svg")).to_ascii_uppercase();
    // The ivory fill is drawn, and edged in dark goldenrod 2 px wide (bar and legend swatch).
    assert!(bars.contains("FILL=\"#FFFFF0\""), "ivory fill");
    assert!(bars.matches("STROKE=\"#B8860B\"").count() >= 2, "ivory's edge on bar and swatch");
    // Lines in a pale colour are drawn in the darker replacement, never in the pale colour.
    let curves = read(&dir.path().join("report/trial1-curve-test_acc.svg")).to_ascii_uppercase();
    assert!(curves.contains("STROKE=\"#B8860B\""));
    for pale in ["#FFFFF0", "#F0FFFF", "#E6E6FA", "#ADD8E6"] {
        assert!(!curves.contains(&format!("STROKE=\"{pale}\"")), "a line stroked in {pale}");
    }
}

#[test]
fn coinciding_cases_are_detected_and_noted() {
    let dir = tempfile::tempdir().unwrap();
    common::write_results(dir.path());
    let s = generate(dir.path(), &quick()).unwrap();
    assert!(s.trials.iter().all(|t| t.coincide.is_empty()), "no false positives");

    // C14 becomes a bit-for-bit copy of C7 in every cell, as TF1's ProximalGradientDescent
    // without regularisation is of GradientDescent.
    for file in ["final.csv", "metrics.csv"] {
        let text = read(&dir.path().join(file));
        let c7: Vec<String> = text
            .lines()
            .filter(|l| l.split(',').nth(2) == Some("7"))
            .map(|l| {
                let mut f: Vec<String> = l.split(',').map(String::from).collect();
                f[2] = "14".into();
                if file == "final.csv" {
                    f[3] = "Case number 14".into();
                }
                f.join(",")
            })
            .collect();
        let mut out: Vec<String> =
            text.lines().filter(|l| l.split(',').nth(2) != Some("14")).map(String::from).collect();
        out.extend(c7);
        std::fs::write(dir.path().join(file), out.join("\n") + "\n").unwrap();
    }
    let s = generate(dir.path(), &quick()).unwrap();
    for t in &s.trials {
        assert_eq!(t.coincide, vec![(14, 7)], "trial {}", t.info.trial);
    }
    let md = read(&s.report_md);
    assert_eq!(md.matches("give bit-identical results").count(), 2, "one note per trial");
    assert!(
        md.contains("Note: C14 (Case number 14) and C7 (Case number 7) give bit-identical results")
    );
    let svg = read(&dir.path().join("report/trial1-curve-cost.svg"));
    assert!(svg.contains("C14 Case number 14 (≡ C7: identical, dashed over it)"));
    assert!(svg.contains("stroke-dasharray") || svg.matches("<polyline").count() > 20);

    // One differing epoch value is enough to tell them apart.
    edit_lines(dir.path(), "metrics.csv", |l| {
        l.starts_with("1,2,14,0,cost,").then(|| "1,2,14,0,cost,9".to_string())
    });
    let s = generate(dir.path(), &quick()).unwrap();
    assert!(s.trials[0].coincide.is_empty());
    assert_eq!(s.trials[1].coincide, vec![(14, 7)]);
}

#[test]
fn compute_is_shown_once_from_the_invocations() {
    let dir = tempfile::tempdir().unwrap();
    common::write_results(dir.path());
    std::fs::write(
        dir.path().join("run.json"),
        r#"{"handprop_version": "0.2.0", "config_name": "synthetic", "config_hash": "ab", "cells_total": 153,
"cells_done": 153, "epochs": 4, "cell_seconds": 7.5, "future_field": [1, 2],
"invocations": [
 {"command": "run", "started": "2026-12-02T04:00:00Z", "shard": "0/2", "threads": 2, "cells_computed": 80, "wall_seconds": 2.0, "cpu_seconds": 3.5},
 {"command": "merge", "started": "2026-12-02T04:01:00Z", "threads": 1, "cells_computed": 0, "wall_seconds": 1.0, "cpu_seconds": 1.5}
]}"#,
    )
    .unwrap();
    let s = generate(dir.path(), &quick()).unwrap();
    let md = read(&s.report_md);
    assert!(
        md.contains("| compute | 3.0 s wall, 5.0 s CPU over 2 invocation(s); the cells' epochs took 7.5 s in total |"),
        "{md}"
    );
    assert_eq!(md.matches("7.5 s").count(), 1, "compute shown once");
    assert!(md.contains("| merge | 2026-12-02T04:01:00Z | – | 1 | 0 | 1.0 s | 1.5 s |"), "{md}");
}

#[test]
fn a_malformed_run_json_is_named_and_colour_names_resolve() {
    let dir = tempfile::tempdir().unwrap();
    common::write_results(dir.path());
    std::fs::write(dir.path().join("run.json"), "{\"config_name\": 3}").unwrap();
    let e = generate(dir.path(), &quick()).unwrap_err();
    assert!(matches!(e, ReportError::Results(_)), "{e}");
    assert!(e.to_string().contains("run.json"), "{e}");

    // cases.csv may name colours the matplotlib way, as the configs do.
    common::write_results(dir.path());
    let path = dir.path().join("cases.csv");
    std::fs::write(&path, read(&path).replace("#fffff0", "ivory").replace("#2ca02c", "tab:green"))
        .unwrap();
    let s = generate(dir.path(), &quick()).unwrap();
    let md = read(&s.report_md);
    assert!(md.contains("#fffff0 (pale: lines and edges drawn #b8860b)"), "{md}");
    assert!(md.contains("| #2ca02c |"), "{md}");
}
