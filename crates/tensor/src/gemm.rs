//! The three matrix products of a dense layer, in place into preallocated outputs.
//!
//! With row-major `X` (batch × n), `W` (n × m), `E` (batch × m):
//! * forward `Z = X·W` is [`gemm_nn`];
//! * weight gradient `G = Xᵀ·E` is [`gemm_tn`];
//! * gradient passed down `g = E·Wᵀ` is [`gemm_nt`].
//!
//! Transposes are expressed by swapping strides, never by copying. All three call
//! `matrixmultiply::sgemm` (its AVX-512 or AVX2+FMA kernel, chosen at run time), single-threaded:
//! its `threading` feature stays off so that parallelism is decided by the caller, one cell per
//! core. We allocate nothing; matrixmultiply itself takes one packing buffer (≤ 1.1 MB) from the
//! allocator per call, which is negligible next to a product of 10⁸–10⁹ flops.
//!
//! `Accum::Overwrite` passes β = 0 to sgemm, which then never reads `C`: stale NaN or ∞ in a
//! reused buffer cannot leak into the result (tested).

use crate::{MatMut, MatRef, ShapeError};

/// Whether a product overwrites its output or adds to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accum {
    /// `C = A·B`: the previous contents of `C` are ignored (may even be NaN).
    Overwrite,
    /// `C = C + A·B`.
    Accumulate,
}

impl Accum {
    fn beta(self) -> f32 {
        match self {
            Accum::Overwrite => 0.0,
            Accum::Accumulate => 1.0,
        }
    }
}

/// One strided sgemm call: `C (+)= op(A)·op(B)` with `op(A)` m×k and `op(B)` k×n.
#[allow(clippy::too_many_arguments)]
fn sgemm(
    m: usize,
    k: usize,
    n: usize,
    a: &[f32],
    rsa: isize,
    csa: isize,
    b: &[f32],
    rsb: isize,
    csb: isize,
    c: &mut [f32],
    acc: Accum,
) {
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if acc == Accum::Overwrite {
            c.fill(0.0);
        }
        return;
    }
    // The product is handed to matrixmultiply transposed, `Cᵀ = op(B)ᵀ·op(A)ᵀ` (n×k times k×m into
    // the n×m matrix Cᵀ, whose strides over the same row-major memory are (1, n)), which is the
    // orientation nalgebra uses. Measured at the study's shapes (docs/tensor.md) it is as fast as
    // the direct one everywhere and 2.6× faster for E5·W5ᵀ at H = 1024, where the direct form
    // stores 16-row tiles of C at a 4 KiB stride that collide in the L1 cache.
    //
    // SAFETY: the callers check that each slice holds exactly the elements the dimensions and
    // strides address (A: m·k, B: k·n, C: m·n, all contiguous row-major), and C does not alias A or B
    // because it is borrowed mutably while they are borrowed immutably.
    unsafe {
        matrixmultiply::sgemm(
            n,
            k,
            m,
            1.0,
            b.as_ptr(),
            csb,
            rsb,
            a.as_ptr(),
            csa,
            rsa,
            acc.beta(),
            c.as_mut_ptr(),
            1,
            n as isize,
        );
    }
}

/// `C (+)= A·B` with `A` m×k, `B` k×n, `C` m×n: `c_ij (+)= Σ_l a_il·b_lj` (the forward product
/// `Z = X·W`).
///
/// # Panics
/// If the shapes do not agree (see [`try_gemm_nn`] for the checked form).
pub fn gemm_nn(a: MatRef<'_>, b: MatRef<'_>, c: MatMut<'_>, acc: Accum) {
    if let Err(e) = try_gemm_nn(a, b, c, acc) {
        panic!("{e}");
    }
}

/// `C (+)= Aᵀ·B` with `A` k×m, `B` k×n, `C` m×n: `c_ij (+)= Σ_l a_li·b_lj` (the weight gradient
/// `G = Xᵀ·E`, a sum over the batch).
///
/// # Panics
/// If the shapes do not agree (see [`try_gemm_tn`] for the checked form).
pub fn gemm_tn(a: MatRef<'_>, b: MatRef<'_>, c: MatMut<'_>, acc: Accum) {
    if let Err(e) = try_gemm_tn(a, b, c, acc) {
        panic!("{e}");
    }
}

/// `C (+)= A·Bᵀ` with `A` m×k, `B` n×k, `C` m×n: `c_ij (+)= Σ_l a_il·b_jl` (the gradient passed
/// down `g = E·Wᵀ`).
///
/// # Panics
/// If the shapes do not agree (see [`try_gemm_nt`] for the checked form).
pub fn gemm_nt(a: MatRef<'_>, b: MatRef<'_>, c: MatMut<'_>, acc: Accum) {
    if let Err(e) = try_gemm_nt(a, b, c, acc) {
        panic!("{e}");
    }
}

fn check(
    name: &str,
    a: (usize, usize),
    b: (usize, usize),
    c: (usize, usize),
    ok: bool,
) -> Result<(), ShapeError> {
    if ok {
        Ok(())
    } else {
        Err(ShapeError(format!(
            "{name}: operands A {}×{}, B {}×{} and C {}×{} do not fit",
            a.0, a.1, b.0, b.1, c.0, c.1
        )))
    }
}

/// [`gemm_nn`], returning a [`ShapeError`] instead of panicking when `A` is not m×k, `B` k×n and
/// `C` m×n. `C` is untouched on error.
pub fn try_gemm_nn(
    a: MatRef<'_>,
    b: MatRef<'_>,
    mut c: MatMut<'_>,
    acc: Accum,
) -> Result<(), ShapeError> {
    let (m, k, n) = (a.rows(), a.cols(), b.cols());
    let dims = ((a.rows(), a.cols()), (b.rows(), b.cols()), (c.rows(), c.cols()));
    check("gemm_nn", dims.0, dims.1, dims.2, b.rows() == k && dims.2 == (m, n))?;
    // Row-major A: element (i, l) at i·k + l, so row stride k and column stride 1.
    sgemm(m, k, n, a.as_slice(), k as isize, 1, b.as_slice(), n as isize, 1, c.as_mut_slice(), acc);
    Ok(())
}

/// [`gemm_tn`], returning a [`ShapeError`] instead of panicking when `A` is not k×m, `B` k×n and
/// `C` m×n. `C` is untouched on error.
pub fn try_gemm_tn(
    a: MatRef<'_>,
    b: MatRef<'_>,
    mut c: MatMut<'_>,
    acc: Accum,
) -> Result<(), ShapeError> {
    let (k, m, n) = (a.rows(), a.cols(), b.cols());
    let dims = ((a.rows(), a.cols()), (b.rows(), b.cols()), (c.rows(), c.cols()));
    check("gemm_tn", dims.0, dims.1, dims.2, b.rows() == k && dims.2 == (m, n))?;
    // Aᵀ (m×k) read from row-major A (k×m): element (i, l) of Aᵀ is A[l·m + i], so the strides of
    // Aᵀ are (1, m): the transpose is the swapped strides, not a copy.
    sgemm(m, k, n, a.as_slice(), 1, m as isize, b.as_slice(), n as isize, 1, c.as_mut_slice(), acc);
    Ok(())
}

/// [`gemm_nt`], returning a [`ShapeError`] instead of panicking when `A` is not m×k, `B` n×k and
/// `C` m×n. `C` is untouched on error.
pub fn try_gemm_nt(
    a: MatRef<'_>,
    b: MatRef<'_>,
    mut c: MatMut<'_>,
    acc: Accum,
) -> Result<(), ShapeError> {
    let (m, k, n) = (a.rows(), a.cols(), b.rows());
    let dims = ((a.rows(), a.cols()), (b.rows(), b.cols()), (c.rows(), c.cols()));
    check("gemm_nt", dims.0, dims.1, dims.2, b.cols() == k && dims.2 == (m, n))?;
    // Bᵀ (k×n) read from row-major B (n×k): strides (1, k).
    sgemm(m, k, n, a.as_slice(), k as isize, 1, b.as_slice(), 1, k as isize, c.as_mut_slice(), acc);
    Ok(())
}

#[cfg(test)]
mod tests;
