//! The tuning sweep end to end on synthetic data: the same bytes whatever the threads or shards, a
//! resumed sweep equal to an uninterrupted one, and a tuned config that runs.

mod common;

use std::path::Path;

use common::{configs_dir, opts, read, synthetic_data};
use handprop_results::{Table, TuningRow, TUNED_CONFIG_FILE};
use handprop_runner::{run, tune, Config, Shard};

/// The tiny run (two trials × 17 cases) with a 3-candidate sweep of 2 epochs.
fn base(dir: &Path) -> (Config, std::path::PathBuf) {
    let tuning = "[tuning]\ncandidates = 3\nlog10_range = [-1, 1]\nepochs = 2\n";
    let path = common::tiny_config_file(dir, tuning);
    (Config::load(&path).unwrap(), path)
}

const FILES: [&str; 4] = ["final.csv", "metrics.csv", TuningRow::FILE, TUNED_CONFIG_FILE];

#[test]
fn a_sweep_is_byte_identical_across_threads_shards_and_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let (base, path) = base(dir.path());
    let sweep = tune::tuning_config(&base, &path).unwrap();
    assert_eq!(sweep.cell_count(), 2 * 3 * 17);
    let data = synthetic_data(200, 60);

    let sweep_into = |name: &str, threads: usize, shards: &[Shard]| {
        let out = dir.path().join(name);
        for &shard in shards {
            run(&sweep, &data, &opts(&out, threads, shard)).unwrap();
        }
        tune::write_outcome(&base, &sweep, &out, &path).unwrap();
        out
    };
    let one = sweep_into("one", 1, &[Shard::ALL]);
    let two = sweep_into("two", 2, &[Shard::ALL]);
    let shards = sweep_into(
        "shards",
        2,
        &[Shard { index: 1, count: 3 }, Shard { index: 0, count: 3 }, Shard { index: 2, count: 3 }],
    );
    // A sweep stopped after a third of its cells, then resumed by a plain run.
    let resumed = dir.path().join("resumed");
    run(&sweep, &data, &opts(&resumed, 1, Shard { index: 2, count: 3 })).unwrap();
    let summary = run(&sweep, &data, &opts(&resumed, 2, Shard::ALL)).unwrap();
    assert_eq!(summary.skipped, sweep.cell_count() / 3);
    tune::write_outcome(&base, &sweep, &resumed, &path).unwrap();

    for file in FILES {
        let want = read(&one.join(file));
        for other in [&two, &shards, &resumed] {
            assert_eq!(read(&other.join(file)), want, "{file} of {}", other.display());
        }
    }

    // Every (trial, case) of the base has its 3 candidates; the tuned config runs.
    let rows: Vec<TuningRow> = handprop_results::read_table(&one.join(TuningRow::FILE)).unwrap();
    assert_eq!(rows.len(), 2 * 17 * 3);
    for t in 1..=2 {
        for c in 0..17 {
            let picked =
                rows.iter().filter(|r| r.trial == t && r.case == c && r.selected == 1).count();
            assert!(picked <= 1, "trial {t} case {c}");
        }
    }
    let tuned = Config::load(&one.join(TUNED_CONFIG_FILE)).unwrap();
    assert_eq!(tuned.name, "tiny-tuned");
    assert_eq!(tuned.trials, base.trials);
    let chosen: Vec<f64> =
        rows.iter().filter(|r| r.selected == 1).map(|r| r.learning_rate).collect();
    assert!(!chosen.is_empty());
    for r in rows.iter().filter(|r| r.selected == 1) {
        assert_eq!(tuned.cases[r.case].eta.as_ref().unwrap()[r.trial - 1], r.learning_rate);
    }
    let final_run = run(&tuned, &data, &opts(&dir.path().join("tuned"), 2, Shard::ALL)).unwrap();
    assert_eq!(final_run.computed, tuned.cell_count());
    let cases = read(&dir.path().join("tuned/cases.csv"));
    assert!(cases.lines().next().unwrap().contains("eta_trial1,eta_trial2"), "{cases}");
}

#[test]
fn the_sweep_scores_on_the_validation_set_not_the_test_set() {
    let dir = tempfile::tempdir().unwrap();
    let (base, path) = base(dir.path());
    let sweep = tune::tuning_config(&base, &path).unwrap();
    let text = sweep.to_toml();
    assert!(text.contains("evaluate = \"validation\""), "{text}");
    // The base config (and so the study's own configs) keep the test set and their TOML.
    assert!(!base.to_toml().contains("evaluate"));
    let paper = Config::load(&configs_dir().join("paper.toml")).unwrap();
    assert!(!paper.to_toml().contains("evaluate") && paper.tuning.is_none());
}
