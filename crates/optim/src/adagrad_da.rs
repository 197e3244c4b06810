//! TF1 `AdagradDAOptimizer` (Adagrad dual averaging).

use serde::{Deserialize, Serialize};

use crate::error::{check, shape};
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
        const R: &str = "AdagradDA";
        check::positive(R, "learning_rate", learning_rate.widen())?;
        check::positive(R, "initial_gradient_squared_accumulator_value", initial_value.widen())?;
        check::non_negative(R, "l1_regularization_strength", l1.widen())?;
        check::non_negative(R, "l2_regularization_strength", l2.widen())?;
        Ok(Self { learning_rate, initial_value, l1, l2, advance_global_step })
    }

    /// TF1 defaults (iv 0.1, l1 = l2 = 0) as the study used them: T stays 1.
    pub fn tf1(learning_rate: F) -> Result<Self, HyperError> {
        Self::new(learning_rate, F::from_f64_rounded(0.1), F::zero(), F::zero(), false)
    }

    /// `(learning_rate, initial_value, l1, l2)` as the kernel sees them.
    pub fn hyperparameters(&self) -> (F, F, F, F) {
        (self.learning_rate, self.initial_value, self.l1, self.l2)
    }

    /// Whether `update` increments the global step.
    pub fn advances_global_step(&self) -> bool {
        self.advance_global_step
    }

    /// Creates the slots (z = 0, n = iv) with `global_step = 0`.
    pub fn init(&self, lens: &[usize]) -> AdagradDaState<F> {
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
    pub fn update<'a, I>(
        &self,
        state: &mut AdagradDaState<F>,
        params_and_grads: I,
    ) -> Result<(), UpdateError>
    where
        I: IntoIterator<Item = (&'a mut [F], &'a mut [F])>,
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
                for ((w, &g), (z, n)) in zipped {
                    *z = *z + g;
                    *n = *n + g * g;
                    let d = l2_t_lr + n.sqrt();
                    *w = (neg_lr * z.tf_sign() * (z.abs() - t_l1).tf_max(F::zero())) / d;
                }
            } else {
                for ((w, &g), (z, n)) in zipped {
                    *z = *z + g;
                    *n = *n + g * g;
                    let d = l2_t_lr + n.sqrt();
                    *w = (lr * *z * -F::one()) / d;
                }
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
