//! handprop's own register-tile micro-kernels (x86-64): `C_tile (+)= Ã·B̃` for one `MR × NR` tile of
//! the output, from a packed `MR × kc` panel `Ã` of the broadcast operand and a packed `kc × NR`
//! panel `B̃` of the vector operand.
//!
//! Packed layouts (written by `driver.rs`): `Ã[l·MR + i] = op(A)_{i,l}` and `B̃[l·NR + j] =
//! op(B)_{l,j}` for `l < kc`, zero-padded past the edge of the matrix, 64-byte aligned.
//!
//! For every `l` the kernel broadcasts the `MR` values of `Ã`'s column `l` and multiplies each into
//! the `NR / lanes` vectors of `B̃`'s row `l`, accumulating with fused multiply-add into `MR·NR/lanes`
//! independent registers (AVX-512: 12 × 2 zmm = 24 chains; AVX2: 6 × 2 ymm = 12 chains), enough to
//! cover the FMA latency on both FMA ports. Each output element is one chain
//! `acc ← fma(a_il, b_lj, acc)` for `l = 0, 1, …, kc−1`, started at zero, then added to `C` (or
//! stored, for the first `k` block of an overwriting product): the summation order of an element
//! depends only on `kc`, never on the tile, the thread or the edge handling.
//!
//! The `SPARSE` variants run the same chain over the columns `l = idx[0] < idx[1] < …` of a
//! compressed panel only (`Ã[t·MR + i] = op(A)_{i, idx[t]}`, reading `B̃`'s row `idx[t]`): the
//! columns left out are those where the whole panel is zero, whose steps `fma(0, b, acc) = acc`
//! change no bit while `b` is finite (see `sparse.rs`).

#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::*;

/// Where a tile goes: `C` at `c`, row stride `rsc`, column stride `csc`, of which the first `mr`
/// rows and `nr` columns exist, and whether to add to it (`true`) or overwrite it (`false`).
#[derive(Clone, Copy)]
pub(super) struct Tile {
    pub c: *mut f32,
    pub rsc: isize,
    pub csc: isize,
    pub mr: usize,
    pub nr: usize,
    pub add: bool,
}

/// Writes a full tile held in `t` (row-major `MR × NR`) into `C` element by element (edge tiles and
/// transposed outputs).
///
/// # Safety
/// Every element `(i, j)`, `i < tile.mr`, `j < tile.nr`, of `C` must be valid for reads and writes.
#[inline(always)]
unsafe fn scatter<const MR: usize, const NR: usize>(t: &[f32], tile: Tile) {
    for i in 0..tile.mr {
        for j in 0..tile.nr {
            // SAFETY: the caller guarantees the element exists.
            unsafe {
                let p = tile.c.offset(i as isize * tile.rsc + j as isize * tile.csc);
                *p = if tile.add { *p + t[i * NR + j] } else { t[i * NR + j] };
            }
        }
    }
}

/// Offsets of the rows of an unpacked broadcast operand; rows past the edge (`i ≥ mr`) repeat
/// the last row, so they stay inside the matrix (their results are dropped).
#[inline(always)]
fn row_offsets<const MR: usize>(rsa: isize, mr: usize) -> [isize; MR] {
    std::array::from_fn(|i| i.min(mr.max(1) - 1) as isize * rsa)
}

/// Asks for the cache line holding byte `p` in L1 (`_mm_prefetch`, T0). A hint only: it never
/// faults, whatever the address, so `p` may point past an operand's end.
#[inline(always)]
fn prefetch_line(p: *const i8) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: prefetching is a hint that never faults, whatever the address.
    unsafe {
        _mm_prefetch::<_MM_HINT_T0>(p)
    };
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

/// Asks for the lines of a full, unit-stride tile of `C` that the kernel will read at its end
/// (`C + …`): they are rows at `C`'s row stride, which the hardware prefetchers do not predict, and
/// fetching them while the FMA loop runs hides the miss.
#[inline(always)]
fn prefetch_c<const MR: usize, const NR: usize>(tile: Tile) {
    if tile.add && tile.csc == 1 && tile.mr == MR && tile.nr == NR {
        for i in 0..MR {
            let row = tile.c.wrapping_offset(i as isize * tile.rsc).cast::<i8>();
            prefetch_line(row);
            prefetch_line(row.wrapping_add(NR * 4 - 1));
        }
    }
}

/// How far ahead of the FMA loop the dense kernels ask for the packed `B̃` rows: 4 KiB, 32 steps
/// of the AVX-512 kernel (128 bytes per step) or 64 of the AVX2 kernel (64 bytes per step).
///
/// `B̃`'s micro-panels stream from L2 once per broadcast panel, and the hardware's L1
/// prefetchers stop at every 4 KiB page. On a quiet core that costs nothing measurable, but the
/// project's KVM Xeon spends long phases where other tenants contend for the memory hierarchy
/// (its FMA peak stays at ≈ 170 GFLOP/s while a product swings from 150 to 100 GFLOP/s), and
/// there the prefetch gained 8–10 % in the median on the H = 1024 products (AVX-512, 40 calls each
/// way, interleaved in one process; 2 KiB and 6 KiB ahead gave the same within 1 %) and 15 % on
/// the AVX2 kernel, while the best calls stayed equal. A hint only: it never faults and changes
/// no bit. The compressed (sparse) panels jump through `B̃`, so they do not prefetch.
const PREFETCH_AHEAD: usize = 1024;

/// Asks for the `B̃` line `PREFETCH_AHEAD + 16·line` floats past `row` (past the block's end
/// near the last tile: harmless).
#[inline(always)]
fn prefetch_b(row: *const f32, line: usize) {
    prefetch_line(row.wrapping_add(PREFETCH_AHEAD + 16 * line).cast::<i8>());
}

/// AVX-512 rows per tile (broadcast side).
pub(super) const AVX512_MR: usize = 12;
/// AVX-512 columns per tile (two zmm vectors).
pub(super) const AVX512_NR: usize = 32;
/// AVX2 rows per tile.
pub(super) const AVX2_MR: usize = 6;
/// AVX2 columns per tile (two ymm vectors).
pub(super) const AVX2_NR: usize = 16;

/// The AVX-512 `12 × 32` kernel. `PACKED`: `a` is a packed panel (`a[l·MR + i]`); else it is read
/// in place as `a[i·rsa + l·csa]` (used when each row panel meets a single column panel, so
/// packing would copy the operand only to read it once). Rows `i ≥ tile.mr` of an unpacked `a`
/// are never read (their accumulators are zero and dropped). `SPARSE` (with `PACKED`): `a` is a
/// compressed panel of `kc` columns and step `t` reads `B̃`'s row `idx[t]`; else `idx` is unused.
///
/// # Safety
/// The CPU must have AVX-512F; `a` must hold `12·kc` floats (packed) or address `tile.mr × kc`
/// valid elements (unpacked); `b` must hold `32·kc` floats (`32·(idx[t] + 1)` for every `t` when
/// sparse, and `idx` `kc` entries), 64-byte aligned; the tile's elements of `C` must be valid
/// (see [`Tile`]).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
pub(super) unsafe fn avx512<const PACKED: bool, const SPARSE: bool>(
    kc: usize,
    a: *const f32,
    rsa: isize,
    csa: isize,
    b: *const f32,
    idx: *const u32,
    tile: Tile,
) {
    const MR: usize = AVX512_MR;
    const NR: usize = AVX512_NR;
    let mut acc = [[_mm512_setzero_ps(); 2]; MR];
    let off = row_offsets::<MR>(rsa, tile.mr);
    prefetch_c::<MR, NR>(tile);
    let (mut a, mut b) = (a, b);
    for t in 0..kc {
        // SAFETY: `l < kc` (or `idx[t] <` the panel's depth), within the packed panels (caller);
        // `b` is 64-byte aligned and NR·4 = 128 bytes per row keeps it so.
        unsafe {
            let row = if SPARSE { b.add(*idx.add(t) as usize * NR) } else { b };
            if !SPARSE {
                prefetch_b(row, 0);
                prefetch_b(row, 1);
            }
            let b0 = _mm512_load_ps(row);
            let b1 = _mm512_load_ps(row.add(16));
            for (i, acc) in acc.iter_mut().enumerate() {
                let ai = _mm512_set1_ps(if PACKED { *a.add(i) } else { *a.offset(off[i]) });
                acc[0] = _mm512_fmadd_ps(ai, b0, acc[0]);
                acc[1] = _mm512_fmadd_ps(ai, b1, acc[1]);
            }
            a = if PACKED { a.add(MR) } else { a.offset(csa) };
            if !SPARSE {
                b = b.add(NR);
            }
        }
    }
    if tile.mr == MR && tile.nr == NR && tile.csc == 1 {
        for (i, acc) in acc.iter().enumerate() {
            // SAFETY: a full tile with unit column stride: 32 contiguous elements per row exist.
            unsafe {
                let p = tile.c.offset(i as isize * tile.rsc);
                let (mut v0, mut v1) = (acc[0], acc[1]);
                if tile.add {
                    v0 = _mm512_add_ps(_mm512_loadu_ps(p), v0);
                    v1 = _mm512_add_ps(_mm512_loadu_ps(p.add(16)), v1);
                }
                _mm512_storeu_ps(p, v0);
                _mm512_storeu_ps(p.add(16), v1);
            }
        }
    } else {
        let mut t = [0.0f32; MR * NR];
        for (i, acc) in acc.iter().enumerate() {
            // SAFETY: `t` holds MR·NR floats.
            unsafe {
                _mm512_storeu_ps(t.as_mut_ptr().add(i * NR), acc[0]);
                _mm512_storeu_ps(t.as_mut_ptr().add(i * NR + 16), acc[1]);
            }
        }
        // SAFETY: the caller's contract.
        unsafe { scatter::<MR, NR>(&t, tile) };
    }
}

/// The AVX2 + FMA `6 × 16` kernel (`PACKED` and `SPARSE` as for [`avx512`]).
///
/// # Safety
/// As [`avx512`] with 6 rows, 16 columns and 32-byte alignment.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
pub(super) unsafe fn avx2<const PACKED: bool, const SPARSE: bool>(
    kc: usize,
    a: *const f32,
    rsa: isize,
    csa: isize,
    b: *const f32,
    idx: *const u32,
    tile: Tile,
) {
    const MR: usize = AVX2_MR;
    const NR: usize = AVX2_NR;
    let mut acc = [[_mm256_setzero_ps(); 2]; MR];
    let off = row_offsets::<MR>(rsa, tile.mr);
    prefetch_c::<MR, NR>(tile);
    let (mut a, mut b) = (a, b);
    for t in 0..kc {
        // SAFETY: as in `avx512`.
        unsafe {
            let row = if SPARSE { b.add(*idx.add(t) as usize * NR) } else { b };
            if !SPARSE {
                prefetch_b(row, 0);
            }
            let b0 = _mm256_load_ps(row);
            let b1 = _mm256_load_ps(row.add(8));
            for (i, acc) in acc.iter_mut().enumerate() {
                let ai = _mm256_set1_ps(if PACKED { *a.add(i) } else { *a.offset(off[i]) });
                acc[0] = _mm256_fmadd_ps(ai, b0, acc[0]);
                acc[1] = _mm256_fmadd_ps(ai, b1, acc[1]);
            }
            a = if PACKED { a.add(MR) } else { a.offset(csa) };
            if !SPARSE {
                b = b.add(NR);
            }
        }
    }
    if tile.mr == MR && tile.nr == NR && tile.csc == 1 {
        for (i, acc) in acc.iter().enumerate() {
            // SAFETY: a full tile with unit column stride.
            unsafe {
                let p = tile.c.offset(i as isize * tile.rsc);
                let (mut v0, mut v1) = (acc[0], acc[1]);
                if tile.add {
                    v0 = _mm256_add_ps(_mm256_loadu_ps(p), v0);
                    v1 = _mm256_add_ps(_mm256_loadu_ps(p.add(8)), v1);
                }
                _mm256_storeu_ps(p, v0);
                _mm256_storeu_ps(p.add(8), v1);
            }
        }
    } else {
        let mut t = [0.0f32; MR * NR];
        for (i, acc) in acc.iter().enumerate() {
            // SAFETY: `t` holds MR·NR floats.
            unsafe {
                _mm256_storeu_ps(t.as_mut_ptr().add(i * NR), acc[0]);
                _mm256_storeu_ps(t.as_mut_ptr().add(i * NR + 8), acc[1]);
            }
        }
        // SAFETY: the caller's contract.
        unsafe { scatter::<MR, NR>(&t, tile) };
    }
}
