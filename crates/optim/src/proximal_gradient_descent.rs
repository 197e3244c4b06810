//! TF1 `ProximalGradientDescentOptimizer` (FOBOS).

use serde::{Deserialize, Serialize};

use crate::error::{check, shape};
use crate::float::HyperPrecision;
use crate::gradient_descent::NoSlots;
use crate::rule::{num, Hyperparameters, UpdateRule};
use crate::{Float, HyperError, UpdateError};

/// TF1 `ProximalGradientDescentOptimizer(learning_rate, l1_regularization_strength=0.0,
/// l2_regularization_strength=0.0)` (kernel `ApplyProximalGradientDescent`), FOBOS:
///
/// 1. `v = w − g·η`
/// 2. if `l1 > 0`: `w ← (sign(v) · max(|v| − η·l1, 0)) / (1 + l2·η)`
/// 3. else: `w ← v / (1 + l2·η)` (with `l2 = 0` a division by exactly 1)
///
/// No slots. TF never casts these hyperparameters: with `f64` variables they must be `f64`
/// tensors, so unlike most rules they are never `f32`-rounded (docs/optim.md, "Hyperparameter
/// precision").
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ProximalGradientDescent<F> {
    learning_rate: F,
    l1: F,
    l2: F,
}

impl<F: Float> ProximalGradientDescent<F> {
    /// Builds the rule: `learning_rate > 0`, `l1, l2 >= 0`, all finite.
    pub fn new(learning_rate: F, l1: F, l2: F) -> Result<Self, HyperError> {
        ProximalGradientDescentConfig::check(learning_rate.widen(), l1.widen(), l2.widen())?;
        Ok(Self { learning_rate, l1, l2 })
    }

    /// TF1 `ProximalGradientDescentOptimizer(learning_rate)`: `l1 = l2 = 0`, η exact in `F`
    /// (TF never casts this rule's hyperparameters; [`ProximalGradientDescentConfig::tf1`]).
    ///
    /// # Errors
    /// [`HyperError`] for an invalid learning rate.
    pub fn tf1(learning_rate: f64) -> Result<Self, HyperError> {
        ProximalGradientDescentConfig::tf1(learning_rate).build()
    }

    /// `(learning_rate, l1, l2)` as the kernel sees them.
    pub fn hyperparameters(&self) -> (F, F, F) {
        (self.learning_rate, self.l1, self.l2)
    }
}

impl<F: Float> UpdateRule<F> for ProximalGradientDescent<F> {
    type State = NoSlots;

    fn name(&self) -> &'static str {
        "ProximalGradientDescent"
    }

    fn hyperparameter_table(&self) -> Hyperparameters {
        vec![
            num("learning_rate", self.learning_rate),
            num("l1_regularization_strength", self.l1),
            num("l2_regularization_strength", self.l2),
        ]
    }

    /// Creates the (empty) state for tensors of the given lengths.
    fn init(&self, lens: &[usize]) -> NoSlots {
        NoSlots { lens: lens.to_vec() }
    }

    /// One `apply_gradients` call over all tensors. Gradients are only read.
    fn update<'a, I>(&self, state: &mut NoSlots, params_and_grads: I) -> Result<(), UpdateError>
    where
        I: IntoIterator<Item = (&'a mut [F], &'a [F])>,
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

/// The table `{ rule = "proximal_gradient_descent", learning_rate, l1_regularization_strength,
/// l2_regularization_strength }`; the learning rate is required, l1 and l2 default to 0.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProximalGradientDescentConfig {
    /// η (required).
    pub learning_rate: f64,
    /// Default 0.
    #[serde(default)]
    pub l1_regularization_strength: f64,
    /// Default 0.
    #[serde(default)]
    pub l2_regularization_strength: f64,
}

impl ProximalGradientDescentConfig {
    /// TF1's defaults with the given learning rate.
    pub fn tf1(learning_rate: f64) -> Self {
        Self { learning_rate, l1_regularization_strength: 0.0, l2_regularization_strength: 0.0 }
    }

    /// The one statement of the rule's conditions: `learning_rate > 0`, `l1, l2 >= 0`, finite.
    pub(crate) fn check(learning_rate: f64, l1: f64, l2: f64) -> Result<(), HyperError> {
        const R: &str = "ProximalGradientDescent";
        check::positive(R, "learning_rate", learning_rate)?;
        check::non_negative(R, "l1_regularization_strength", l1)?;
        check::non_negative(R, "l2_regularization_strength", l2)
    }

    /// Validates the values as written, then builds the rule with every value exact in `F` in
    /// both precision modes (TF never casts them).
    ///
    /// # Errors
    /// [`HyperError`] naming the first invalid field.
    pub fn build<F: Float>(&self) -> Result<ProximalGradientDescent<F>, HyperError> {
        let (l1, l2) = (self.l1_regularization_strength, self.l2_regularization_strength);
        Self::check(self.learning_rate, l1, l2)?;
        ProximalGradientDescent::new(
            HyperPrecision::exact(self.learning_rate),
            HyperPrecision::exact(l1),
            HyperPrecision::exact(l2),
        )
    }
}
