//! TF1 `AdadeltaOptimizer`.

use serde::{Deserialize, Serialize};

use crate::error::{check, shape};
use crate::{Float, HyperError, UpdateError};

/// TF1 default learning rate of Adadelta (not the paper's 1.0).
pub const ADADELTA_DEFAULT_LEARNING_RATE: f64 = 0.001;
/// TF1 default decay ρ of Adadelta.
pub const ADADELTA_DEFAULT_RHO: f64 = 0.95;
/// TF1 default ε of Adadelta (Keras uses 1e-7).
pub const ADADELTA_DEFAULT_EPSILON: f64 = 1e-8;

/// TF1 `AdadeltaOptimizer(learning_rate=0.001, rho=0.95, epsilon=1e-8)` (kernel `ApplyAdadelta`).
///
/// Slots `a = accum = 0`, `d = accum_update = 0`. Kernel order:
/// 1. `a ← a·ρ + g²·(1−ρ)`
/// 2. `u = (√(d + ε) · rsqrt(a + ε)) · g` (old `d`, new `a`)
/// 3. `w ← w − u·η`
/// 4. `d ← d·ρ + u²·(1−ρ)`
///
/// Differences from the paper (Zeiler 2012): ε sits inside both square roots as in the paper, but
/// there is an extra learning rate η whose TF1 default 0.001 (not 1.0) makes the default rule
/// barely move. `rsqrt` in `f32` is TF's approximate one; see the crate docs for the bound.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Adadelta<F> {
    learning_rate: F,
    rho: F,
    epsilon: F,
}

/// Adadelta's slots, one vector per tensor.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AdadeltaState<F> {
    /// `accum`: running mean of g².
    pub accum: Vec<Vec<F>>,
    /// `accum_update`: running mean of u².
    pub accum_update: Vec<Vec<F>>,
}

impl<F: Float> Adadelta<F> {
    /// Builds the rule: `learning_rate > 0`, `0 <= rho < 1`, `epsilon > 0`.
    pub fn new(learning_rate: F, rho: F, epsilon: F) -> Result<Self, HyperError> {
        check::positive("Adadelta", "learning_rate", learning_rate.widen())?;
        check::unit("Adadelta", "rho", rho.widen())?;
        check::positive("Adadelta", "epsilon", epsilon.widen())?;
        Ok(Self { learning_rate, rho, epsilon })
    }

    /// TF1 defaults (ρ 0.95, ε 1e-8) for the given learning rate, converted exactly to `F`.
    pub fn tf1(learning_rate: F) -> Result<Self, HyperError> {
        Self::new(
            learning_rate,
            F::from_f64_rounded(ADADELTA_DEFAULT_RHO),
            F::from_f64_rounded(ADADELTA_DEFAULT_EPSILON),
        )
    }

    /// `(learning_rate, rho, epsilon)` as the kernel sees them.
    pub fn hyperparameters(&self) -> (F, F, F) {
        (self.learning_rate, self.rho, self.epsilon)
    }

    /// Creates zeroed slots for tensors of the given lengths.
    pub fn init(&self, lens: &[usize]) -> AdadeltaState<F> {
        AdadeltaState {
            accum: lens.iter().map(|&n| vec![F::zero(); n]).collect(),
            accum_update: lens.iter().map(|&n| vec![F::zero(); n]).collect(),
        }
    }

    /// One `apply_gradients` call over all tensors. Gradients are only read.
    pub fn update<'a, I>(
        &self,
        state: &mut AdadeltaState<F>,
        params_and_grads: I,
    ) -> Result<(), UpdateError>
    where
        I: IntoIterator<Item = (&'a mut [F], &'a mut [F])>,
        F: 'a,
    {
        let (lr, rho, eps) = (self.learning_rate, self.rho, self.epsilon);
        let one_minus_rho = F::one() - rho;
        let expected = state.accum.len();
        let mut count = 0;
        for (i, (w, g)) in params_and_grads.into_iter().enumerate() {
            let (Some(a), Some(d)) = (state.accum.get_mut(i), state.accum_update.get_mut(i)) else {
                return Err(shape::missing("Adadelta", i, expected));
            };
            shape::slots("Adadelta", i, w.len(), g.len(), &[a.len(), d.len()])?;
            for ((w, &g), (a, d)) in w.iter_mut().zip(g.iter()).zip(a.iter_mut().zip(d.iter_mut()))
            {
                *a = *a * rho + g * g * one_minus_rho;
                let u = ((*d + eps).sqrt() * (*a + eps).rsqrt()) * g;
                *w = *w - u * lr;
                *d = *d * rho + u * u * one_minus_rho;
            }
            count = i + 1;
        }
        shape::count("Adadelta", expected, count)
    }
}
