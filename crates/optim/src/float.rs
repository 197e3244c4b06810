//! The [`Float`] trait: the two element types every rule is generic over.

use std::fmt::{Debug, Display};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

mod sealed {
    pub trait Sealed {}
    impl Sealed for f32 {}
    impl Sealed for f64 {}
}

/// An element type a rule can update: implemented for `f32` and `f64` only.
///
/// The helpers here are the few scalar operations whose exact semantics matter for bit-level
/// parity with TensorFlow's Eigen kernels, so every rule uses them instead of ad-hoc casts.
pub trait Float:
    num_traits::Float
    + Default
    + Debug
    + Display
    + Send
    + Sync
    + Serialize
    + DeserializeOwned
    + sealed::Sealed
    + 'static
{
    /// The TensorFlow dtype name, `"float32"` or `"float64"`.
    const DTYPE: &'static str;

    /// Converts an `f64`, rounding to nearest (exact for `f64`).
    fn from_f64_rounded(x: f64) -> Self;

    /// Widens to `f64` (always exact).
    fn widen(self) -> f64;

    /// Converts an `f64` the way a Python float reaches a TF1 kernel: first rounded to `f32`, then
    /// converted to `Self` (docs/optim.md, "Hyperparameter precision").
    fn from_python_float(x: f64) -> Self {
        Self::from_f64_rounded(f64::from(x as f32))
    }

    /// `rsqrt(x) = 1/√x`. For `f64` this is exactly TF's (two correctly rounded operations). For
    /// `f32` TF uses a hardware estimate plus one Newton step, which differs between CPUs; the
    /// `f32` impl returns the correctly rounded value instead (computed in `f64`, rounded once),
    /// which is portable and agrees with TF's estimate more often than `1/sqrtf` does. The
    /// parity tests bound the resulting difference (docs/optim.md).
    #[inline(always)]
    fn rsqrt(self) -> Self {
        Self::one() / self.sqrt()
    }

    /// Eigen's `sign`: `+1` for positive, `−1` for negative, `0` for `±0` (NaN maps to 0).
    #[inline(always)]
    fn tf_sign(self) -> Self {
        if self > Self::zero() {
            Self::one()
        } else if self < Self::zero() {
            -Self::one()
        } else {
            Self::zero()
        }
    }

    /// Eigen's `cwiseMax` with a scalar: `std::max(self, other)`, i.e. `self < other ? other : self`.
    #[inline(always)]
    fn tf_max(self, other: Self) -> Self {
        if self < other {
            other
        } else {
            self
        }
    }
}

impl Float for f32 {
    const DTYPE: &'static str = "float32";
    #[inline(always)]
    fn rsqrt(self) -> Self {
        (1.0 / f64::from(self).sqrt()) as f32
    }
    #[inline(always)]
    fn from_f64_rounded(x: f64) -> Self {
        x as f32
    }
    #[inline(always)]
    fn widen(self) -> f64 {
        f64::from(self)
    }
}

impl Float for f64 {
    const DTYPE: &'static str = "float64";
    #[inline(always)]
    fn from_f64_rounded(x: f64) -> Self {
        x
    }
    #[inline(always)]
    fn widen(self) -> f64 {
        self
    }
}

/// How `f64` config values become the kernel's hyperparameters (TF1's dtype rule: a Python float
/// becomes a `float32` tensor that is then cast to the variable's dtype).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HyperPrecision {
    /// As TF1 user code with Python floats: every hyperparameter is rounded to `f32` and then
    /// converted to `F`, Adam's beta powers are `f32`, but initial accumulator values are exact
    /// in `F`, and ProximalGradientDescent/ProximalAdagrad (which TF never casts, so they need
    /// dtype-matching tensors) are exact in `F`. For `F = f32` this equals [`Self::Exact`].
    /// The default: it is what TF1 code written with literals does.
    #[default]
    PythonFloat,
    /// As TF1 with numpy scalars of the variable's dtype: every value converted once to `F`;
    /// Adam's beta powers in `F`'s dtype.
    Exact,
}

impl HyperPrecision {
    /// A hyperparameter TF casts (`learning_rate`, β, ε, ρ, …): through `f32` for
    /// [`Self::PythonFloat`], rounded once to `F` for [`Self::Exact`].
    pub fn cast<F: Float>(self, value: f64) -> F {
        match self {
            HyperPrecision::PythonFloat => F::from_python_float(value),
            HyperPrecision::Exact => F::from_f64_rounded(value),
        }
    }

    /// A value TF builds directly in the variable's dtype (initial slot values, the Proximal
    /// rules' hyperparameters): rounded once to `F` in both modes.
    pub fn exact<F: Float>(value: f64) -> F {
        F::from_f64_rounded(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_float_rounding_matches_tf_examples() {
        // TF1 turns these Python floats into float32 tensors; these are the float64 values a
        // float64 kernel then receives (docs/optim.md, "Hyperparameter precision").
        assert_eq!(f64::from_python_float(0.001), 0.0010000000474974513);
        assert_eq!(f64::from_python_float(0.9), 0.8999999761581421);
        assert_eq!(f64::from_python_float(1e-8), 9.99999993922529e-09);
        assert_eq!(f32::from_python_float(0.001), 0.001f32);
    }

    #[test]
    fn sign_of_zero_is_positive_zero() {
        assert_eq!(0.0f64.tf_sign().to_bits(), 0.0f64.to_bits());
        assert_eq!((-0.0f64).tf_sign().to_bits(), 0.0f64.to_bits());
        assert_eq!((-3.0f32).tf_sign(), -1.0);
        assert_eq!(2.0f32.tf_sign(), 1.0);
    }

    #[test]
    fn max_follows_std_max() {
        assert_eq!((-0.0f64).tf_max(0.0).to_bits(), (-0.0f64).to_bits());
        assert_eq!(1.0f64.tf_max(2.0), 2.0);
    }
}
