//! Training one cell: the study's loop (spec §4) over the composed case.

use std::time::Instant;

use handprop_layers::{Activation, Mlp};
use handprop_optim::{GradientNoise, NoiseState, Rule, RuleState};
use handprop_tensor::init::stream_rng;
use handprop_tensor::MatRef;

use crate::cells::{stream_id, Cell, Purpose};
use crate::config::{Config, CLASSES, INPUT};
use crate::output::{CellResult, EpochRow};

/// The images a run trains and tests on, already cut to the config's subsets.
#[derive(Debug, Clone)]
pub struct Data {
    /// Training images, row-major `n × 784`, pixels in [0, 1].
    pub train_images: Vec<f32>,
    /// Training labels, one-hot `n × 10`.
    pub train_one_hot: Vec<f32>,
    /// Training labels as digits.
    pub train_labels: Vec<u8>,
    /// Test images, row-major `n × 784`.
    pub test_images: Vec<f32>,
    /// Test labels as digits.
    pub test_labels: Vec<u8>,
}

impl Data {
    /// Training images.
    pub fn n_train(&self) -> usize {
        self.train_labels.len()
    }

    /// Test images.
    pub fn n_test(&self) -> usize {
        self.test_labels.len()
    }
}

/// A cell that could not run (a bug or a config the validation missed; divergence is a result).
#[derive(Debug, thiserror::Error)]
#[error("cell {cell}: {message}")]
pub struct CellError {
    /// The cell.
    pub cell: String,
    /// What went wrong.
    pub message: String,
}

/// Trains one cell and returns its per-epoch rows. `on_epoch(epoch)` is called as each epoch
/// starts (for progress display).
///
/// The loop, per epoch t and batch (contiguous slices of `batch` images in file order):
/// forward and back-propagate with the pre-step weights ([`Mlp::train_batch`]), apply the case's
/// noise transform to the gradients, then its update rule to every layer. After the epoch: cost =
/// Σ batch costs / n_train, and argmax accuracies on the whole training and test sets. A cell whose
/// cost or weights become NaN/∞ is recorded as diverged and stops.
pub fn run_cell(
    config: &Config,
    data: &Data,
    cell: Cell,
    mut on_epoch: impl FnMut(usize),
) -> Result<CellResult, CellError> {
    let fail = |message: String| CellError { cell: cell.id(), message };
    let trial = &config.trials[cell.trial - 1];
    let case = &config.cases[cell.case];
    let batch = config.training.batch;
    let seed = config.training.seed;

    let mut mlp =
        Mlp::new(&config.widths(trial), batch, Activation::Arctan, case.gradient, case.routing)
            .map_err(|e| fail(e.to_string()))?;
    // Every case of an experiment draws its initial weights from the same stream, so they all start
    // from identical weights.
    mlp.init_normal(&mut stream_rng(
        seed,
        stream_id(cell.trial, cell.experiment, 0, Purpose::Init),
    ));

    let rule: Rule<f32> = case
        .rule(trial.learning_rate)
        .map_err(&fail)?
        .build::<f32>()
        .map_err(|e| fail(e.to_string()))?;
    let lens: Vec<usize> = mlp.weights().iter().map(|w| w.as_slice().len()).collect();
    let mut state: RuleState<f32> = rule.init(&lens);
    let mut noise: Option<(GradientNoise, NoiseState)> = match &case.noise {
        Some(cfg) => {
            let rng =
                stream_rng(seed, stream_id(cell.trial, cell.experiment, cell.case, Purpose::Noise));
            let transform = cfg.build().map_err(|e| fail(e.to_string()))?;
            let st = transform.init(rng);
            Some((transform, st))
        }
        None => None,
    };

    let n_train = data.n_train();
    let batches = n_train / batch;
    let train_all =
        MatRef::new(n_train, INPUT, &data.train_images).map_err(|e| fail(e.to_string()))?;
    let test_all =
        MatRef::new(data.n_test(), INPUT, &data.test_images).map_err(|e| fail(e.to_string()))?;
    let one_hot =
        MatRef::new(n_train, CLASSES, &data.train_one_hot).map_err(|e| fail(e.to_string()))?;

    let mut rows = Vec::with_capacity(config.training.epochs);
    for epoch in 0..config.training.epochs {
        on_epoch(epoch);
        let start = Instant::now();
        let mut cost_sum = 0.0f64;
        for b in 0..batches {
            let x = train_all.rows_range(b * batch, batch);
            let y = one_hot.rows_range(b * batch, batch);
            cost_sum +=
                mlp.train_batch(x, y, epoch as u64).map_err(|e| fail(e.to_string()))? as f64;
            if let Some((transform, st)) = &mut noise {
                transform.apply(st, epoch as u64, mlp.params_and_grads().map(|(_, g)| g));
            }
            rule.update(&mut state, mlp.params_and_grads()).map_err(|e| fail(e.to_string()))?;
        }
        let cost = cost_sum / n_train as f64;
        let weights_finite =
            mlp.weights().iter().all(|w| w.as_slice().iter().all(|v| v.is_finite()));
        if !cost.is_finite() || !weights_finite {
            rows.push(EpochRow {
                epoch,
                cost,
                train_acc: f64::NAN,
                test_acc: f64::NAN,
                wall_s: start.elapsed().as_secs_f64(),
                diverged: 1,
            });
            break;
        }
        let train_ok =
            mlp.count_correct(train_all, &data.train_labels).map_err(|e| fail(e.to_string()))?;
        let test_ok =
            mlp.count_correct(test_all, &data.test_labels).map_err(|e| fail(e.to_string()))?;
        rows.push(EpochRow {
            epoch,
            cost,
            train_acc: train_ok as f64 / n_train as f64,
            test_acc: test_ok as f64 / data.n_test() as f64,
            wall_s: start.elapsed().as_secs_f64(),
            diverged: 0,
        });
    }
    Ok(CellResult { cell, rows })
}
