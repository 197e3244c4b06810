//! `handprop-layers`: the study's arctan MLP and every gradient in it, written by hand.
//!
//! * [`Mlp`]: N dense layers without bias, `a_k = f(a_{k−1}·W_k)` with arctan on **every** layer
//!   (the output layer included), `p = softmax(a_N)`, the study's cost
//!   `C = Σ_i Σ_c −[y_ic·ln p_ic + (1−y_ic)·ln(1−p_ic)]` (summed), argmax accuracy, and one
//!   training step's back-propagation into per-layer gradient buffers (batch sums, pre-step
//!   weights; the optimizer updates afterwards through [`Mlp::params_and_grads`]).
//! * [`Dense`]: one layer's forward cache (`z`, `a`) and backward
//!   (`e = u ⊙ f′(z)`, `G = xᵀ·e`, `g = e·Wᵀ`).
//! * [`Activation`]: the non-linearity (arctan; an enum so others can be added without touching
//!   the layer).
//! * [`GradSeed`]: the gradient that starts back-propagation — the study's hand-made `p − y` or
//!   the exact `∂C/∂a_N` through the softmax.
//! * [`Routing`]: standard or dilated back-propagation (which passed-down gradients reach which
//!   layer), as data.
//!
//! Allocation: every buffer is sized at construction; a training step and an evaluation allocate
//! nothing, matrix products included (`handprop-tensor`'s x86-64 GEMM kernel packs into a
//! per-thread buffer); `tests/no_alloc.rs` asserts zero allocations per step.
//!
//! The crate knows nothing of optimizers or experiments. See `docs/layers.md` for the math and
//! the benchmark.

mod activation;
mod dense;
mod error;
mod mlp;
mod routing;
mod seed;

pub use activation::Activation;
pub use dense::Dense;
pub use error::LayerError;
/// The tensor types this crate's API takes and returns ([`Mlp::train_batch`] takes [`MatRef`]s,
/// [`Mlp::weights`] returns [`Matrix`]es), re-exported so users need not depend on
/// `handprop-tensor` themselves.
pub use handprop_tensor::{MatMut, MatRef, Matrix};
pub use mlp::{Mlp, EVAL_BLOCK_ROWS};
pub use routing::Routing;
pub use seed::GradSeed;
