//! The three matrix products of a dense layer, in place into preallocated outputs.
//!
//! With row-major `X` (batch × n), `W` (n × m), `E` (batch × m):
//! * forward `Z = X·W` is [`gemm_nn`];
//! * weight gradient `G = Xᵀ·E` is [`gemm_tn`];
//! * gradient passed down `g = E·Wᵀ` is [`gemm_nt`].
//!
//! Transposes are expressed by swapping strides, never by copying. All three go through one strided
//! driver (`gemm/driver.rs`):
//!
//! * on x86-64 with AVX-512F: handprop's own `12 × 32` register-tile micro-kernel
//!   (`gemm/microkernel.rs`, 24 independent zmm FMA chains); with AVX2 + FMA: a `6 × 16` one (12
//!   ymm chains). Operands are packed into cache-sized panels whose sizes are derived from the
//!   CPU's caches (CPUID, sanity-clamped; `gemm/blocking.rs`), reading each operand along its
//!   contiguous direction, so transposed operands pack as fast as plain ones. Products with a
//!   narrow output (the 10-column layer) run on the transposed output, which fills the registers.
//!   The packing memory is a per-thread buffer, so **after the first product at the largest shape
//!   on a thread no product allocates** (tested in `tests/no_alloc.rs`).
//! * elsewhere: `matrixmultiply::sgemm`, which takes one packing buffer (≤ 1.1 MB) from the
//!   allocator per call.
//!
//! The kernel and blocking are a function of the CPU alone ([`kernel_info`] describes them), and
//! every element of `C` is summed in an order fixed by the blocking (per `k` block, a zero-started
//! FMA chain, then added to `C`), so one machine gives bit-identical products for identical inputs,
//! on every call and for every thread count of the `_threads` forms (tested). Different kernels
//! (AVX-512 vs AVX2 vs the fallback) may differ in the last bits, as any BLAS's do.
//!
//! `Accum::Overwrite` never reads `C`: stale NaN or ∞ in a reused buffer cannot leak into the
//! result (tested).

mod blocking;
mod driver;
mod microkernel;
mod pack;
mod sparse;

pub use blocking::{kernel_info, set_zero_skipping, KernelInfo};

use crate::{MatMut, MatRef, ShapeError};
use blocking::{Blocking, Kernel};

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

#[cfg(test)]
thread_local! {
    /// The kernel the tests force on their own thread (`None`: detect, as outside tests).
    static FORCED_KERNEL: std::cell::Cell<Option<Kernel>> = const { std::cell::Cell::new(None) };
    /// Whether the tests turn zero-column skipping off on their own thread (the reference).
    static FORCED_DENSE: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// The kernel and blocking for this call: the detected ones (or, in tests, the forced kernel with
/// this CPU's blocking for it).
fn blocking() -> Blocking {
    #[cfg(test)]
    {
        let mut bl = match FORCED_KERNEL.with(std::cell::Cell::get) {
            Some(k) => Blocking::new(k, blocking::Caches::reported()),
            None => blocking::detected(),
        };
        bl.zero_skip &= !FORCED_DENSE.with(std::cell::Cell::get);
        bl
    }
    #[cfg(not(test))]
    blocking::detected()
}

/// One strided product `C (+)= op(A)·op(B)` with `op(A)` m×k and `op(B)` k×n, `C` row-major m×n,
/// on up to `threads` threads of the current rayon pool.
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
    threads: usize,
    finish: Option<driver::Finish<'_>>,
) {
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if acc == Accum::Overwrite {
            c.fill(0.0);
        }
        if let Some(f) = finish {
            finish_all(f, c, threads);
        }
        return;
    }
    let bl = blocking();
    if bl.kernel != Kernel::MatrixMultiply {
        let transpose = driver::prefer_transposed(m, n, bl.mr, bl.nr);
        let mut p = driver::Problem {
            m,
            k,
            n,
            a: a.as_ptr(),
            rsa,
            csa,
            b: b.as_ptr(),
            rsb,
            csb,
            c: c.as_mut_ptr(),
            rsc: n as isize,
            csc: 1,
            add: acc == Accum::Accumulate,
            origin: c.as_ptr(),
            finish: if transpose { None } else { finish },
        };
        if transpose {
            p = p.transposed();
        }
        // SAFETY: the callers check that each slice holds exactly the elements the dimensions and
        // strides address (A: m·k, B: k·n, C: m·n, all contiguous row-major); C does not alias A
        // or B (borrowed mutably while they are borrowed immutably); the kernel was detected on
        // this CPU (or, in tests, is one of `Kernel::available`).
        unsafe { driver::run_threads(&bl, p, threads) };
        if let (Some(f), true) = (finish, transpose) {
            finish_all(f, c, threads);
        }
        return;
    }
    // The product is handed to matrixmultiply transposed, `Cᵀ = op(B)ᵀ·op(A)ᵀ` (n×k times k×m into
    // the n×m matrix Cᵀ, whose strides over the same row-major memory are (1, n)), which is the
    // orientation nalgebra uses. Measured at the study's shapes it was as fast as the direct one
    // everywhere and 2.6× faster for E5·W5ᵀ at H = 1024, where the direct form stores 16-row tiles
    // of C at a 4 KiB stride that collide in the L1 cache.
    //
    // SAFETY: as above.
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
    if let Some(f) = finish {
        finish_all(f, c, threads);
    }
}

/// Runs `finish` over all of `c` after the product, where the driver could not run it row
/// segment by row segment (the transposed orientation, the `matrixmultiply` fallback, `k = 0`):
/// in `threads` disjoint ranges on the current rayon pool, as the separate element-wise pass did.
fn finish_all(finish: driver::Finish<'_>, c: &mut [f32], threads: usize) {
    let len = c.len();
    let parts = threads.clamp(1, len.max(1));
    let base = c.as_mut_ptr() as usize;
    let run = |p: usize| {
        let (lo, hi) = (len * p / parts, len * (p + 1) / parts);
        // The ranges are disjoint and inside `c`, borrowed mutably for this call.
        finish((base as *mut f32).wrapping_add(lo), lo, hi - lo);
    };
    if parts == 1 {
        run(0);
    } else {
        rayon::scope(|s| {
            for p in 0..parts {
                s.spawn(move |_| run(p));
            }
        });
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
    c: MatMut<'_>,
    acc: Accum,
) -> Result<(), ShapeError> {
    try_gemm_nn_threads(a, b, c, acc, 1)
}

/// [`gemm_tn`], returning a [`ShapeError`] instead of panicking when `A` is not k×m, `B` k×n and
/// `C` m×n. `C` is untouched on error.
pub fn try_gemm_tn(
    a: MatRef<'_>,
    b: MatRef<'_>,
    c: MatMut<'_>,
    acc: Accum,
) -> Result<(), ShapeError> {
    try_gemm_tn_threads(a, b, c, acc, 1)
}

/// [`gemm_nt`], returning a [`ShapeError`] instead of panicking when `A` is not m×k, `B` n×k and
/// `C` m×n. `C` is untouched on error.
pub fn try_gemm_nt(
    a: MatRef<'_>,
    b: MatRef<'_>,
    c: MatMut<'_>,
    acc: Accum,
) -> Result<(), ShapeError> {
    try_gemm_nt_threads(a, b, c, acc, 1)
}

/// [`try_gemm_nn`] on up to `threads` threads of the current rayon pool (the global pool, or the
/// one this call runs inside via `ThreadPool::install`). The output is split into disjoint blocks
/// of whole register tiles, so every element is summed in the same order and **the result is
/// bit-identical for every thread count** (tested). `threads ≤ 1` runs on the calling thread and
/// never touches rayon; small products (< 2²⁰ multiply-adds) always do.
pub fn try_gemm_nn_threads(
    a: MatRef<'_>,
    b: MatRef<'_>,
    mut c: MatMut<'_>,
    acc: Accum,
    threads: usize,
) -> Result<(), ShapeError> {
    let (m, k, n) = (a.rows(), a.cols(), b.cols());
    let dims = ((a.rows(), a.cols()), (b.rows(), b.cols()), (c.rows(), c.cols()));
    check("gemm_nn", dims.0, dims.1, dims.2, b.rows() == k && dims.2 == (m, n))?;
    // Row-major A: element (i, l) at i·k + l, so row stride k and column stride 1.
    let (a, b, c) = (a.as_slice(), b.as_slice(), c.as_mut_slice());
    sgemm(m, k, n, a, k as isize, 1, b, n as isize, 1, c, acc, threads, None);
    Ok(())
}

/// The activation a forward product applies to its output as each row segment becomes final
/// ([`try_gemm_nn_activate_threads`]).
pub enum Epilogue<'a> {
    /// `z = arctan(z)` in place ([`crate::elementwise::arctan_in_place`]).
    ArctanInPlace,
    /// `a = arctan(z)` ([`crate::elementwise::arctan`]); `z` is kept.
    Arctan {
        /// The activations, as long as `z`.
        a: &'a mut [f32],
    },
    /// `a = arctan(z)` and `d = 1/(1 + z²)` ([`crate::elementwise::arctan_with_derivative`]);
    /// `z` is kept.
    ArctanWithDerivative {
        /// The activations, as long as `z`.
        a: &'a mut [f32],
        /// The derivative, as long as `z`.
        d: &'a mut [f32],
    },
}

/// `Z = X·W` (overwritten), then the [`Epilogue`]'s element-wise activation of `Z`, fused: each
/// row segment of `Z` is activated by the thread that computed it as soon as its last `k` block
/// is added, while it is still in cache, instead of in a second pass over memory. The
/// activation is the same element-wise kernel on the same values, so `z`, `a` and `d` are
/// bit-identical to [`try_gemm_nn_threads`] followed by the element-wise function (tested), for
/// every thread count.
///
/// # Errors
/// [`ShapeError`] naming the shapes if the product's do not agree or an output of the epilogue
/// is not as long as `Z`; nothing is written then.
pub fn try_gemm_nn_activate_threads(
    x: MatRef<'_>,
    w: MatRef<'_>,
    mut z: MatMut<'_>,
    epilogue: Epilogue<'_>,
    threads: usize,
) -> Result<(), ShapeError> {
    let (m, k, n) = (x.rows(), x.cols(), w.cols());
    let dims = ((x.rows(), x.cols()), (w.rows(), w.cols()), (z.rows(), z.cols()));
    check("gemm_nn", dims.0, dims.1, dims.2, w.rows() == k && dims.2 == (m, n))?;
    let len = m * n;
    let wrong = |name: &str, got: usize| {
        ShapeError(format!(
            "gemm_nn with activation: Z is {m}×{n} ({len} elements) but {name} holds {got}"
        ))
    };
    // Addresses, not references, so the hook is `Sync`; each call touches only its segment.
    let (ap, dp) = match epilogue {
        Epilogue::Arctan { a } if a.len() != len => return Err(wrong("a", a.len())),
        Epilogue::ArctanWithDerivative { a, .. } if a.len() != len => {
            return Err(wrong("a", a.len()))
        }
        Epilogue::ArctanWithDerivative { d, .. } if d.len() != len => {
            return Err(wrong("d", d.len()))
        }
        Epilogue::ArctanInPlace => (None, None),
        Epilogue::Arctan { a } => (Some(a.as_mut_ptr() as usize), None),
        Epilogue::ArctanWithDerivative { a, d } => {
            (Some(a.as_mut_ptr() as usize), Some(d.as_mut_ptr() as usize))
        }
    };
    let finish = move |seg: *mut f32, off: usize, len: usize| {
        // SAFETY: the driver passes each final segment of Z once, `off + len ≤ m·n`, while no
        // other thread touches it; `a` and `d` hold m·n floats (checked) and are borrowed
        // mutably for this call, and the segments [off, off + len) are disjoint across calls.
        unsafe {
            let Some(ap) = ap else {
                crate::elementwise::arctan_in_place(std::slice::from_raw_parts_mut(seg, len));
                return;
            };
            let z = std::slice::from_raw_parts(seg.cast_const(), len);
            let a = std::slice::from_raw_parts_mut((ap as *mut f32).add(off), len);
            match dp {
                None => crate::elementwise::arctan(z, a),
                Some(dp) => {
                    let d = std::slice::from_raw_parts_mut((dp as *mut f32).add(off), len);
                    crate::elementwise::arctan_with_derivative(z, a, d);
                }
            }
        }
    };
    let (xs, ws, zs) = (x.as_slice(), w.as_slice(), z.as_mut_slice());
    sgemm(
        m,
        k,
        n,
        xs,
        k as isize,
        1,
        ws,
        n as isize,
        1,
        zs,
        Accum::Overwrite,
        threads,
        Some(&finish),
    );
    Ok(())
}

/// [`try_gemm_tn`] on up to `threads` threads, bit-identical for every thread count (see
/// [`try_gemm_nn_threads`]).
pub fn try_gemm_tn_threads(
    a: MatRef<'_>,
    b: MatRef<'_>,
    mut c: MatMut<'_>,
    acc: Accum,
    threads: usize,
) -> Result<(), ShapeError> {
    let (k, m, n) = (a.rows(), a.cols(), b.cols());
    let dims = ((a.rows(), a.cols()), (b.rows(), b.cols()), (c.rows(), c.cols()));
    check("gemm_tn", dims.0, dims.1, dims.2, b.rows() == k && dims.2 == (m, n))?;
    // Aᵀ (m×k) read from row-major A (k×m): element (i, l) of Aᵀ is A[l·m + i], so the strides of
    // Aᵀ are (1, m): the transpose is the swapped strides, not a copy.
    let (a, b, c) = (a.as_slice(), b.as_slice(), c.as_mut_slice());
    sgemm(m, k, n, a, 1, m as isize, b, n as isize, 1, c, acc, threads, None);
    Ok(())
}

/// [`try_gemm_nt`] on up to `threads` threads, bit-identical for every thread count (see
/// [`try_gemm_nn_threads`]).
pub fn try_gemm_nt_threads(
    a: MatRef<'_>,
    b: MatRef<'_>,
    mut c: MatMut<'_>,
    acc: Accum,
    threads: usize,
) -> Result<(), ShapeError> {
    let (m, k, n) = (a.rows(), a.cols(), b.rows());
    let dims = ((a.rows(), a.cols()), (b.rows(), b.cols()), (c.rows(), c.cols()));
    check("gemm_nt", dims.0, dims.1, dims.2, b.cols() == k && dims.2 == (m, n))?;
    // Bᵀ (k×n) read from row-major B (n×k): strides (1, k).
    let (a, b, c) = (a.as_slice(), b.as_slice(), c.as_mut_slice());
    sgemm(m, k, n, a, k as isize, 1, b, 1, k as isize, c, acc, threads, None);
    Ok(())
}

#[cfg(test)]
mod sparse_tests;
#[cfg(test)]
mod tests;
