//! Shared fixtures: a study-shaped plan and a tiny resolved config.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use handprop_slurm::{Calibration, GenerateOptions, Plan, ResolvedConfig, TrialPlan};

/// The study's epoch shape (TF1 split, MNIST's widths, 4 hidden layers) with two trials.
pub fn plan() -> Plan {
    Plan {
        epochs: 3,
        hidden_layers: 4,
        trials: vec![
            TrialPlan { hidden: 1024, experiments: 2 },
            TrialPlan { hidden: 824, experiments: 1 },
        ],
        cases: 3,
        train_images: 55_000,
        test_images: 10_000,
        input: 784,
        classes: 10,
    }
}

/// `seconds` per epoch measured at H = 1024 in the shape of [`plan`].
pub fn calibration(seconds: f64) -> Calibration {
    Calibration::new(seconds, &plan(), 1024)
}

/// Six cells: trials of 2 and 1 experiments, 2 cases, 2 epochs, small widths.
pub fn tiny() -> ResolvedConfig {
    ResolvedConfig {
        name: "tiny".into(),
        toml: "name = \"tiny\"\n[training]\nepochs = 2\n".into(),
        config_hash: "0123abcd".into(),
        plan: Plan {
            epochs: 2,
            trials: vec![
                TrialPlan { hidden: 16, experiments: 2 },
                TrialPlan { hidden: 8, experiments: 1 },
            ],
            cases: 2,
            train_images: 1000,
            ..plan()
        },
    }
}

/// Options for `out` with `shards` shards; the binary is this test executable (the script is
/// only written, never run).
pub fn options(out: &Path, shards: usize) -> GenerateOptions {
    GenerateOptions {
        source_config: PathBuf::from("configs/tiny.toml"),
        out: out.to_owned(),
        shards: Some(shards),
        partition: None,
        time: None,
        cpus_per_task: 1,
        mem: "512M".into(),
        calibration: calibration(8.0),
        data_dir: "data/mnist".into(),
        sbatch_args: vec![],
        handprop: std::env::current_exe().unwrap(),
        force: false,
    }
}
