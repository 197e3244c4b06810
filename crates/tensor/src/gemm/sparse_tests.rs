//! Zero-column skipping (`sparse.rs`) changes no bit: every product with zero-heavy broadcast
//! operands equals the same product with skipping turned off, NaN and infinities included.

use super::*;
use crate::init::{fill_standard_normal, stream_rng};
use crate::Matrix;
use driver::SPARSE_PANELS;

/// How the test operand `A` (m×k as the product sees it) is made sparse.
#[derive(Clone, Copy, Debug)]
enum Pattern {
    /// 80 % of the elements `+0` (an image batch).
    Pixels,
    /// Whole column bands zero, the rest dense (image borders).
    Bands,
    /// Everything zero: every chain is skipped entirely.
    AllZero,
    /// Pixels, with the zeros `−0`.
    NegativeZeros,
    /// Pixels, with a few NaN and infinities in `A`.
    NonFiniteA,
}

/// A deterministic pseudo-random value in [0, 1) for index `i` of stream `s`.
fn hash(i: usize, s: u64) -> f64 {
    let mut x =
        (i as u64 ^ s.wrapping_mul(0x9e37_79b9_7f4a_7c15)).wrapping_add(0x632b_e59b_d9b4_e019);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    (x ^ (x >> 31)) as f64 / 2f64.powi(64)
}

/// `A` as the product sees it (`m × k`, element `(i, l)`), stored row-major `rows × cols`.
fn operand(pattern: Pattern, rows: usize, cols: usize, transposed: bool, s: u64) -> Matrix {
    let mut a = Matrix::zeros(rows, cols);
    fill_standard_normal(&mut stream_rng(21, s), a.as_mut_slice());
    for (e, v) in a.as_mut_slice().iter_mut().enumerate() {
        let (r, c) = (e / cols, e % cols);
        // The k index of this element as the product sees it.
        let l = if transposed { r } else { c };
        let zero = match pattern {
            Pattern::Pixels | Pattern::NegativeZeros | Pattern::NonFiniteA => hash(e, s) < 0.8,
            Pattern::Bands => l % 40 < 22,
            Pattern::AllZero => true,
        };
        if zero {
            *v = if matches!(pattern, Pattern::NegativeZeros) { -0.0 } else { 0.0 };
        } else if matches!(pattern, Pattern::NonFiniteA) && hash(e, s + 7) < 0.01 {
            *v = [f32::NAN, f32::INFINITY, f32::NEG_INFINITY][e % 3];
        }
    }
    a
}

#[derive(Clone, Copy, Debug)]
enum Kind {
    Nn,
    Tn,
    Nt,
}

/// Runs `kind` on `threads` threads with skipping on or off; returns C's bits and the panels run
/// compressed on this thread.
fn product(
    kind: Kind,
    a: &Matrix,
    b: &Matrix,
    c0: &Matrix,
    acc: Accum,
    threads: usize,
    dense: bool,
) -> (Vec<u32>, usize) {
    FORCED_DENSE.with(|d| d.set(dense));
    SPARSE_PANELS.with(|n| n.set(0));
    let mut c = c0.clone();
    let (av, bv, cv) = (a.view(), b.view(), c.view_mut());
    match kind {
        Kind::Nn => try_gemm_nn_threads(av, bv, cv, acc, threads),
        Kind::Tn => try_gemm_tn_threads(av, bv, cv, acc, threads),
        Kind::Nt => try_gemm_nt_threads(av, bv, cv, acc, threads),
    }
    .unwrap();
    FORCED_DENSE.with(|d| d.set(false));
    (c.as_slice().iter().map(|v| v.to_bits()).collect(), SPARSE_PANELS.with(|n| n.get()))
}

/// Every kernel, operand layout (A in place: `A·B`, `A·Bᵀ`; packed: `Aᵀ·B`), edge of the tiles,
/// `k` within one block and across several, both accumulation modes with `−0` and NaN in `C`, and
/// every zero pattern: skipping gives exactly the dense bits, and the sparse path does run.
#[test]
fn skipping_zero_columns_changes_no_bit() {
    let mut stream = 0;
    for kernel in blocking::Kernel::available() {
        if kernel == blocking::Kernel::MatrixMultiply {
            continue;
        }
        FORCED_KERNEL.with(|k| k.set(Some(kernel)));
        let mut compressed = 0;
        for kind in [Kind::Nn, Kind::Tn, Kind::Nt] {
            for pattern in [
                Pattern::Pixels,
                Pattern::Bands,
                Pattern::AllZero,
                Pattern::NegativeZeros,
                Pattern::NonFiniteA,
            ] {
                for (m, k, n) in
                    [(1, 40, 33), (13, 17, 64), (25, 300, 70), (12, 700, 100), (40, 784, 65)]
                {
                    stream += 1;
                    let a = match kind {
                        Kind::Tn => operand(pattern, k, m, true, stream),
                        _ => operand(pattern, m, k, false, stream),
                    };
                    let mut b = match kind {
                        Kind::Nt => Matrix::zeros(n, k),
                        _ => Matrix::zeros(k, n),
                    };
                    fill_standard_normal(&mut stream_rng(22, stream), b.as_mut_slice());
                    let mut c0 = Matrix::zeros(m, n);
                    fill_standard_normal(&mut stream_rng(23, stream), c0.as_mut_slice());
                    c0.as_mut_slice()[0] = -0.0;
                    if m * n > 2 {
                        c0.as_mut_slice()[1] = f32::NAN;
                    }
                    for acc in [Accum::Overwrite, Accum::Accumulate] {
                        let (want, none) = product(kind, &a, &b, &c0, acc, 1, true);
                        assert_eq!(none, 0, "skipping was off");
                        let (got, used) = product(kind, &a, &b, &c0, acc, 1, false);
                        assert!(
                            want == got,
                            "{kernel:?} {kind:?} {pattern:?} {acc:?} {m}×{k}×{n}: bits differ"
                        );
                        compressed += used;
                    }
                }
            }
        }
        assert!(compressed > 100, "{kernel:?}: the sparse path ran on {compressed} panels only");
    }
    FORCED_KERNEL.with(|k| k.set(None));
}

/// An infinity or a NaN in the vector operand's block turns skipping off for that block (`0·∞` is
/// NaN and must reach C), and the result still equals the dense one bit for bit.
#[test]
fn non_finite_vector_operands_are_never_skipped() {
    for kernel in blocking::Kernel::available() {
        if kernel == blocking::Kernel::MatrixMultiply {
            continue;
        }
        FORCED_KERNEL.with(|k| k.set(Some(kernel)));
        let (m, k, n) = (30, 500, 96);
        let a = operand(Pattern::Bands, m, k, false, 900);
        for bad in [f32::INFINITY, f32::NEG_INFINITY, f32::NAN] {
            let mut b = Matrix::zeros(k, n);
            fill_standard_normal(&mut stream_rng(24, 1), b.as_mut_slice());
            // Row 5 of B is in a zero band of A: skipping it would hide the NaN.
            b.as_mut_slice()[5 * n + 40] = bad;
            let c0 = Matrix::zeros(m, n);
            let (want, _) = product(Kind::Nn, &a, &b, &c0, Accum::Overwrite, 1, true);
            let (got, _) = product(Kind::Nn, &a, &b, &c0, Accum::Overwrite, 1, false);
            assert!(want == got, "{kernel:?} {bad}: bits differ");
            let col40 = (0..m).map(|i| f32::from_bits(got[i * n + 40]));
            assert!(col40.clone().all(f32::is_nan), "{kernel:?} {bad}: 0·{bad} must give NaN");
        }
    }
    FORCED_KERNEL.with(|k| k.set(None));
}

/// Split over 1, 2 or 3 threads, zero-heavy products keep their bits (each thread scans and
/// compresses its own panels).
#[test]
fn skipping_is_thread_count_independent() {
    let pool = rayon::ThreadPoolBuilder::new().num_threads(3).build().unwrap();
    let (m, k, n) = (250, 784, 200);
    let x = operand(Pattern::Pixels, m, k, false, 77);
    let mut w = Matrix::zeros(k, n);
    fill_standard_normal(&mut stream_rng(25, 1), w.as_mut_slice());
    let c0 = Matrix::zeros(m, n);
    let (want, _) = product(Kind::Nn, &x, &w, &c0, Accum::Overwrite, 1, true);
    for t in [1, 2, 3] {
        let got = pool.install(|| product(Kind::Nn, &x, &w, &c0, Accum::Overwrite, t, false).0);
        assert!(want == got, "{t} threads: bits differ");
    }
}
