//! The study's hand-made plain SGD (cases 0 and 2, after the gradient-noise transform).

use crate::float::HyperPrecision;
use crate::gradient_descent::{GradientDescent, GradientDescentConfig, NoSlots};
use crate::rule::{num, Hyperparameters, UpdateRule};
use crate::{Float, HyperError, UpdateError};

/// The study's plain SGD, `W ← W − η·G`, with gradients that are batch sums.
///
/// A thin alias of [`GradientDescent`] (the same update, `η·G` and `G·η` round identically): kept
/// as its own rule because the study's manual cases are not TF kernels (no parity is promised, and
/// the learning rate is taken exactly rather than as a Python float) and compose with
/// [`crate::GradientNoise`], which the study adds to `G` first: `W ← W − η·(G + ε_t)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sgd<F> {
    inner: GradientDescent<F>,
}

impl<F: Float> Sgd<F> {
    /// Builds the rule; `learning_rate` must be > 0 and finite.
    pub fn new(learning_rate: F) -> Result<Self, HyperError> {
        GradientDescentConfig::check("Sgd", learning_rate.widen())?;
        Ok(Self { inner: GradientDescent::new(learning_rate)? })
    }

    /// The learning rate η.
    pub fn learning_rate(&self) -> F {
        self.inner.learning_rate()
    }
}

impl<F: Float> UpdateRule<F> for Sgd<F> {
    type State = NoSlots;

    fn name(&self) -> &'static str {
        "Sgd"
    }

    fn hyperparameter_table(&self) -> Hyperparameters {
        vec![num("learning_rate", self.inner.learning_rate())]
    }

    /// Creates the (empty) state for tensors of the given lengths.
    fn init(&self, lens: &[usize]) -> NoSlots {
        self.inner.init(lens)
    }

    /// One step over all tensors. Gradients are only read.
    fn update<'a, I>(&self, state: &mut NoSlots, params_and_grads: I) -> Result<(), UpdateError>
    where
        I: IntoIterator<Item = (&'a mut [F], &'a [F])>,
        F: 'a,
    {
        self.inner.update(state, params_and_grads)
    }
}

/// The table `{ rule = "sgd", learning_rate }`: the same fields as
/// [`GradientDescentConfig`], but the learning rate is always taken exactly (the study's rule is
/// not a TF kernel).
pub type SgdConfig = GradientDescentConfig;

impl SgdConfig {
    /// Validates, then builds the study's [`Sgd`] with η rounded once to `F`.
    ///
    /// # Errors
    /// [`HyperError`] naming the invalid field.
    pub fn build_sgd<F: Float>(&self) -> Result<Sgd<F>, HyperError> {
        Self::check("Sgd", self.learning_rate)?;
        Sgd::new(HyperPrecision::exact(self.learning_rate))
    }
}
