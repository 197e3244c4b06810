//! The example config runs through the runner's library entry point with Lion registered:
//! single-shard and as two shards give byte-identical tables, and Lion's row of `cases.csv`
//! carries its resolved hyperparameters.

use std::path::Path;

#[path = "../../../crates/runner/tests/common/mod.rs"]
mod common;

use common::{opts, read, synthetic_data};
use handprop_runner::{run_with, Config, Shard};

const TABLES: [&str; 6] =
    ["metrics.csv", "final.csv", "winners.csv", "frequency.csv", "trials.csv", "cases.csv"];

/// configs/lion-smoke.toml and the case table it names, copied into `dir`.
fn lion_config(dir: &Path) -> std::path::PathBuf {
    let configs = common::configs_dir();
    std::fs::create_dir_all(dir.join("cases")).unwrap();
    std::fs::copy(configs.join("cases/study.toml"), dir.join("cases/study.toml")).unwrap();
    let path = dir.join("lion-smoke.toml");
    std::fs::copy(configs.join("lion-smoke.toml"), &path).unwrap();
    path
}

#[test]
fn the_lion_config_runs_sharded_with_identical_tables() {
    let tmp = tempfile::tempdir().unwrap();
    let path = lion_config(tmp.path());
    let registry = handprop_example_lion::registry().unwrap();
    let config = Config::load_with(&path, &registry).unwrap();
    assert_eq!(config.cases.len(), 18);
    assert_eq!(config.cases[17].rule_name(), "lion");
    let data = synthetic_data(500, 200);

    let one = tmp.path().join("one");
    let s = run_with(&config, &data, &opts(&one, 2, Shard::ALL), &registry).unwrap();
    assert_eq!(s.computed, 72);
    assert!(s.frequency.is_some());
    let two = tmp.path().join("two");
    for index in [1, 0] {
        run_with(&config, &data, &opts(&two, 1, Shard { index, count: 2 }), &registry).unwrap();
    }
    for t in TABLES {
        assert_eq!(read(&one.join(t)), read(&two.join(t)), "{t} differs");
    }

    // Lion's row of cases.csv: its own hyperparameter columns, η left to trials.csv.
    let cases = read(&one.join("cases.csv"));
    let mut lines = cases.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let lion: Vec<&str> = lines.find(|l| l.starts_with("17,")).unwrap().split(',').collect();
    let col = |name: &str| {
        let i = header.iter().position(|h| *h == name).unwrap_or_else(|| panic!("{name}"));
        lion[i]
    };
    assert_eq!(col("rule"), "lion");
    assert_eq!(col("beta1").parse::<f32>().unwrap(), 0.9);
    assert_eq!(col("beta2").parse::<f32>().unwrap(), 0.99);
    assert_eq!(col("weight_decay"), "0");
    assert_eq!(col("eta_params"), "learning_rate");
    // Lion trained: its final test accuracies are real numbers.
    let finals = read(&one.join("final.csv"));
    assert!(finals.lines().filter(|l| l.contains(",17,")).count() >= 4, "{finals}");

    // A resumed run computes nothing; the plain runner's registry does not know Lion.
    let again = run_with(&config, &data, &opts(&one, 2, Shard::ALL), &registry).unwrap();
    assert_eq!(again.computed, 0);
    let err = Config::load(&path).unwrap_err().to_string();
    assert!(err.contains("case 17") && err.contains("lion") && err.contains("adam"), "{err}");
}

#[test]
fn the_hash_follows_lions_resolved_hyperparameters() {
    let tmp = tempfile::tempdir().unwrap();
    let path = lion_config(tmp.path());
    let registry = handprop_example_lion::registry().unwrap();
    let base = Config::load_with(&path, &registry).unwrap();
    // Writing a default out changes nothing; changing it changes the hash.
    let text = read(&path);
    let explicit = text.replace(
        r#"update = { rule = "lion", learning_rate = "eta" }"#,
        r#"update = { rule = "lion", learning_rate = "eta", beta2 = 0.99 }"#,
    );
    std::fs::write(&path, explicit).unwrap();
    assert_eq!(Config::load_with(&path, &registry).unwrap().hash(), base.hash());
    let other = text.replace(
        r#"update = { rule = "lion", learning_rate = "eta" }"#,
        r#"update = { rule = "lion", learning_rate = "eta", beta2 = 0.98 }"#,
    );
    std::fs::write(&path, other).unwrap();
    assert_ne!(Config::load_with(&path, &registry).unwrap().hash(), base.hash());
}
