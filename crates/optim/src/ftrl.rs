//! TF1 `FtrlOptimizer` (FTRL-Proximal), with l2 shrinkage and any `learning_rate_power`.

use serde::{Deserialize, Serialize};

use crate::float::HyperPrecision;

use crate::error::{check, shape};
use crate::rule::{num, Hyperparameters, UpdateRule};
use crate::{Float, HyperError, UpdateError};

/// TF1 `FtrlOptimizer(learning_rate, learning_rate_power=-0.5, initial_accumulator_value=0.1,
/// l1_regularization_strength=0.0, l2_regularization_strength=0.0,
/// l2_shrinkage_regularization_strength=0.0)` (kernels `ApplyFtrl` / `ApplyFtrlV2`).
///
/// Slots `n = accum = iav`, `z = linear = 0`; `p = −lr_power`, `λ1 = l1`, `λ2 = l2`,
/// `s = l2_shrinkage`. Kernel order:
/// 1. `ĝ = g`, or with `s > 0` (V2) `ĝ = g + (2·s)·w` with the old `w`
/// 2. `n' = n + g²` (the plain `g`, also in V2)
/// 3. `z ← z + (ĝ − ((n'^p − n^p)/η)·w)`
/// 4. `w ← (λ1·sign(z) − z) / (n'^p/η + 2λ2)` if `|z| > λ1`, else `w ← 0`
/// 5. `n ← n'`
///
/// `x^p` is `√x` when `lr_power == −0.5` exactly, otherwise `powf` (TF uses Eigen's vectorised
/// pow, so those results agree only to ~1e-13 relative in `f64`, a few ulp in `f32`).
///
/// Differences from the paper (McMahan et al. 2013): the per-coordinate rate is
/// `η/n^p` with a general power and an initial accumulator; the TF2-era `beta` term is absent
/// (classic TF1); V2's shrinkage enters the gradient but not the accumulator (the fix of
/// tensorflow#18317).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Ftrl<F> {
    learning_rate: F,
    learning_rate_power: F,
    initial_accumulator_value: F,
    l1: F,
    l2: F,
    l2_shrinkage: F,
}

/// Ftrl's slots, one vector per tensor.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FtrlState<F> {
    /// `accum` n: running sum of g², starting at `iav`.
    pub accum: Vec<Vec<F>>,
    /// `linear` z.
    pub linear: Vec<Vec<F>>,
}

impl<F: Float> Ftrl<F> {
    /// Builds the rule with TF's checks: `learning_rate > 0`, `learning_rate_power <= 0`,
    /// `initial_accumulator_value >= 0` (zero is allowed), `l1, l2, l2_shrinkage >= 0`.
    pub fn new(
        learning_rate: F,
        learning_rate_power: F,
        initial_accumulator_value: F,
        l1: F,
        l2: F,
        l2_shrinkage: F,
    ) -> Result<Self, HyperError> {
        FtrlConfig::check([
            learning_rate.widen(),
            learning_rate_power.widen(),
            initial_accumulator_value.widen(),
            l1.widen(),
            l2.widen(),
            l2_shrinkage.widen(),
        ])?;
        Ok(Self {
            learning_rate,
            learning_rate_power,
            initial_accumulator_value,
            l1,
            l2,
            l2_shrinkage,
        })
    }

    /// TF1 `FtrlOptimizer(learning_rate)` with a Python float: lr_power −0.5, iav 0.1 (exact
    /// in `F`), no regularisation, η `f32`-rounded ([`FtrlConfig::tf1`] built with
    /// [`HyperPrecision::PythonFloat`]).
    ///
    /// # Errors
    /// [`HyperError`] for an invalid learning rate.
    pub fn tf1(learning_rate: f64) -> Result<Self, HyperError> {
        FtrlConfig::tf1(learning_rate).build(HyperPrecision::PythonFloat)
    }

    /// `(learning_rate, learning_rate_power, initial_accumulator_value, l1, l2, l2_shrinkage)`
    /// as the kernel sees them.
    pub fn hyperparameters(&self) -> (F, F, F, F, F, F) {
        (
            self.learning_rate,
            self.learning_rate_power,
            self.initial_accumulator_value,
            self.l1,
            self.l2,
            self.l2_shrinkage,
        )
    }

    #[inline(always)]
    fn kernel<const SQRT: bool, const SHRINK: bool>(
        &self,
        w: &mut [F],
        g: &[F],
        n: &mut [F],
        z: &mut [F],
    ) {
        let lr = self.learning_rate;
        let p = -self.learning_rate_power;
        let l1 = self.l1;
        let two_l2 = F::from_f64_rounded(2.0) * self.l2;
        let two_s = F::from_f64_rounded(2.0) * self.l2_shrinkage;
        let pow = |x: F| if SQRT { x.sqrt() } else { x.powf(p) };
        crate::simd::vectorized(|| {
            for ((w, &g), (n, z)) in w.iter_mut().zip(g.iter()).zip(n.iter_mut().zip(z.iter_mut()))
            {
                let g_hat = if SHRINK { g + two_s * *w } else { g };
                let n_new = *n + g * g;
                *z = *z + (g_hat - ((pow(n_new) - pow(*n)) / lr) * *w);
                let quadratic = pow(n_new) / lr + two_l2;
                *w = if z.abs() > l1 { (l1 * z.tf_sign() - *z) / quadratic } else { F::zero() };
                *n = n_new;
            }
        });
    }
}

impl<F: Float> UpdateRule<F> for Ftrl<F> {
    type State = FtrlState<F>;

    fn name(&self) -> &'static str {
        "Ftrl"
    }

    fn hyperparameter_table(&self) -> Hyperparameters {
        vec![
            num("learning_rate", self.learning_rate),
            num("learning_rate_power", self.learning_rate_power),
            num("initial_accumulator_value", self.initial_accumulator_value),
            num("l1_regularization_strength", self.l1),
            num("l2_regularization_strength", self.l2),
            num("l2_shrinkage_regularization_strength", self.l2_shrinkage),
        ]
    }

    /// Creates the slots (n = iav, z = 0).
    fn init(&self, lens: &[usize]) -> FtrlState<F> {
        FtrlState {
            accum: lens.iter().map(|&n| vec![self.initial_accumulator_value; n]).collect(),
            linear: lens.iter().map(|&n| vec![F::zero(); n]).collect(),
        }
    }

    /// One `apply_gradients` call over all tensors. Gradients are only read.
    fn update<'a, I>(
        &self,
        state: &mut FtrlState<F>,
        params_and_grads: I,
    ) -> Result<(), UpdateError>
    where
        I: IntoIterator<Item = (&'a mut [F], &'a [F])>,
        F: 'a,
    {
        let expected = state.accum.len();
        let sqrt_power = self.learning_rate_power == F::from_f64_rounded(-0.5);
        let shrinkage = self.l2_shrinkage > F::zero();
        let mut count = 0;
        for (i, (w, g)) in params_and_grads.into_iter().enumerate() {
            let (Some(n), Some(z)) = (state.accum.get_mut(i), state.linear.get_mut(i)) else {
                return Err(shape::missing("Ftrl", i, expected));
            };
            shape::slots("Ftrl", i, w.len(), g.len(), &[n.len(), z.len()])?;
            // Four monomorphised loops so the branch tests stay out of the element loop.
            match (sqrt_power, shrinkage) {
                (true, false) => self.kernel::<true, false>(w, g, n, z),
                (true, true) => self.kernel::<true, true>(w, g, n, z),
                (false, false) => self.kernel::<false, false>(w, g, n, z),
                (false, true) => self.kernel::<false, true>(w, g, n, z),
            }
            count = i + 1;
        }
        shape::count("Ftrl", expected, count)
    }
}

/// The table `{ rule = "ftrl", learning_rate, learning_rate_power, initial_accumulator_value,
/// l1_regularization_strength, l2_regularization_strength,
/// l2_shrinkage_regularization_strength }`; the learning rate is required, the rest default to
/// TF1's values.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FtrlConfig {
    /// η (required).
    pub learning_rate: f64,
    /// TF1 default −0.5 (≤ 0).
    #[serde(default = "FtrlConfig::default_learning_rate_power")]
    pub learning_rate_power: f64,
    /// TF1 default 0.1 (≥ 0).
    #[serde(default = "FtrlConfig::default_initial_accumulator_value")]
    pub initial_accumulator_value: f64,
    /// Default 0.
    #[serde(default)]
    pub l1_regularization_strength: f64,
    /// Default 0.
    #[serde(default)]
    pub l2_regularization_strength: f64,
    /// Default 0; > 0 selects `ApplyFtrlV2`.
    #[serde(default)]
    pub l2_shrinkage_regularization_strength: f64,
}

impl FtrlConfig {
    /// TF1's default learning-rate power.
    pub const DEFAULT_LEARNING_RATE_POWER: f64 = -0.5;
    /// TF1's default initial accumulator value.
    pub const DEFAULT_INITIAL_ACCUMULATOR_VALUE: f64 = 0.1;

    pub(crate) fn default_learning_rate_power() -> f64 {
        Self::DEFAULT_LEARNING_RATE_POWER
    }
    pub(crate) fn default_initial_accumulator_value() -> f64 {
        Self::DEFAULT_INITIAL_ACCUMULATOR_VALUE
    }

    /// TF1's defaults with the given learning rate.
    pub fn tf1(learning_rate: f64) -> Self {
        Self {
            learning_rate,
            learning_rate_power: Self::DEFAULT_LEARNING_RATE_POWER,
            initial_accumulator_value: Self::DEFAULT_INITIAL_ACCUMULATOR_VALUE,
            l1_regularization_strength: 0.0,
            l2_regularization_strength: 0.0,
            l2_shrinkage_regularization_strength: 0.0,
        }
    }

    /// The one statement of TF's checks: `learning_rate > 0`, `learning_rate_power <= 0`,
    /// `initial_accumulator_value >= 0` (zero is allowed), `l1, l2, l2_shrinkage >= 0`; values
    /// in field order.
    pub(crate) fn check(v: [f64; 6]) -> Result<(), HyperError> {
        const R: &str = "Ftrl";
        check::positive(R, "learning_rate", v[0])?;
        check::non_positive(R, "learning_rate_power", v[1])?;
        check::non_negative(R, "initial_accumulator_value", v[2])?;
        check::non_negative(R, "l1_regularization_strength", v[3])?;
        check::non_negative(R, "l2_regularization_strength", v[4])?;
        check::non_negative(R, "l2_shrinkage_regularization_strength", v[5])
    }

    /// Validates the values as written, then builds the rule (all cast per `precision` except
    /// the initial accumulator, exact in `F`).
    ///
    /// # Errors
    /// [`HyperError`] naming the first invalid field.
    pub fn build<F: Float>(&self, precision: HyperPrecision) -> Result<Ftrl<F>, HyperError> {
        Self::check([
            self.learning_rate,
            self.learning_rate_power,
            self.initial_accumulator_value,
            self.l1_regularization_strength,
            self.l2_regularization_strength,
            self.l2_shrinkage_regularization_strength,
        ])?;
        Ftrl::new(
            precision.cast(self.learning_rate),
            precision.cast(self.learning_rate_power),
            HyperPrecision::exact(self.initial_accumulator_value),
            precision.cast(self.l1_regularization_strength),
            precision.cast(self.l2_regularization_strength),
            precision.cast(self.l2_shrinkage_regularization_strength),
        )
    }
}
