//! TF1 `MomentumOptimizer` (heavy ball and Nesterov).

use serde::{Deserialize, Serialize};

use crate::float::HyperPrecision;

use crate::error::{check, shape};
use crate::rule::{num, HyperValue, Hyperparameters, UpdateRule};
use crate::{Float, HyperError, UpdateError};

/// TF1 `MomentumOptimizer(learning_rate, momentum, use_nesterov=False)` (kernel
/// `ApplyMomentum`). Both η and μ are required; the study's case 11 uses `μ = η`.
///
/// Slot `a = momentum = 0`. Kernel order:
/// 1. `a ← a·μ + g` (the accumulator holds gradients, not steps: η is not folded in)
/// 2. plain: `w ← w − a·η`; Nesterov: `w ← w − (g·η + (a·μ)·η)` with the new `a`.
///
/// Differences from the textbook `v ← μv − ηg; w ← w + v` (Keras SGD): equal only while η is
/// constant, and it rounds differently.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Momentum<F> {
    learning_rate: F,
    momentum: F,
    use_nesterov: bool,
}

/// Momentum's slot, one vector per tensor.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MomentumState<F> {
    /// `momentum`: the accumulated gradient.
    pub momentum: Vec<Vec<F>>,
}

impl<F: Float> Momentum<F> {
    /// Builds the rule: `learning_rate > 0`, `0 <= momentum < 1`.
    pub fn new(learning_rate: F, momentum: F, use_nesterov: bool) -> Result<Self, HyperError> {
        MomentumConfig::check(learning_rate.widen(), momentum.widen())?;
        Ok(Self { learning_rate, momentum, use_nesterov })
    }

    /// `(learning_rate, momentum, use_nesterov)` as the kernel sees them.
    pub fn hyperparameters(&self) -> (F, F, bool) {
        (self.learning_rate, self.momentum, self.use_nesterov)
    }
}

impl<F: Float> UpdateRule<F> for Momentum<F> {
    type State = MomentumState<F>;

    fn name(&self) -> &'static str {
        "Momentum"
    }

    fn hyperparameter_table(&self) -> Hyperparameters {
        vec![
            num("learning_rate", self.learning_rate),
            num("momentum", self.momentum),
            ("use_nesterov", HyperValue::Bool(self.use_nesterov)),
        ]
    }

    /// Creates zeroed accumulators.
    fn init(&self, lens: &[usize]) -> MomentumState<F> {
        MomentumState { momentum: lens.iter().map(|&n| vec![F::zero(); n]).collect() }
    }

    /// One `apply_gradients` call over all tensors. Gradients are only read.
    fn update<'a, I>(
        &self,
        state: &mut MomentumState<F>,
        params_and_grads: I,
    ) -> Result<(), UpdateError>
    where
        I: IntoIterator<Item = (&'a mut [F], &'a [F])>,
        F: 'a,
    {
        let (lr, mu) = (self.learning_rate, self.momentum);
        let expected = state.momentum.len();
        let mut count = 0;
        for (i, (w, g)) in params_and_grads.into_iter().enumerate() {
            let Some(acc) = state.momentum.get_mut(i) else {
                return Err(shape::missing("Momentum", i, expected));
            };
            shape::slots("Momentum", i, w.len(), g.len(), &[acc.len()])?;
            let zipped = w.iter_mut().zip(g.iter()).zip(acc.iter_mut());
            if self.use_nesterov {
                crate::simd::vectorized(|| {
                    for ((w, &g), a) in zipped {
                        *a = *a * mu + g;
                        *w = *w - (g * lr + *a * mu * lr);
                    }
                });
            } else {
                crate::simd::vectorized(|| {
                    for ((w, &g), a) in zipped {
                        *a = *a * mu + g;
                        *w = *w - *a * lr;
                    }
                });
            }
            count = i + 1;
        }
        shape::count("Momentum", expected, count)
    }
}

/// The table `{ rule = "momentum", learning_rate, momentum, use_nesterov }`; TF1 requires both
/// η and μ (no preset), `use_nesterov` defaults to false.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MomentumConfig {
    /// η (required).
    pub learning_rate: f64,
    /// μ (required, as in TF1).
    pub momentum: f64,
    /// Nesterov form, default false.
    #[serde(default)]
    pub use_nesterov: bool,
}

impl MomentumConfig {
    /// The one statement of the rule's conditions: `learning_rate > 0`, `0 <= momentum < 1`.
    pub(crate) fn check(learning_rate: f64, momentum: f64) -> Result<(), HyperError> {
        check::positive("Momentum", "learning_rate", learning_rate)?;
        check::unit("Momentum", "momentum", momentum)
    }

    /// Validates the values as written, then builds the rule (η, μ cast per `precision`).
    ///
    /// # Errors
    /// [`HyperError`] naming the first invalid field.
    pub fn build<F: Float>(&self, precision: HyperPrecision) -> Result<Momentum<F>, HyperError> {
        Self::check(self.learning_rate, self.momentum)?;
        Momentum::new(
            precision.cast(self.learning_rate),
            precision.cast(self.momentum),
            self.use_nesterov,
        )
    }
}
