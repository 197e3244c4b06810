//! TF1 `ProximalAdagradOptimizer`.

use serde::{Deserialize, Serialize};

use crate::error::{check, shape};
use crate::{Float, HyperError, UpdateError};

/// TF1 `ProximalAdagradOptimizer(learning_rate, initial_accumulator_value=0.1,
/// l1_regularization_strength=0.0, l2_regularization_strength=0.0)` (kernel
/// `ApplyProximalAdagrad`).
///
/// Slot `A = accumulator = iav`. Kernel order:
/// 1. `A ← A + g²`
/// 2. `η̃ = η·rsqrt(A)` (per element, new `A`)
/// 3. `v = w − g·η̃`
/// 4. if `l1 > 0`: `w ← (sign(v) · max(|v| − η̃·l1, 0)) / (1 + l2·η̃)`
/// 5. else: `w ← v / (1 + l2·η̃)`
///
/// With `l1 = l2 = 0` this is Adagrad in exact arithmetic but rounds differently
/// (`g·(η·rsqrt A)` rather than `(g·η)·rsqrt A`). TF never casts these hyperparameters (they must
/// already have the variable's dtype), so they are never `f32`-rounded for `f64` variables.
/// `rsqrt` in `f32` is TF's approximate one; see the crate docs for the bound.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ProximalAdagrad<F> {
    learning_rate: F,
    initial_accumulator_value: F,
    l1: F,
    l2: F,
}

/// ProximalAdagrad's slot, one vector per tensor.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProximalAdagradState<F> {
    /// `accumulator`: running sum of g², starting at `iav`.
    pub accumulator: Vec<Vec<F>>,
}

impl<F: Float> ProximalAdagrad<F> {
    /// Builds the rule: `learning_rate > 0`, `initial_accumulator_value > 0` (TF raises
    /// otherwise), `l1, l2 >= 0`.
    pub fn new(
        learning_rate: F,
        initial_accumulator_value: F,
        l1: F,
        l2: F,
    ) -> Result<Self, HyperError> {
        const R: &str = "ProximalAdagrad";
        check::positive(R, "learning_rate", learning_rate.widen())?;
        check::positive(R, "initial_accumulator_value", initial_accumulator_value.widen())?;
        check::non_negative(R, "l1_regularization_strength", l1.widen())?;
        check::non_negative(R, "l2_regularization_strength", l2.widen())?;
        Ok(Self { learning_rate, initial_accumulator_value, l1, l2 })
    }

    /// TF1 defaults (iav 0.1, l1 = l2 = 0) for the given learning rate.
    pub fn tf1(learning_rate: F) -> Result<Self, HyperError> {
        Self::new(learning_rate, F::from_f64_rounded(0.1), F::zero(), F::zero())
    }

    /// `(learning_rate, initial_accumulator_value, l1, l2)` as the kernel sees them.
    pub fn hyperparameters(&self) -> (F, F, F, F) {
        (self.learning_rate, self.initial_accumulator_value, self.l1, self.l2)
    }

    /// Creates the accumulators, filled with `iav`.
    pub fn init(&self, lens: &[usize]) -> ProximalAdagradState<F> {
        ProximalAdagradState {
            accumulator: lens.iter().map(|&n| vec![self.initial_accumulator_value; n]).collect(),
        }
    }

    /// One `apply_gradients` call over all tensors. Gradients are only read.
    pub fn update<'a, I>(
        &self,
        state: &mut ProximalAdagradState<F>,
        params_and_grads: I,
    ) -> Result<(), UpdateError>
    where
        I: IntoIterator<Item = (&'a mut [F], &'a mut [F])>,
        F: 'a,
    {
        let (lr, l1, l2) = (self.learning_rate, self.l1, self.l2);
        let expected = state.accumulator.len();
        let mut count = 0;
        for (i, (w, g)) in params_and_grads.into_iter().enumerate() {
            let Some(acc) = state.accumulator.get_mut(i) else {
                return Err(shape::missing("ProximalAdagrad", i, expected));
            };
            shape::slots("ProximalAdagrad", i, w.len(), g.len(), &[acc.len()])?;
            let zipped = w.iter_mut().zip(g.iter()).zip(acc.iter_mut());
            if l1 > F::zero() {
                for ((w, &g), a) in zipped {
                    *a = *a + g * g;
                    let lr_t = lr * a.rsqrt();
                    let v = *w - g * lr_t;
                    *w = (v.tf_sign() * (v.abs() - lr_t * l1).tf_max(F::zero()))
                        / (F::one() + l2 * lr_t);
                }
            } else {
                for ((w, &g), a) in zipped {
                    *a = *a + g * g;
                    let lr_t = lr * a.rsqrt();
                    *w = (*w - g * lr_t) / (F::one() + l2 * lr_t);
                }
            }
            count = i + 1;
        }
        shape::count("ProximalAdagrad", expected, count)
    }
}
