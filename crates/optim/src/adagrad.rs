//! TF1 `AdagradOptimizer`.

use serde::{Deserialize, Serialize};

use crate::error::{check, shape};
use crate::{Float, HyperError, UpdateError};

/// TF1 default initial accumulator value of Adagrad.
pub const ADAGRAD_DEFAULT_INITIAL_ACCUMULATOR: f64 = 0.1;

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
        check::positive("Adagrad", "learning_rate", learning_rate.widen())?;
        check::positive("Adagrad", "initial_accumulator_value", initial_accumulator_value.widen())?;
        Ok(Self { learning_rate, initial_accumulator_value })
    }

    /// TF1 defaults (iav 0.1) for the given learning rate.
    pub fn tf1(learning_rate: F) -> Result<Self, HyperError> {
        Self::new(learning_rate, F::from_f64_rounded(ADAGRAD_DEFAULT_INITIAL_ACCUMULATOR))
    }

    /// `(learning_rate, initial_accumulator_value)` as the kernel sees them.
    pub fn hyperparameters(&self) -> (F, F) {
        (self.learning_rate, self.initial_accumulator_value)
    }

    /// Creates the accumulators, filled with `iav`.
    pub fn init(&self, lens: &[usize]) -> AdagradState<F> {
        AdagradState {
            accumulator: lens.iter().map(|&n| vec![self.initial_accumulator_value; n]).collect(),
        }
    }

    /// One `apply_gradients` call over all tensors. Gradients are only read.
    pub fn update<'a, I>(
        &self,
        state: &mut AdagradState<F>,
        params_and_grads: I,
    ) -> Result<(), UpdateError>
    where
        I: IntoIterator<Item = (&'a mut [F], &'a mut [F])>,
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
            for ((w, &g), a) in w.iter_mut().zip(g.iter()).zip(acc.iter_mut()) {
                *a = *a + g * g;
                *w = *w - g * lr * a.rsqrt();
            }
            count = i + 1;
        }
        shape::count("Adagrad", expected, count)
    }
}
