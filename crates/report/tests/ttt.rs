//! Time to target and performance profiles: a hand-worked profile, time to target from tiny
//! series, target parsing, and the three CSVs from a small results directory.

use std::path::Path;

use handprop_report::ttt::{
    breakpoints, median_inf, performance_ratios, rho, time_to_target, Measure, TimeToTarget,
};
use handprop_report::{generate, Metric, ReportOptions, Target};

const INF: f64 = f64::INFINITY;

/// 3 problems × 3 cases, times in epochs, worked by hand:
///
/// | problem | A | B | C | fastest |
/// |---|---|---|---|---|
/// | P0 | 2 | 4 | ∞ | 2 → r = 1, 2, ∞ |
/// | P1 | 6 | 3 | 3 | 3 → r = 2, 1, 1 |
/// | P2 | ∞ | ∞ | ∞ | none → r = ∞, ∞, ∞ (counts against every case) |
///
/// ρ_A: τ=1 → {P0} = 1/3, τ=2 → {P0, P1} = 2/3, never more (P2 unsolved).
/// ρ_B: τ=1 → {P1} = 1/3, τ=1.5 → 1/3, τ=2 → 2/3.
/// ρ_C: τ=1 → {P1} = 1/3, for every τ (P0 unsolved by C).
#[test]
fn hand_worked_profile() {
    let times = vec![vec![2.0, 4.0, INF], vec![6.0, 3.0, 3.0], vec![INF, INF, INF]];
    let r = performance_ratios(&times);
    assert_eq!(r, vec![vec![1.0, 2.0, INF], vec![2.0, 1.0, INF], vec![INF, 1.0, INF]]);
    let third = 1.0 / 3.0;
    let cases = [
        ("A", [(1.0, third), (1.5, third), (2.0, 2.0 * third), (1e9, 2.0 * third)]),
        ("B", [(1.0, third), (1.5, third), (2.0, 2.0 * third), (1e9, 2.0 * third)]),
        ("C", [(1.0, third), (1.5, third), (2.0, third), (1e9, third)]),
    ];
    for (i, (name, points)) in cases.iter().enumerate() {
        for (tau, want) in points {
            let got = rho(&r[i], *tau);
            assert!((got - want).abs() < 1e-15, "ρ_{name}({tau}) = {got}, want {want}");
        }
        // Below τ = 1 nothing counts; at τ = ∞ only the solved problems do.
        assert_eq!(rho(&r[i], 0.99), 0.0);
    }
    assert_eq!(breakpoints(&r), vec![1.0, 2.0]);
    // Medians with ∞ counted: A {2, 6, ∞} → 6, B {3, 4, ∞} → 4, C {3, ∞, ∞} → ∞.
    let col = |c: usize| times.iter().map(|row| row[c]).collect::<Vec<_>>();
    assert_eq!(median_inf(&col(0)), 6.0);
    assert_eq!(median_inf(&col(1)), 4.0);
    assert_eq!(median_inf(&col(2)), INF);
    assert_eq!(median_inf(&[1.0, 2.0]), 1.5);
    assert_eq!(median_inf(&[1.0, INF]), INF);
    assert!(median_inf(&[]).is_nan());
}

#[test]
fn time_to_target_first_crossing() {
    let acc = Target::new(Metric::TestAcc, 0.9);
    // Crosses at epoch 1, falls back, crosses again: the first crossing counts.
    let series = [(0, 0.5), (1, 0.9), (2, 0.89), (3, 0.95)];
    let walls = [(0, 1.5), (1, 2.0), (2, 4.0), (3, 8.0)];
    let t = time_to_target(&series, &walls, false, &acc);
    assert_eq!(t, TimeToTarget { epoch: Some(1), seconds: Some(3.5) });
    assert_eq!(t.time(Measure::Epochs), 2.0);
    assert_eq!(t.time(Measure::Seconds), 3.5);
    // A diverged cell never counts, even if it crossed before diverging.
    let t = time_to_target(&series, &walls, true, &acc);
    assert_eq!(t, TimeToTarget::default());
    assert_eq!(t.time(Measure::Epochs), INF);
    // Never reached; NaN never reaches.
    assert_eq!(time_to_target(&[(0, 0.5), (1, f64::NAN)], &walls, false, &acc).epoch, None);
    // A missing wall time leaves the epoch but not the seconds.
    let t = time_to_target(&series, &[(1, 2.0)], false, &acc);
    assert_eq!(t, TimeToTarget { epoch: Some(1), seconds: None });
    assert!(t.time(Measure::Seconds).is_nan());
    // A cost reaches its target from above.
    let cost = Target::new(Metric::Cost, 1.0);
    let t = time_to_target(&[(0, 3.0), (1, 1.0), (2, 0.5)], &walls, false, &cost);
    assert_eq!(t.epoch, Some(1));
    assert!(!cost.reached(1.01) && cost.reached(1.0) && !acc.reached(0.8999));
}

#[test]
fn targets_parse_with_clear_errors() {
    let t: Target = "test_acc=0.95".parse().unwrap();
    assert_eq!(t, Target::new(Metric::TestAcc, 0.95));
    assert_eq!(t.to_string(), "test accuracy ≥ 0.95");
    assert_eq!(t.key(), "test_acc-0p95");
    let c: Target = " cost = 0.1 ".parse().unwrap();
    assert_eq!(c.to_string(), "cost per image ≤ 0.1");
    for (text, reason) in [
        ("test_acc", "METRIC=THRESHOLD"),
        ("accuracy=0.9", "cost, train_acc or test_acc"),
        ("test_acc=high", "not a number"),
        ("train_acc=1.5", "[0, 1]"),
        ("test_acc=NaN", "[0, 1]"),
        ("cost=-1", "≥ 0"),
        ("cost=inf", "≥ 0"),
    ] {
        let e = text.parse::<Target>().unwrap_err();
        assert_eq!(e.text, text);
        assert!(e.to_string().contains(reason), "{text}: {e}");
    }
    // -0 is read as 0: no sign on zero in the outputs.
    assert_eq!("cost=-0".parse::<Target>().unwrap().threshold_text(), "0");
}

/// Two experiments × three cases (C0 hand-made, C1 and C2 TF1), 3 epochs, target test_acc ≥ 0.9:
/// - experiment 0: C0 at epoch 1 (2 epochs, 0.25 + 0.5 s), C1 at epoch 0 (1 epoch, 0.5 s), C2
///   diverged after crossing at epoch 0 → ∞;
/// - experiment 1: C0 at epoch 2 (3 epochs), C1 never, C2 at epoch 2.
///
/// Ratios in epochs: e0 (fastest 1): C0 2, C1 1, C2 ∞; e1 (fastest 3): C0 1, C1 ∞, C2 1.
fn write_fixture(dir: &Path) {
    std::fs::write(
        dir.join("cases.csv"),
        "case,label,colour,group\n0,Hand,tab:green,hand-made\n1,Fast,tab:red,tf1\n2,Late,azure,tf1\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("trials.csv"),
        "trial,learning_rate,hidden,experiments,epochs,batch\n1,0.001,8,2,3,10\n",
    )
    .unwrap();
    let acc: [[[f64; 3]; 3]; 2] = [
        [[0.5, 0.9, 0.95], [0.91, 0.92, 0.93], [0.95, 0.97, f64::NAN]],
        [[0.5, 0.6, 0.9], [0.1, 0.2, 0.3], [0.2, 0.5, 0.99]],
    ];
    let mut fin =
        String::from("trial,experiment,case,epochs_run,diverged,cost,train_acc,test_acc\n");
    let mut met = String::from("trial,experiment,case,epoch,metric,value\n");
    let mut tim = String::from("trial,experiment,case,epoch,wall_s\n");
    for (e, cells) in acc.iter().enumerate() {
        for (c, v) in cells.iter().enumerate() {
            let div = v[2].is_nan();
            fin.push_str(&format!("1,{e},{c},3,{},1,{},{}\n", u8::from(div), v[2], v[2]));
            for (k, a) in v.iter().enumerate() {
                met.push_str(&format!("1,{e},{c},{k},test_acc,{a}\n1,{e},{c},{k},cost,1\n"));
                met.push_str(&format!("1,{e},{c},{k},train_acc,{a}\n"));
                tim.push_str(&format!("1,{e},{c},{k},{}\n", 0.25 * (k + 1) as f64));
            }
        }
    }
    std::fs::write(dir.join("final.csv"), fin).unwrap();
    std::fs::write(dir.join("metrics.csv"), met).unwrap();
    std::fs::write(dir.join("timing.csv"), tim).unwrap();
}

fn rows(path: &Path) -> (String, Vec<Vec<String>>) {
    let text = std::fs::read_to_string(path).unwrap();
    assert!(!text.contains("-0"), "{}: {text}", path.display());
    let mut lines = text.lines();
    let header = lines.next().unwrap().to_string();
    let mut rdr = csv::ReaderBuilder::new().has_headers(true).from_path(path).unwrap();
    let rows = rdr.records().map(|r| r.unwrap().iter().map(String::from).collect()).collect();
    (header, rows)
}

#[test]
fn csvs_from_a_results_directory() {
    let dir = tempfile::tempdir().unwrap();
    write_fixture(dir.path());
    let opts = ReportOptions {
        png: false,
        experiment_charts: false,
        max_points: 0,
        targets: vec![Target::new(Metric::TestAcc, 0.9)],
        compare: None,
    };
    let summary = generate(dir.path(), &opts).unwrap();
    assert!(summary.charts.iter().any(|p| p.ends_with("report/trial1-profile-test_acc-0p9.svg")));

    let (header, ttt) = rows(&dir.path().join("time_to_target.csv"));
    assert_eq!(header, "trial,experiment,case,label,group,target_metric,target,epoch,seconds");
    let got: Vec<(String, String, String, String)> =
        ttt.iter().map(|r| (r[1].clone(), r[2].clone(), r[7].clone(), r[8].clone())).collect();
    let s = |a: &str, b: &str, c: &str, d: &str| (a.into(), b.into(), c.into(), d.into());
    assert_eq!(
        got,
        vec![
            s("0", "0", "1", "0.75"),
            s("0", "1", "0", "0.25"),
            s("0", "2", "", ""),
            s("1", "0", "2", "1.5"),
            s("1", "1", "", ""),
            s("1", "2", "2", "1.5"),
        ]
    );
    assert_eq!(&ttt[0][3..7], ["Hand", "hand-made", "test_acc", "0.9"]);

    let (header, prof) = rows(&dir.path().join("profiles.csv"));
    assert_eq!(header, "trial,target_metric,target,measure,case,label,group,tau,rho");
    let rho_at = |measure: &str, case: &str, tau: &str| -> String {
        prof.iter()
            .find(|r| r[3] == measure && r[4] == case && r[7] == tau)
            .unwrap_or_else(|| panic!("no row {measure} C{case} τ={tau}"))[8]
            .clone()
    };
    // Epochs: breakpoints 1 and 2. C0: r = 2, 1; C1: 1, ∞; C2: ∞, 1.
    assert_eq!(rho_at("epochs", "0", "1"), "0.5");
    assert_eq!(rho_at("epochs", "0", "2"), "1");
    assert_eq!(rho_at("epochs", "1", "2"), "0.5");
    assert_eq!(rho_at("epochs", "2", "2"), "0.5");
    assert_eq!(prof.iter().filter(|r| r[3] == "epochs").count(), 3 * 2);
    // Seconds: e0 0.75 / 0.25 = 3 for C0; e1 1.5 / 1.5 = 1.
    assert_eq!(rho_at("seconds", "0", "1"), "0.5");
    assert_eq!(rho_at("seconds", "0", "3"), "1");

    let (header, sum) = rows(&dir.path().join("time_to_target_summary.csv"));
    assert_eq!(
        header,
        "trial,target_metric,target,case,label,group,problems,solved,median_epochs,median_seconds"
    );
    assert_eq!(&sum[0][6..], ["2", "2", "2.5", "1.125"]);
    assert_eq!(&sum[1][6..], ["2", "1", "", ""]);

    let md = std::fs::read_to_string(&summary.report_md).unwrap();
    assert!(md.contains("### Time to target") && md.contains("#### test accuracy ≥ 0.9"), "{md}");
}

#[test]
fn default_targets_and_bad_timing() {
    let dir = tempfile::tempdir().unwrap();
    write_fixture(dir.path());
    // No targets given, a scaled run: 90 % of the best mean final test accuracy, rounded down to
    // 0.01. Means: C0 (0.95 + 0.9) / 2 = 0.925, C1 (0.93 + 0.3) / 2 = 0.615, C2 0.99 (its other
    // cell diverged) → ⌊90 × 0.99⌋ / 100 = 0.89.
    let opts = ReportOptions { png: false, experiment_charts: false, ..ReportOptions::default() };
    let summary = generate(dir.path(), &opts).unwrap();
    let targets: Vec<Target> = summary.time_to_target.iter().map(|r| r.target).collect();
    assert_eq!(targets, vec![Target::new(Metric::TestAcc, 0.89)]);
    // At 0.89: C0 reaches it at epochs 1 and 2, C1 at 0 and never, C2 never (diverged) and at 2.
    let r = &summary.time_to_target[0];
    let epochs: Vec<Vec<Option<u32>>> =
        r.times.iter().map(|row| row.iter().map(|x| x.epoch).collect()).collect();
    assert_eq!(epochs, vec![vec![Some(1), Some(0), None], vec![Some(2), None, Some(2)]]);
    // A negative wall time is named by file, line and field.
    let tim = dir.path().join("timing.csv");
    std::fs::write(&tim, "trial,experiment,case,epoch,wall_s\n1,0,0,0,-1\n").unwrap();
    let e = generate(dir.path(), &opts).unwrap_err().to_string();
    assert!(e.contains("timing.csv, line 2") && e.contains("wall_s"), "{e}");
}
