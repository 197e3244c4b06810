//! Shared by the runner's integration tests: a tiny config and synthetic data.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use handprop_runner::train::Data;
use handprop_runner::{Config, RunOptions, Shard};

pub fn configs_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs")
}

/// A tiny run: 2 trials × 2 experiments × 17 cases, 3 epochs on 200 synthetic images.
pub fn tiny_config(dir: &Path) -> Config {
    Config::load(&tiny_config_file(dir, "")).unwrap()
}

/// Writes the tiny run's config, with `extra` TOML appended (e.g. a `[tuning]` section), into
/// `dir/tiny.toml` beside a copy of the study's case table; returns its path.
pub fn tiny_config_file(dir: &Path, extra: &str) -> PathBuf {
    std::fs::create_dir_all(dir.join("cases")).unwrap();
    std::fs::copy(configs_dir().join("cases/study.toml"), dir.join("cases/study.toml")).unwrap();
    let path = dir.join("tiny.toml");
    std::fs::write(
        &path,
        format!(
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
{extra}"#
        ),
    )
    .unwrap();
    path
}

/// Synthetic "MNIST": pixels from a fixed LCG, labels from the brightest of ten pixel blocks, so
/// the task is learnable and deterministic.
pub fn synthetic_data(n_train: usize, n_test: usize) -> Data {
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

pub fn opts(out: &Path, threads: usize, shard: Shard) -> RunOptions {
    RunOptions {
        out: out.to_owned(),
        threads: Some(threads),
        shard,
        force: false,
        merge: true,
        progress: Some(false),
    }
}

pub fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}
