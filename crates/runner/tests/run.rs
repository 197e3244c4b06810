//! Running: determinism across threads, order and sharding; resume after a crash; winners.

use std::path::Path;

mod common;

use common::{opts, read, synthetic_data, tiny_config};
use handprop_runner::{run, Config, Shard};

const TABLES: [&str; 6] =
    ["metrics.csv", "final.csv", "winners.csv", "frequency.csv", "trials.csv", "cases.csv"];

fn assert_same_tables(a: &Path, b: &Path) {
    for t in TABLES {
        assert_eq!(read(&a.join(t)), read(&b.join(t)), "{t} differs");
    }
}

#[test]
fn results_are_bit_identical_across_threads_and_shards() {
    let tmp = tempfile::tempdir().unwrap();
    let config = tiny_config(tmp.path());
    let data = synthetic_data(100, 40);

    let one = tmp.path().join("one");
    let s = run(&config, &data, &opts(&one, 1, Shard::ALL)).unwrap();
    assert_eq!(s.computed, config.cell_count());
    assert!(s.frequency.is_some());

    let two = tmp.path().join("two");
    run(&config, &data, &opts(&two, 2, Shard::ALL)).unwrap();
    assert_same_tables(&one, &two);

    // Three shards in reverse order; only the last one to finish merges.
    let sharded = tmp.path().join("sharded");
    for k in (0..3).rev() {
        let s = run(&config, &data, &opts(&sharded, 2, Shard { index: k, count: 3 })).unwrap();
        assert_eq!(s.frequency.is_some(), k == 0, "shard {k}");
    }
    assert_same_tables(&one, &sharded);

    // The tables are real: 68 cells × 3 epochs × 3 metrics, one final row per cell.
    assert_eq!(read(&one.join("metrics.csv")).lines().count(), 1 + 68 * 3 * 3);
    assert_eq!(read(&one.join("final.csv")).lines().count(), 1 + 68);
    let info: serde_json::Value = serde_json::from_str(&read(&one.join("run.json"))).unwrap();
    assert_eq!(info["config_hash"], config.hash());
    assert_eq!(info["cells_total"], 68);
    // cell_seconds is the sum of every epoch's wall time in timing.csv; the history records the
    // invocation that computed the cells, with its real CPU time.
    let timing: f64 = read(&one.join("timing.csv"))
        .lines()
        .skip(1)
        .map(|l| l.rsplit(',').next().unwrap().parse::<f64>().unwrap())
        .sum();
    let cell = info["cell_seconds"].as_f64().unwrap();
    assert!(cell > 0.0 && (cell - timing).abs() <= 1e-9 * timing, "{cell} vs {timing}");
    let inv = info["invocations"].as_array().unwrap();
    assert_eq!(inv.len(), 1);
    assert_eq!(inv[0]["cells_computed"], 68);
    assert!(inv[0]["cpu_seconds"].as_f64().unwrap() > 0.0);
    // The sharded run's history has one invocation per shard.
    let info: serde_json::Value = serde_json::from_str(&read(&sharded.join("run.json"))).unwrap();
    let shards: Vec<&str> = info["invocations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["shard"].as_str().unwrap())
        .collect();
    assert_eq!(shards, ["2/3", "1/3", "0/3"]);
}

#[test]
fn every_case_of_an_experiment_starts_from_the_same_weights_and_cases_differ() {
    let tmp = tempfile::tempdir().unwrap();
    let config = tiny_config(tmp.path());
    let data = synthetic_data(100, 40);
    let cell = |case| handprop_runner::Cell { trial: 1, experiment: 0, case };
    // GradientDescent (7) and ProximalGradientDescent (14) with l1 = l2 = 0 are the same update
    // (w − g·η, divided by exactly 1), so from the same initial weights they give the same bits.
    let gd = handprop_runner::train::run_cell(&config, &data, cell(7), |_| {}).unwrap();
    let pgd = handprop_runner::train::run_cell(&config, &data, cell(14), |_| {}).unwrap();
    assert_eq!(
        gd.rows.iter().map(|r| r.cost).collect::<Vec<_>>(),
        pgd.rows.iter().map(|r| r.cost).collect::<Vec<_>>()
    );
    let adam = handprop_runner::train::run_cell(&config, &data, cell(12), |_| {}).unwrap();
    assert_ne!(gd.rows[2].cost, adam.rows[2].cost);
    // Another experiment starts from other weights.
    let other = handprop_runner::train::run_cell(
        &config,
        &data,
        handprop_runner::Cell { trial: 1, experiment: 1, case: 7 },
        |_| {},
    )
    .unwrap();
    assert_ne!(gd.rows[0].cost, other.rows[0].cost);
}

#[test]
fn resume_after_a_crash_recomputes_only_missing_cells() {
    let tmp = tempfile::tempdir().unwrap();
    let config = tiny_config(tmp.path());
    let data = synthetic_data(100, 40);
    let reference = tmp.path().join("reference");
    run(&config, &data, &opts(&reference, 2, Shard::ALL)).unwrap();

    // Simulate `kill -9` mid-run: copy the finished cells, delete two, leave a half-written temp
    // file and no merged tables.
    let crashed = tmp.path().join("crashed");
    let hash = config.hash();
    let src = reference.join("cells").join(&hash);
    let dst = crashed.join("cells").join(&hash);
    std::fs::create_dir_all(&dst).unwrap();
    for entry in std::fs::read_dir(&src).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), dst.join(entry.file_name())).unwrap();
    }
    std::fs::copy(reference.join("config.toml"), crashed.join("config.toml")).unwrap();
    std::fs::remove_file(dst.join("t1-e01-c03.csv")).unwrap();
    std::fs::remove_file(dst.join("t2-e00-c16.csv")).unwrap();
    std::fs::write(dst.join(".t1-e01-c03.csv.999.tmp"), "epoch,cost\n0,0.1").unwrap();

    let s = run(&config, &data, &opts(&crashed, 2, Shard::ALL)).unwrap();
    assert_eq!(s.computed, 2);
    assert_eq!(s.skipped, config.cell_count() - 2);
    assert_same_tables(&reference, &crashed);

    // A second run finds everything done; --force recomputes everything to the same bits.
    let s = run(&config, &data, &opts(&crashed, 2, Shard::ALL)).unwrap();
    assert_eq!(s.computed, 0);
    let mut forced = opts(&crashed, 2, Shard::ALL);
    forced.force = true;
    let s = run(&config, &data, &forced).unwrap();
    assert_eq!(s.computed, config.cell_count());
    assert_same_tables(&reference, &crashed);
}

#[test]
fn a_directory_of_another_config_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let config = tiny_config(tmp.path());
    let data = synthetic_data(100, 40);
    let out = tmp.path().join("out");
    let mut small = config.clone();
    small.trials.truncate(1);
    small.trials[0].experiments = 1;
    small.cases.truncate(2);
    run(&small, &data, &opts(&out, 1, Shard::ALL)).unwrap();
    let err = run(&config, &data, &opts(&out, 1, Shard::ALL)).unwrap_err().to_string();
    assert!(err.contains("another config"), "{err}");
    // Merging refuses too.
    let err = handprop_runner::merge_only(&config, &out).unwrap_err().to_string();
    assert!(err.contains("another config"), "{err}");
}

#[test]
fn merge_names_missing_cells() {
    let tmp = tempfile::tempdir().unwrap();
    let config = tiny_config(tmp.path());
    let data = synthetic_data(100, 40);
    let out = tmp.path().join("out");
    let mut o = opts(&out, 2, Shard { index: 1, count: 4 });
    o.merge = true;
    let s = run(&config, &data, &o).unwrap();
    assert!(s.frequency.is_none());
    let err = handprop_runner::merge_only(&config, &out).unwrap_err().to_string();
    assert!(err.contains("of 68 cells have no result") && err.contains("t1-e00-c00"), "{err}");
}

#[test]
fn a_diverging_cell_is_recorded_stops_and_never_wins() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("diverge.toml");
    // Case 1's step of 1e38·G overflows the weights to ±∞ in the first step, so the cost of the
    // next batch is NaN; case 0 trains normally.
    std::fs::write(
        &path,
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
experiments = 2
[[cases]]
label = "sane"
colour = "teal"
gradient = "exact"
routing = { kind = "standard" }
update = { rule = "gradient_descent" }
[[cases]]
label = "exploding"
colour = "coral"
gradient = "exact"
routing = { kind = "standard" }
update = { rule = "gradient_descent", learning_rate = 1e38 }
"#,
    )
    .unwrap();
    let config = Config::load(&path).unwrap();
    let data = synthetic_data(100, 40);
    let out = tmp.path().join("out");
    let s = run(&config, &data, &opts(&out, 2, Shard::ALL)).unwrap();
    assert_eq!(s.computed, 4);
    assert_eq!(s.diverged, 2);

    let final_csv = read(&out.join("final.csv"));
    for line in final_csv.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        let (case, epochs_run, diverged) = (f[2], f[4], f[5]);
        if case == "1" {
            assert_eq!(diverged, "1", "{line}");
            assert!(epochs_run.parse::<usize>().unwrap() < 4, "a diverged cell stops: {line}");
        } else {
            assert_eq!((epochs_run, diverged), ("4", "0"), "{line}");
        }
    }
    // Every criterion of every experiment goes to the sane case, even "lowest cost".
    let winners = read(&out.join("winners.csv"));
    assert_eq!(winners.lines().count(), 1 + 2 * 3);
    assert!(winners.lines().skip(1).all(|l| l.split(',').nth(3) == Some("0")), "{winners}");
}
