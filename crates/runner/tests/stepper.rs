//! The public stepper gives run_cell's bits; the study's config hashes are pinned.

mod common;

use common::{configs_dir, synthetic_data, tiny_config};
use handprop_runner::train::{run_cell, CaseTrainer};
use handprop_runner::{Cell, Config};
use handprop_tensor::MatRef;

#[test]
fn a_trainer_stepped_by_hand_gives_run_cells_bits() {
    let tmp = tempfile::tempdir().unwrap();
    let config = tiny_config(tmp.path());
    let data = synthetic_data(100, 40);
    let batch = config.training.batch;
    // Case 0 (noise + SGD, its own random stream), 6 (hybrid routing + LayerAdam), 11 (Momentum
    // with momentum = η), on both trials.
    for cell in [
        Cell { trial: 1, experiment: 1, case: 0 },
        Cell { trial: 2, experiment: 0, case: 6 },
        Cell { trial: 1, experiment: 0, case: 11 },
    ] {
        let reference = run_cell(&config, &data, cell, |_| {}).unwrap();
        let mut trainer = CaseTrainer::new(&config, cell, config.registry()).unwrap();
        let x = MatRef::new(100, 784, &data.train_images).unwrap();
        let y = MatRef::new(100, 10, &data.train_one_hot).unwrap();
        for (epoch, row) in reference.rows.iter().enumerate() {
            let mut sum = 0.0f64;
            for b in 0..100 / batch {
                let cost = trainer
                    .step(x.rows_range(b * batch, batch), y.rows_range(b * batch, batch), epoch)
                    .unwrap();
                sum += cost as f64;
            }
            assert_eq!((sum / 100.0).to_bits(), row.cost.to_bits(), "{cell:?} epoch {epoch}");
        }
        // The hand-stepped weights classify the test set as run_cell's last row says.
        let test = MatRef::new(40, 784, &data.test_images).unwrap();
        let ok = trainer.mlp_mut().count_correct(test, &data.test_labels).unwrap();
        assert_eq!(ok as f64 / 40.0, reference.rows.last().unwrap().test_acc, "{cell:?}");
    }
}

#[test]
fn a_trainer_from_given_weights_continues_anothers_run() {
    let tmp = tempfile::tempdir().unwrap();
    let config = tiny_config(tmp.path());
    let data = synthetic_data(100, 40);
    let x = MatRef::new(50, 784, &data.train_images[..50 * 784]).unwrap();
    let y = MatRef::new(50, 10, &data.train_one_hot[..50 * 10]).unwrap();
    let cell = Cell { trial: 1, experiment: 0, case: 7 }; // GradientDescent: no state
    let mut a = CaseTrainer::new(&config, cell, config.registry()).unwrap();
    a.step(x, y, 0).unwrap();
    let mut b = CaseTrainer::with_weights(&config, cell, a.weights(), config.registry()).unwrap();
    let (ca, cb) = (a.step(x, y, 1).unwrap(), b.step(x, y, 1).unwrap());
    assert_eq!(ca.to_bits(), cb.to_bits());
    assert_eq!(a.weights(), b.weights());
    // Weights of another trial's shape are refused, naming the cell.
    let other =
        CaseTrainer::new(&config, Cell { trial: 2, experiment: 0, case: 7 }, config.registry())
            .unwrap();
    let err =
        CaseTrainer::with_weights(&config, cell, other.weights(), config.registry()).err().unwrap();
    assert!(err.to_string().contains("t1-e00-c07"), "{err}");
    // Cells outside the config are errors, not panics.
    for bad in [
        Cell { trial: 3, experiment: 0, case: 0 },
        Cell { trial: 1, experiment: 2, case: 0 },
        Cell { trial: 1, experiment: 0, case: 17 },
    ] {
        assert!(CaseTrainer::new(&config, bad, config.registry()).is_err(), "{bad:?}");
    }
}

/// The hashes of the shipped study configs. They identify results on disk: a change here means
/// every earlier result of that config is recomputed, so it must come with a reason (a change of
/// numerics bumps `handprop_results::RESULTS_VERSION`, which is hashed: update the pins then).
#[test]
fn the_study_configs_hashes_are_pinned() {
    let pinned = [
        ("paper.toml", "ffdb3e5ab65a6e9a"),
        ("smoke.toml", "fe777e5b8a5a5f25"),
        ("quick.toml", "28b001e45826484a"),
    ];
    let mut got = Vec::new();
    for (file, _) in pinned {
        let config = Config::load(&configs_dir().join(file)).unwrap();
        // The saved TOML loads into the same config and hash.
        let again = Config::from_toml(&config.to_toml(), config.registry()).unwrap();
        assert_eq!(again, config, "{file}");
        assert_eq!(again.hash(), config.hash(), "{file}");
        got.push((file, config.hash()));
    }
    let version = handprop_results::RESULTS_VERSION;
    let got: Vec<(&str, &str)> = got.iter().map(|(f, h)| (*f, h.as_str())).collect();
    assert_eq!(got, pinned, "RESULTS_VERSION {version}");
}
