//! TF1 `AdamOptimizer`.

use serde::{Deserialize, Serialize};

use crate::float::HyperPrecision;

use crate::error::{check, shape};
use crate::rule::{num, HyperValue, Hyperparameters, UpdateRule};
use crate::{Float, HyperError, UpdateError};

/// The dtype in which Adam's `beta1_power`/`beta2_power` variables live and advance.
///
/// TF1 creates them from the β values passed to the constructor, so Python floats give
/// `float32` variables even for `float64` parameters (docs/optim.md, "Hyperparameter
/// precision"); numpy `float64` scalars give `float64` ones.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PowerDtype {
    /// `float32` powers: `b ← f32(b)·f32(β)` in `f32` (TF1 with Python-float β).
    F32,
    /// `float64` powers: `b ← b·β` in `f64`, with β the kernel's value widened.
    F64,
}

/// TF1 `AdamOptimizer(learning_rate=0.001, beta1=0.9, beta2=0.999, epsilon=1e-8)` (kernel
/// `ApplyAdam`).
///
/// Slots `m = v = 0`; per optimizer `b1p = β1^t`, `b2p = β2^t` (starting at β1, β2). At step t:
/// 1. `α = (η·√(1 − b2p)) / (1 − b1p)` (scalar, powers cast to the variable dtype)
/// 2. `m ← m + (g − m)·(1 − β1)`
/// 3. `v ← v + (g² − v)·(1 − β2)`
/// 4. `w ← w − (m·α) / (√v + ε)`
///
/// and after all tensors `b1p ← b1p·β1`, `b2p ← b2p·β2` in the powers' own dtype.
///
/// Differences from the paper (Kingma & Ba, Algorithm 1): ε is "epsilon hat", outside the square
/// root and not bias-corrected (the paper's form with a step-dependent ε·√(1−β2^t)); m and v
/// use the kernel's `m + (g−m)(1−β)`, which rounds differently from `βm + (1−β)g`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Adam<F> {
    learning_rate: F,
    beta1: F,
    beta2: F,
    epsilon: F,
    power_dtype: PowerDtype,
}

/// Adam's state: the beta powers (once per optimizer) and two slots per tensor.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AdamState<F> {
    /// `beta1_power = β1^t` for the next step, stored widened to `f64` (exactly an `f32` value
    /// when the power dtype is [`PowerDtype::F32`]).
    pub beta1_power: f64,
    /// `beta2_power = β2^t` for the next step, stored like `beta1_power`.
    pub beta2_power: f64,
    /// First moment `m`.
    pub m: Vec<Vec<F>>,
    /// Second moment `v`.
    pub v: Vec<Vec<F>>,
}

impl<F: Float> Adam<F> {
    /// Builds the rule: `learning_rate > 0`, `0 <= β1, β2 < 1`, `ε > 0`.
    pub fn new(
        learning_rate: F,
        beta1: F,
        beta2: F,
        epsilon: F,
        power_dtype: PowerDtype,
    ) -> Result<Self, HyperError> {
        AdamConfig::check(
            "Adam",
            learning_rate.widen(),
            beta1.widen(),
            beta2.widen(),
            epsilon.widen(),
        )?;
        Ok(Self { learning_rate, beta1, beta2, epsilon, power_dtype })
    }

    /// TF1 `AdamOptimizer(learning_rate)` with Python floats: β1 0.9, β2 0.999, ε 1e-8, every
    /// value `f32`-rounded and `f32` beta powers, exactly what TF1's kernel sees
    /// ([`AdamConfig::tf1`] built with [`HyperPrecision::PythonFloat`]).
    ///
    /// # Errors
    /// [`HyperError`] for an invalid learning rate.
    pub fn tf1(learning_rate: f64) -> Result<Self, HyperError> {
        AdamConfig::tf1(learning_rate).build(HyperPrecision::PythonFloat)
    }

    /// `(learning_rate, beta1, beta2, epsilon)` as the kernel sees them.
    pub fn hyperparameters(&self) -> (F, F, F, F) {
        (self.learning_rate, self.beta1, self.beta2, self.epsilon)
    }

    /// The dtype of the beta powers.
    pub fn power_dtype(&self) -> PowerDtype {
        self.power_dtype
    }

    fn in_power_dtype(&self, x: f64) -> f64 {
        match self.power_dtype {
            PowerDtype::F32 => f64::from(x as f32),
            PowerDtype::F64 => x,
        }
    }
}

impl<F: Float> UpdateRule<F> for Adam<F> {
    type State = AdamState<F>;

    fn name(&self) -> &'static str {
        "Adam"
    }

    fn hyperparameter_table(&self) -> Hyperparameters {
        vec![
            num("learning_rate", self.learning_rate),
            num("beta1", self.beta1),
            num("beta2", self.beta2),
            num("epsilon", self.epsilon),
            (
                "power_dtype",
                HyperValue::Text(match self.power_dtype {
                    PowerDtype::F32 => "f32",
                    PowerDtype::F64 => "f64",
                }),
            ),
        ]
    }

    /// Creates zeroed moments and beta powers equal to β1, β2 (in the power dtype).
    fn init(&self, lens: &[usize]) -> AdamState<F> {
        AdamState {
            beta1_power: self.in_power_dtype(self.beta1.widen()),
            beta2_power: self.in_power_dtype(self.beta2.widen()),
            m: lens.iter().map(|&n| vec![F::zero(); n]).collect(),
            v: lens.iter().map(|&n| vec![F::zero(); n]).collect(),
        }
    }

    /// One `apply_gradients` call over all tensors, then the beta powers advance once.
    fn update<'a, I>(
        &self,
        state: &mut AdamState<F>,
        params_and_grads: I,
    ) -> Result<(), UpdateError>
    where
        I: IntoIterator<Item = (&'a mut [F], &'a [F])>,
        F: 'a,
    {
        let (lr, eps) = (self.learning_rate, self.epsilon);
        let b1p = F::from_f64_rounded(state.beta1_power);
        let b2p = F::from_f64_rounded(state.beta2_power);
        let alpha = (lr * (F::one() - b2p).sqrt()) / (F::one() - b1p);
        let one_minus_beta1 = F::one() - self.beta1;
        let one_minus_beta2 = F::one() - self.beta2;
        let expected = state.m.len();
        let mut count = 0;
        for (i, (w, g)) in params_and_grads.into_iter().enumerate() {
            let (Some(m), Some(v)) = (state.m.get_mut(i), state.v.get_mut(i)) else {
                return Err(shape::missing("Adam", i, expected));
            };
            shape::slots("Adam", i, w.len(), g.len(), &[m.len(), v.len()])?;
            crate::simd::vectorized(|| {
                for ((w, &g), (m, v)) in
                    w.iter_mut().zip(g.iter()).zip(m.iter_mut().zip(v.iter_mut()))
                {
                    *m = *m + (g - *m) * one_minus_beta1;
                    *v = *v + (g * g - *v) * one_minus_beta2;
                    *w = *w - (*m * alpha) / (v.sqrt() + eps);
                }
            });
            count = i + 1;
        }
        shape::count("Adam", expected, count)?;
        // `_finish`: advance the powers in their own dtype.
        let beta1 = self.in_power_dtype(self.beta1.widen());
        let beta2 = self.in_power_dtype(self.beta2.widen());
        state.beta1_power = self.in_power_dtype(state.beta1_power * beta1);
        state.beta2_power = self.in_power_dtype(state.beta2_power * beta2);
        Ok(())
    }
}

/// The table `{ rule = "adam", learning_rate, beta1, beta2, epsilon }`; omitted fields take TF1's
/// defaults ([`Default`] is exactly TF1's `AdamOptimizer()`). [`crate::LayerAdam`] shares the
/// β/ε defaults and conditions.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AdamConfig {
    /// η, TF1 default 0.001.
    pub learning_rate: f64,
    /// β1, TF1 default 0.9.
    pub beta1: f64,
    /// β2, TF1 default 0.999.
    pub beta2: f64,
    /// ε ("epsilon hat"), TF1 default 1e-8.
    pub epsilon: f64,
}

impl AdamConfig {
    /// TF1's default learning rate.
    pub const DEFAULT_LEARNING_RATE: f64 = 0.001;
    /// TF1's default β1 (also the study's LayerAdam value).
    pub const DEFAULT_BETA1: f64 = 0.9;
    /// TF1's default β2 (also the study's LayerAdam value).
    pub const DEFAULT_BETA2: f64 = 0.999;
    /// TF1's default ε (also the study's LayerAdam value).
    pub const DEFAULT_EPSILON: f64 = 1e-8;

    /// TF1's defaults with the given learning rate.
    pub fn tf1(learning_rate: f64) -> Self {
        Self { learning_rate, ..Self::default() }
    }

    pub(crate) fn default_learning_rate() -> f64 {
        Self::DEFAULT_LEARNING_RATE
    }
    pub(crate) fn default_beta1() -> f64 {
        Self::DEFAULT_BETA1
    }
    pub(crate) fn default_beta2() -> f64 {
        Self::DEFAULT_BETA2
    }
    pub(crate) fn default_epsilon() -> f64 {
        Self::DEFAULT_EPSILON
    }

    /// The one statement of Adam's (and LayerAdam's) conditions: `learning_rate > 0`,
    /// `0 <= β1, β2 < 1`, `ε > 0`.
    pub(crate) fn check(
        rule: &'static str,
        learning_rate: f64,
        beta1: f64,
        beta2: f64,
        epsilon: f64,
    ) -> Result<(), HyperError> {
        check::positive(rule, "learning_rate", learning_rate)?;
        check::unit(rule, "beta1", beta1)?;
        check::unit(rule, "beta2", beta2)?;
        check::positive(rule, "epsilon", epsilon)
    }

    /// Validates the values as written, then builds the rule: all four cast per `precision`;
    /// the beta powers are `f32` variables for Python floats (and for `F = f32`), `F`'s dtype
    /// for [`HyperPrecision::Exact`].
    ///
    /// # Errors
    /// [`HyperError`] naming the first invalid field.
    pub fn build<F: Float>(&self, precision: HyperPrecision) -> Result<Adam<F>, HyperError> {
        Self::check("Adam", self.learning_rate, self.beta1, self.beta2, self.epsilon)?;
        let powers = match precision {
            HyperPrecision::PythonFloat => PowerDtype::F32,
            HyperPrecision::Exact if F::DTYPE == "float32" => PowerDtype::F32,
            HyperPrecision::Exact => PowerDtype::F64,
        };
        Adam::new(
            precision.cast(self.learning_rate),
            precision.cast(self.beta1),
            precision.cast(self.beta2),
            precision.cast(self.epsilon),
            powers,
        )
    }
}

impl Default for AdamConfig {
    fn default() -> Self {
        Self {
            learning_rate: Self::DEFAULT_LEARNING_RATE,
            beta1: Self::DEFAULT_BETA1,
            beta2: Self::DEFAULT_BETA2,
            epsilon: Self::DEFAULT_EPSILON,
        }
    }
}
