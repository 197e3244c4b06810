//! The study's hand-made plain SGD (cases 0 and 2, after the gradient-noise transform).

use crate::error::{check, shape};
use crate::gradient_descent::NoSlots;
use crate::{Float, HyperError, UpdateError};

/// The study's plain SGD, `W ← W − η·G`, with gradients that are batch sums.
///
/// Mathematically the same as [`crate::GradientDescent`]; kept separate because the study's
/// manual cases are not TF kernels (no parity is promised) and compose with
/// [`crate::GradientNoise`], which the study adds to `G` first: `W ← W − η·(G + ε_t)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sgd<F> {
    learning_rate: F,
}

impl<F: Float> Sgd<F> {
    /// Builds the rule; `learning_rate` must be > 0 and finite.
    pub fn new(learning_rate: F) -> Result<Self, HyperError> {
        check::positive("Sgd", "learning_rate", learning_rate.widen())?;
        Ok(Self { learning_rate })
    }

    /// The learning rate η.
    pub fn learning_rate(&self) -> F {
        self.learning_rate
    }

    /// Creates the (empty) state for tensors of the given lengths.
    pub fn init(&self, lens: &[usize]) -> NoSlots {
        NoSlots { lens: lens.to_vec() }
    }

    /// One step over all tensors. Gradients are only read.
    pub fn update<'a, I>(&self, state: &mut NoSlots, params_and_grads: I) -> Result<(), UpdateError>
    where
        I: IntoIterator<Item = (&'a mut [F], &'a mut [F])>,
        F: 'a,
    {
        let lr = self.learning_rate;
        let mut count = 0;
        for (i, (w, g)) in params_and_grads.into_iter().enumerate() {
            shape::check("Sgd", &state.lens, i, w.len(), g.len())?;
            for (w, &g) in w.iter_mut().zip(g.iter()) {
                *w = *w - lr * g;
            }
            count = i + 1;
        }
        shape::count("Sgd", state.lens.len(), count)
    }
}
