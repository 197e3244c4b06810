//! Training one cell: the study's loop (see `docs/study.md`) over the composed case, one step at
//! a time through [`CaseTrainer`].

use std::time::Instant;

use handprop_layers::{Activation, Mlp};
use handprop_optim::{BoxedRule, DynState, Registry};
use handprop_tensor::init::stream_rng;
use handprop_tensor::{MatRef, Matrix};

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

/// One case's training step as a public type: the per-batch loop of [`run_cell`] (forward and
/// back-propagation with the pre-step weights, then the case's transform and rule), so users and
/// verifiers can run any case on their own weights and batches without copying the loop.
///
/// ```no_run
/// # use handprop_runner::{train::CaseTrainer, Cell, Config};
/// # fn f(config: &Config, x: handprop_tensor::MatRef<'_>, y: handprop_tensor::MatRef<'_>)
/// # -> Result<(), handprop_runner::train::CellError> {
/// let cell = Cell { trial: 1, experiment: 0, case: 12 };
/// let mut trainer = CaseTrainer::new(config, cell, config.registry())?;
/// let cost = trainer.step(x, y, 0)?; // epoch 0
/// let w1 = &trainer.weights()[0];
/// # Ok(()) }
/// ```
pub struct CaseTrainer {
    cell: Cell,
    mlp: Mlp,
    rule: BoxedRule<f32>,
    state: DynState,
    /// The epoch last given to the rule's `set_epoch` (`None` before the first step).
    epoch: Option<usize>,
}

impl CaseTrainer {
    /// The cell's network with its experiment's initial weights (every case of an experiment
    /// draws them from the same stream, so all start from identical weights) and the case's
    /// update for its trial, built by `registry` (the noise stream is the cell's own).
    ///
    /// # Errors
    /// A cell outside the config, or a case the registry cannot build.
    pub fn new(config: &Config, cell: Cell, registry: &Registry<f32>) -> Result<Self, CellError> {
        let mut trainer = Self::untrained(config, cell, registry)?;
        let trial = &config.trials[cell.trial - 1];
        let (t, e) = trial.stream_numbers(cell.trial, cell.experiment);
        trainer
            .mlp
            .init_normal(&mut stream_rng(config.training.seed, stream_id(t, e, 0, Purpose::Init)));
        Ok(trainer)
    }

    /// As [`CaseTrainer::new`] but starting from `weights` (`W_1 … W_N`, shapes as
    /// [`Config::widths`] of the cell's trial).
    ///
    /// # Errors
    /// As [`CaseTrainer::new`], and weights of the wrong count or shape.
    pub fn with_weights(
        config: &Config,
        cell: Cell,
        weights: &[Matrix],
        registry: &Registry<f32>,
    ) -> Result<Self, CellError> {
        let mut trainer = Self::untrained(config, cell, registry)?;
        trainer.mlp.set_weights(weights).map_err(|e| trainer.fail(e.to_string()))?;
        Ok(trainer)
    }

    fn untrained(config: &Config, cell: Cell, registry: &Registry<f32>) -> Result<Self, CellError> {
        let fail = |message: String| CellError { cell: cell.id(), message };
        let trial = cell
            .trial
            .checked_sub(1)
            .and_then(|t| config.trials.get(t))
            .ok_or_else(|| fail(format!("trial {} is not in the config", cell.trial)))?;
        let case = config
            .cases
            .get(cell.case)
            .ok_or_else(|| fail(format!("case {} is not in the config", cell.case)))?;
        if cell.experiment >= trial.experiments {
            return Err(fail(format!("experiment {} is not in the trial", cell.experiment)));
        }
        let mlp = Mlp::new(
            &config.widths(trial),
            config.training.batch,
            Activation::Arctan,
            case.gradient,
            case.routing,
        )
        .map_err(|e| fail(e.to_string()))?;
        let (t, e) = trial.stream_numbers(cell.trial, cell.experiment);
        let noise_rng =
            stream_rng(config.training.seed, stream_id(t, e, cell.case, Purpose::Noise));
        let rule = case
            .build(registry, case.eta(cell.trial - 1, trial), noise_rng)
            .map_err(|e| fail(format!("case {}: {e}", cell.case)))?;
        let lens: Vec<usize> = mlp.weights().iter().map(|w| w.as_slice().len()).collect();
        let state = rule.init(&lens);
        Ok(CaseTrainer { cell, mlp, rule, state, epoch: None })
    }

    fn fail(&self, message: String) -> CellError {
        CellError { cell: self.cell.id(), message }
    }

    /// One training step on a batch: `x` is `rows × 784`, `y` the one-hot `rows × 10` targets;
    /// `epoch` (from 0) is the epoch the step belongs to (the routing's dilation and the noise
    /// decay with it). Returns the batch cost `C` computed with the pre-step weights.
    ///
    /// # Errors
    /// Shapes that do not fit the network; a rule that rejects its inputs.
    pub fn step(&mut self, x: MatRef<'_>, y: MatRef<'_>, epoch: usize) -> Result<f32, CellError> {
        if self.epoch != Some(epoch) {
            self.rule
                .set_epoch(&mut self.state, epoch as u64)
                .map_err(|e| self.fail(e.to_string()))?;
            self.epoch = Some(epoch);
        }
        let cost =
            self.mlp.train_batch(x, y, epoch as u64).map_err(|e| self.fail(e.to_string()))?;
        self.rule
            .update(&mut self.state, self.mlp.params_and_grads())
            .map_err(|e| CellError { cell: self.cell.id(), message: e.to_string() })?;
        Ok(cost)
    }

    /// The current weights `W_1 … W_N`.
    pub fn weights(&self) -> &[Matrix] {
        self.mlp.weights()
    }

    /// The network (for evaluation: [`Mlp::count_correct`]; thread count:
    /// [`Mlp::set_threads`]). Changing its weights changes the training.
    pub fn mlp_mut(&mut self) -> &mut Mlp {
        &mut self.mlp
    }

    /// The rule's state (serialisable: a checkpoint of the optimizer).
    pub fn state(&self) -> &DynState {
        &self.state
    }

    /// The resolved rule (its name and `hyperparameter_table`).
    pub fn rule(&self) -> &BoxedRule<f32> {
        &self.rule
    }
}

/// Trains one cell and returns its per-epoch rows, with the config's registry
/// ([`Config::registry`]). `on_epoch(epoch)` is called as each epoch starts (for progress
/// display).
///
/// The loop, per epoch t and batch (contiguous slices of `batch` images in file order):
/// [`CaseTrainer::step`] (forward and back-propagate with the pre-step weights, then the case's
/// transform and rule). After the epoch: cost = Σ batch costs / n_train, and argmax accuracies on
/// the whole training and test sets (on the epochs [`crate::config::TrainingConfig::evaluates`];
/// NaN on the others). A cell whose cost or weights become NaN/∞ is recorded as diverged and
/// stops.
pub fn run_cell(
    config: &Config,
    data: &Data,
    cell: Cell,
    on_epoch: impl FnMut(usize),
) -> Result<CellResult, CellError> {
    run_cell_with(config, data, cell, config.registry(), || 1, on_epoch)
}

/// [`run_cell`] with an explicit registry, and `threads()` asked at every epoch start for how
/// many threads the cell may use now (spare cores at the tail of a run; the results are
/// bit-identical for every count, see [`Mlp::set_threads`]).
pub fn run_cell_with(
    config: &Config,
    data: &Data,
    cell: Cell,
    registry: &Registry<f32>,
    mut threads: impl FnMut() -> usize,
    mut on_epoch: impl FnMut(usize),
) -> Result<CellResult, CellError> {
    let fail = |message: String| CellError { cell: cell.id(), message };
    let batch = config.training.batch;
    let mut trainer = CaseTrainer::new(config, cell, registry)?;

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
        let n = threads().max(1);
        if trainer.mlp.threads() != n {
            trainer.mlp.set_threads(n);
        }
        let start = Instant::now();
        let mut cost_sum = 0.0f64;
        for b in 0..batches {
            let x = train_all.rows_range(b * batch, batch);
            let y = one_hot.rows_range(b * batch, batch);
            cost_sum += trainer.step(x, y, epoch)? as f64;
        }
        let cost = cost_sum / n_train as f64;
        let weights_finite =
            trainer.weights().iter().all(|w| w.as_slice().iter().all(|v| v.is_finite()));
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
        let (train_acc, test_acc) = if config.training.evaluates(epoch) {
            let mlp = &mut trainer.mlp;
            let train_ok = mlp
                .count_correct(train_all, &data.train_labels)
                .map_err(|e| fail(e.to_string()))?;
            let test_ok =
                mlp.count_correct(test_all, &data.test_labels).map_err(|e| fail(e.to_string()))?;
            (train_ok as f64 / n_train as f64, test_ok as f64 / data.n_test() as f64)
        } else {
            (f64::NAN, f64::NAN)
        };
        rows.push(EpochRow {
            epoch,
            cost,
            train_acc,
            test_acc,
            wall_s: start.elapsed().as_secs_f64(),
            diverged: 0,
        });
    }
    Ok(CellResult { cell, rows })
}
