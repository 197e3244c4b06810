use std::path::{Path, PathBuf};

use super::*;
use crate::cells::all_cells;

fn score(score: f64) -> CandidateScore {
    CandidateScore { diverged: 0, score }
}

fn diverged() -> CandidateScore {
    CandidateScore { diverged: 1, score: f64::NAN }
}

#[test]
fn the_planted_best_eta_is_selected() {
    let c = [score(0.61), score(0.74), score(0.93), score(0.88), score(0.12)];
    assert_eq!(select(&c, Metric::Accuracy), Some(2));
    let costs = [score(2.0), score(0.9), score(0.4), score(0.7)];
    assert_eq!(select(&costs, Metric::Cost), Some(2));
}

#[test]
fn diverged_candidates_never_win() {
    // A diverged candidate loses even if its recorded score looks best.
    let c = [
        score(0.5),
        CandidateScore { diverged: 1, score: 0.99 },
        score(0.7),
        diverged(),
        score(f64::NAN),
        score(f64::INFINITY),
    ];
    assert_eq!(select(&c, Metric::Accuracy), Some(2));
    assert_eq!(select(&[diverged(), diverged()], Metric::Accuracy), None);
    assert_eq!(select(&[], Metric::Cost), None);
}

#[test]
fn ties_go_to_the_smaller_eta() {
    let c = [score(0.2), score(0.8), score(0.8), score(0.8)];
    assert_eq!(select(&c, Metric::Accuracy), Some(1));
    let costs = [score(0.3), score(0.3), score(0.5)];
    assert_eq!(select(&costs, Metric::Cost), Some(0));
}

#[test]
fn the_grid_is_log_spaced_and_contains_the_default_eta() {
    let t = TuningConfig::default();
    let f = t.factors(1);
    assert_eq!(f.len(), 7);
    assert_eq!(f[3], 1.0, "an odd grid centred on 0 holds the study's η exactly");
    assert!((f[0] - 10f64.powf(-1.5)).abs() < 1e-15 && (f[6] - 10f64.powf(1.5)).abs() < 1e-12);
    for w in f.windows(2) {
        assert!((w[1] / w[0] - 10f64.powf(0.5)).abs() < 1e-12, "{w:?}");
    }
    let one = TuningConfig { candidates: 1, log10_range: [-1.0, 1.0], ..t };
    assert_eq!(one.factors(1), vec![1.0]);
}

#[test]
fn quasirandom_factors_are_seeded_sorted_and_spread() {
    let t = TuningConfig { sampler: Sampler::Quasirandom, candidates: 8, ..Default::default() };
    let a = t.factors(20180313);
    assert_eq!(a, t.factors(20180313), "the same seed gives the same candidates");
    assert_ne!(a, t.factors(7), "another seed shifts them");
    assert!(a.windows(2).all(|w| w[0] < w[1]), "{a:?}");
    // A shifted van der Corput sequence of 8 = 2³ points puts one point in each eighth.
    let mut bins = [0; 8];
    for f in &a {
        let x = (f.log10() + 1.5) / 3.0;
        assert!((0.0..1.0).contains(&x), "{f}");
        bins[(x * 8.0) as usize] += 1;
    }
    assert_eq!(bins, [1; 8]);
}

#[test]
fn bad_tuning_sections_are_refused_with_their_key() {
    let bad = [
        (TuningConfig { candidates: 0, ..Default::default() }, "candidates"),
        (TuningConfig { log10_range: [1.0, -1.0], ..Default::default() }, "log10_range"),
        (TuningConfig { log10_range: [0.0, f64::NAN], ..Default::default() }, "log10_range"),
        (TuningConfig { log10_range: [0.5, 0.5], ..Default::default() }, "log10_range"),
        (TuningConfig { epochs: Some(0), ..Default::default() }, "epochs"),
        (TuningConfig { experiments: 0, ..Default::default() }, "experiments"),
    ];
    for (t, key) in bad {
        assert_eq!(t.validate().unwrap_err().0, key, "{t:?}");
    }
}

/// A two-trial config of three cases (Adam, GradientDescent, and Adam with a fixed learning rate
/// that ignores η) with a `[tuning]` section.
fn base(dir: &Path, tuning: &str) -> (Config, PathBuf) {
    let path = dir.join("base.toml");
    std::fs::write(
        &path,
        format!(
            r#"
[data]
split = "tf1"
[training]
batch = 50
epochs = 4
seed = 5
[[trials]]
learning_rate = 0.001
hidden = 12
experiments = 3
[[trials]]
learning_rate = 0.01
hidden = 10
experiments = 3
[[cases]]
label = "Adam"
colour = "tab:red"
gradient = "exact"
routing = {{ kind = "standard" }}
update = {{ rule = "adam" }}
[[cases]]
label = "GD"
colour = "tab:blue"
gradient = "exact"
routing = {{ kind = "standard" }}
update = {{ rule = "gradient_descent" }}
[[cases]]
label = "fixed"
colour = "tab:green"
gradient = "exact"
routing = {{ kind = "standard" }}
update = {{ rule = "adam", learning_rate = 0.002 }}
{tuning}
"#
        ),
    )
    .unwrap();
    (Config::load(&path).unwrap(), path)
}

#[test]
fn the_sweep_is_a_run_of_candidates_on_validation_with_disjoint_streams() {
    let dir = tempfile::tempdir().unwrap();
    let (base, path) = base(
        dir.path(),
        "[tuning]\ncandidates = 3\nlog10_range = [-1, 1]\nepochs = 2\nexperiments = 2",
    );
    let sweep = tuning_config(&base, &path).unwrap();
    assert_eq!(sweep.name, "base-tuning");
    assert_eq!(sweep.data.evaluate, Evaluate::Validation);
    assert_eq!((sweep.training.epochs, sweep.training.eval_every), (2, 2));
    assert!(sweep.tuning.is_none());
    let etas: Vec<f64> = sweep.trials.iter().map(|t| t.learning_rate).collect();
    let want = [0.0001, 0.001, 0.01, 0.001, 0.01, 0.1];
    for (got, want) in etas.iter().zip(want) {
        assert!((got / want - 1.0).abs() < 1e-12, "{etas:?}");
    }
    assert!(sweep.trials[..3].iter().all(|t| t.seed_trial == Some(1) && t.experiments == 2));
    assert!(sweep.trials[3..].iter().all(|t| t.seed_trial == Some(2)));
    assert_ne!(sweep.hash(), base.hash());
    // Not one (trial, experiment) stream of the sweep is an experiment's.
    let stream = |c: &Config, cell: &crate::Cell| {
        c.trials[cell.trial - 1].stream_numbers(cell.trial, cell.experiment)
    };
    let experiments: std::collections::HashSet<_> =
        all_cells(&base).iter().map(|c| stream(&base, c)).collect();
    let sweep_streams: Vec<_> = all_cells(&sweep).iter().map(|c| stream(&sweep, c)).collect();
    assert!(sweep_streams.iter().all(|s| !experiments.contains(s)));
    // Candidates of one trial share streams (common random numbers).
    assert_eq!(sweep.trials[0].stream_numbers(1, 0), sweep.trials[2].stream_numbers(3, 0));
    // The sweep's TOML is a loadable config of its own (for `handprop slurm`).
    let again = dir.path().join("sweep.toml");
    std::fs::write(&again, sweep.to_toml()).unwrap();
    assert_eq!(Config::load(&again).unwrap().hash(), sweep.hash());
}

#[test]
fn a_split_without_validation_images_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (mut base, path) = base(dir.path(), "[tuning]\ncandidates = 3");
    base.data.split = handprop_mnist::Split::Full;
    let e = tuning_config(&base, &path).unwrap_err().to_string();
    assert!(e.contains("base.toml") && e.contains("data.split") && e.contains("tf1"), "{e}");
}

#[test]
fn a_config_without_tuning_is_refused_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let (base, path) = base(dir.path(), "");
    let e = tuning_config(&base, &path).unwrap_err().to_string();
    assert!(e.contains("base.toml") && e.contains("[tuning]"), "{e}");
}

fn final_row(trial: usize, experiment: usize, case: usize, acc: f64, diverged: bool) -> FinalRow {
    FinalRow {
        trial,
        experiment,
        case,
        label: String::new(),
        epochs_run: 2,
        diverged: diverged as u8,
        cost: if diverged { f64::NAN } else { 1.0 - acc },
        train_acc: acc,
        test_acc: if diverged { f64::NAN } else { acc },
    }
}

#[test]
fn the_outcome_chooses_per_trial_and_case_and_writes_a_loadable_tuned_config() {
    let dir = tempfile::tempdir().unwrap();
    let (base, path) =
        base(dir.path(), "[tuning]\ncandidates = 3\nlog10_range = [-1, 1]\nexperiments = 2");
    let sweep = tuning_config(&base, &path).unwrap();
    // Planted validation accuracies per (base trial, case, candidate).
    let planted = |t: usize, c: usize, k: usize| -> (f64, bool) {
        match (t, c, k) {
            (0, 0, 2) => (0.9, false), // trial 1, Adam: the largest η
            (0, 1, 1) => (0.8, true),  // trial 1, GD: the best-looking one diverged
            (0, 1, 0) => (0.7, false), //   so the smallest η wins
            (1, 1, _) => (0.5, false), // trial 2, GD: a three-way tie → the smallest η
            (1, 0, _) => (0.0, true),  // trial 2, Adam: all diverged → default η
            _ => (0.3, false),
        }
    };
    let mut finals = Vec::new();
    for t in 0..2 {
        for c in 0..3 {
            for k in 0..3 {
                for e in 0..2 {
                    let (acc, div) = planted(t, c, k);
                    // Only the second experiment diverges: one is enough to disqualify.
                    finals.push(final_row(t * 3 + k + 1, e, c, acc, div && e == 1));
                }
            }
        }
    }
    let out = outcome(&base, &sweep, &finals, &path).unwrap();
    assert_eq!(out.rows.len(), 2 * 3 * 3);
    let selected: Vec<(usize, usize, usize)> = out
        .rows
        .iter()
        .filter(|r| r.selected == 1)
        .map(|r| (r.trial, r.case, r.candidate))
        .collect();
    assert_eq!(selected, vec![(1, 0, 2), (1, 1, 0), (2, 1, 0)]);
    let eta = |c: usize| out.tuned.cases[c].eta.clone().unwrap();
    assert!((eta(0)[0] - 0.01).abs() < 1e-15 && eta(0)[1] == 0.01, "{:?}", eta(0));
    assert!((eta(1)[0] - 0.0001).abs() < 1e-15 && (eta(1)[1] - 0.001).abs() < 1e-15);
    assert!(out.tuned.cases[2].eta.is_none(), "a rule that ignores η is not tuned");
    assert!(out.rows.iter().filter(|r| r.diverged > 0).all(|r| r.score.is_nan()));
    // The tuned config keeps the trials and seeds, so it pairs with the default run.
    assert_eq!(out.tuned.trials, base.trials);
    assert_eq!(out.tuned.training, base.training);
    assert_eq!(out.tuned.name, "base-tuned");

    // Written and loaded again as a config of its own.
    let results = dir.path().join("sweep");
    std::fs::create_dir_all(&results).unwrap();
    std::fs::write(results.join(FinalRow::FILE), handprop_results::write_table(&finals)).unwrap();
    let written = write_outcome(&base, &sweep, &results, &path).unwrap();
    let loaded = Config::load(&results.join(TUNED_CONFIG_FILE)).unwrap();
    assert_eq!(loaded.hash(), written.tuned.hash());
    assert_ne!(loaded.hash(), base.hash());
    let rows: Vec<TuningRow> = read_table(&results.join(TuningRow::FILE)).unwrap();
    assert_eq!(rows.len(), out.rows.len());
}

#[test]
fn a_sweep_with_missing_rows_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (base, path) = base(dir.path(), "[tuning]\ncandidates = 2\nexperiments = 1");
    let sweep = tuning_config(&base, &path).unwrap();
    let finals = vec![final_row(1, 0, 0, 0.5, false)];
    let e = outcome(&base, &sweep, &finals, &path).unwrap_err().to_string();
    assert!(e.contains("final.csv") && e.contains("trial 2, case 0"), "{e}");
}
