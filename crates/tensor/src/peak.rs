//! Measuring this CPU honestly: the calling thread's CPU time, and the single-core FMA peak that
//! the benchmarks report their speeds against.
//!
//! On a machine shared with other work, wall-clock time counts the time the thread waited for a
//! core; the thread CPU clock (`CLOCK_THREAD_CPUTIME_ID`) counts only the time it ran, so the
//! benchmarks use it ([`thread_cpu_seconds`]). It still includes slowdowns from shared caches and
//! memory bandwidth, hence they also repeat and report minimum and median.

use std::hint::black_box;

/// CPU time consumed by the calling thread so far, in seconds (`CLOCK_THREAD_CPUTIME_ID`).
/// Falls back to a monotonic wall clock on platforms without it.
pub fn thread_cpu_seconds() -> f64 {
    #[cfg(target_os = "linux")]
    {
        #[repr(C)]
        struct Timespec {
            tv_sec: i64,
            tv_nsec: i64,
        }
        extern "C" {
            fn clock_gettime(clock: i32, tp: *mut Timespec) -> i32;
        }
        /// `CLOCK_THREAD_CPUTIME_ID` on Linux.
        const CLOCK_THREAD_CPUTIME_ID: i32 = 3;
        let mut ts = Timespec { tv_sec: 0, tv_nsec: 0 };
        // SAFETY: `ts` is a valid, writable timespec (64-bit Linux layout); the call only writes it.
        let rc = unsafe { clock_gettime(CLOCK_THREAD_CPUTIME_ID, &mut ts) };
        if rc == 0 {
            return ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9;
        }
    }
    static START: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
    START.get_or_init(std::time::Instant::now).elapsed().as_secs_f64()
}

/// FLOPs of one `fma_loop` iteration over all accumulators, and the ISA used, for this CPU.
fn fma_shape() -> Option<(f64, &'static str)> {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            return Some((24.0 * 16.0 * 2.0, "avx512f"));
        }
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            return Some((12.0 * 8.0 * 2.0, "avx2+fma"));
        }
    }
    None
}

/// `iters` iterations of independent FMA chains (24 zmm or 12 ymm accumulators, enough to hide
/// the latency on two FMA ports); returns a value derived from every chain so nothing is elided.
fn fma_loop(iters: u64) -> f32 {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::*;
        #[target_feature(enable = "avx512f")]
        fn zmm(iters: u64) -> f32 {
            let x = _mm512_set1_ps(black_box(0.999_999));
            let y = _mm512_set1_ps(black_box(1e-7));
            let mut acc = [_mm512_set1_ps(1.0); 24];
            for _ in 0..iters {
                for a in acc.iter_mut() {
                    *a = _mm512_fmadd_ps(*a, x, y);
                }
            }
            let mut s = _mm512_setzero_ps();
            for a in acc {
                s = _mm512_add_ps(s, a);
            }
            _mm512_reduce_add_ps(s)
        }
        #[target_feature(enable = "avx2,fma")]
        fn ymm(iters: u64) -> f32 {
            let x = _mm256_set1_ps(black_box(0.999_999));
            let y = _mm256_set1_ps(black_box(1e-7));
            let mut acc = [_mm256_set1_ps(1.0); 12];
            for _ in 0..iters {
                for a in acc.iter_mut() {
                    *a = _mm256_fmadd_ps(*a, x, y);
                }
            }
            let mut out = [0.0f32; 8];
            let mut s = _mm256_setzero_ps();
            for a in acc {
                s = _mm256_add_ps(s, a);
            }
            // SAFETY: `out` holds 8 floats.
            unsafe { _mm256_storeu_ps(out.as_mut_ptr(), s) };
            out.iter().sum()
        }
        if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: AVX-512F was just detected.
            return unsafe { zmm(iters) };
        }
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            // SAFETY: AVX2 and FMA were just detected.
            return unsafe { ymm(iters) };
        }
    }
    let _ = iters;
    0.0
}

/// One measurement of the FMA peak.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct FmaPeak {
    /// The vector ISA of the loop (`"avx512f"` or `"avx2+fma"`).
    pub isa: String,
    /// Threads that ran the loop at once.
    pub threads: usize,
    /// GFLOP/s of every thread of every repetition (its FLOPs over its thread CPU seconds),
    /// sorted ascending.
    pub per_thread_gflops: Vec<f64>,
}

impl FmaPeak {
    /// The best per-thread rate: the core's peak as far as this machine lets us see it.
    pub fn max(&self) -> f64 {
        self.per_thread_gflops.last().copied().unwrap_or(0.0)
    }

    /// The median per-thread rate.
    pub fn median(&self) -> f64 {
        let v = &self.per_thread_gflops;
        if v.is_empty() {
            0.0
        } else {
            v[v.len() / 2]
        }
    }
}

/// Measures the FMA peak of one core (`threads = 1`) or of `threads` cores at once: every thread
/// runs the FMA loop for about `seconds` of CPU time, `reps` times; each run's rate is its FLOPs
/// over its own thread CPU time. `None` on CPUs without AVX2 + FMA.
pub fn fma_peak(threads: usize, reps: usize, seconds: f64) -> Option<FmaPeak> {
    let (flops_per_iter, isa) = fma_shape()?;
    // Calibrate the iteration count on this thread.
    let t0 = thread_cpu_seconds();
    let probe = 200_000;
    black_box(fma_loop(probe));
    let dt = (thread_cpu_seconds() - t0).max(1e-6);
    let iters = ((probe as f64) * seconds / dt).max(1.0) as u64;
    let mut rates = Vec::new();
    for _ in 0..reps.max(1) {
        let run = move || {
            let t = thread_cpu_seconds();
            black_box(fma_loop(black_box(iters)));
            iters as f64 * flops_per_iter / (thread_cpu_seconds() - t).max(1e-9) * 1e-9
        };
        if threads <= 1 {
            rates.push(run());
        } else {
            let handles: Vec<_> = (0..threads).map(|_| std::thread::spawn(run)).collect();
            for h in handles {
                rates.push(h.join().unwrap_or(0.0));
            }
        }
    }
    rates.sort_by(f64::total_cmp);
    Some(FmaPeak { isa: isa.into(), threads: threads.max(1), per_thread_gflops: rates })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thread_cpu_time_advances_with_work_not_with_sleep() {
        let t0 = thread_cpu_seconds();
        std::thread::sleep(std::time::Duration::from_millis(200));
        let slept = thread_cpu_seconds() - t0;
        let t1 = thread_cpu_seconds();
        let mut x = 0u64;
        while thread_cpu_seconds() - t1 < 0.05 {
            x = black_box(x.wrapping_add(1));
        }
        assert!(slept < 0.1, "sleeping 0.2 s cost {slept} s of CPU time");
        assert!(x > 0);
    }

    #[test]
    fn fma_peak_is_plausible() {
        if let Some(p) = fma_peak(1, 2, 0.02) {
            assert_eq!(p.per_thread_gflops.len(), 2);
            // Any AVX2 core does more than 5 GFLOP/s and no core reaches 2 TFLOP/s.
            assert!(p.max() > 5.0 && p.max() < 2000.0, "{p:?}");
            assert!(p.median() <= p.max());
        }
    }
}
