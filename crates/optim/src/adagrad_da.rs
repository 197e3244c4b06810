//! TF1 `AdagradDAOptimizer` (Adagrad dual averaging).

use serde::{Deserialize, Serialize};

use crate::float::HyperPrecision;

use crate::error::{check, shape};
use crate::rule::{num, HyperValue, Hyperparameters, UpdateRule};
use crate::{Float, HyperError, UpdateError};

/// TF1 `AdagradDAOptimizer(learning_rate, global_step,
/// initial_gradient_squared_accumulator_value=0.1, l1_regularization_strength=0.0,
/// l2_regularization_strength=0.0)` (kernel `ApplyAdagradDA`).
///
/// Slots `z = gradient_accumulator = 0`, `n = gradient_squared_accumulator = iv`. With
/// `T = global_step + 1` (read before the call), kernel order:
/// 1. `z ← z + g`
/// 2. `n ← n + g²`
/// 3. `D = l2·(T·η) + √n`
/// 4. if `l1 > 0`: `w ← (((η·(−1))·sign(z)) · max(|z| − T·l1, 0)) / D`
/// 5. else: `w ← ((η·z)·(−1)) / D`
///
/// The update is closed form: the old `w` is never read, so the initial values are discarded at
/// step 1. `T` goes through `f32` (exact below 2^24 steps).
///
/// **T is fixed at 1 in the study.** TF1's optimizer never increments `global_step` itself;
/// the study never passed it to `apply_gradients`, so `T = 1` forever (case 10). Set
/// `advance_global_step` to increment it once per `update` call, after all tensors, as
/// `apply_gradients(..., global_step=gs)` does.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdagradDa<F> {
    learning_rate: F,
    initial_value: F,
    l1: F,
    l2: F,
    advance_global_step: bool,
}

/// AdagradDA's state: the global step and two slots per tensor.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AdagradDaState<F> {
    /// TF's `global_step` (the kernel uses `T = global_step + 1`).
    pub global_step: u64,
    /// `gradient_accumulator` z: running sum of g.
    pub gradient_accumulator: Vec<Vec<F>>,
    /// `gradient_squared_accumulator` n: running sum of g², starting at `iv`.
    pub gradient_squared_accumulator: Vec<Vec<F>>,
}

impl<F: Float> AdagradDa<F> {
    /// Builds the rule: `learning_rate > 0`, initial value `> 0` (TF raises otherwise),
    /// `l1, l2 >= 0`.
    pub fn new(
        learning_rate: F,
        initial_value: F,
        l1: F,
        l2: F,
        advance_global_step: bool,
    ) -> Result<Self, HyperError> {
        AdagradDaConfig::check(
            learning_rate.widen(),
            initial_value.widen(),
            l1.widen(),
            l2.widen(),
        )?;
        Ok(Self { learning_rate, initial_value, l1, l2, advance_global_step })
    }

    /// TF1 `AdagradDAOptimizer(learning_rate, global_step)` with a Python float, as the study
    /// used it (T stays 1): η `f32`-rounded, iv 0.1 exact in `F`, l1 = l2 = 0
    /// ([`AdagradDaConfig::tf1`] built with [`HyperPrecision::PythonFloat`]).
    ///
    /// # Errors
    /// [`HyperError`] for an invalid learning rate.
    pub fn tf1(learning_rate: f64) -> Result<Self, HyperError> {
        AdagradDaConfig::tf1(learning_rate).build(HyperPrecision::PythonFloat)
    }

    /// `(learning_rate, initial_value, l1, l2)` as the kernel sees them.
    pub fn hyperparameters(&self) -> (F, F, F, F) {
        (self.learning_rate, self.initial_value, self.l1, self.l2)
    }

    /// Whether `update` increments the global step.
    pub fn advances_global_step(&self) -> bool {
        self.advance_global_step
    }
}

impl<F: Float> UpdateRule<F> for AdagradDa<F> {
    type State = AdagradDaState<F>;

    fn name(&self) -> &'static str {
        "AdagradDA"
    }

    fn hyperparameter_table(&self) -> Hyperparameters {
        vec![
            num("learning_rate", self.learning_rate),
            num("initial_gradient_squared_accumulator_value", self.initial_value),
            num("l1_regularization_strength", self.l1),
            num("l2_regularization_strength", self.l2),
            ("advance_global_step", HyperValue::Bool(self.advance_global_step)),
        ]
    }

    /// Creates the slots (z = 0, n = iv) with `global_step = 0`.
    fn init(&self, lens: &[usize]) -> AdagradDaState<F> {
        AdagradDaState {
            global_step: 0,
            gradient_accumulator: lens.iter().map(|&n| vec![F::zero(); n]).collect(),
            gradient_squared_accumulator: lens
                .iter()
                .map(|&n| vec![self.initial_value; n])
                .collect(),
        }
    }

    /// One `apply_gradients` call over all tensors. Gradients are only read.
    fn update<'a, I>(
        &self,
        state: &mut AdagradDaState<F>,
        params_and_grads: I,
    ) -> Result<(), UpdateError>
    where
        I: IntoIterator<Item = (&'a mut [F], &'a [F])>,
        F: 'a,
    {
        const R: &str = "AdagradDA";
        let (lr, l1, l2) = (self.learning_rate, self.l1, self.l2);
        // TF converts `global_step + 1` with `static_cast<float>` before the kernel's dtype.
        let t = F::from_f64_rounded(f64::from((state.global_step + 1) as f32));
        let l2_t_lr = l2 * (t * lr);
        let t_l1 = t * l1;
        let neg_lr = lr * -F::one();
        let expected = state.gradient_accumulator.len();
        let mut count = 0;
        for (i, (w, g)) in params_and_grads.into_iter().enumerate() {
            let (Some(z), Some(n)) = (
                state.gradient_accumulator.get_mut(i),
                state.gradient_squared_accumulator.get_mut(i),
            ) else {
                return Err(shape::missing(R, i, expected));
            };
            shape::slots(R, i, w.len(), g.len(), &[z.len(), n.len()])?;
            let zipped = w.iter_mut().zip(g.iter()).zip(z.iter_mut().zip(n.iter_mut()));
            if l1 > F::zero() {
                crate::simd::vectorized(|| {
                    for ((w, &g), (z, n)) in zipped {
                        *z = *z + g;
                        *n = *n + g * g;
                        let d = l2_t_lr + n.sqrt();
                        *w = (neg_lr * z.tf_sign() * (z.abs() - t_l1).tf_max(F::zero())) / d;
                    }
                });
            } else {
                crate::simd::vectorized(|| {
                    for ((w, &g), (z, n)) in zipped {
                        *z = *z + g;
                        *n = *n + g * g;
                        let d = l2_t_lr + n.sqrt();
                        *w = (lr * *z * -F::one()) / d;
                    }
                });
            }
            count = i + 1;
        }
        shape::count(R, expected, count)?;
        if self.advance_global_step {
            state.global_step += 1;
        }
        Ok(())
    }
}

/// The table `{ rule = "adagrad_da", learning_rate, initial_gradient_squared_accumulator_value,
/// l1_regularization_strength, l2_regularization_strength, advance_global_step }`; the learning
/// rate is required, the rest default to TF1's values (and `advance_global_step` to the study's
/// `false`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdagradDaConfig {
    /// η (required).
    pub learning_rate: f64,
    /// Initial squared accumulator, TF1 default 0.1 (> 0).
    #[serde(default = "AdagradDaConfig::default_initial_value")]
    pub initial_gradient_squared_accumulator_value: f64,
    /// l1, default 0.
    #[serde(default)]
    pub l1_regularization_strength: f64,
    /// l2, default 0.
    #[serde(default)]
    pub l2_regularization_strength: f64,
    /// Increment the global step after each update; default false (the study: T = 1 forever).
    #[serde(default)]
    pub advance_global_step: bool,
}

impl AdagradDaConfig {
    /// TF1's default initial squared accumulator value.
    pub const DEFAULT_INITIAL_VALUE: f64 = 0.1;

    pub(crate) fn default_initial_value() -> f64 {
        Self::DEFAULT_INITIAL_VALUE
    }

    /// TF1's defaults with the given learning rate (no regularisation, T fixed at 1).
    pub fn tf1(learning_rate: f64) -> Self {
        Self {
            learning_rate,
            initial_gradient_squared_accumulator_value: Self::DEFAULT_INITIAL_VALUE,
            l1_regularization_strength: 0.0,
            l2_regularization_strength: 0.0,
            advance_global_step: false,
        }
    }

    /// The one statement of the rule's conditions: `learning_rate > 0`, initial value `> 0`
    /// (TF raises otherwise), `l1, l2 >= 0`.
    pub(crate) fn check(lr: f64, iv: f64, l1: f64, l2: f64) -> Result<(), HyperError> {
        const R: &str = "AdagradDA";
        check::positive(R, "learning_rate", lr)?;
        check::positive(R, "initial_gradient_squared_accumulator_value", iv)?;
        check::non_negative(R, "l1_regularization_strength", l1)?;
        check::non_negative(R, "l2_regularization_strength", l2)
    }

    /// Validates the values as written, then builds the rule (η, l1, l2 cast per `precision`;
    /// the initial value exact in `F`).
    ///
    /// # Errors
    /// [`HyperError`] naming the first invalid field.
    pub fn build<F: Float>(&self, precision: HyperPrecision) -> Result<AdagradDa<F>, HyperError> {
        let (lr, iv) = (self.learning_rate, self.initial_gradient_squared_accumulator_value);
        let (l1, l2) = (self.l1_regularization_strength, self.l2_regularization_strength);
        Self::check(lr, iv, l1, l2)?;
        AdagradDa::new(
            precision.cast(lr),
            HyperPrecision::exact(iv),
            precision.cast(l1),
            precision.cast(l2),
            self.advance_global_step,
        )
    }
}
