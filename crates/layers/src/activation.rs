//! Element-wise activations and their derivatives.

use handprop_tensor::Epilogue;
use serde::{Deserialize, Serialize};

/// The element-wise non-linearity `a = f(z)` of a [`crate::Dense`] layer.
///
/// The layer only asks it for the epilogue its forward product runs on each finished row segment
/// of `z` ([`Activation::fused`] for evaluation, [`Activation::fused_with_derivative`] for
/// training: `a = f(z)` and `d = f′(z)` cached together, [`Activation::fused_in_place`] for the
/// network's evaluation buffers) and calls [`Activation::backward`] (`e = u ⊙ d`, the same for
/// all), so a new activation (tanh, sigmoid, ReLU) is one new variant plus its arms here and an
/// epilogue in the tensor crate; the layer and the network do not change.
/// [`Activation::forward`] and [`Activation::forward_with_derivative`] are the same operations as
/// separate passes over slices.
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

    /// `a = f(z)`, element-wise (evaluation: no derivative needed).
    ///
    /// # Panics
    /// If the slices differ in length (a programming error; the layer sizes them).
    pub fn forward(self, z: &[f32], a: &mut [f32]) {
        match self {
            Activation::Arctan => handprop_tensor::elementwise::arctan(z, a),
        }
    }

    /// [`Activation::forward`] in place (`z` becomes `a`: evaluation keeps both in one buffer),
    /// fused into the product that computes `z`
    /// ([`handprop_tensor::try_gemm_nn_activate_threads`]): the same operations on the same
    /// values, applied to each row segment of `z` as it becomes final.
    pub fn fused_in_place(self) -> Epilogue<'static> {
        match self {
            Activation::Arctan => Epilogue::ArctanInPlace,
        }
    }

    /// [`Activation::forward`] fused into the product that computes `z` (see
    /// [`Activation::fused_in_place`]).
    pub fn fused<'a>(self, a: &'a mut [f32]) -> Epilogue<'a> {
        match self {
            Activation::Arctan => Epilogue::Arctan { a },
        }
    }

    /// [`Activation::forward_with_derivative`] fused into the product that computes `z` (see
    /// [`Activation::fused_in_place`]).
    pub fn fused_with_derivative<'a>(self, a: &'a mut [f32], d: &'a mut [f32]) -> Epilogue<'a> {
        match self {
            Activation::Arctan => Epilogue::ArctanWithDerivative { a, d },
        }
    }

    /// `a = f(z)` and the derivative `d = f′(z)`, element-wise, in one pass (training: the
    /// backward pass then needs only `d`). Every activation can precompute its derivative here
    /// (tanh: `1 − a²`, sigmoid: `a·(1 − a)`, ReLU: `z > 0`), so the layer never needs to know
    /// which one it runs.
    ///
    /// # Panics
    /// If the slices differ in length (a programming error; the layer sizes them).
    pub fn forward_with_derivative(self, z: &[f32], a: &mut [f32], d: &mut [f32]) {
        match self {
            // d = 1 / (1 + z²): a reciprocal that the backward pass multiplies by, which is
            // TensorFlow's arctan gradient and the original's hand-written one, operation for
            // operation (dividing u by 1 + z² could differ by one rounding).
            Activation::Arctan => handprop_tensor::elementwise::arctan_with_derivative(z, a, d),
        }
    }

    /// The local error `e = u ⊙ d`, where `u` is the gradient arriving at the layer's output and
    /// `d = f′(z)` was cached by [`Activation::forward_with_derivative`]. The same for every
    /// activation.
    ///
    /// # Panics
    /// If the slices differ in length (a programming error; the layer sizes them).
    pub fn backward(u: &[f32], d: &[f32], e: &mut [f32]) {
        handprop_tensor::elementwise::hadamard(u, d, e);
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
