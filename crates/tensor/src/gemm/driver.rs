//! The blocked product around the micro-kernels: packing, the cache loops, the choice of
//! orientation, and the split over threads.
//!
//! Loops, for `C (+)= op(A)·op(B)` with `op(A)` m×k (broadcast side) and `op(B)` k×n (vector
//! side):
//!
//! ```text
//! for ic in 0..m step mc:                 rows of A packed at once (mc ≥ m for the study: once)
//!   for pc in 0..k step kb:               k blocks of equal depth kb ≤ kc
//!     pack A[ic.., pc..] into MR-row panels        (L3 / L2; skipped when A's rows run along k)
//!     for jc in 0..n step nc:
//!       pack B[pc.., jc..] into NR-column panels   (L2)
//!       for each MR-row panel ir:                  (its panel stays in L1)
//!         for each NR-column panel jr: micro-kernel → C tile (+)= …
//! ```
//!
//! Packing (`pack.rs`) reads each operand in the order its strides favour, with vector loads and
//! stores and in-register transposes, so `Aᵀ·B` and `A·Bᵀ` pack as fast as `A·B`. A broadcast
//! operand whose rows are contiguous along `k` is not packed at all: the micro-kernel reads its
//! `MR` rows in place.
//!
//! Every element of `C` is summed as: for each k block in order, a zero-started FMA chain over the
//! block, then added to `C` (stored, for the first block of an overwriting product). That order
//! depends on `kb` only, so splitting the output over threads (disjoint row or column ranges, each
//! thread running these loops on its part with its own packing memory) gives bit-identical results
//! for every thread count.

use std::cell::RefCell;

use super::blocking::{Blocking, Kernel};
use super::microkernel::{self, Tile};
use super::pack;
use super::sparse::{self, Panel, MAX_KB};

/// Called with `(segment, offset, len)` when the `len` elements of `C` at `segment` (part of one
/// row, `offset` elements after `origin`) hold their final values; runs on the thread that
/// computed them, while they are in cache, and is the only access to them until it returns.
pub(super) type Finish<'f> = &'f (dyn Fn(*mut f32, usize, usize) + Sync);

/// One strided product `C (+)= op(A)·op(B)`: `op(A)_{il} = a[i·rsa + l·csa]`,
/// `op(B)_{lj} = b[l·rsb + j·csb]`, `C_{ij} = c[i·rsc + j·csc]`.
#[derive(Clone, Copy)]
pub(super) struct Problem<'f> {
    pub m: usize,
    pub k: usize,
    pub n: usize,
    pub a: *const f32,
    pub rsa: isize,
    pub csa: isize,
    pub b: *const f32,
    pub rsb: isize,
    pub csb: isize,
    pub c: *mut f32,
    pub rsc: isize,
    pub csc: isize,
    /// `C = C + …` (else `C = …`, never reading `C`).
    pub add: bool,
    /// The first element of the whole output (offsets passed to `finish` count from here).
    pub origin: *const f32,
    /// Run on every finished row segment of `C` (only with `csc = 1`: the direct orientation).
    pub finish: Option<Finish<'f>>,
}

// SAFETY: a `Problem` is only sent to threads that work on disjoint parts of `C` (see `split`)
// while the caller holds the borrows of A, B (shared) and C (exclusive) for the whole call.
unsafe impl Send for Problem<'_> {}
// SAFETY: as above.
unsafe impl Sync for Problem<'_> {}

impl<'f> Problem<'f> {
    /// `Cᵀ (+)= op(B)ᵀ·op(A)ᵀ`: the same product seen from the transposed output (without a
    /// `finish` hook: its row segments would be columns of `C`).
    pub(super) fn transposed(self) -> Problem<'f> {
        debug_assert!(self.finish.is_none());
        Problem {
            m: self.n,
            n: self.m,
            a: self.b,
            rsa: self.csb,
            csa: self.rsb,
            b: self.a,
            rsb: self.csa,
            csb: self.rsa,
            rsc: self.csc,
            csc: self.rsc,
            ..self
        }
    }

    /// Rows `i0..i0 + m` and columns `j0..j0 + n` of the output.
    fn part(self, i0: usize, m: usize, j0: usize, n: usize) -> Problem<'f> {
        // Offsets stay inside the operands: i0 < self.m, j0 < self.n.
        let off = |s: isize, i: usize| s * i as isize;
        Problem {
            m,
            n,
            a: self.a.wrapping_offset(off(self.rsa, i0)),
            b: self.b.wrapping_offset(off(self.csb, j0)),
            c: self.c.wrapping_offset(off(self.rsc, i0) + off(self.csc, j0)),
            ..self
        }
    }
}

/// Whether to compute the transposed problem instead: when the register tiles waste clearly fewer
/// lanes that way (the 10-column products: `n = 10` fills 10 of the 32 vector lanes, but 10 of
/// the 12 broadcast rows). A function of the shape and the tile only.
pub(super) fn prefer_transposed(m: usize, n: usize, mr: usize, nr: usize) -> bool {
    // One column panel: the direct orientation reads the large operand in place (see `run`),
    // which beats filling more lanes after copying it.
    if n <= nr {
        return false;
    }
    let padded = |rows: usize, cols: usize| rows.div_ceil(mr) * mr * cols.div_ceil(nr) * nr;
    // 8/9: a clear win only, so that near-square products keep the direct orientation.
    padded(n, m) * 9 < padded(m, n) * 8
}

/// 64-byte aligned packing memory.
#[derive(Clone, Copy)]
#[repr(C, align(64))]
struct Line([f32; 16]);

#[cfg(test)]
thread_local! {
    /// Panels this thread ran compressed (the tests check that the sparse path is taken).
    pub(super) static SPARSE_PANELS: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

thread_local! {
    /// This thread's packing memory; it grows to the largest product seen and is then reused, so
    /// a thread's products allocate nothing after its first one at the largest shape.
    static PACK: RefCell<Vec<Line>> = const { RefCell::new(Vec::new()) };
}

/// Runs `p` on this thread with blocking `bl` (an AVX kernel).
///
/// # Safety
/// The CPU must run `bl.kernel`; `p`'s pointers and strides must address valid elements (C
/// writable and not aliasing A or B).
pub(super) unsafe fn run(bl: &Blocking, p: Problem) {
    let (mr, nr) = (bl.mr, bl.nr);
    let kb = bl.k_block(p.k);
    let mc = bl.mc.min(p.m.div_ceil(mr) * mr);
    let nc = bl.nc.min(p.n.div_ceil(nr) * nr);
    // Read A in place instead of copying it into panels first when
    // * there is a single column panel: every row panel is used once (the 10-column products,
    //   where A is the large operand), or
    // * A's rows are contiguous along k (`csa = 1`: `A·W`, `E·Wᵀ`): the kernel's 12 row streams
    //   are as cache-friendly as a packed panel, and packing them was a transpose of all of A
    //   (measured on the AVX-512 Xeon: 2–4 % faster products, and 4 % of a step less packing).
    // Not when A's rows alias in L1 (`rows_alias`: H = 1024's rows are 4 KiB apart).
    // The summation order is the same either way.
    let packed_a = p.n > nr && (p.csa != 1 || rows_alias(p.rsa, mr));
    let a_len = if packed_a { mc * kb } else { 0 };
    let b_len = nc * kb;
    PACK.with(|cell| {
        let mut buf = cell.borrow_mut();
        let lines = (a_len + b_len).div_ceil(16);
        if buf.len() < lines {
            buf.resize(lines, Line([0.0; 16]));
        }
        let base = buf.as_mut_ptr().cast::<f32>();
        // B first: its panels must stay 64-byte aligned (NR·kb floats each: a multiple of 16).
        // SAFETY: the buffer holds `a_len + b_len` floats.
        let (bpack, apack) = (base, unsafe { base.add(b_len.div_ceil(16) * 16) });
        debug_assert!(b_len.div_ceil(16) * 16 + a_len <= lines * 16);
        // A compressed panel and its column list (26 KiB at most, on the stack).
        let mut idx = [0u32; MAX_KB];
        let mut cpanel = [0.0f32; MAX_KB * microkernel::AVX512_MR];
        let mut ic = 0;
        while ic < p.m {
            let mcb = mc.min(p.m - ic);
            let mut pc = 0;
            while pc < p.k {
                let kcb = kb.min(p.k - pc);
                if packed_a {
                    // SAFETY: the ranges are inside the operands; the packs fit their buffers.
                    unsafe { pack_a(bl.kernel, apack, &p, ic, mcb, pc, kcb) };
                }
                let mut jc = 0;
                while jc < p.n {
                    let ncb = nc.min(p.n - jc);
                    // SAFETY: as above.
                    unsafe { pack_b(bl.kernel, bpack, &p, pc, kcb, jc, ncb) };
                    // Zero columns are looked for where a panel meets two column tiles or more
                    // (A in place then has csa = 1); B̃'s finiteness once, when first needed.
                    let try_sparse = bl.zero_skip && ncb > nr && kcb <= MAX_KB;
                    let (block, mut b_finite) = (ncb.div_ceil(nr) * nr * kcb, None);
                    for ir in (0..mcb).step_by(mr) {
                        let ap = if packed_a {
                            apack.wrapping_add(ir * kcb)
                        } else {
                            p.a.wrapping_offset((ic + ir) as isize * p.rsa + pc as isize * p.csa)
                        };
                        let rows = mr.min(p.m - ic - ir);
                        let panel = if packed_a {
                            Panel::Packed { a: ap }
                        } else {
                            Panel::InPlace { a: ap, rsa: p.rsa }
                        };
                        let dense = if packed_a { Mode::Packed } else { Mode::InPlace };
                        let sparse = if try_sparse {
                            let b = (bpack.cast_const(), block);
                            // SAFETY: the panel's rows hold kcb elements, the packed block
                            // `block` floats; the CPU runs the kernel.
                            unsafe {
                                compressed(
                                    bl.kernel,
                                    panel,
                                    rows,
                                    kcb,
                                    b,
                                    &mut b_finite,
                                    &mut idx,
                                    &mut cpanel,
                                )
                            }
                        } else {
                            None
                        };
                        let mode = sparse.unwrap_or(dense);
                        for jr in (0..ncb).step_by(nr) {
                            let bp = bpack.wrapping_add(jr * kcb);
                            let (i, j) = (ic + ir, jc + jr);
                            let tile = Tile {
                                c: p.c.wrapping_offset(i as isize * p.rsc + j as isize * p.csc),
                                rsc: p.rsc,
                                csc: p.csc,
                                mr: mr.min(p.m - i),
                                nr: nr.min(p.n - j),
                                add: p.add || pc > 0,
                            };
                            let (kd, ad) = match mode {
                                Mode::Sparse { kept } => (kept, cpanel.as_ptr()),
                                _ => (kcb, ap),
                            };
                            // SAFETY: the panels hold kcb·MR (kept·MR) and kcb·NR floats, `idx`
                            // the kept columns; the tile is inside C; the CPU runs the kernel.
                            unsafe {
                                kernel(
                                    bl.kernel,
                                    mode,
                                    kd,
                                    ad,
                                    p.rsa,
                                    p.csa,
                                    bp,
                                    idx.as_ptr(),
                                    tile,
                                )
                            };
                        }
                        // The last k block of these rows is done: their segment of C is final.
                        if let (Some(finish), true) = (p.finish, pc + kcb == p.k) {
                            debug_assert_eq!(p.csc, 1);
                            for r in ic + ir..(ic + ir + mr).min(p.m) {
                                let row = p.c.wrapping_offset(r as isize * p.rsc + jc as isize);
                                // Both pointers are inside the same output allocation.
                                let off = (row as usize - p.origin as usize) / 4;
                                finish(row, off, ncb);
                            }
                        }
                    }
                    jc += ncb;
                }
                pc += kcb;
            }
            ic += mcb;
        }
    });
}

/// Whether more than `mr / 2` of `mr` rows `rsa` floats apart start in distinct lines of one L1
/// set. Every current x86 L1d (32 KiB 8-way, 48 KiB 12-way) has 64 sets of 64-byte lines, picked
/// by address bits 6–11, so rows a multiple of 4 KiB apart (H = 1024, 2048) all compete for one
/// set and evict each other while the kernel streams them. Read in place such rows made the
/// H = 1024 products `A·W` and `E·Wᵀ` 6–16 % slower in the median than packed ones on the Xeon
/// VM (best calls equal; a whole training step at H = 1024, 40 steps each way alternating in one
/// process, 2–7 % in the median and first quartile), while at H = 824 in place and packed were
/// even. A function of the stride only.
pub(super) fn rows_alias(rsa: isize, mr: usize) -> bool {
    // No allocation (products allocate nothing in steady state); mr ≤ 12, so cubic is nothing.
    let line = |i: usize| (i as isize).wrapping_mul(rsa).wrapping_mul(4).unsigned_abs() / 64;
    let first = |j: usize| (0..j).all(|q| line(q) != line(j));
    (0..mr).any(|i| {
        let set = line(i) % 64;
        (0..mr).filter(|&j| line(j) % 64 == set && first(j)).count() > mr / 2
    })
}

/// How the micro-kernel reads the broadcast panel.
#[derive(Clone, Copy)]
enum Mode {
    /// A packed panel of `kc` columns.
    Packed,
    /// `MR` rows of `A` in place.
    InPlace,
    /// A compressed packed panel of the `kept` nonzero columns listed in `idx`.
    Sparse { kept: usize },
}

/// The sparse mode of a broadcast panel (see `sparse.rs`): when at most 7/8 of its `kb` columns
/// have a nonzero in its `rows` rows and the packed vector block `b` (pointer, length) is finite
/// (checked once per block, cached in `b_finite`), copies those columns into `cpanel`, lists them
/// in `idx` and returns [`Mode::Sparse`]; else `None` (run the panel dense).
///
/// # Safety
/// The CPU runs `kernel`; the panel's rows hold `kb ≤ MAX_KB` elements; `b` addresses its length.
#[allow(clippy::too_many_arguments)]
unsafe fn compressed(
    kernel: Kernel,
    panel: Panel,
    rows: usize,
    kb: usize,
    b: (*const f32, usize),
    b_finite: &mut Option<bool>,
    idx: &mut [u32; MAX_KB],
    cpanel: &mut [f32; MAX_KB * microkernel::AVX512_MR],
) -> Option<Mode> {
    // SAFETY: the caller's contract.
    let kept = unsafe { sparse::nonzero_columns(kernel, panel, rows, kb, sparse::limit(kb), idx)? };
    // SAFETY: the caller's contract.
    let finite = *b_finite.get_or_insert_with(|| {
        sparse::all_finite(kernel, unsafe { std::slice::from_raw_parts(b.0, b.1) })
    });
    if !finite {
        return None;
    }
    let (idx, out) = (&idx[..kept], &mut cpanel[..kept * kernel.tile().0]);
    // SAFETY: the panel holds the columns `idx`; `out` holds MR·kept floats.
    unsafe {
        match kernel {
            Kernel::Avx512 => sparse::compress::<{ microkernel::AVX512_MR }>(panel, rows, idx, out),
            _ => sparse::compress::<{ microkernel::AVX2_MR }>(panel, rows, idx, out),
        }
    }
    #[cfg(test)]
    SPARSE_PANELS.with(|n| n.set(n.get() + 1));
    Some(Mode::Sparse { kept })
}

/// Calls the micro-kernel of `kernel` in `mode`.
///
/// # Safety
/// As the micro-kernels'.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn kernel(
    kernel: Kernel,
    mode: Mode,
    kc: usize,
    a: *const f32,
    rsa: isize,
    csa: isize,
    b: *const f32,
    idx: *const u32,
    tile: Tile,
) {
    use microkernel::{avx2, avx512};
    let none = std::ptr::null();
    // SAFETY (all arms): the caller's contract.
    unsafe {
        match (kernel, mode) {
            #[cfg(target_arch = "x86_64")]
            (Kernel::Avx512, Mode::Packed) => avx512::<true, false>(kc, a, 0, 0, b, none, tile),
            #[cfg(target_arch = "x86_64")]
            (Kernel::Avx512, Mode::InPlace) => {
                avx512::<false, false>(kc, a, rsa, csa, b, none, tile)
            }
            #[cfg(target_arch = "x86_64")]
            (Kernel::Avx512, Mode::Sparse { .. }) => {
                avx512::<true, true>(kc, a, 0, 0, b, idx, tile)
            }
            #[cfg(target_arch = "x86_64")]
            (Kernel::Avx2, Mode::Packed) => avx2::<true, false>(kc, a, 0, 0, b, none, tile),
            #[cfg(target_arch = "x86_64")]
            (Kernel::Avx2, Mode::InPlace) => avx2::<false, false>(kc, a, rsa, csa, b, none, tile),
            #[cfg(target_arch = "x86_64")]
            (Kernel::Avx2, Mode::Sparse { .. }) => avx2::<true, true>(kc, a, 0, 0, b, idx, tile),
            _ => unreachable!("matrixmultiply has no micro-kernel here"),
        }
    }
}

/// Packs `op(A)[i0..i0+mb, l0..l0+kb]` into `⌈mb/MR⌉` panels, panel `q` at `dst + q·MR·kb`,
/// `panel[l·MR + i] = op(A)_{i0+q·MR+i, l0+l}`, zero-padded to whole panels.
///
/// # Safety
/// The block is inside `op(A)`; `dst` holds `⌈mb/MR⌉·MR·kb` floats.
unsafe fn pack_a(
    kernel: Kernel,
    dst: *mut f32,
    p: &Problem,
    i0: usize,
    mb: usize,
    l0: usize,
    kb: usize,
) {
    let mr = kernel.tile().0;
    // SAFETY: inside the buffer and the operand (caller).
    unsafe {
        let src = p.a.offset(i0 as isize * p.rsa + l0 as isize * p.csa);
        pack::pack_block(kernel, dst, src, p.rsa, p.csa, mb, mr, kb);
    }
}

/// Packs `op(B)[l0..l0+kb, j0..j0+nb]` into `⌈nb/NR⌉` panels, panel `q` at `dst + q·NR·kb`,
/// `panel[l·NR + j] = op(B)_{l0+l, j0+q·NR+j}`, zero-padded.
///
/// # Safety
/// The block is inside `op(B)`; `dst` holds `⌈nb/NR⌉·NR·kb` floats.
unsafe fn pack_b(
    kernel: Kernel,
    dst: *mut f32,
    p: &Problem,
    l0: usize,
    kb: usize,
    j0: usize,
    nb: usize,
) {
    let nr = kernel.tile().1;
    // SAFETY: inside the buffer and the operand (caller). The panels are op(B)ᵀ's block in
    // the A layout: the panel width runs along B's columns (stride csb).
    unsafe {
        let src = p.b.offset(l0 as isize * p.rsb + j0 as isize * p.csb);
        pack::pack_block(kernel, dst, src, p.csb, p.rsb, nb, nr, kb);
    }
}

/// Runs `p` split into `threads` disjoint parts of the output on the current rayon pool (or on
/// this thread when `threads ≤ 1` or the product is too small to share). Parts are whole register
/// tiles along the dimension with more tiles.
///
/// # Safety
/// As [`run`].
pub(super) unsafe fn run_threads(bl: &Blocking, p: Problem, threads: usize) {
    let (mr, nr) = (bl.mr, bl.nr);
    let (tm, tn) = (p.m.div_ceil(mr), p.n.div_ceil(nr));
    // Below ~2 MFLOP a second thread costs more than it saves.
    if threads <= 1 || p.m * p.n * p.k < 1 << 20 || tm.max(tn) < 2 {
        // SAFETY: the caller's contract.
        unsafe { run(bl, p) };
        return;
    }
    let by_rows = tm >= tn;
    let (tiles, step) = if by_rows { (tm, mr) } else { (tn, nr) };
    let parts = threads.min(tiles);
    // SAFETY: the caller's contract; parts are disjoint.
    unsafe { split(bl, p, by_rows, 0, tiles, parts, step) };
}

/// Runs tiles `t0..t1` (rows or columns of tiles) as `parts` parts, halving recursively with
/// `rayon::join`.
///
/// # Safety
/// As [`run`]; the tile range is inside the output.
unsafe fn split(
    bl: &Blocking,
    p: Problem,
    by_rows: bool,
    t0: usize,
    t1: usize,
    parts: usize,
    step: usize,
) {
    if parts <= 1 {
        let (lo, hi) = if by_rows {
            (t0 * step, (t1 * step).min(p.m))
        } else {
            (t0 * step, (t1 * step).min(p.n))
        };
        let sub = if by_rows { p.part(lo, hi - lo, 0, p.n) } else { p.part(0, p.m, lo, hi - lo) };
        // SAFETY: the caller's contract; `sub` is inside C.
        unsafe { run(bl, sub) };
        return;
    }
    let left = parts / 2;
    let mid = t0 + (t1 - t0) * left / parts;
    rayon::join(
        // SAFETY: the two halves cover disjoint tiles of C.
        || unsafe { split(bl, p, by_rows, t0, mid, left, step) },
        // SAFETY: as above.
        || unsafe { split(bl, p, by_rows, mid, t1, parts - left, step) },
    );
}
