//! TF1 `GradientDescentOptimizer`.

use serde::{Deserialize, Serialize};

use crate::float::HyperPrecision;

use crate::error::{check, shape};
use crate::rule::{num, Hyperparameters, UpdateRule};
use crate::{Float, HyperError, UpdateError};

/// State of a rule without slots: only the tensor lengths given to `init`, so that `update` can
/// reject mismatched inputs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoSlots {
    /// Length of each tensor, in update order.
    pub lens: Vec<usize>,
}

/// TF1 `GradientDescentOptimizer(learning_rate)` (kernel `ApplyGradientDescent`):
///
/// `w ← w − (g·η)`
///
/// No slots. The learning rate has no TF1 default. Identical to the paper form.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GradientDescent<F> {
    learning_rate: F,
}

impl<F: Float> GradientDescent<F> {
    /// Builds the rule; `learning_rate` must be > 0 and finite.
    pub fn new(learning_rate: F) -> Result<Self, HyperError> {
        GradientDescentConfig::check("GradientDescent", learning_rate.widen())?;
        Ok(Self { learning_rate })
    }

    /// The learning rate η as the kernel sees it.
    pub fn learning_rate(&self) -> F {
        self.learning_rate
    }
}

impl<F: Float> UpdateRule<F> for GradientDescent<F> {
    type State = NoSlots;

    fn name(&self) -> &'static str {
        "GradientDescent"
    }

    fn hyperparameter_table(&self) -> Hyperparameters {
        vec![num("learning_rate", self.learning_rate)]
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
        let lr = self.learning_rate;
        let mut count = 0;
        for (i, (w, g)) in params_and_grads.into_iter().enumerate() {
            shape::check("GradientDescent", &state.lens, i, w.len(), g.len())?;
            for (w, &g) in w.iter_mut().zip(g.iter()) {
                *w = *w - g * lr;
            }
            count = i + 1;
        }
        shape::count("GradientDescent", state.lens.len(), count)
    }
}

/// The table `{ rule = "gradient_descent", learning_rate }` (also `"sgd"`: same fields).
/// TF1 gives the learning rate no default.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GradientDescentConfig {
    /// η (required).
    pub learning_rate: f64,
}

impl GradientDescentConfig {
    /// The one statement of the rule's conditions: `learning_rate > 0` and finite.
    pub(crate) fn check(rule: &'static str, learning_rate: f64) -> Result<(), HyperError> {
        check::positive(rule, "learning_rate", learning_rate)
    }

    /// Validates the values as written, then builds the rule (η cast per `precision`).
    ///
    /// # Errors
    /// [`HyperError`] naming the first invalid field.
    pub fn build<F: Float>(
        &self,
        precision: HyperPrecision,
    ) -> Result<GradientDescent<F>, HyperError> {
        Self::check("GradientDescent", self.learning_rate)?;
        GradientDescent::new(precision.cast(self.learning_rate))
    }
}
