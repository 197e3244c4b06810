//! `handprop-tensor`: the f32 math a hand-written MLP needs, and nothing else.
//!
//! * [`Matrix`], [`MatRef`], [`MatMut`]: dense **row-major** f32 matrices and borrowed views.
//!   Row-major because a batch of MNIST images is a contiguous run of 784-pixel rows, so a batch is a
//!   zero-copy view into the data set ([`MatRef::rows_range`]), and because the layer equations
//!   below read naturally with one example per row.
//! * [`gemm`]: the three products of a dense layer, written in place into a preallocated output,
//!   with an explicit [`Accum`] choice (`C = …` or `C = C + …`):
//!   - forward `z_k = a_{k−1}·W_k` ([`gemm_nn`], `C = A·B`),
//!   - weight gradient `G_k = a_{k−1}ᵀ·e_k`, a sum over the batch ([`gemm_tn`], `C = Aᵀ·B`),
//!   - gradient passed down `g_k = e_k·W_kᵀ` ([`gemm_nt`], `C = A·Bᵀ`).
//!
//!   Transposes are strides, never copies; the `try_` forms return a [`ShapeError`].
//! * [`elementwise`]: fused slice kernels: `a = arctan(z)` (a vectorised polynomial within
//!   [`elementwise::ARCTAN_MAX_ULP`] ulp), optionally with `d = 1/(1+z²)` in the same pass;
//!   `e = u/(1+z²)`; the row softmax `p_ij = exp(x_ij − max_j x_ij)/Σ_j exp(x_ij − max_j x_ij)`;
//!   the study's cost `C = Σ_i Σ_c −[y_ic·ln p_ic + (1−y_ic)·ln(1−p_ic)]`; argmax accuracy;
//!   `c = a ⊙ b`; `y = y + α·x`.
//! * [`peak`]: thread CPU time and the FMA peak the benchmarks measure against.
//! * [`init`]: seeded N(0, 1) initialisation from ChaCha8 streams derived from `(seed, stream)`.
//!
//! Nothing here allocates in steady state and nothing spawns threads: the products use handprop's
//! own x86-64 micro-kernels (AVX-512, or AVX2 with FMA; [`kernel_info`] says which and how they
//! are blocked for this CPU), which pack into a per-thread buffer set up by the first product on a
//! thread, and only on other CPUs fall back to matrixmultiply, which allocates a packing buffer per
//! call. The `_threads` products (and the element-wise `_threads` kernels) share one product over
//! the current rayon pool with bit-identical results for every thread count. The element-wise kernels use no
//! `mul_add` and give bit-identical results on every machine. The products' last bits can differ
//! between machines whose kernels differ (AVX-512, AVX2, the fallback), as any BLAS's do; on one
//! machine they are bit-reproducible. The measured speeds are in `docs/tensor.md`
//! (`cargo bench -p handprop-tensor`).
//!
//! The crate knows nothing of MNIST, layers or optimizers.

pub mod elementwise;
pub mod gemm;
pub mod init;
mod matrix;
pub mod peak;

pub use gemm::{
    gemm_nn, gemm_nt, gemm_tn, kernel_info, set_zero_skipping, try_gemm_nn,
    try_gemm_nn_activate_threads, try_gemm_nn_threads, try_gemm_nt, try_gemm_nt_threads,
    try_gemm_tn, try_gemm_tn_threads, Accum, Epilogue, KernelInfo,
};
pub use matrix::{MatMut, MatRef, Matrix, ShapeError};
