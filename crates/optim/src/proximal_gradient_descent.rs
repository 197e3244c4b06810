//! TF1 `ProximalGradientDescentOptimizer` (FOBOS).

use crate::error::{check, shape};
use crate::gradient_descent::NoSlots;
use crate::{Float, HyperError, UpdateError};

/// TF1 `ProximalGradientDescentOptimizer(learning_rate, l1_regularization_strength=0.0,
/// l2_regularization_strength=0.0)` (kernel `ApplyProximalGradientDescent`), FOBOS:
///
/// 1. `v = w − g·η`
/// 2. if `l1 > 0`: `w ← (sign(v) · max(|v| − η·l1, 0)) / (1 + l2·η)`
/// 3. else: `w ← v / (1 + l2·η)` (with `l2 = 0` a division by exactly 1)
///
/// No slots. TF never casts these hyperparameters: with `f64` variables they must be `f64`
/// tensors, so unlike most rules they are never `f32`-rounded (tf1-optimizers.md §0).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ProximalGradientDescent<F> {
    learning_rate: F,
    l1: F,
    l2: F,
}

impl<F: Float> ProximalGradientDescent<F> {
    /// Builds the rule: `learning_rate > 0`, `l1, l2 >= 0`, all finite.
    pub fn new(learning_rate: F, l1: F, l2: F) -> Result<Self, HyperError> {
        const R: &str = "ProximalGradientDescent";
        check::positive(R, "learning_rate", learning_rate.widen())?;
        check::non_negative(R, "l1_regularization_strength", l1.widen())?;
        check::non_negative(R, "l2_regularization_strength", l2.widen())?;
        Ok(Self { learning_rate, l1, l2 })
    }

    /// TF1 defaults (`l1 = l2 = 0`) for the given learning rate.
    pub fn tf1(learning_rate: F) -> Result<Self, HyperError> {
        Self::new(learning_rate, F::zero(), F::zero())
    }

    /// `(learning_rate, l1, l2)` as the kernel sees them.
    pub fn hyperparameters(&self) -> (F, F, F) {
        (self.learning_rate, self.l1, self.l2)
    }

    /// Creates the (empty) state for tensors of the given lengths.
    pub fn init(&self, lens: &[usize]) -> NoSlots {
        NoSlots { lens: lens.to_vec() }
    }

    /// One `apply_gradients` call over all tensors. Gradients are only read.
    pub fn update<'a, I>(&self, state: &mut NoSlots, params_and_grads: I) -> Result<(), UpdateError>
    where
        I: IntoIterator<Item = (&'a mut [F], &'a mut [F])>,
        F: 'a,
    {
        let (lr, l1, l2) = (self.learning_rate, self.l1, self.l2);
        let shrink = lr * l1;
        let denom = F::one() + l2 * lr;
        let mut count = 0;
        for (i, (w, g)) in params_and_grads.into_iter().enumerate() {
            shape::check("ProximalGradientDescent", &state.lens, i, w.len(), g.len())?;
            if l1 > F::zero() {
                for (w, &g) in w.iter_mut().zip(g.iter()) {
                    let v = *w - g * lr;
                    *w = (v.tf_sign() * (v.abs() - shrink).tf_max(F::zero())) / denom;
                }
            } else {
                for (w, &g) in w.iter_mut().zip(g.iter()) {
                    *w = (*w - g * lr) / denom;
                }
            }
            count = i + 1;
        }
        shape::count("ProximalGradientDescent", state.lens.len(), count)
    }
}
