//! The three matrix products of a dense layer, in place into preallocated outputs.
//!
//! With row-major `X` (batch × n), `W` (n × m), `E` (batch × m):
//! * forward `Z = X·W` is [`gemm_nn`];
//! * weight gradient `G = Xᵀ·E` is [`gemm_tn`];
//! * gradient passed down `g = E·Wᵀ` is [`gemm_nt`].
//!
//! Transposes are expressed by swapping strides, never by copying. All three call
//! `matrixmultiply::sgemm`, single-threaded (its `threading` feature stays off so that parallelism
//! is decided by the caller, one cell per core).

use crate::{MatMut, MatRef};

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
    // SAFETY: the callers check that each slice holds exactly the elements the dimensions and
    // strides address (A: m·k, B: k·n, C: m·n, all contiguous row-major), and C does not alias A or B
    // because it is borrowed mutably while they are borrowed immutably.
    unsafe {
        matrixmultiply::sgemm(
            m,
            k,
            n,
            1.0,
            a.as_ptr(),
            rsa,
            csa,
            b.as_ptr(),
            rsb,
            csb,
            acc.beta(),
            c.as_mut_ptr(),
            n as isize,
            1,
        );
    }
}

/// `C (+)= A·B` with `A` m×k, `B` k×n, `C` m×n.
///
/// # Panics
/// If the shapes do not agree.
pub fn gemm_nn(a: MatRef<'_>, b: MatRef<'_>, mut c: MatMut<'_>, acc: Accum) {
    let (m, k, n) = (a.rows(), a.cols(), b.cols());
    assert_eq!(b.rows(), k, "gemm_nn: A is {m}×{k} but B is {}×{n}", b.rows());
    assert_eq!((c.rows(), c.cols()), (m, n), "gemm_nn: C must be {m}×{n}");
    sgemm(m, k, n, a.as_slice(), k as isize, 1, b.as_slice(), n as isize, 1, c.as_mut_slice(), acc);
}

/// `C (+)= Aᵀ·B` with `A` k×m, `B` k×n, `C` m×n (the weight gradient `Xᵀ·E`).
///
/// # Panics
/// If the shapes do not agree.
pub fn gemm_tn(a: MatRef<'_>, b: MatRef<'_>, mut c: MatMut<'_>, acc: Accum) {
    let (k, m, n) = (a.rows(), a.cols(), b.cols());
    assert_eq!(b.rows(), k, "gemm_tn: A is {k}×{m} but B is {}×{n}", b.rows());
    assert_eq!((c.rows(), c.cols()), (m, n), "gemm_tn: C must be {m}×{n}");
    sgemm(m, k, n, a.as_slice(), 1, m as isize, b.as_slice(), n as isize, 1, c.as_mut_slice(), acc);
}

/// `C (+)= A·Bᵀ` with `A` m×k, `B` n×k, `C` m×n (the gradient passed down `E·Wᵀ`).
///
/// # Panics
/// If the shapes do not agree.
pub fn gemm_nt(a: MatRef<'_>, b: MatRef<'_>, mut c: MatMut<'_>, acc: Accum) {
    let (m, k, n) = (a.rows(), a.cols(), b.rows());
    assert_eq!(b.cols(), k, "gemm_nt: A is {m}×{k} but B is {n}×{}", b.cols());
    assert_eq!((c.rows(), c.cols()), (m, n), "gemm_nt: C must be {m}×{n}");
    sgemm(m, k, n, a.as_slice(), k as isize, 1, b.as_slice(), 1, k as isize, c.as_mut_slice(), acc);
}
