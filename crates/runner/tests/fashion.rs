//! Fashion-MNIST as a second workload: `[data] dataset = "fashion-mnist"` selects its files, cache
//! and checksums; MNIST configs keep their saved form and hash.

use std::path::Path;

use handprop_runner::{run, Config, RunOptions, Shard};

fn write_config(dir: &Path, dataset: &str) -> Config {
    let cases = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs/cases/study.toml");
    std::fs::create_dir_all(dir.join("cases")).unwrap();
    std::fs::copy(cases, dir.join("cases/study.toml")).unwrap();
    let tag = if dataset.is_empty() { "mnist" } else { "fashion" };
    let path = dir.join(format!("tiny-{tag}.toml"));
    std::fs::write(
        &path,
        format!(
            "case_table = \"cases/study.toml\"\nonly_cases = [7, 12]\n[data]\n{dataset}split = \"tf1\"\n\
             train_subset = 500\ntest_subset = 200\n[training]\nbatch = 100\nepochs = 2\nseed = 3\n\
             [[trials]]\nlearning_rate = 0.001\nhidden = 16\nexperiments = 1\n"
        ),
    )
    .unwrap();
    Config::load(&path).unwrap()
}

#[test]
fn the_dataset_is_part_of_the_config_and_mnist_configs_are_unchanged() {
    let tmp = tempfile::tempdir().unwrap();
    let mnist = write_config(tmp.path(), "");
    let fashion = write_config(tmp.path(), "dataset = \"fashion-mnist\"\n");
    assert!(!mnist.to_toml().contains("dataset"), "MNIST configs keep their saved form");
    assert!(fashion.to_toml().contains("dataset = \"fashion-mnist\""));
    assert_ne!(mnist.hash(), fashion.hash());
    assert!(fashion.differences(&mnist).contains(&"[data]".to_string()));
    let err = Config::load(&{
        let p = tmp.path().join("bad.toml");
        std::fs::write(
            &p,
            std::fs::read_to_string(tmp.path().join("tiny-mnist.toml"))
                .unwrap()
                .replace("[data]\n", "[data]\ndataset = \"cifar\"\n"),
        )
        .unwrap();
        p
    })
    .unwrap_err()
    .to_string();
    assert!(err.contains("bad.toml") && err.contains("cifar"), "{err}");
}

#[test]
#[ignore = "needs Fashion-MNIST: HANDPROP_FASHION_MNIST_DIR (apt-get install dataset-fashion-mnist)"]
fn a_run_on_real_fashion_mnist() {
    let source = std::env::var_os("HANDPROP_FASHION_MNIST_DIR")
        .expect("HANDPROP_FASHION_MNIST_DIR must name a Fashion-MNIST copy, e.g. /usr/share/datasets/fashion-mnist");
    let tmp = tempfile::tempdir().unwrap();
    let config = write_config(tmp.path(), "dataset = \"fashion-mnist\"\n");
    let mirror = handprop_mnist::Mirror::parse(&source.to_string_lossy()).unwrap();
    let cache = tmp.path().join("fashion-mnist");
    let data = handprop_runner::load_data(&config, &cache, &[mirror]).unwrap();
    assert_eq!((data.n_train(), data.n_test()), (500, 200));
    // Fashion's test labels are not MNIST's: the first ten test labels of Fashion-MNIST.
    assert_eq!(data.test_labels[..10], [9, 2, 1, 1, 6, 1, 4, 6, 5, 7]);
    let opts = RunOptions {
        out: tmp.path().join("out"),
        threads: Some(2),
        shard: Shard::ALL,
        force: false,
        merge: true,
        progress: Some(false),
    };
    let summary = run(&config, &data, &opts).unwrap();
    assert_eq!(summary.computed, 2);
    let final_csv = std::fs::read_to_string(tmp.path().join("out/final.csv")).unwrap();
    assert_eq!(final_csv.lines().count(), 3);
}
