//! TF1 `RMSPropOptimizer` (plain and centered, with momentum).

use serde::{Deserialize, Serialize};

use crate::float::HyperPrecision;

use crate::error::{check, shape};
use crate::rule::{num, HyperValue, Hyperparameters, UpdateRule};
use crate::{Float, HyperError, UpdateError};

/// TF1 `RMSPropOptimizer(learning_rate, decay=0.9, momentum=0.0, epsilon=1e-10, centered=False)`
/// (kernels `ApplyRMSProp` / `ApplyCenteredRMSProp`).
///
/// Slots `ms = rms = 1` (ones!), `mom = 0`, and `mg = 0` when centered. Kernel order:
/// 1. `ms ← ms + (g² − ms)·(1 − ρ)`
/// 2. centered: `mg ← mg + (g − mg)·(1 − ρ)`, `den = (ms − mg²) + ε`; else `den = ms + ε`
/// 3. `mom ← mom·μ + (g·η)/√den`
/// 4. `w ← w − mom`
///
/// Differences from the usual form (Hinton's lecture, Keras): **ε inside the square root and ms
/// starting at 1, as TF1**, so the first steps are small (`den = 0.9 + 0.1·g²` at step 1); η is
/// folded into the momentum buffer; `momentum = 0` still runs the same kernel.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RmsProp<F> {
    learning_rate: F,
    decay: F,
    momentum: F,
    epsilon: F,
    centered: bool,
}

/// RMSProp's slots, one vector per tensor (`mg` empty unless centered).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RmsPropState<F> {
    /// `rms`: running mean of g², starting at 1.
    pub ms: Vec<Vec<F>>,
    /// `momentum`: the step buffer (η folded in).
    pub mom: Vec<Vec<F>>,
    /// `mg`: running mean of g (centered only; otherwise no vectors).
    pub mg: Vec<Vec<F>>,
}

impl<F: Float> RmsProp<F> {
    /// Builds the rule: `learning_rate > 0`, `0 <= decay < 1`, `0 <= momentum < 1`, `ε > 0`.
    pub fn new(
        learning_rate: F,
        decay: F,
        momentum: F,
        epsilon: F,
        centered: bool,
    ) -> Result<Self, HyperError> {
        RmsPropConfig::check(
            learning_rate.widen(),
            decay.widen(),
            momentum.widen(),
            epsilon.widen(),
        )?;
        Ok(Self { learning_rate, decay, momentum, epsilon, centered })
    }

    /// TF1 `RMSPropOptimizer(learning_rate)` with Python floats: decay 0.9, momentum 0,
    /// ε 1e-10, not centered, every value `f32`-rounded ([`RmsPropConfig::tf1`] built with
    /// [`HyperPrecision::PythonFloat`]).
    ///
    /// # Errors
    /// [`HyperError`] for an invalid learning rate.
    pub fn tf1(learning_rate: f64) -> Result<Self, HyperError> {
        RmsPropConfig::tf1(learning_rate).build(HyperPrecision::PythonFloat)
    }

    /// `(learning_rate, decay, momentum, epsilon, centered)` as the kernel sees them.
    pub fn hyperparameters(&self) -> (F, F, F, F, bool) {
        (self.learning_rate, self.decay, self.momentum, self.epsilon, self.centered)
    }
}

impl<F: Float> UpdateRule<F> for RmsProp<F> {
    type State = RmsPropState<F>;

    fn name(&self) -> &'static str {
        "RMSProp"
    }

    fn hyperparameter_table(&self) -> Hyperparameters {
        vec![
            num("learning_rate", self.learning_rate),
            num("decay", self.decay),
            num("momentum", self.momentum),
            num("epsilon", self.epsilon),
            ("centered", HyperValue::Bool(self.centered)),
        ]
    }

    /// Creates the slots: `ms = 1`, `mom = 0`, `mg = 0` if centered.
    fn init(&self, lens: &[usize]) -> RmsPropState<F> {
        RmsPropState {
            ms: lens.iter().map(|&n| vec![F::one(); n]).collect(),
            mom: lens.iter().map(|&n| vec![F::zero(); n]).collect(),
            mg: if self.centered {
                lens.iter().map(|&n| vec![F::zero(); n]).collect()
            } else {
                Vec::new()
            },
        }
    }

    /// One `apply_gradients` call over all tensors. Gradients are only read.
    fn update<'a, I>(
        &self,
        state: &mut RmsPropState<F>,
        params_and_grads: I,
    ) -> Result<(), UpdateError>
    where
        I: IntoIterator<Item = (&'a mut [F], &'a [F])>,
        F: 'a,
    {
        let (lr, mu, eps) = (self.learning_rate, self.momentum, self.epsilon);
        let one_minus_rho = F::one() - self.decay;
        let expected = state.ms.len();
        let mut count = 0;
        for (i, (w, g)) in params_and_grads.into_iter().enumerate() {
            let (Some(ms), Some(mom)) = (state.ms.get_mut(i), state.mom.get_mut(i)) else {
                return Err(shape::missing("RMSProp", i, expected));
            };
            if self.centered {
                let Some(mg) = state.mg.get_mut(i) else {
                    return Err(shape::missing("RMSProp", i, expected));
                };
                shape::slots("RMSProp", i, w.len(), g.len(), &[ms.len(), mom.len(), mg.len()])?;
                let zipped = w
                    .iter_mut()
                    .zip(g.iter())
                    .zip(ms.iter_mut().zip(mom.iter_mut()))
                    .zip(mg.iter_mut());
                crate::simd::vectorized(|| {
                    for (((w, &g), (ms, mom)), mg) in zipped {
                        *ms = *ms + (g * g - *ms) * one_minus_rho;
                        *mg = *mg + (g - *mg) * one_minus_rho;
                        let den = (*ms - *mg * *mg) + eps;
                        *mom = *mom * mu + (g * lr) / den.sqrt();
                        *w = *w - *mom;
                    }
                });
            } else {
                shape::slots("RMSProp", i, w.len(), g.len(), &[ms.len(), mom.len()])?;
                let zipped = w.iter_mut().zip(g.iter()).zip(ms.iter_mut().zip(mom.iter_mut()));
                crate::simd::vectorized(|| {
                    for ((w, &g), (ms, mom)) in zipped {
                        *ms = *ms + (g * g - *ms) * one_minus_rho;
                        *mom = *mom * mu + (g * lr) / (*ms + eps).sqrt();
                        *w = *w - *mom;
                    }
                });
            }
            count = i + 1;
        }
        shape::count("RMSProp", expected, count)
    }
}

/// The table `{ rule = "rms_prop" (or "rmsprop"), learning_rate, decay, momentum, epsilon,
/// centered }`; the learning rate is required, the rest default to TF1's values.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RmsPropConfig {
    /// η (required).
    pub learning_rate: f64,
    /// ρ, TF1 default 0.9.
    #[serde(default = "RmsPropConfig::default_decay")]
    pub decay: f64,
    /// μ, TF1 default 0.
    #[serde(default = "RmsPropConfig::default_momentum")]
    pub momentum: f64,
    /// ε, TF1 default 1e-10 (inside the square root).
    #[serde(default = "RmsPropConfig::default_epsilon")]
    pub epsilon: f64,
    /// Default false.
    #[serde(default)]
    pub centered: bool,
}

impl RmsPropConfig {
    /// TF1's default decay ρ.
    pub const DEFAULT_DECAY: f64 = 0.9;
    /// TF1's default momentum.
    pub const DEFAULT_MOMENTUM: f64 = 0.0;
    /// TF1's default ε.
    pub const DEFAULT_EPSILON: f64 = 1e-10;

    pub(crate) fn default_decay() -> f64 {
        Self::DEFAULT_DECAY
    }
    pub(crate) fn default_momentum() -> f64 {
        Self::DEFAULT_MOMENTUM
    }
    pub(crate) fn default_epsilon() -> f64 {
        Self::DEFAULT_EPSILON
    }

    /// TF1's defaults with the given learning rate.
    pub fn tf1(learning_rate: f64) -> Self {
        Self {
            learning_rate,
            decay: Self::DEFAULT_DECAY,
            momentum: Self::DEFAULT_MOMENTUM,
            epsilon: Self::DEFAULT_EPSILON,
            centered: false,
        }
    }

    /// The one statement of the rule's conditions: `learning_rate > 0`, `0 <= decay < 1`,
    /// `0 <= momentum < 1`, `ε > 0`.
    pub(crate) fn check(
        lr: f64,
        decay: f64,
        momentum: f64,
        epsilon: f64,
    ) -> Result<(), HyperError> {
        check::positive("RMSProp", "learning_rate", lr)?;
        check::unit("RMSProp", "decay", decay)?;
        check::unit("RMSProp", "momentum", momentum)?;
        check::positive("RMSProp", "epsilon", epsilon)
    }

    /// Validates the values as written, then builds the rule (all cast per `precision`).
    ///
    /// # Errors
    /// [`HyperError`] naming the first invalid field.
    pub fn build<F: Float>(&self, precision: HyperPrecision) -> Result<RmsProp<F>, HyperError> {
        Self::check(self.learning_rate, self.decay, self.momentum, self.epsilon)?;
        RmsProp::new(
            precision.cast(self.learning_rate),
            precision.cast(self.decay),
            precision.cast(self.momentum),
            precision.cast(self.epsilon),
            self.centered,
        )
    }
}
