//! Packing: copying a block of an operand into the register-tile panels the micro-kernels read.
//!
//! A panel of width `w` (the tile's `MR` for the broadcast operand, `NR` for the vector operand)
//! and depth `kb` is `panel[l·w + i] = src[i·si + l·sl]` for `i < rows`, `l < kb`, and 0 for
//! `rows ≤ i < w` (the edge of the matrix). Two source layouts occur in a training step:
//!
//! * **rows contiguous** (`si = 1`: `B` of `A·B`, `Aᵀ` of `Aᵀ·E`): each `l` is one run of `rows`
//!   floats, copied with (masked) full-width vector loads and stores;
//! * **transposing** (`sl = 1`: `A` of `A·B`, `Wᵀ` of `E·Wᵀ`): each source row `i` runs along
//!   `l`, so the panel is the transpose of a `rows × kb` block. It is copied in `V × V` blocks
//!   (`V` = 16 floats for AVX-512, 8 for AVX2): `V` row loads, an in-register transpose
//!   (unpack / shuffle / lane permutes), `V` stores. Element by element this path ran at about one
//!   float per cycle and took 7–12 % of a training step on the AVX-512 Xeon of
//!   docs/performance.md; the blocked transpose is what makes transposed operands pack as fast
//!   as plain ones.
//!
//! Packing only moves values: every kernel's panels are identical to the scalar reference's
//! (tested for odd shapes and strides), so it cannot change a bit of a product.

#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::*;

use super::blocking::Kernel;

/// Packs a `rows × kb` block (`src[i·si + l·sl]`) into `⌈rows/w⌉` panels of width `w`, panel `q`
/// at `dst + q·w·kb` holding rows `q·w..` (see [`pack_panel`]; the last one zero-padded).
///
/// With rows contiguous in the source (`si = 1`) the loop runs over `l` outside and the panels
/// inside, so each source line (`l`, a run of `rows` floats) is read once, in order: packing
/// `Aᵀ` (`l` = a row of the activations, `H` floats apart) one 12-float panel at a time instead
/// touched a new line and a new page for every float group, at 5–7 % of a training step.
///
/// # Safety
/// `dst` holds `⌈rows/w⌉·w·kb` floats; every source element exists; the CPU runs `kernel`.
#[allow(clippy::too_many_arguments)]
pub(super) unsafe fn pack_block(
    kernel: Kernel,
    dst: *mut f32,
    src: *const f32,
    si: isize,
    sl: isize,
    rows: usize,
    w: usize,
    kb: usize,
) {
    // SAFETY (all arms): the caller's contract.
    unsafe {
        match kernel {
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx512 if si == 1 => avx512_rows_block(dst, src, sl, rows, w, kb),
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx2 if si == 1 => avx2_rows_block(dst, src, sl, rows, w, kb),
            _ => {
                for (q, i0) in (0..rows).step_by(w).enumerate() {
                    let panel = dst.add(q * w * kb);
                    let s = src.offset(i0 as isize * si);
                    pack_panel(kernel, panel, s, si, sl, w.min(rows - i0), w, kb);
                }
            }
        }
    }
}

/// The loops of the rows-contiguous block packer, for a vector of `V` lanes: per `l`, per panel,
/// `copy(from, to, n_load, n_store)` moves lanes `0..n_load` from `from` (zero in the others)
/// into lanes `0..n_store` of `to`. Pointers to lanes that are masked off may lie past the
/// operand, so they are formed with wrapping arithmetic and never dereferenced.
///
/// # Safety
/// As [`pack_block`] with `si = 1`; `copy` touches only the lanes it is told to.
#[inline(always)]
unsafe fn rows_block<const V: usize>(
    dst: *mut f32,
    src: *const f32,
    (sl, rows, w, kb): (isize, usize, usize, usize),
    copy: impl Fn(*const f32, *mut f32, usize, usize),
) {
    let panels = rows.div_ceil(w);
    for l in 0..kb {
        let s = src.wrapping_offset(l as isize * sl);
        for q in 0..panels {
            let (i0, d) = (q * w, dst.wrapping_add(q * w * kb + l * w));
            for c in (0..w).step_by(V) {
                copy(s.wrapping_add(i0 + c), d.wrapping_add(c), rows.saturating_sub(i0 + c), w - c);
            }
        }
    }
}

/// Rows contiguous, AVX-512: masked 16-float moves.
///
/// # Safety
/// As [`pack_block`] with `si = 1`; AVX-512F.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn avx512_rows_block(
    dst: *mut f32,
    src: *const f32,
    sl: isize,
    rows: usize,
    w: usize,
    kb: usize,
) {
    // SAFETY: the caller's contract; masked-off lanes are neither read nor written.
    unsafe {
        rows_block::<16>(dst, src, (sl, rows, w, kb), |from, to, n_load, n_store| {
            let v = _mm512_maskz_loadu_ps(mask16(n_load), from);
            _mm512_mask_storeu_ps(to, mask16(n_store), v);
        });
    }
}

/// Rows contiguous, AVX2: masked 8-float moves.
///
/// # Safety
/// As [`pack_block`] with `si = 1`; AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn avx2_rows_block(
    dst: *mut f32,
    src: *const f32,
    sl: isize,
    rows: usize,
    w: usize,
    kb: usize,
) {
    // SAFETY: the caller's contract; masked-off lanes are neither read nor written.
    unsafe {
        rows_block::<8>(dst, src, (sl, rows, w, kb), |from, to, n_load, n_store| {
            let v = _mm256_maskload_ps(from, mask8(n_load));
            _mm256_maskstore_ps(to, mask8(n_store), v);
        });
    }
}

/// `panel[l·w + i] = src[i·si + l·sl]` for `i < rows ≤ w`, `l < kb`, and 0 for `rows ≤ i < w`,
/// with the vector instructions of `kernel`'s ISA where the layout allows.
///
/// # Safety
/// `panel` holds `w·kb` floats; every source element `(i, l)`, `i < rows`, `l < kb` exists; the
/// CPU runs `kernel`.
#[inline]
#[allow(clippy::too_many_arguments)]
pub(super) unsafe fn pack_panel(
    kernel: Kernel,
    panel: *mut f32,
    src: *const f32,
    si: isize,
    sl: isize,
    rows: usize,
    w: usize,
    kb: usize,
) {
    debug_assert!(rows <= w);
    // SAFETY (all arms): the caller's contract.
    unsafe {
        match kernel {
            #[cfg(target_arch = "x86_64")]
            // One panel is a block of at most `w` rows.
            Kernel::Avx512 if si == 1 => avx512_rows_block(panel, src, sl, rows, w, kb),
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx512 if sl == 1 => avx512_transpose(panel, src, si, rows, w, kb),
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx2 if si == 1 => avx2_rows_block(panel, src, sl, rows, w, kb),
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx2 if sl == 1 => avx2_transpose(panel, src, si, rows, w, kb),
            _ => scalar(panel, src, si, sl, rows, w, kb),
        }
    }
}

/// The reference: element by element, reading along whichever stride is unit.
///
/// # Safety
/// As [`pack_panel`].
pub(super) unsafe fn scalar(
    panel: *mut f32,
    src: *const f32,
    si: isize,
    sl: isize,
    rows: usize,
    w: usize,
    kb: usize,
) {
    // SAFETY: the caller's contract.
    unsafe {
        if si == 1 || (sl != 1 && si.abs() <= sl.abs()) {
            for l in 0..kb {
                let s = src.offset(l as isize * sl);
                let d = panel.add(l * w);
                for i in 0..rows {
                    *d.add(i) = *s.offset(i as isize * si);
                }
                for i in rows..w {
                    *d.add(i) = 0.0;
                }
            }
        } else {
            for i in 0..rows {
                let s = src.offset(i as isize * si);
                for l in 0..kb {
                    *panel.add(l * w + i) = *s.offset(l as isize * sl);
                }
            }
            for l in 0..kb {
                for i in rows..w {
                    *panel.add(l * w + i) = 0.0;
                }
            }
        }
    }
}

/// Lanes `0..n` of a 16-lane mask (`n` clamped to 16).
#[inline(always)]
fn mask16(n: usize) -> u16 {
    if n >= 16 {
        u16::MAX
    } else {
        (1u16 << n) - 1
    }
}

/// The transpose of a 16 × 16 block held as 16 row vectors: `out[c]` lane `r` = `r[r]` lane `c`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn transpose16(r: [__m512; 16]) -> [__m512; 16] {
    // Pairs of rows interleaved, then quadruples (within 128-bit lanes), then 128-bit lanes
    // regrouped twice.
    let t: [__m512; 16] = std::array::from_fn(|q| {
        let (a, b) = (r[q / 2 * 2], r[q / 2 * 2 + 1]);
        if q % 2 == 0 {
            _mm512_unpacklo_ps(a, b)
        } else {
            _mm512_unpackhi_ps(a, b)
        }
    });
    // u[4g + j]: column j (mod 4) of rows 4g..4g+4, in every 128-bit lane.
    let u: [__m512; 16] = std::array::from_fn(|q| {
        let (g, j) = (q / 4, q % 4);
        let (a, b) = (t[4 * g + j / 2], t[4 * g + 2 + j / 2]);
        if j % 2 == 0 {
            _mm512_shuffle_ps::<0x44>(a, b)
        } else {
            _mm512_shuffle_ps::<0xEE>(a, b)
        }
    });
    // v[8h + 4s + j] from u[8h + j] and u[8h + 4 + j]: lanes (0, 2) for s = 0, (1, 3) for s = 1.
    let v: [__m512; 16] = std::array::from_fn(|q| {
        let (h, s, j) = (q / 8, q / 4 % 2, q % 4);
        let (a, b) = (u[8 * h + j], u[8 * h + 4 + j]);
        if s == 0 {
            _mm512_shuffle_f32x4::<0x88>(a, b)
        } else {
            _mm512_shuffle_f32x4::<0xDD>(a, b)
        }
    });
    // Column c = 4·lane + j: lane 0 → v[s=0] 0x88, lane 1 → v[s=1] 0x88, lane 2 → v[s=0] 0xDD,
    // lane 3 → v[s=1] 0xDD, each joining rows 0..8 (h = 0) and 8..16 (h = 1).
    std::array::from_fn(|c| {
        let (lane, j) = (c / 4, c % 4);
        let s = lane % 2;
        let (a, b) = (v[4 * s + j], v[8 + 4 * s + j]);
        if lane < 2 {
            _mm512_shuffle_f32x4::<0x88>(a, b)
        } else {
            _mm512_shuffle_f32x4::<0xDD>(a, b)
        }
    })
}

/// The loops of the transposing packer, for `V × V` blocks of vectors `T`: per group of `V`
/// panel lanes and `V` steps of `l`, `load(row, n)` reads lanes `0..n` of a source row (zero in
/// the others; rows past `rows` are `zero`), `transpose` turns the rows into columns, and
/// `store(to, n, column)` writes lanes `0..n` of a panel row.
///
/// # Safety
/// As [`pack_panel`] with `sl = 1`; the closures touch only the lanes they are told to.
#[inline(always)]
unsafe fn transpose_blocks<T: Copy, const V: usize>(
    panel: *mut f32,
    src: *const f32,
    (si, rows, w, kb): (isize, usize, usize, usize),
    zero: T,
    load: impl Fn(*const f32, usize) -> T,
    transpose: impl Fn([T; V]) -> [T; V],
    store: impl Fn(*mut f32, usize, T),
) {
    for i0 in (0..w).step_by(V) {
        for l0 in (0..kb).step_by(V) {
            let lanes = (kb - l0).min(V);
            let r: [T; V] = std::array::from_fn(|r| {
                let row = src.wrapping_offset((i0 + r) as isize * si + l0 as isize);
                if i0 + r < rows {
                    load(row, lanes)
                } else {
                    zero
                }
            });
            for (c, col) in transpose(r).into_iter().enumerate().take(lanes) {
                store(panel.wrapping_add((l0 + c) * w + i0), w - i0, col);
            }
        }
    }
}

/// Transposing, AVX-512: 16 × 16 blocks.
///
/// # Safety
/// As [`pack_panel`] with `sl = 1`; AVX-512F.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn avx512_transpose(
    panel: *mut f32,
    src: *const f32,
    si: isize,
    rows: usize,
    w: usize,
    kb: usize,
) {
    // SAFETY: the caller's contract; masked-off lanes are neither read nor written.
    unsafe {
        transpose_blocks::<__m512, 16>(
            panel,
            src,
            (si, rows, w, kb),
            _mm512_setzero_ps(),
            |row, n| _mm512_maskz_loadu_ps(mask16(n), row),
            |r| transpose16(r),
            |to, n, v| _mm512_mask_storeu_ps(to, mask16(n), v),
        );
    }
}

/// An AVX2 lane mask: lanes `0..n` set (`n` clamped to 8).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn mask8(n: usize) -> __m256i {
    let n = n.min(8) as i32;
    _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7))
}

/// The transpose of an 8 × 8 block held as 8 row vectors.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn transpose8(r: [__m256; 8]) -> [__m256; 8] {
    let t: [__m256; 8] = std::array::from_fn(|q| {
        let (a, b) = (r[q / 2 * 2], r[q / 2 * 2 + 1]);
        if q % 2 == 0 {
            _mm256_unpacklo_ps(a, b)
        } else {
            _mm256_unpackhi_ps(a, b)
        }
    });
    // u[4g + j]: column j (mod 4) of rows 4g..4g+4 in both 128-bit lanes.
    let u: [__m256; 8] = std::array::from_fn(|q| {
        let (g, j) = (q / 4, q % 4);
        let (a, b) = (t[4 * g + j / 2], t[4 * g + 2 + j / 2]);
        if j % 2 == 0 {
            _mm256_shuffle_ps::<0x44>(a, b)
        } else {
            _mm256_shuffle_ps::<0xEE>(a, b)
        }
    });
    std::array::from_fn(|c| {
        let j = c % 4;
        if c < 4 {
            _mm256_permute2f128_ps::<0x20>(u[j], u[4 + j])
        } else {
            _mm256_permute2f128_ps::<0x31>(u[j], u[4 + j])
        }
    })
}

/// Transposing, AVX2: 8 × 8 blocks.
///
/// # Safety
/// As [`pack_panel`] with `sl = 1`; AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn avx2_transpose(
    panel: *mut f32,
    src: *const f32,
    si: isize,
    rows: usize,
    w: usize,
    kb: usize,
) {
    // SAFETY: the caller's contract; masked-off lanes are neither read nor written.
    unsafe {
        transpose_blocks::<__m256, 8>(
            panel,
            src,
            (si, rows, w, kb),
            _mm256_setzero_ps(),
            |row, n| _mm256_maskload_ps(row, mask8(n)),
            |r| transpose8(r),
            |to, n, v| _mm256_maskstore_ps(to, mask8(n), v),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Packing a block of several panels equals packing its panels one by one with the scalar
    /// reference, for both layouts and ragged last panels.
    #[test]
    fn block_packing_equals_panel_by_panel_scalar_packing() {
        for kernel in Kernel::available() {
            let (mr, nr) = kernel.tile();
            for w in [mr.max(1), nr.max(1)] {
                for rows in [1, w - 1, w, w + 1, 3 * w + 5] {
                    for kb in [1, 9, 17, 40] {
                        let (ld_rows, ld_cols) = (rows + 2, kb + 3);
                        let src: Vec<f32> =
                            (0..ld_rows * ld_cols).map(|v| v as f32 + 0.25).collect();
                        for (si, sl) in [(1isize, ld_rows as isize), (ld_cols as isize, 1)] {
                            let len = rows.div_ceil(w) * w * kb;
                            let mut want = vec![f32::NAN; len];
                            let mut got = vec![f32::NAN; len];
                            // SAFETY: the source covers rows × kb; the buffers hold every panel.
                            unsafe {
                                for (q, i0) in (0..rows).step_by(w).enumerate() {
                                    let s = src.as_ptr().offset(i0 as isize * si);
                                    let d = want.as_mut_ptr().add(q * w * kb);
                                    scalar(d, s, si, sl, w.min(rows - i0), w, kb);
                                }
                                pack_block(
                                    kernel,
                                    got.as_mut_ptr(),
                                    src.as_ptr(),
                                    si,
                                    sl,
                                    rows,
                                    w,
                                    kb,
                                );
                            }
                            let same =
                                want.iter().zip(&got).all(|(a, b)| a.to_bits() == b.to_bits());
                            assert!(same, "{kernel:?} w {w} rows {rows} kb {kb} si {si} sl {sl}");
                        }
                    }
                }
            }
        }
    }

    /// Every kernel's packing equals the scalar reference, for both layouts, every edge.
    #[test]
    fn vector_packing_equals_the_scalar_reference() {
        for kernel in Kernel::available() {
            let (mr, nr) = kernel.tile();
            if mr == 0 {
                continue;
            }
            for w in [mr, nr] {
                for rows in [1, 2, w / 2 + 1, w - 1, w] {
                    for kb in [1, 3, 7, 8, 9, 15, 16, 17, 33, 250] {
                        // Source with padding columns and rows so strides exceed the block.
                        let (ld_rows, ld_cols) = (rows + 3, kb + 5);
                        let src: Vec<f32> =
                            (0..ld_rows * ld_cols).map(|v| v as f32 * 0.5 - 7.0).collect();
                        for (si, sl) in [(1isize, ld_rows as isize), (ld_cols as isize, 1)] {
                            let mut want = vec![f32::NAN; w * kb];
                            let mut got = vec![f32::NAN; w * kb];
                            // SAFETY: the source covers rows × kb at these strides; panels hold w·kb.
                            unsafe {
                                scalar(want.as_mut_ptr(), src.as_ptr(), si, sl, rows, w, kb);
                                pack_panel(
                                    kernel,
                                    got.as_mut_ptr(),
                                    src.as_ptr(),
                                    si,
                                    sl,
                                    rows,
                                    w,
                                    kb,
                                );
                            }
                            let same =
                                want.iter().zip(&got).all(|(a, b)| a.to_bits() == b.to_bits());
                            assert!(same, "{kernel:?} w {w} rows {rows} kb {kb} si {si} sl {sl}");
                        }
                    }
                }
            }
        }
    }
}
