//! TF1 `ProximalAdagradOptimizer`.

use serde::{Deserialize, Serialize};

use crate::float::HyperPrecision;

use crate::error::{check, shape};
use crate::rule::{num, Hyperparameters, UpdateRule};
use crate::{Float, HyperError, UpdateError};

/// TF1 `ProximalAdagradOptimizer(learning_rate, initial_accumulator_value=0.1,
/// l1_regularization_strength=0.0, l2_regularization_strength=0.0)` (kernel
/// `ApplyProximalAdagrad`).
///
/// Slot `A = accumulator = iav`. Kernel order:
/// 1. `A ← A + g²`
/// 2. `η̃ = η·rsqrt(A)` (per element, new `A`)
/// 3. `v = w − g·η̃`
/// 4. if `l1 > 0`: `w ← (sign(v) · max(|v| − η̃·l1, 0)) / (1 + l2·η̃)`
/// 5. else: `w ← v / (1 + l2·η̃)`
///
/// With `l1 = l2 = 0` this is Adagrad in exact arithmetic but rounds differently
/// (`g·(η·rsqrt A)` rather than `(g·η)·rsqrt A`). TF never casts these hyperparameters (they must
/// already have the variable's dtype), so they are never `f32`-rounded for `f64` variables.
/// `rsqrt` in `f32` is TF's approximate one; see the crate docs for the bound.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ProximalAdagrad<F> {
    learning_rate: F,
    initial_accumulator_value: F,
    l1: F,
    l2: F,
}

/// ProximalAdagrad's slot, one vector per tensor.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProximalAdagradState<F> {
    /// `accumulator`: running sum of g², starting at `iav`.
    pub accumulator: Vec<Vec<F>>,
}

impl<F: Float> ProximalAdagrad<F> {
    /// Builds the rule: `learning_rate > 0`, `initial_accumulator_value > 0` (TF raises
    /// otherwise), `l1, l2 >= 0`.
    pub fn new(
        learning_rate: F,
        initial_accumulator_value: F,
        l1: F,
        l2: F,
    ) -> Result<Self, HyperError> {
        ProximalAdagradConfig::check(
            learning_rate.widen(),
            initial_accumulator_value.widen(),
            l1.widen(),
            l2.widen(),
        )?;
        Ok(Self { learning_rate, initial_accumulator_value, l1, l2 })
    }

    /// TF1 `ProximalAdagradOptimizer(learning_rate)`: iav 0.1, l1 = l2 = 0, all exact in `F`
    /// (TF never casts this rule's hyperparameters; [`ProximalAdagradConfig::tf1`]).
    ///
    /// # Errors
    /// [`HyperError`] for an invalid learning rate.
    pub fn tf1(learning_rate: f64) -> Result<Self, HyperError> {
        ProximalAdagradConfig::tf1(learning_rate).build()
    }

    /// `(learning_rate, initial_accumulator_value, l1, l2)` as the kernel sees them.
    pub fn hyperparameters(&self) -> (F, F, F, F) {
        (self.learning_rate, self.initial_accumulator_value, self.l1, self.l2)
    }
}

impl<F: Float> UpdateRule<F> for ProximalAdagrad<F> {
    type State = ProximalAdagradState<F>;

    fn name(&self) -> &'static str {
        "ProximalAdagrad"
    }

    fn hyperparameter_table(&self) -> Hyperparameters {
        vec![
            num("learning_rate", self.learning_rate),
            num("initial_accumulator_value", self.initial_accumulator_value),
            num("l1_regularization_strength", self.l1),
            num("l2_regularization_strength", self.l2),
        ]
    }

    /// Creates the accumulators, filled with `iav`.
    fn init(&self, lens: &[usize]) -> ProximalAdagradState<F> {
        ProximalAdagradState {
            accumulator: lens.iter().map(|&n| vec![self.initial_accumulator_value; n]).collect(),
        }
    }

    /// One `apply_gradients` call over all tensors. Gradients are only read.
    fn update<'a, I>(
        &self,
        state: &mut ProximalAdagradState<F>,
        params_and_grads: I,
    ) -> Result<(), UpdateError>
    where
        I: IntoIterator<Item = (&'a mut [F], &'a [F])>,
        F: 'a,
    {
        let (lr, l1, l2) = (self.learning_rate, self.l1, self.l2);
        let expected = state.accumulator.len();
        let mut count = 0;
        for (i, (w, g)) in params_and_grads.into_iter().enumerate() {
            let Some(acc) = state.accumulator.get_mut(i) else {
                return Err(shape::missing("ProximalAdagrad", i, expected));
            };
            shape::slots("ProximalAdagrad", i, w.len(), g.len(), &[acc.len()])?;
            let zipped = w.iter_mut().zip(g.iter()).zip(acc.iter_mut());
            if l1 > F::zero() {
                crate::simd::vectorized(|| {
                    for ((w, &g), a) in zipped {
                        *a = *a + g * g;
                        let lr_t = lr * a.rsqrt();
                        let v = *w - g * lr_t;
                        *w = (v.tf_sign() * (v.abs() - lr_t * l1).tf_max(F::zero()))
                            / (F::one() + l2 * lr_t);
                    }
                });
            } else {
                crate::simd::vectorized(|| {
                    for ((w, &g), a) in zipped {
                        *a = *a + g * g;
                        let lr_t = lr * a.rsqrt();
                        *w = (*w - g * lr_t) / (F::one() + l2 * lr_t);
                    }
                });
            }
            count = i + 1;
        }
        shape::count("ProximalAdagrad", expected, count)
    }
}

/// The table `{ rule = "proximal_adagrad", learning_rate, initial_accumulator_value,
/// l1_regularization_strength, l2_regularization_strength }`; the learning rate is required, the
/// rest default to TF1's values.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProximalAdagradConfig {
    /// η (required).
    pub learning_rate: f64,
    /// TF1 default 0.1 (> 0).
    #[serde(default = "ProximalAdagradConfig::default_initial_accumulator_value")]
    pub initial_accumulator_value: f64,
    /// Default 0.
    #[serde(default)]
    pub l1_regularization_strength: f64,
    /// Default 0.
    #[serde(default)]
    pub l2_regularization_strength: f64,
}

impl ProximalAdagradConfig {
    /// TF1's default initial accumulator value.
    pub const DEFAULT_INITIAL_ACCUMULATOR_VALUE: f64 = 0.1;

    pub(crate) fn default_initial_accumulator_value() -> f64 {
        Self::DEFAULT_INITIAL_ACCUMULATOR_VALUE
    }

    /// TF1's defaults with the given learning rate.
    pub fn tf1(learning_rate: f64) -> Self {
        Self {
            learning_rate,
            initial_accumulator_value: Self::DEFAULT_INITIAL_ACCUMULATOR_VALUE,
            l1_regularization_strength: 0.0,
            l2_regularization_strength: 0.0,
        }
    }

    /// The one statement of the rule's conditions: `learning_rate > 0`,
    /// `initial_accumulator_value > 0` (TF raises otherwise), `l1, l2 >= 0`.
    pub(crate) fn check(lr: f64, iav: f64, l1: f64, l2: f64) -> Result<(), HyperError> {
        const R: &str = "ProximalAdagrad";
        check::positive(R, "learning_rate", lr)?;
        check::positive(R, "initial_accumulator_value", iav)?;
        check::non_negative(R, "l1_regularization_strength", l1)?;
        check::non_negative(R, "l2_regularization_strength", l2)
    }

    /// Validates the values as written, then builds the rule with every value exact in `F` in
    /// both precision modes (TF never casts them).
    ///
    /// # Errors
    /// [`HyperError`] naming the first invalid field.
    pub fn build<F: Float>(&self) -> Result<ProximalAdagrad<F>, HyperError> {
        let (lr, iav) = (self.learning_rate, self.initial_accumulator_value);
        let (l1, l2) = (self.l1_regularization_strength, self.l2_regularization_strength);
        Self::check(lr, iav, l1, l2)?;
        ProximalAdagrad::new(
            HyperPrecision::exact(lr),
            HyperPrecision::exact(iav),
            HyperPrecision::exact(l1),
            HyperPrecision::exact(l2),
        )
    }
}
