//! The three matrix products of a dense layer, in place into preallocated outputs.
//!
//! With row-major `X` (batch × n), `W` (n × m), `E` (batch × m):
//! * forward `Z = X·W` is [`gemm_nn`];
//! * weight gradient `G = Xᵀ·E` is [`gemm_tn`];
//! * gradient passed down `g = E·Wᵀ` is [`gemm_nt`].
//!
//! Transposes are expressed by swapping strides, never by copying. All three go through one strided
//! kernel call, single-threaded (parallelism is decided by the caller, one cell per core):
//!
//! * on x86-64 with AVX-512F, or AVX2 and FMA: `private_gemm_x86::gemm`, faer's matrix-product
//!   kernel. It keeps its packing memory in a per-thread buffer, so **after the first product on a
//!   thread no product allocates** (tested with a counting allocator in `tests/no_alloc.rs`); it is
//!   also as fast as or faster than matrixmultiply at the study's shapes (docs/tensor.md). Its
//!   hand-written kernels return with the upper halves of the vector registers dirty, which makes
//!   every later non-VEX SSE instruction (all baseline-compiled scalar and SSE code) up to 7×
//!   slower on this CPU; we clear that state with `vzeroupper` after each call.
//! * elsewhere: `matrixmultiply::sgemm`, which takes one packing buffer (≤ 1.1 MB) from the
//!   allocator per call.
//!
//! Both run the same operation order on every call, so one machine gives bit-identical products for
//! identical inputs (tested); different kernels (AVX-512 vs AVX2, or the fallback) may differ in the
//! last bits, as any BLAS's do.
//!
//! `Accum::Overwrite` tells either kernel not to read `C` (β = 0 / replace): stale NaN or ∞ in a
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

/// Which implementation computes the products (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kernel {
    /// `private_gemm_x86` with this instruction set.
    #[cfg(target_arch = "x86_64")]
    X86(private_gemm_x86::InstrSet),
    /// `matrixmultiply::sgemm`.
    MatrixMultiply,
}

impl Kernel {
    /// The fastest kernel this CPU runs.
    fn detect() -> Kernel {
        #[cfg(target_arch = "x86_64")]
        if let Some(instr) = x86::instruction_set() {
            return Kernel::X86(instr);
        }
        Kernel::MatrixMultiply
    }

    /// Every kernel this CPU can run, fastest first (the tests check each against the naive loop).
    #[cfg(test)]
    fn available() -> Vec<Kernel> {
        let mut all = Vec::new();
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx512f") {
                all.push(Kernel::X86(private_gemm_x86::InstrSet::Avx512));
            }
            if std::arch::is_x86_feature_detected!("avx2")
                && std::arch::is_x86_feature_detected!("fma")
            {
                all.push(Kernel::X86(private_gemm_x86::InstrSet::Avx256));
            }
        }
        all.push(Kernel::MatrixMultiply);
        all
    }
}

#[cfg(test)]
thread_local! {
    /// The kernel the tests force on their own thread (`None`: detect, as outside tests).
    static FORCED_KERNEL: std::cell::Cell<Option<Kernel>> = const { std::cell::Cell::new(None) };
}

/// The kernel for this call: the detected one (or, in tests, the forced one).
fn kernel() -> Kernel {
    #[cfg(test)]
    if let Some(k) = FORCED_KERNEL.with(std::cell::Cell::get) {
        return k;
    }
    Kernel::detect()
}

/// One strided product `C (+)= op(A)·op(B)` with `op(A)` m×k and `op(B)` k×n, `C` row-major m×n.
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
    #[cfg(target_arch = "x86_64")]
    if let Kernel::X86(instr) = kernel() {
        // SAFETY: as below for matrixmultiply; in addition `instr` was detected on this CPU (by
        // `Kernel::detect`, or `Kernel::available` in tests).
        unsafe { x86::gemm(instr, m, k, n, a, rsa, csa, b, rsb, csb, c, acc) };
        return;
    }
    // The product is handed to matrixmultiply transposed, `Cᵀ = op(B)ᵀ·op(A)ᵀ` (n×k times k×m into
    // the n×m matrix Cᵀ, whose strides over the same row-major memory are (1, n)), which is the
    // orientation nalgebra uses. Measured at the study's shapes it was as fast as the direct one
    // everywhere and 2.6× faster for E5·W5ᵀ at H = 1024, where the direct form stores 16-row tiles
    // of C at a 4 KiB stride that collide in the L1 cache.
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

/// The x86-64 kernel: faer's `private_gemm_x86`, then `vzeroupper`.
#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::Accum;
    use private_gemm_x86::InstrSet;

    /// The widest kernel this CPU runs, as faer chooses it: AVX-512F, else AVX2 with FMA, else
    /// none (the caller falls back to matrixmultiply). The detection is cached by std, so this is
    /// a couple of loads per call and allocates nothing.
    pub(super) fn instruction_set() -> Option<InstrSet> {
        if std::arch::is_x86_feature_detected!("avx512f") {
            Some(InstrSet::Avx512)
        } else if std::arch::is_x86_feature_detected!("avx2")
            && std::arch::is_x86_feature_detected!("fma")
        {
            Some(InstrSet::Avx256)
        } else {
            None
        }
    }

    /// `C (+)= op(A)·op(B)` through `private_gemm_x86::gemm`, single-threaded.
    ///
    /// # Safety
    /// The CPU must support `instr` (as [`instruction_set`] checks), and the slices must hold every
    /// element that `m`, `k`, `n` and the strides address (A: m×k, B: k×n, C: m×n row-major).
    #[allow(clippy::too_many_arguments)]
    pub(super) unsafe fn gemm(
        instr: InstrSet,
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
        use private_gemm_x86::{gemm, Accum as PAccum, DType, DstKind, IType};
        let alpha = 1.0f32;
        // `Replace` never reads C (β = 0 without the 0·NaN), `Add` is C + A·B. The kernel itself
        // picks the orientation (it transposes a row-major C into a column-major problem), so we
        // hand it the direct one. No row/column index lists, no diagonal, no conjugation, one
        // thread: the plain product.
        //
        // SAFETY: the caller's contract covers the pointers and strides; C does not alias A or B
        // (it is borrowed mutably while they are borrowed immutably); `alpha` outlives the call.
        unsafe {
            gemm(
                DType::F32,
                IType::U64,
                instr,
                m,
                n,
                k,
                c.as_mut_ptr().cast(),
                n as isize,
                1,
                std::ptr::null(),
                std::ptr::null(),
                DstKind::Full,
                match acc {
                    Accum::Overwrite => PAccum::Replace,
                    Accum::Accumulate => PAccum::Add,
                },
                a.as_ptr().cast(),
                rsa,
                csa,
                false,
                std::ptr::null(),
                0,
                b.as_ptr().cast(),
                rsb,
                csb,
                false,
                (&alpha as *const f32).cast(),
                1,
            );
            // SAFETY: both instruction sets imply AVX.
            zero_upper();
        }
    }

    /// `vzeroupper`: marks the upper halves of the vector registers clean. The kernel's assembly
    /// returns without it; left dirty, every non-VEX SSE instruction afterwards pays a merge with
    /// the upper state (measured here: a baseline SSE loop 7× and scalar f64 `ln` 4× slower until
    /// the next AVX function happens to clear it).
    ///
    /// # Safety
    /// The CPU must support AVX.
    #[target_feature(enable = "avx")]
    unsafe fn zero_upper() {
        // The intrinsic is a safe function on newer compilers inside an AVX function, and unsafe on
        // older ones; the block serves both.
        #[allow(unused_unsafe)]
        // SAFETY: the caller guarantees AVX.
        unsafe {
            std::arch::x86_64::_mm256_zeroupper();
        }
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
