//! Element-wise activations and their derivatives.

use serde::{Deserialize, Serialize};

/// The element-wise non-linearity `a = f(z)` of a [`crate::Dense`] layer.
///
/// The layer only ever calls [`Activation::forward`] and [`Activation::backward`], so a new
/// activation (tanh, sigmoid, ReLU) is one new variant plus its two arms here; the layer and the
/// network do not change. `backward` receives both `z` and `a = f(z)` because some derivatives are
/// cheapest from the output (tanh: `1 − a²`, sigmoid: `a·(1 − a)`) and others from the input.
///
/// The study applies arctan on **every** layer, the output layer included (textbook classifiers
/// leave the last layer linear and feed it to the softmax). Because arctan is bounded by ±π/2, the
/// softmax over ten arctan outputs can never exceed `1 / (1 + 9·e^{−π}) ≈ 0.72`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Activation {
    /// `f(z) = arctan(z)`, `f′(z) = 1 / (1 + z²)`.
    #[default]
    Arctan,
}

impl Activation {
    /// Config name (snake_case), as serde spells it.
    pub fn name(self) -> &'static str {
        match self {
            Activation::Arctan => "arctan",
        }
    }

    /// `a = f(z)`, element-wise.
    ///
    /// # Panics
    /// If the slices differ in length (a programming error; the layer sizes them).
    pub fn forward(self, z: &[f32], a: &mut [f32]) {
        match self {
            Activation::Arctan => handprop_tensor::elementwise::arctan(z, a),
        }
    }

    /// The local error `e = u ⊙ f′(z)`, element-wise, where `u` is the gradient arriving at the
    /// layer's output and `a = f(z)` is the cached output.
    ///
    /// # Panics
    /// If the slices differ in length (a programming error; the layer sizes them).
    pub fn backward(self, u: &[f32], z: &[f32], a: &[f32], e: &mut [f32]) {
        assert_eq!(a.len(), z.len(), "activation backward: a and z differ in length");
        match self {
            // The derivative is cheapest from z: 1 / (1 + z²); `a` is not needed.
            Activation::Arctan => handprop_tensor::elementwise::arctan_backward(u, z, e),
        }
    }

    /// `f(z)` for one value (the reference the slice kernels must match).
    pub fn value(self, z: f32) -> f32 {
        match self {
            Activation::Arctan => z.atan(),
        }
    }

    /// `f′(z)` for one value.
    pub fn derivative(self, z: f32) -> f32 {
        match self {
            Activation::Arctan => 1.0 / (1.0 + z * z),
        }
    }
}
