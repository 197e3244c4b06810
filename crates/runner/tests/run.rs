//! Running: determinism across threads, order and sharding; resume after a crash; winners.

use std::path::{Path, PathBuf};

use handprop_runner::train::Data;
use handprop_runner::{run, Config, RunOptions, Shard};

fn configs_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs")
}

/// A tiny run: 2 trials × 2 experiments × 17 cases, 3 epochs on 200 synthetic images.
fn tiny_config(dir: &Path) -> Config {
    std::fs::create_dir_all(dir.join("cases")).unwrap();
    std::fs::copy(configs_dir().join("cases/study.toml"), dir.join("cases/study.toml")).unwrap();
    let path = dir.join("tiny.toml");
    std::fs::write(
        &path,
        r#"
case_table = "cases/study.toml"
[data]
split = "tf1"
[training]
batch = 50
epochs = 3
seed = 11
[[trials]]
learning_rate = 0.001
hidden = 12
experiments = 2
[[trials]]
learning_rate = 0.0025
hidden = 10
experiments = 2
"#,
    )
    .unwrap();
    Config::load(&path).unwrap()
}

/// Synthetic "MNIST": pixels from a fixed LCG, labels from the brightest of ten pixel blocks, so
/// the task is learnable and deterministic.
fn synthetic_data(n_train: usize, n_test: usize) -> Data {
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut next = || {
        state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((state >> 40) as f32) / (1u64 << 24) as f32
    };
    let mut make = |n: usize| {
        let images: Vec<f32> = (0..n * 784).map(|_| next()).collect();
        let labels: Vec<u8> = images
            .chunks_exact(784)
            .map(|img| {
                let sums: Vec<f32> = img.chunks(79).take(10).map(|b| b.iter().sum()).collect();
                (0..10).max_by(|&a, &b| sums[a].total_cmp(&sums[b])).unwrap() as u8
            })
            .collect();
        (images, labels)
    };
    let (train_images, train_labels) = make(n_train);
    let (test_images, test_labels) = make(n_test);
    let mut train_one_hot = vec![0.0; n_train * 10];
    for (i, &l) in train_labels.iter().enumerate() {
        train_one_hot[i * 10 + l as usize] = 1.0;
    }
    Data { train_images, train_one_hot, train_labels, test_images, test_labels }
}

fn opts(out: &Path, threads: usize, shard: Shard) -> RunOptions {
    RunOptions {
        out: out.to_owned(),
        threads: Some(threads),
        shard,
        force: false,
        merge: true,
        progress: Some(false),
    }
}

const TABLES: [&str; 6] =
    ["metrics.csv", "final.csv", "winners.csv", "frequency.csv", "trials.csv", "cases.csv"];

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

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
    // cpu_seconds is the sum of every epoch's wall time in timing.csv.
    let timing: f64 = read(&one.join("timing.csv"))
        .lines()
        .skip(1)
        .map(|l| l.rsplit(',').next().unwrap().parse::<f64>().unwrap())
        .sum();
    let cpu = info["cpu_seconds"].as_f64().unwrap();
    assert!(cpu > 0.0 && (cpu - timing).abs() <= 1e-9 * timing, "{cpu} vs {timing}");
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
