//! `handprop-tensor`: the f32 math a hand-written MLP needs, and nothing else.
//!
//! * [`Matrix`], [`MatRef`], [`MatMut`]: dense **row-major** f32 matrices and borrowed views.
//!   Row-major because a batch of MNIST images is a contiguous run of 784-pixel rows, so a batch is a
//!   zero-copy view into the data set.
//! * [`gemm`]: the three products of a dense layer, written in place into a preallocated output,
//!   with an explicit [`Accum`] choice (overwrite or accumulate):
//!   `C = A·B` (forward), `C = Aᵀ·B` (weight gradient), `C = A·Bᵀ` (gradient passed down).
//! * [`elementwise`]: fused slice kernels (arctan and its derivative, row softmax, the study's cost,
//!   argmax accuracy, Hadamard product, scaled add).
//! * [`init`]: seeded N(0, 1) initialisation from ChaCha8 streams derived from `(seed, stream)`.
//!
//! The crate knows nothing of MNIST, layers or optimizers.

pub mod elementwise;
pub mod gemm;
pub mod init;
mod matrix;

pub use gemm::{gemm_nn, gemm_nt, gemm_tn, try_gemm_nn, try_gemm_nt, try_gemm_tn, Accum};
pub use matrix::{MatMut, MatRef, Matrix, ShapeError};
