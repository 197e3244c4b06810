//! The study's hand-made per-layer Adam (cases 1, 3–6).

use serde::{Deserialize, Serialize};

use crate::adam::AdamConfig;
use crate::float::HyperPrecision;

use crate::error::shape;
use crate::rule::{num, HyperValue, Hyperparameters, UpdateRule};
use crate::{Float, HyperError, UpdateError};

/// Which bias correction [`LayerAdam`] applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BiasCorrection {
    /// The study's code: `m̂ = m/(1−β1)`, `v̂ = v/(1−β2)`, the same at every step.
    Constant,
    /// Adam's paper: `m̂ = m/(1−β1^t)`, `v̂ = v/(1−β2^t)` with t the 1-based step.
    True,
}

/// The study's per-layer Adam: every tensor keeps its own `m`, `v` (zeros):
///
/// 1. `m ← β1·m + (1−β1)·G`
/// 2. `v ← β2·v + (1−β2)·G²`
/// 3. `m̂ = m/c1`, `v̂ = v/c2`
/// 4. `W ← W − η·(m̂/(√v̂ + ε))`
///
/// with `c1 = 1−β1`, `c2 = 1−β2` (**constant bias correction, as the study coded it**; the
/// default) or `c1 = 1−β1^t`, `c2 = 1−β2^t` ([`BiasCorrection::True`]). The study's values are
/// β1 0.9, β2 0.999, ε 1e-8. No TF parity is promised: this is the study's NumPy-style formula,
/// written in its textual order.
///
/// Difference from the paper: with the constant correction step 1 equals Adam's
/// (`m̂ = G`, `v̂ = G²`), but the correction never fades: once `m ≈ G`, `v ≈ G²` the step is
/// `η·(G/(1−β1))/√(G²/(1−β2)) = η·√(1−β2)/(1−β1) ≈ 0.316·η` per unit-sign gradient instead of η.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LayerAdam<F> {
    learning_rate: F,
    beta1: F,
    beta2: F,
    epsilon: F,
    bias_correction: BiasCorrection,
}

/// LayerAdam's state: the step count (for the true correction) and two slots per tensor.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LayerAdamState<F> {
    /// Completed steps (the next step is `step + 1`).
    pub step: u64,
    /// `β1^step`, advanced by multiplication in `F` once per step.
    pub beta1_power: F,
    /// `β2^step`, advanced like `beta1_power`.
    pub beta2_power: F,
    /// First moment `m` per tensor.
    pub m: Vec<Vec<F>>,
    /// Second moment `v` per tensor.
    pub v: Vec<Vec<F>>,
}

impl<F: Float> LayerAdam<F> {
    /// Builds the rule: `learning_rate > 0`, `0 <= β1, β2 < 1`, `ε > 0`.
    pub fn new(
        learning_rate: F,
        beta1: F,
        beta2: F,
        epsilon: F,
        bias_correction: BiasCorrection,
    ) -> Result<Self, HyperError> {
        AdamConfig::check(
            "LayerAdam",
            learning_rate.widen(),
            beta1.widen(),
            beta2.widen(),
            epsilon.widen(),
        )?;
        Ok(Self { learning_rate, beta1, beta2, epsilon, bias_correction })
    }

    /// The study's values (β1 0.9, β2 0.999, ε 1e-8, constant correction), each rounded once
    /// to `F` ([`LayerAdamConfig::study`]).
    ///
    /// # Errors
    /// [`HyperError`] for an invalid learning rate.
    pub fn study(learning_rate: f64) -> Result<Self, HyperError> {
        LayerAdamConfig::study(learning_rate).build()
    }

    /// `(learning_rate, beta1, beta2, epsilon, bias_correction)`.
    pub fn hyperparameters(&self) -> (F, F, F, F, BiasCorrection) {
        (self.learning_rate, self.beta1, self.beta2, self.epsilon, self.bias_correction)
    }
}

impl<F: Float> UpdateRule<F> for LayerAdam<F> {
    type State = LayerAdamState<F>;

    fn name(&self) -> &'static str {
        "LayerAdam"
    }

    fn hyperparameter_table(&self) -> Hyperparameters {
        vec![
            num("learning_rate", self.learning_rate),
            num("beta1", self.beta1),
            num("beta2", self.beta2),
            num("epsilon", self.epsilon),
            (
                "bias_correction",
                HyperValue::Text(match self.bias_correction {
                    BiasCorrection::Constant => "constant",
                    BiasCorrection::True => "true",
                }),
            ),
        ]
    }

    /// Creates zeroed moments at step 0.
    fn init(&self, lens: &[usize]) -> LayerAdamState<F> {
        LayerAdamState {
            step: 0,
            beta1_power: F::one(),
            beta2_power: F::one(),
            m: lens.iter().map(|&n| vec![F::zero(); n]).collect(),
            v: lens.iter().map(|&n| vec![F::zero(); n]).collect(),
        }
    }

    /// One step over all tensors; the step count advances once. Gradients are only read.
    fn update<'a, I>(
        &self,
        state: &mut LayerAdamState<F>,
        params_and_grads: I,
    ) -> Result<(), UpdateError>
    where
        I: IntoIterator<Item = (&'a mut [F], &'a [F])>,
        F: 'a,
    {
        let (lr, b1, b2, eps) = (self.learning_rate, self.beta1, self.beta2, self.epsilon);
        let (one_minus_b1, one_minus_b2) = (F::one() - b1, F::one() - b2);
        let b1p = state.beta1_power * b1;
        let b2p = state.beta2_power * b2;
        let (c1, c2) = match self.bias_correction {
            BiasCorrection::Constant => (one_minus_b1, one_minus_b2),
            BiasCorrection::True => (F::one() - b1p, F::one() - b2p),
        };
        let expected = state.m.len();
        let mut count = 0;
        for (i, (w, g)) in params_and_grads.into_iter().enumerate() {
            let (Some(m), Some(v)) = (state.m.get_mut(i), state.v.get_mut(i)) else {
                return Err(shape::missing("LayerAdam", i, expected));
            };
            shape::slots("LayerAdam", i, w.len(), g.len(), &[m.len(), v.len()])?;
            crate::simd::vectorized(|| {
                for ((w, &g), (m, v)) in
                    w.iter_mut().zip(g.iter()).zip(m.iter_mut().zip(v.iter_mut()))
                {
                    *m = b1 * *m + one_minus_b1 * g;
                    *v = b2 * *v + one_minus_b2 * (g * g);
                    let m_hat = *m / c1;
                    let v_hat = *v / c2;
                    *w = *w - lr * (m_hat / (v_hat.sqrt() + eps));
                }
            });
            count = i + 1;
        }
        shape::count("LayerAdam", expected, count)?;
        state.step += 1;
        state.beta1_power = b1p;
        state.beta2_power = b2p;
        Ok(())
    }
}

/// The table `{ rule = "layer_adam", learning_rate, beta1, beta2, epsilon, bias_correction }`;
/// the learning rate is required, β/ε default to Adam's ([`AdamConfig`]'s constants, which are
/// also the study's), `bias_correction` to the study's `"constant"`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LayerAdamConfig {
    /// η (required).
    pub learning_rate: f64,
    /// β1, default 0.9.
    #[serde(default = "AdamConfig::default_beta1")]
    pub beta1: f64,
    /// β2, default 0.999.
    #[serde(default = "AdamConfig::default_beta2")]
    pub beta2: f64,
    /// ε, default 1e-8.
    #[serde(default = "AdamConfig::default_epsilon")]
    pub epsilon: f64,
    /// `"constant"` (the study, default) or `"true"`.
    #[serde(default = "LayerAdamConfig::default_bias_correction")]
    pub bias_correction: BiasCorrection,
}

impl LayerAdamConfig {
    /// The study's bias correction.
    pub const DEFAULT_BIAS_CORRECTION: BiasCorrection = BiasCorrection::Constant;

    pub(crate) fn default_bias_correction() -> BiasCorrection {
        Self::DEFAULT_BIAS_CORRECTION
    }

    /// The study's values with the given learning rate.
    pub fn study(learning_rate: f64) -> Self {
        Self {
            learning_rate,
            beta1: AdamConfig::DEFAULT_BETA1,
            beta2: AdamConfig::DEFAULT_BETA2,
            epsilon: AdamConfig::DEFAULT_EPSILON,
            bias_correction: Self::DEFAULT_BIAS_CORRECTION,
        }
    }

    /// Validates the values as written, then builds the rule with every value rounded once to
    /// `F` (not a TF kernel: no Python-float rounding).
    ///
    /// # Errors
    /// [`HyperError`] naming the first invalid field.
    pub fn build<F: Float>(&self) -> Result<LayerAdam<F>, HyperError> {
        AdamConfig::check("LayerAdam", self.learning_rate, self.beta1, self.beta2, self.epsilon)?;
        LayerAdam::new(
            HyperPrecision::exact(self.learning_rate),
            HyperPrecision::exact(self.beta1),
            HyperPrecision::exact(self.beta2),
            HyperPrecision::exact(self.epsilon),
            self.bias_correction,
        )
    }
}
