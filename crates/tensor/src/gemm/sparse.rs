//! Skipping the all-zero columns of a broadcast panel, exactly.
//!
//! A product whose broadcast operand has many exact zeros (MNIST's pixels: 81 % of them are 0, and
//! in half of the (12-image panel, pixel) pairs all twelve are) wastes half its multiply-adds on
//! `fma(0, b, acc)`. For a finite `b` that step changes no bit of `acc`:
//!
//! * `0 · b` is `±0` exactly, and `fma(±0·b, …, acc)` rounds `acc + (±0)` once;
//! * `acc + (±0) = acc` for every `acc` except `acc = −0`, where `(−0) + (+0) = +0`;
//! * and `acc` is never `−0`: the chain starts at `+0`, and in round-to-nearest a sum is `−0` only
//!   when both addends are (`x + (−x) = +0`), so `+0` can never become `−0` along the chain.
//!
//! So the micro-kernel may run its chain over the panel's other columns only, in the same order,
//! and every element of `C` keeps its bits. With a NaN or an infinity in the vector operand's
//! block, `0 · b` is NaN and the step matters: the block is then never skipped (one finiteness
//! scan per packed `B̃` block, made only once some panel would skip). Zero means `±0`; a NaN in
//! the broadcast panel counts as nonzero.
//!
//! A panel is compressed when at most 7/8 of its columns are kept (a panel keeping more stays
//! dense: the copy and the sparse kernel's index loads would cost about what they save; on
//! Fashion-MNIST a higher threshold gained nothing), and only where a panel meets at least two
//! column tiles (the scan and the copy are paid once per panel and the tile loop reuses them).
//! The decision is a function of the operands' values only, never of threads or timing, and
//! either way gives the same bits.

#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::*;

use super::blocking::Kernel;

/// Largest `k` block (the blocking clamps `kc` to at most 512).
pub(super) const MAX_KB: usize = 512;

/// Most columns a compressed panel of depth `kb` keeps.
pub(super) fn limit(kb: usize) -> usize {
    kb * 7 / 8
}

/// Where a panel of the broadcast operand is: in place (row `i` at `a + i·rsa`, contiguous along
/// `l`) or packed (`a[l·MR + i]`, zero-padded to `MR` rows).
#[derive(Clone, Copy)]
pub(super) enum Panel {
    InPlace { a: *const f32, rsa: isize },
    Packed { a: *const f32 },
}

/// Writes to `idx` the columns `l < kb` where some row `i < mr` of `panel` is not `±0`, in
/// increasing order, and returns how many; `None` as soon as there are more than `limit`.
///
/// # Safety
/// The CPU runs `kernel` (AVX-512 or AVX2); the panel's rows `i < mr` hold `kb` valid elements
/// (packed: `MR·kb` floats); `kb ≤ MAX_KB`.
pub(super) unsafe fn nonzero_columns(
    kernel: Kernel,
    panel: Panel,
    mr: usize,
    kb: usize,
    limit: usize,
    idx: &mut [u32; MAX_KB],
) -> Option<usize> {
    debug_assert!(kb <= MAX_KB);
    // SAFETY (both arms): the caller's contract.
    unsafe {
        match kernel {
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx512 => scan_avx512(panel, mr, kb, limit, idx),
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx2 => scan_avx2(panel, mr, kb, limit, idx),
            _ => None,
        }
    }
}

/// Appends the set bits of `mask` (columns `c0 + bit`) to `idx`; false once past `limit`.
#[inline(always)]
fn push_bits(
    mut mask: u32,
    c0: usize,
    n: &mut usize,
    limit: usize,
    idx: &mut [u32; MAX_KB],
) -> bool {
    while mask != 0 {
        if *n == limit {
            return false;
        }
        idx[*n] = (c0 + mask.trailing_zeros() as usize) as u32;
        *n += 1;
        mask &= mask - 1;
    }
    true
}

/// The scan of [`nonzero_columns`], one loop for both ISAs: in place, `chunk(p, lanes)` is the
/// mask of the nonzero elements among `lanes ≤ W` at `p` (bit `j` for `p[j]`); packed,
/// `column(p)` says whether any of the `MR` floats at `p` is nonzero.
///
/// # Safety
/// As [`nonzero_columns`]; the closures may only read the elements they are given.
#[inline(always)]
unsafe fn scan<const W: usize, const MR: usize>(
    panel: Panel,
    mr: usize,
    kb: usize,
    limit: usize,
    idx: &mut [u32; MAX_KB],
    chunk: impl Fn(*const f32, usize) -> u32,
    column: impl Fn(*const f32) -> bool,
) -> Option<usize> {
    let mut n = 0;
    match panel {
        Panel::InPlace { a, rsa } => {
            for c0 in (0..kb).step_by(W) {
                let lanes = (kb - c0).min(W);
                // Row `i`'s elements `c0..c0 + lanes` (caller); the pointer stays in the row.
                let mask = (0..mr).fold(0, |m, i| {
                    m | chunk(a.wrapping_offset(i as isize * rsa).wrapping_add(c0), lanes)
                });
                if !push_bits(mask, c0, &mut n, limit, idx) {
                    return None;
                }
            }
        }
        Panel::Packed { a } => {
            for l in 0..kb {
                if column(a.wrapping_add(l * MR)) && !push_bits(1, l, &mut n, limit, idx) {
                    return None;
                }
            }
        }
    }
    Some(n)
}

/// [`nonzero_columns`] with AVX-512: 16 columns per masked compare in place, one masked load per
/// column packed.
///
/// # Safety
/// As [`nonzero_columns`].
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn scan_avx512(
    panel: Panel,
    mr: usize,
    kb: usize,
    limit: usize,
    idx: &mut [u32; MAX_KB],
) -> Option<usize> {
    const MR: usize = super::microkernel::AVX512_MR;
    let zero = _mm512_setzero_ps();
    let chunk = |p: *const f32, lanes: usize| {
        let live: __mmask16 = if lanes == 16 { !0 } else { (1 << lanes) - 1 };
        // SAFETY: lanes past `lanes` are masked off (no access); the rest exist (`scan`).
        let v = unsafe { _mm512_maskz_loadu_ps(live, p) };
        u32::from(_mm512_mask_cmp_ps_mask::<_CMP_NEQ_UQ>(live, v, zero))
    };
    let column = |p: *const f32| {
        let rows: __mmask16 = (1 << MR) - 1;
        // SAFETY: the column's MR floats exist (`scan`).
        let v = unsafe { _mm512_maskz_loadu_ps(rows, p) };
        _mm512_mask_cmp_ps_mask::<_CMP_NEQ_UQ>(rows, v, zero) != 0
    };
    // SAFETY: the caller's contract.
    unsafe { scan::<16, MR>(panel, mr, kb, limit, idx, chunk, column) }
}

/// [`nonzero_columns`] with AVX2: 8 columns per compare in place, one masked load per column
/// packed.
///
/// # Safety
/// As [`nonzero_columns`].
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn scan_avx2(
    panel: Panel,
    mr: usize,
    kb: usize,
    limit: usize,
    idx: &mut [u32; MAX_KB],
) -> Option<usize> {
    const MR: usize = super::microkernel::AVX2_MR;
    let zero = _mm256_setzero_ps();
    // Lane j is loaded when the mask's lane j has its sign bit set; masked-off lanes load as +0
    // and compare equal.
    let live = |lanes: usize| {
        let j = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
        _mm256_cmpgt_epi32(_mm256_set1_epi32(lanes as i32), j)
    };
    let nonzero = |p: *const f32, lanes: usize| {
        // SAFETY: lanes past `lanes` are masked off (no access); the rest exist (`scan`).
        let v = unsafe { _mm256_maskload_ps(p, live(lanes)) };
        _mm256_movemask_ps(_mm256_cmp_ps::<_CMP_NEQ_UQ>(v, zero)) as u32
    };
    // SAFETY: the caller's contract.
    unsafe { scan::<8, MR>(panel, mr, kb, limit, idx, nonzero, |p| nonzero(p, MR) != 0) }
}

/// Copies the columns `idx` of `panel` into `out` as a packed panel of `idx.len()` columns,
/// `out[t·MR + i] = A_{i, idx[t]}` for `i < mr`, `0` for `mr ≤ i < MR`.
///
/// # Safety
/// The panel's rows `i < mr` hold the columns `idx` (packed: `MR` floats per column); `out` holds
/// `MR·idx.len()` floats.
pub(super) unsafe fn compress<const MR: usize>(
    panel: Panel,
    mr: usize,
    idx: &[u32],
    out: &mut [f32],
) {
    for (t, &l) in idx.iter().enumerate() {
        let col = &mut out[t * MR..(t + 1) * MR];
        for (i, o) in col.iter_mut().enumerate() {
            *o = if i >= mr {
                0.0
            } else {
                // SAFETY: the caller's contract.
                unsafe {
                    match panel {
                        Panel::InPlace { a, rsa } => *a.offset(i as isize * rsa + l as isize),
                        Panel::Packed { a } => *a.add(l as usize * MR + i),
                    }
                }
            };
        }
    }
}

/// Whether no element of `s` is an infinity or a NaN.
pub(super) fn all_finite(kernel: Kernel, s: &[f32]) -> bool {
    match kernel {
        // SAFETY: the kernel runs on this CPU, so the feature is there.
        #[cfg(target_arch = "x86_64")]
        Kernel::Avx512 => unsafe { all_finite_avx512(s) },
        // SAFETY: as above.
        #[cfg(target_arch = "x86_64")]
        Kernel::Avx2 => unsafe { all_finite_avx2(s) },
        _ => all_finite_portable(s),
    }
}

/// The exponent bits all set: an infinity or a NaN. Branch-free per chunk so it vectorizes.
#[inline(always)]
fn all_finite_portable(s: &[f32]) -> bool {
    s.chunks(256)
        .all(|c| c.iter().fold(0u32, |m, x| m | u32::from(!x.to_bits() & 0x7f80_0000 == 0)) == 0)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn all_finite_avx512(s: &[f32]) -> bool {
    all_finite_portable(s)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn all_finite_avx2(s: &[f32]) -> bool {
    all_finite_portable(s)
}
