//! The study's hand-made plain SGD (cases 0 and 2, after the gradient-noise transform).

use crate::error::check;
use crate::gradient_descent::{GradientDescent, NoSlots};
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
        check::positive("Sgd", "learning_rate", learning_rate.widen())?;
        Ok(Self { inner: GradientDescent::new(learning_rate)? })
    }

    /// The learning rate η.
    pub fn learning_rate(&self) -> F {
        self.inner.learning_rate()
    }

    /// Creates the (empty) state for tensors of the given lengths.
    pub fn init(&self, lens: &[usize]) -> NoSlots {
        self.inner.init(lens)
    }

    /// One step over all tensors. Gradients are only read.
    pub fn update<'a, I>(&self, state: &mut NoSlots, params_and_grads: I) -> Result<(), UpdateError>
    where
        I: IntoIterator<Item = (&'a mut [F], &'a mut [F])>,
        F: 'a,
    {
        self.inner.update(state, params_and_grads)
    }
}
