//! Which kernel runs and how the products are blocked, derived once from the running CPU.
//!
//! The cache sizes come from CPUID (leaf 4 on Intel, leaf 0x8000_001D on AMD: ways × partitions ×
//! line × sets per cache level), then are clamped to sane ranges, because virtual machines report
//! what the hypervisor chooses (this project's Intel VM claims a 260 MiB L3). The blocking then
//! follows the usual analytical model (Goto/van Zee):
//!
//! * `kc` (depth of one packed block): the broadcast operand's micro-panel `MR × kc` fills about
//!   a quarter of L1d, `kc = L1d / (4 · MR · 4 B)`, rounded down to a multiple of 16 and clamped
//!   to \[128, 512\] (the rest of L1 holds the vector operand's rows streaming past it and the C
//!   tile). A product with `k` deeper than `kc` is cut into `⌈k / kc⌉` equal blocks (so
//!   `k = 1000` gives 3 × 334, not 384 + 384 + 232).
//! * `nc` (width of the vector operand's packed block, streamed from L2): `kc × nc × 4 B ≤ L2`,
//!   a multiple of `NR`. Measured on the Xeon of docs/performance.md (48 KiB L1d, 2 MiB L2),
//!   `kc = 256, nc = 2048` beat `kc = 512, nc = 512` by 5–20 points of the peak on the square
//!   products (the wider block keeps the broadcast panel in L1 across the whole output row).
//! * `mc` (height of the broadcast operand's packed block): `mc × kc × 4 B ≤ L3 / 4`, a multiple of
//!   `MR`, at most 4,092 rows (so the study's products pack each operand once).
//!
//! Everything here is a function of the CPU's features and reported caches only, never of the
//! thread count or of timing: the same CPU always runs the same kernel with the same blocking, so
//! its products are bit-identical across runs, resumes and shards.

use serde::{Deserialize, Serialize};

use super::microkernel::{AVX2_MR, AVX2_NR, AVX512_MR, AVX512_NR};

/// The product implementation (see [`KernelInfo::name`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kernel {
    /// handprop's AVX-512F `12 × 32` micro-kernel.
    Avx512,
    /// handprop's AVX2 + FMA `6 × 16` micro-kernel.
    Avx2,
    /// `matrixmultiply::sgemm` (CPUs without AVX2 + FMA).
    MatrixMultiply,
}

impl Kernel {
    /// The fastest kernel this CPU runs.
    pub(crate) fn detect() -> Kernel {
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx512f") {
                return Kernel::Avx512;
            }
            if std::arch::is_x86_feature_detected!("avx2")
                && std::arch::is_x86_feature_detected!("fma")
            {
                return Kernel::Avx2;
            }
        }
        Kernel::MatrixMultiply
    }

    /// Every kernel this CPU can run, fastest first.
    #[cfg(test)]
    pub(crate) fn available() -> Vec<Kernel> {
        let mut all = Vec::new();
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx512f") {
                all.push(Kernel::Avx512);
            }
            if std::arch::is_x86_feature_detected!("avx2")
                && std::arch::is_x86_feature_detected!("fma")
            {
                all.push(Kernel::Avx2);
            }
        }
        all.push(Kernel::MatrixMultiply);
        all
    }

    /// `(MR, NR)` of the register tile.
    pub(crate) fn tile(self) -> (usize, usize) {
        match self {
            Kernel::Avx512 => (AVX512_MR, AVX512_NR),
            Kernel::Avx2 => (AVX2_MR, AVX2_NR),
            Kernel::MatrixMultiply => (0, 0),
        }
    }
}

/// Cache sizes in bytes, as reported and as used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Caches {
    pub l1d: usize,
    pub l2: usize,
    pub l3: usize,
}

impl Caches {
    /// Defaults when CPUID says nothing usable: a typical current x86 core.
    const DEFAULT: Caches = Caches { l1d: 32 << 10, l2: 1 << 20, l3: 8 << 20 };

    /// The data cache sizes CPUID reports (0 where a level is missing).
    pub(crate) fn reported() -> Caches {
        #[cfg(target_arch = "x86_64")]
        {
            cpuid_caches()
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            Caches { l1d: 0, l2: 0, l3: 0 }
        }
    }

    /// Each level clamped to a sane range (a default if missing): L1d 16–128 KiB, L2 256 KiB–4 MiB,
    /// L3 1–32 MiB.
    pub(crate) fn sanitized(self) -> Caches {
        let clamp = |v: usize, lo: usize, hi: usize, default: usize| {
            if v == 0 {
                default
            } else {
                v.clamp(lo, hi)
            }
        };
        Caches {
            l1d: clamp(self.l1d, 16 << 10, 128 << 10, Self::DEFAULT.l1d),
            l2: clamp(self.l2, 256 << 10, 4 << 20, Self::DEFAULT.l2),
            l3: clamp(self.l3, 1 << 20, 32 << 20, Self::DEFAULT.l3),
        }
    }
}

/// Cache sizes from CPUID's deterministic cache parameters (Intel leaf 4, AMD leaf 0x8000_001D).
#[cfg(target_arch = "x86_64")]
fn cpuid_caches() -> Caches {
    use std::arch::x86_64::__cpuid_count;
    let mut out = Caches { l1d: 0, l2: 0, l3: 0 };
    // CPUID is available on every x86-64 CPU.
    let vendor = __cpuid_count(0, 0);
    let amd = vendor.ebx == 0x6874_7541; // "Auth" of "AuthenticAMD"
    let hygon = vendor.ebx == 0x6f67_7948; // "Hygo" of "HygonGenuine"
    let leaf = if amd || hygon {
        if __cpuid_count(0x8000_0000, 0).eax < 0x8000_001D {
            return out;
        }
        0x8000_001D
    } else {
        if vendor.eax < 4 {
            return out;
        }
        4
    };
    for sub in 0..16 {
        let r = __cpuid_count(leaf, sub);
        let kind = r.eax & 0x1f;
        if kind == 0 {
            break;
        }
        // 1 = data, 3 = unified; 2 = instruction caches are not ours.
        if kind == 2 {
            continue;
        }
        let level = (r.eax >> 5) & 7;
        let ways = ((r.ebx >> 22) & 0x3ff) as usize + 1;
        let parts = ((r.ebx >> 12) & 0x3ff) as usize + 1;
        let line = (r.ebx & 0xfff) as usize + 1;
        let sets = r.ecx as usize + 1;
        let size = ways * parts * line * sets;
        match level {
            1 => out.l1d = size,
            2 => out.l2 = size,
            3 => out.l3 = size,
            _ => {}
        }
    }
    out
}

/// The blocking of one kernel on one CPU.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Blocking {
    pub kernel: Kernel,
    pub mr: usize,
    pub nr: usize,
    pub kc: usize,
    pub mc: usize,
    pub nc: usize,
    pub reported: Caches,
    pub used: Caches,
    /// Whether broadcast panels skip their all-zero columns (`sparse.rs`; the handprop kernels).
    pub zero_skip: bool,
}

impl Blocking {
    /// The blocking of `kernel` for caches `reported` (see the module documentation).
    pub(crate) fn new(kernel: Kernel, reported: Caches) -> Blocking {
        let used = reported.sanitized();
        let (mr, nr) = kernel.tile();
        if mr == 0 {
            return Blocking {
                kernel,
                mr,
                nr,
                kc: 0,
                mc: 0,
                nc: 0,
                reported,
                used,
                zero_skip: false,
            };
        }
        let kc = (used.l1d / (4 * mr * 4) / 16 * 16).clamp(128, 512);
        let nc = (used.l2 / (kc * 4) / nr * nr).max(nr);
        let mc = ((used.l3 / 4) / (kc * 4) / mr * mr).clamp(8 * mr, 4092 / mr * mr);
        Blocking { kernel, mr, nr, kc, mc, nc, reported, used, zero_skip: true }
    }

    /// The depth of each `k` block for a product of depth `k ≥ 1`: `⌈k / ⌈k / kc⌉⌉` (equal blocks,
    /// the last one possibly shorter by less than the block count).
    pub(crate) fn k_block(&self, k: usize) -> usize {
        let blocks = k.div_ceil(self.kc);
        k.div_ceil(blocks)
    }
}

/// A serializable description of the product kernel this process uses: which implementation,
/// its register tile and cache blocking, and the caches it was derived from. Write it next to
/// results: two runs with equal `KernelInfo` compute bit-identical products.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KernelInfo {
    /// `"handprop-avx512-12x32"`, `"handprop-avx2-6x16"` or `"matrixmultiply"`.
    pub name: String,
    /// Instruction set the kernel uses: `"avx512f"`, `"avx2+fma"`, or `"portable"`.
    pub isa: String,
    /// Rows of the register tile (broadcast side); 0 for `matrixmultiply` (its own choice).
    pub mr: usize,
    /// Columns of the register tile (vector side).
    pub nr: usize,
    /// Depth of a packed block (the `k` loop is cut into `⌈k/kc⌉` equal blocks).
    pub kc: usize,
    /// Rows of the broadcast operand packed at once.
    pub mc: usize,
    /// Columns of the vector operand packed at once.
    pub nc: usize,
    /// L1 data cache in bytes as CPUID reports it (0: not reported).
    pub l1d_reported: usize,
    /// L2 in bytes as reported.
    pub l2_reported: usize,
    /// L3 in bytes as reported (virtual machines may report nonsense; see `l3_used`).
    pub l3_reported: usize,
    /// L1d after the sanity clamp, as the blocking used it.
    pub l1d_used: usize,
    /// L2 after the sanity clamp.
    pub l2_used: usize,
    /// L3 after the sanity clamp.
    pub l3_used: usize,
    /// Whether broadcast panels skip their all-zero columns: exact (the same bits as not
    /// skipping), so informative only; absent (`false`) in files written before it existed.
    #[serde(default)]
    pub skips_zero_columns: bool,
}

impl From<Blocking> for KernelInfo {
    fn from(b: Blocking) -> KernelInfo {
        let (name, isa) = match b.kernel {
            Kernel::Avx512 => ("handprop-avx512-12x32", "avx512f"),
            Kernel::Avx2 => ("handprop-avx2-6x16", "avx2+fma"),
            Kernel::MatrixMultiply => ("matrixmultiply", "portable"),
        };
        KernelInfo {
            name: name.into(),
            isa: isa.into(),
            mr: b.mr,
            nr: b.nr,
            kc: b.kc,
            mc: b.mc,
            nc: b.nc,
            l1d_reported: b.reported.l1d,
            l2_reported: b.reported.l2,
            l3_reported: b.reported.l3,
            l1d_used: b.used.l1d,
            l2_used: b.used.l2,
            l3_used: b.used.l3,
            skips_zero_columns: b.zero_skip,
        }
    }
}

/// The detected kernel and its blocking, computed once per process.
pub(crate) fn detected() -> Blocking {
    static ONCE: std::sync::OnceLock<Blocking> = std::sync::OnceLock::new();
    let mut b = *ONCE.get_or_init(|| Blocking::new(Kernel::detect(), Caches::reported()));
    b.zero_skip &= !ZERO_SKIP_OFF.load(std::sync::atomic::Ordering::Relaxed);
    b
}

/// Set by [`set_zero_skipping`]`(false)`.
static ZERO_SKIP_OFF: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Turns the exact skipping of all-zero broadcast columns on (the default) or off for the whole
/// process. It changes speed only, never a bit of any product: it exists so that benchmarks can
/// measure what the skipping saves on their data (the step bench's `--compare-epochs …
/// --alternate-zero-skip`). Products already running are not affected.
pub fn set_zero_skipping(enabled: bool) {
    ZERO_SKIP_OFF.store(!enabled, std::sync::atomic::Ordering::Relaxed);
}

/// The product kernel this process uses and its blocking (see [`KernelInfo`]).
pub fn kernel_info() -> KernelInfo {
    detected().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    // `is_multiple_of` needs Rust 1.87; the workspace supports 1.85.
    #[allow(clippy::manual_is_multiple_of)]
    fn absurd_caches_are_clamped_and_blocking_is_sane() {
        let vm = Caches { l1d: 48 << 10, l2: 2 << 20, l3: 260 << 20 };
        let b = Blocking::new(Kernel::Avx512, vm);
        assert_eq!(b.used.l3, 32 << 20);
        assert_eq!((b.mr, b.nr), (12, 32));
        assert_eq!(b.kc % 16, 0);
        assert!((128..=512).contains(&b.kc), "{b:?}");
        assert!(b.kc * b.nc * 4 <= b.used.l2 && b.nc % b.nr == 0, "{b:?}");
        assert_eq!((b.kc, b.nc), (256, 2048));
        assert!(b.mc % b.mr == 0 && b.mc <= 4092, "{b:?}");
        let none = Blocking::new(Kernel::Avx2, Caches { l1d: 0, l2: 0, l3: 0 });
        assert_eq!(none.used, Caches::DEFAULT);
        let tiny = Caches { l1d: 1, l2: 1, l3: 1 }.sanitized();
        assert_eq!(tiny, Caches { l1d: 16 << 10, l2: 256 << 10, l3: 1 << 20 });
    }

    #[test]
    fn k_blocks_are_equal_and_cover_k() {
        let b = Blocking::new(Kernel::Avx512, Caches::DEFAULT);
        for k in [1, 2, b.kc - 1, b.kc, b.kc + 1, 1000, 1024, 3 * b.kc + 7] {
            let kb = b.k_block(k);
            assert!(kb <= b.kc && kb >= 1);
            let blocks = k.div_ceil(kb);
            assert_eq!(blocks, k.div_ceil(b.kc), "k = {k}");
        }
    }

    #[test]
    fn kernel_info_serializes_and_matches_the_detection() {
        let info = kernel_info();
        let json = serde_json::to_string(&info).unwrap();
        let back: KernelInfo = serde_json::from_str(&json).unwrap();
        assert_eq!(back, info);
        assert_eq!(info, KernelInfo::from(Blocking::new(Kernel::detect(), Caches::reported())));
        assert_eq!(info.mr, Kernel::detect().tile().0);
    }
}
