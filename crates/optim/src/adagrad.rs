//! TF1 `AdagradOptimizer`.

use serde::{Deserialize, Serialize};

use crate::float::HyperPrecision;

use crate::error::{check, shape};
use crate::rule::{num, Hyperparameters, UpdateRule};
use crate::{Float, HyperError, UpdateError};

/// TF1 `AdagradOptimizer(learning_rate, initial_accumulator_value=0.1)` (kernel `ApplyAdagrad`
/// with `update_slots = true`).
///
/// Slot `A = accumulator = iav`. Kernel order:
/// 1. `A ← A + g²`
/// 2. `w ← w − (g·η)·rsqrt(A)`
///
/// Differences from the paper (Duchi et al. 2011): no ε; the accumulator starts at `iav > 0`
/// instead, which also keeps the first step finite. (Keras' Adagrad is `η·g/(√A + ε)`.)
/// `rsqrt` in `f32` is TF's approximate one; see the crate docs for the bound.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Adagrad<F> {
    learning_rate: F,
    initial_accumulator_value: F,
}

/// Adagrad's slot, one vector per tensor.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AdagradState<F> {
    /// `accumulator`: running sum of g², starting at `iav`.
    pub accumulator: Vec<Vec<F>>,
}

impl<F: Float> Adagrad<F> {
    /// Builds the rule: `learning_rate > 0`, `initial_accumulator_value > 0` (TF raises
    /// `ValueError` otherwise).
    pub fn new(learning_rate: F, initial_accumulator_value: F) -> Result<Self, HyperError> {
        AdagradConfig::check(learning_rate.widen(), initial_accumulator_value.widen())?;
        Ok(Self { learning_rate, initial_accumulator_value })
    }

    /// TF1 `AdagradOptimizer(learning_rate)` with a Python float: η `f32`-rounded, iav 0.1
    /// exact in `F` ([`AdagradConfig::tf1`] built with [`HyperPrecision::PythonFloat`]).
    ///
    /// # Errors
    /// [`HyperError`] for an invalid learning rate.
    pub fn tf1(learning_rate: f64) -> Result<Self, HyperError> {
        AdagradConfig::tf1(learning_rate).build(HyperPrecision::PythonFloat)
    }

    /// `(learning_rate, initial_accumulator_value)` as the kernel sees them.
    pub fn hyperparameters(&self) -> (F, F) {
        (self.learning_rate, self.initial_accumulator_value)
    }
}

impl<F: Float> UpdateRule<F> for Adagrad<F> {
    type State = AdagradState<F>;

    fn name(&self) -> &'static str {
        "Adagrad"
    }

    fn hyperparameter_table(&self) -> Hyperparameters {
        vec![
            num("learning_rate", self.learning_rate),
            num("initial_accumulator_value", self.initial_accumulator_value),
        ]
    }

    /// Creates the accumulators, filled with `iav`.
    fn init(&self, lens: &[usize]) -> AdagradState<F> {
        AdagradState {
            accumulator: lens.iter().map(|&n| vec![self.initial_accumulator_value; n]).collect(),
        }
    }

    /// One `apply_gradients` call over all tensors. Gradients are only read.
    fn update<'a, I>(
        &self,
        state: &mut AdagradState<F>,
        params_and_grads: I,
    ) -> Result<(), UpdateError>
    where
        I: IntoIterator<Item = (&'a mut [F], &'a [F])>,
        F: 'a,
    {
        let lr = self.learning_rate;
        let expected = state.accumulator.len();
        let mut count = 0;
        for (i, (w, g)) in params_and_grads.into_iter().enumerate() {
            let Some(acc) = state.accumulator.get_mut(i) else {
                return Err(shape::missing("Adagrad", i, expected));
            };
            shape::slots("Adagrad", i, w.len(), g.len(), &[acc.len()])?;
            crate::simd::vectorized(|| {
                for ((w, &g), a) in w.iter_mut().zip(g.iter()).zip(acc.iter_mut()) {
                    *a = *a + g * g;
                    *w = *w - g * lr * a.rsqrt();
                }
            });
            count = i + 1;
        }
        shape::count("Adagrad", expected, count)
    }
}

/// The table `{ rule = "adagrad", learning_rate, initial_accumulator_value }`; the learning rate
/// is required (TF1 has no default), the accumulator defaults to TF1's 0.1.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdagradConfig {
    /// η (required).
    pub learning_rate: f64,
    /// Initial accumulator, TF1 default 0.1 (> 0).
    #[serde(default = "AdagradConfig::default_initial_accumulator_value")]
    pub initial_accumulator_value: f64,
}

impl AdagradConfig {
    /// TF1's default initial accumulator value.
    pub const DEFAULT_INITIAL_ACCUMULATOR_VALUE: f64 = 0.1;

    pub(crate) fn default_initial_accumulator_value() -> f64 {
        Self::DEFAULT_INITIAL_ACCUMULATOR_VALUE
    }

    /// TF1's defaults with the given learning rate.
    pub fn tf1(learning_rate: f64) -> Self {
        Self { learning_rate, initial_accumulator_value: Self::DEFAULT_INITIAL_ACCUMULATOR_VALUE }
    }

    /// The one statement of the rule's conditions: `learning_rate > 0`,
    /// `initial_accumulator_value > 0` (TF raises `ValueError` otherwise).
    pub(crate) fn check(learning_rate: f64, iav: f64) -> Result<(), HyperError> {
        check::positive("Adagrad", "learning_rate", learning_rate)?;
        check::positive("Adagrad", "initial_accumulator_value", iav)
    }

    /// Validates the values as written, then builds the rule (η cast per `precision`, the
    /// initial accumulator exact in `F` as TF builds slots).
    ///
    /// # Errors
    /// [`HyperError`] naming the first invalid field.
    pub fn build<F: Float>(&self, precision: HyperPrecision) -> Result<Adagrad<F>, HyperError> {
        Self::check(self.learning_rate, self.initial_accumulator_value)?;
        Adagrad::new(
            precision.cast(self.learning_rate),
            HyperPrecision::exact(self.initial_accumulator_value),
        )
    }
}
