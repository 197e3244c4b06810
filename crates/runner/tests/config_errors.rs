//! Every config error names the file, the key and the problem, before any work starts.

use std::path::{Path, PathBuf};

use handprop_runner::Config;

fn configs_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs")
}

/// Writes `body` as a config next to a copy of the study's case table and loads it.
fn load(body: &str) -> (tempfile::TempDir, Result<Config, String>) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("cases")).unwrap();
    std::fs::copy(configs_dir().join("cases/study.toml"), dir.path().join("cases/study.toml"))
        .unwrap();
    let path = dir.path().join("bad.toml");
    std::fs::write(&path, body).unwrap();
    let result = Config::load(&path).map_err(|e| e.to_string());
    (dir, result)
}

const GOOD: &str = r#"
case_table = "cases/study.toml"
[data]
split = "tf1"
train_subset = 200
[training]
batch = 100
epochs = 2
seed = 1
[[trials]]
learning_rate = 0.001
hidden = 8
experiments = 2
"#;

fn expect_err(body: &str, needles: &[&str]) {
    let (_dir, result) = load(body);
    let err = result.expect_err("the config must be rejected");
    assert!(err.contains("bad.toml") || err.contains("study.toml"), "no file named in: {err}");
    for n in needles {
        assert!(err.contains(n), "{n:?} missing from: {err}");
    }
}

#[test]
fn the_shipped_configs_load() {
    for name in ["paper", "quick", "smoke"] {
        let c = Config::load(&configs_dir().join(format!("{name}.toml"))).unwrap();
        assert_eq!(c.name, name);
        assert_eq!(c.cases.len(), 17, "{name}");
    }
    let calibrate = Config::load(&configs_dir().join("calibrate.toml")).unwrap();
    assert_eq!(calibrate.cases.len(), 1);
    assert_eq!(calibrate.cases[0].label, "Adam");
    let paper = Config::load(&configs_dir().join("paper.toml")).unwrap();
    assert_eq!(paper.trials.len(), 4);
    assert_eq!(paper.training.epochs, 801);
    assert_eq!(paper.cell_count(), 4 * 10 * 17);
}

#[test]
fn good_config_loads_and_round_trips() {
    let (dir, result) = load(GOOD);
    let config = result.unwrap();
    assert_eq!(config.name, "bad");
    // The resolved form is self-contained and loads again to the same config and hash.
    let again = dir.path().join("resolved.toml");
    std::fs::write(&again, config.to_toml()).unwrap();
    let reloaded = Config::load(&again).unwrap();
    assert_eq!(reloaded.hash(), config.hash());
    assert_eq!(reloaded.cases, config.cases);
}

#[test]
fn unknown_keys_are_rejected() {
    expect_err(&GOOD.replace("epochs = 2", "epochs = 2\nepoch = 3"), &["unknown field", "epoch"]);
    expect_err(&format!("colour = 1\n{GOOD}"), &["unknown field", "colour"]);
}

#[test]
fn negative_learning_rate_is_rejected() {
    expect_err(
        &GOOD.replace("learning_rate = 0.001", "learning_rate = -0.5"),
        &["trials[1].learning_rate", "-0.5"],
    );
}

#[test]
fn zero_experiments_are_rejected() {
    expect_err(&GOOD.replace("experiments = 2", "experiments = 0"), &["trials[1].experiments"]);
}

#[test]
fn unknown_rule_is_rejected() {
    let body = GOOD.replace("case_table = \"cases/study.toml\"", "")
        + r#"
[[cases]]
label = "mystery"
colour = "teal"
gradient = "exact"
routing = { kind = "standard" }
update = { rule = "lion" }
"#;
    expect_err(&body, &["case 0", "mystery", "update", "lion"]);
}

#[test]
fn bad_hyperparameter_is_rejected() {
    let body = GOOD.replace("case_table = \"cases/study.toml\"", "")
        + r#"
[[cases]]
label = "bad adagrad"
colour = "teal"
gradient = "exact"
routing = { kind = "standard" }
update = { rule = "adagrad", initial_accumulator_value = 0.0 }
"#;
    expect_err(&body, &["case 0", "update"]);
}

#[test]
fn routing_that_does_not_fit_is_rejected() {
    // Two layers have no skip connection for a dilated routing to make.
    let body = GOOD.replace("seed = 1", "seed = 1\nhidden_layers = 1");
    expect_err(&body, &["routing", "trial 1"]);
}

#[test]
fn unknown_case_table_and_subset_errors() {
    expect_err(&GOOD.replace("cases/study.toml", "cases/nope.toml"), &["nope.toml", "cannot read"]);
    expect_err(
        &GOOD.replace("train_subset = 200", "train_subset = 250"),
        &["data.train_subset", "250"],
    );
    expect_err(&format!("only_cases = [3, 40]\n{GOOD}"), &["only_cases", "40"]);
}
