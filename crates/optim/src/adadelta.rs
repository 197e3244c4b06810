//! TF1 `AdadeltaOptimizer`.

use serde::{Deserialize, Serialize};

use crate::float::HyperPrecision;

use crate::error::{check, shape};
use crate::rule::{num, Hyperparameters, UpdateRule};
use crate::{Float, HyperError, UpdateError};

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
        AdadeltaConfig::check(learning_rate.widen(), rho.widen(), epsilon.widen())?;
        Ok(Self { learning_rate, rho, epsilon })
    }

    /// TF1 `AdadeltaOptimizer(learning_rate)` with Python floats: ρ and ε at their defaults,
    /// every value `f32`-rounded as TF1 hands it to the kernel ([`AdadeltaConfig::tf1`] built
    /// with [`HyperPrecision::PythonFloat`]).
    ///
    /// # Errors
    /// [`HyperError`] for an invalid learning rate.
    pub fn tf1(learning_rate: f64) -> Result<Self, HyperError> {
        AdadeltaConfig::tf1(learning_rate).build(HyperPrecision::PythonFloat)
    }

    /// `(learning_rate, rho, epsilon)` as the kernel sees them.
    pub fn hyperparameters(&self) -> (F, F, F) {
        (self.learning_rate, self.rho, self.epsilon)
    }
}

impl<F: Float> UpdateRule<F> for Adadelta<F> {
    type State = AdadeltaState<F>;

    fn name(&self) -> &'static str {
        "Adadelta"
    }

    fn hyperparameter_table(&self) -> Hyperparameters {
        vec![
            num("learning_rate", self.learning_rate),
            num("rho", self.rho),
            num("epsilon", self.epsilon),
        ]
    }

    /// Creates zeroed slots for tensors of the given lengths.
    fn init(&self, lens: &[usize]) -> AdadeltaState<F> {
        AdadeltaState {
            accum: lens.iter().map(|&n| vec![F::zero(); n]).collect(),
            accum_update: lens.iter().map(|&n| vec![F::zero(); n]).collect(),
        }
    }

    /// One `apply_gradients` call over all tensors. Gradients are only read.
    fn update<'a, I>(
        &self,
        state: &mut AdadeltaState<F>,
        params_and_grads: I,
    ) -> Result<(), UpdateError>
    where
        I: IntoIterator<Item = (&'a mut [F], &'a [F])>,
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
            crate::simd::vectorized(|| {
                for ((w, &g), (a, d)) in
                    w.iter_mut().zip(g.iter()).zip(a.iter_mut().zip(d.iter_mut()))
                {
                    *a = *a * rho + g * g * one_minus_rho;
                    let u = ((*d + eps).sqrt() * (*a + eps).rsqrt()) * g;
                    *w = *w - u * lr;
                    *d = *d * rho + u * u * one_minus_rho;
                }
            });
            count = i + 1;
        }
        shape::count("Adadelta", expected, count)
    }
}

/// The table `{ rule = "adadelta", learning_rate, rho, epsilon }`; omitted fields take TF1's
/// defaults ([`Default`] is exactly TF1's `AdadeltaOptimizer()`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AdadeltaConfig {
    /// η, TF1 default 0.001 (not the paper's 1.0).
    pub learning_rate: f64,
    /// ρ, TF1 default 0.95.
    pub rho: f64,
    /// ε, TF1 default 1e-8 (Keras uses 1e-7).
    pub epsilon: f64,
}

impl AdadeltaConfig {
    /// TF1's default learning rate.
    pub const DEFAULT_LEARNING_RATE: f64 = 0.001;
    /// TF1's default ρ.
    pub const DEFAULT_RHO: f64 = 0.95;
    /// TF1's default ε.
    pub const DEFAULT_EPSILON: f64 = 1e-8;

    /// TF1's defaults with the given learning rate.
    pub fn tf1(learning_rate: f64) -> Self {
        Self { learning_rate, ..Self::default() }
    }

    pub(crate) fn default_learning_rate() -> f64 {
        Self::DEFAULT_LEARNING_RATE
    }
    pub(crate) fn default_rho() -> f64 {
        Self::DEFAULT_RHO
    }
    pub(crate) fn default_epsilon() -> f64 {
        Self::DEFAULT_EPSILON
    }

    /// The one statement of the rule's conditions: `learning_rate > 0`, `0 <= rho < 1`,
    /// `epsilon > 0`.
    pub(crate) fn check(learning_rate: f64, rho: f64, epsilon: f64) -> Result<(), HyperError> {
        check::positive("Adadelta", "learning_rate", learning_rate)?;
        check::unit("Adadelta", "rho", rho)?;
        check::positive("Adadelta", "epsilon", epsilon)
    }

    /// Validates the values as written, then builds the rule (all three cast per `precision`).
    ///
    /// # Errors
    /// [`HyperError`] naming the first invalid field.
    pub fn build<F: Float>(&self, precision: HyperPrecision) -> Result<Adadelta<F>, HyperError> {
        Self::check(self.learning_rate, self.rho, self.epsilon)?;
        Adadelta::new(
            precision.cast(self.learning_rate),
            precision.cast(self.rho),
            precision.cast(self.epsilon),
        )
    }
}

impl Default for AdadeltaConfig {
    fn default() -> Self {
        Self {
            learning_rate: Self::DEFAULT_LEARNING_RATE,
            rho: Self::DEFAULT_RHO,
            epsilon: Self::DEFAULT_EPSILON,
        }
    }
}
