//! `eval_every` and spare cores: what they change and what they must not.

use std::path::Path;

mod common;

use common::{opts, read, synthetic_data, tiny_config};
use handprop_runner::{run, Config, Shard};

/// Column `name` of a CSV file, per row.
fn column(path: &Path, name: &str) -> Vec<String> {
    let text = read(path);
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let i = header.iter().position(|h| *h == name).unwrap();
    lines.map(|l| l.split(',').nth(i).unwrap().to_string()).collect()
}

#[test]
fn eval_every_skips_accuracies_but_not_training() {
    let tmp = tempfile::tempdir().unwrap();
    let mut config = tiny_config(tmp.path());
    config.trials.truncate(1);
    config.cases.truncate(3);
    config.training.epochs = 5;
    let data = synthetic_data(100, 40);
    let every = tmp.path().join("every");
    run(&config, &data, &opts(&every, 2, Shard::ALL)).unwrap();

    let mut sparse: Config = config.clone();
    sparse.training.eval_every = 2;
    assert_ne!(sparse.hash(), config.hash(), "what is recorded differs");
    assert!(sparse.to_toml().contains("eval_every = 2"));
    assert!(!config.to_toml().contains("eval_every"), "the default is not written");
    let skipping = tmp.path().join("skipping");
    run(&sparse, &data, &opts(&skipping, 2, Shard::ALL)).unwrap();

    // The same training: identical costs and identical final rows, winners and frequencies.
    for t in ["final.csv", "winners.csv", "frequency.csv"] {
        assert_eq!(read(&every.join(t)), read(&skipping.join(t)), "{t}");
    }
    // metrics.csv: costs identical; accuracies of epochs 1 and 3 NaN, the others identical.
    let rows = |dir: &Path| {
        let (epochs, metrics, values) = (
            column(&dir.join("metrics.csv"), "epoch"),
            column(&dir.join("metrics.csv"), "metric"),
            column(&dir.join("metrics.csv"), "value"),
        );
        epochs.into_iter().zip(metrics).zip(values).collect::<Vec<_>>()
    };
    let (a, b) = (rows(&every), rows(&skipping));
    assert_eq!(a.len(), b.len());
    let mut skipped = 0;
    for (((epoch, metric), x), ((_, _), y)) in a.iter().zip(&b) {
        let evaluated = epoch == "0" || epoch == "2" || epoch == "4";
        if metric == "cost" || evaluated {
            assert_eq!(x, y, "{metric} at epoch {epoch}");
        } else {
            assert_eq!(y, "NaN", "{metric} at epoch {epoch}");
            skipped += 1;
        }
    }
    assert_eq!(skipped, 3 * 2 * 2 * 2, "3 cases × 2 experiments × 2 skipped epochs × 2 accuracies");

    // A resumed run accepts its own cells (the NaN pattern validates).
    let again = run(&sparse, &data, &opts(&skipping, 2, Shard::ALL)).unwrap();
    assert_eq!(again.computed, 0);
    // eval_every = 0 is refused.
    sparse.training.eval_every = 0;
    let err = sparse.validate(Path::new("x.toml")).unwrap_err().to_string();
    assert!(err.contains("training.eval_every"), "{err}");
}

#[test]
fn a_lone_cell_uses_the_spare_threads_with_the_same_bits() {
    let tmp = tempfile::tempdir().unwrap();
    let mut config = tiny_config(tmp.path());
    config.trials.truncate(1);
    config.trials[0].experiments = 1;
    config.cases.drain(..12);
    config.cases.truncate(1); // Adam
    let data = synthetic_data(100, 40);
    let (one, two) = (tmp.path().join("one"), tmp.path().join("two"));
    run(&config, &data, &opts(&one, 1, Shard::ALL)).unwrap();
    let s = run(&config, &data, &opts(&two, 2, Shard::ALL)).unwrap();
    assert_eq!(s.computed, 1);
    let cell = |dir: &Path| {
        let text = read(&dir.join("metrics.csv"));
        assert!(text.lines().count() > 1);
        text
    };
    assert_eq!(cell(&one), cell(&two));
    let info = handprop_results::verify_dir(&two).unwrap().run;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    assert_eq!(info.invocations[0].threads, cores.min(2), "the pool keeps the spare core");
}
