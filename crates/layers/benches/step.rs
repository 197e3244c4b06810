//! One training step (forward + backward, no update) at the study's shape, single-threaded.
//!
//! For each configuration it prints the best time of `REPS` steps, the effective GFLOP/s
//! (2·m·k·n per matrix product: N forward, N weight-gradient and N−1 passed-down products), the
//! time of exactly those products run alone on the same shapes, and the share of the step spent
//! outside them (arctan, its derivative, softmax, cost, seed, routing). A second table times the
//! element-wise kernels alone. `HANDPROP_BENCH_REPS` overrides the repetitions (default 7).

use std::hint::black_box;
use std::time::{Duration, Instant};

use handprop_layers::{Activation, GradSeed, Mlp, Routing};
use handprop_tensor::elementwise::{arctan, arctan_with_derivative, hadamard};
use handprop_tensor::init::{fill_standard_normal, stream_rng};
use handprop_tensor::{gemm_nn, gemm_nt, gemm_tn, Accum, Matrix};

const BATCH: usize = 1000;

/// Nanoseconds of CPU time this thread has used (`clock_gettime(CLOCK_THREAD_CPUTIME_ID)`, exact
/// to the nanosecond on Linux), if available. On a machine shared with other jobs, the time a
/// thread waits while descheduled inflates wall-clock timings; CPU time leaves it out (contention
/// for caches and memory bandwidth still shows).
#[cfg(all(target_os = "linux", target_pointer_width = "64"))]
fn on_cpu_ns() -> Option<u64> {
    #[repr(C)]
    struct Timespec {
        tv_sec: i64,
        tv_nsec: i64,
    }
    extern "C" {
        // The C library's clock_gettime, which std already links on Linux.
        fn clock_gettime(clock: i32, tp: *mut Timespec) -> i32;
    }
    const CLOCK_THREAD_CPUTIME_ID: i32 = 3;
    let mut ts = Timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `ts` is a valid, writable timespec with the 64-bit Linux layout (two 64-bit
    // fields), and the clock id is the Linux constant for the calling thread's CPU time.
    let rc = unsafe { clock_gettime(CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    (rc == 0).then(|| ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64)
}

#[cfg(not(all(target_os = "linux", target_pointer_width = "64")))]
fn on_cpu_ns() -> Option<u64> {
    None
}

/// Times `f` by on-CPU time when the kernel reports it, else by the wall clock.
fn time(f: impl FnOnce()) -> Duration {
    match on_cpu_ns() {
        Some(start) => {
            f();
            Duration::from_nanos(on_cpu_ns().unwrap_or(start).saturating_sub(start))
        }
        None => {
            let t = Instant::now();
            f();
            t.elapsed()
        }
    }
}

fn best_of(reps: usize, mut f: impl FnMut()) -> Duration {
    f(); // warm-up: page faults of fresh buffers, CPU feature detection
    (0..reps).map(|_| time(&mut f)).min().expect("reps ≥ 1")
}

fn filled(rows: usize, cols: usize, stream: u64) -> Matrix {
    let mut m = Matrix::zeros(rows, cols);
    fill_standard_normal(&mut stream_rng(3, stream), m.as_mut_slice());
    m
}

fn flops(widths: &[usize], rows: usize) -> f64 {
    let n = widths.len() - 1;
    let prod = |k: usize| 2.0 * rows as f64 * widths[k] as f64 * widths[k + 1] as f64;
    // Forward and weight gradient for every layer, passed-down gradient for layers 2..N.
    (0..n).map(|k| if k == 0 { 2.0 * prod(k) } else { 3.0 * prod(k) }).sum()
}

/// The same products as one step, on scratch matrices of the same shapes.
struct Products {
    xs: Vec<Matrix>,
    ws: Vec<Matrix>,
    es: Vec<Matrix>,
    zs: Vec<Matrix>,
    gs: Vec<Matrix>,
    downs: Vec<Matrix>,
}

fn products(widths: &[usize]) -> Products {
    let n = widths.len() - 1;
    let xs: Vec<Matrix> = (0..n).map(|k| filled(BATCH, widths[k], k as u64)).collect();
    let ws: Vec<Matrix> = (0..n).map(|k| filled(widths[k], widths[k + 1], 10 + k as u64)).collect();
    let es: Vec<Matrix> = (0..n).map(|k| filled(BATCH, widths[k + 1], 20 + k as u64)).collect();
    let zs: Vec<Matrix> = (0..n).map(|k| Matrix::zeros(BATCH, widths[k + 1])).collect();
    let gs: Vec<Matrix> = (0..n).map(|k| Matrix::zeros(widths[k], widths[k + 1])).collect();
    let downs: Vec<Matrix> = (0..n).map(|k| Matrix::zeros(BATCH, widths[k])).collect();
    Products { xs, ws, es, zs, gs, downs }
}

impl Products {
    fn run(&mut self) {
        let n = self.xs.len();
        for k in 0..n {
            gemm_nn(self.xs[k].view(), self.ws[k].view(), self.zs[k].view_mut(), Accum::Overwrite);
        }
        for k in (0..n).rev() {
            gemm_tn(self.xs[k].view(), self.es[k].view(), self.gs[k].view_mut(), Accum::Overwrite);
            if k > 0 {
                gemm_nt(
                    self.es[k].view(),
                    self.ws[k].view(),
                    self.downs[k].view_mut(),
                    Accum::Overwrite,
                );
            }
        }
        black_box((&self.zs, &self.gs, &self.downs));
    }
}

/// Best-of-`reps` times of a step and of its products alone, interleaved so that load from
/// other processes hits both alike.
fn step_and_products(
    reps: usize,
    mut step: impl FnMut(),
    prods: &mut Products,
) -> (Duration, Duration) {
    step();
    prods.run();
    let (mut best_step, mut best_prod) = (Duration::MAX, Duration::MAX);
    for _ in 0..reps {
        best_step = best_step.min(time(&mut step));
        best_prod = best_prod.min(time(|| prods.run()));
    }
    (best_step, best_prod)
}

fn main() {
    let reps: usize =
        std::env::var("HANDPROP_BENCH_REPS").ok().and_then(|s| s.parse().ok()).unwrap_or(7);
    let clock = if on_cpu_ns().is_some() { "CPU time of this thread" } else { "wall clock" };
    println!(
        "one training step (forward + backward, no update), batch {BATCH}, single thread, best of {reps}, {clock}"
    );
    println!(
        "{:>5} {:>10} {:>6} {:>10} {:>9} {:>12} {:>9} {:>13}",
        "H", "routing", "seed", "step ms", "GFLOP", "eff GFLOP/s", "gemm ms", "outside gemm"
    );
    let configs = [
        (1024, Routing::Standard, GradSeed::Manual),
        (1024, Routing::Standard, GradSeed::Exact),
        (1024, Routing::DenseAdd { p: 1000.0, d: 0.08 }, GradSeed::Manual),
        (1024, Routing::Hybrid { p: 500.0, d: 0.04 }, GradSeed::Manual),
        (824, Routing::Standard, GradSeed::Manual),
        (824, Routing::DenseMul { p: 1000.0, d: 0.08 }, GradSeed::Manual),
    ];
    for (h, routing, seed) in configs {
        let widths = [784, h, h, h, h, 10];
        let mut mlp =
            Mlp::new(&widths, BATCH, Activation::Arctan, seed, routing).expect("valid net");
        mlp.init_normal(&mut stream_rng(1, 0));
        let mut x = filled(BATCH, 784, 50);
        for v in x.as_mut_slice() {
            *v = 0.5 + v.atan() / std::f32::consts::PI;
        }
        let mut y = Matrix::zeros(BATCH, 10);
        for i in 0..BATCH {
            y.as_mut_slice()[i * 10 + i % 10] = 1.0;
        }
        let mut prods = products(&widths);
        let (step, gemm) = step_and_products(
            reps,
            || {
                black_box(mlp.train_batch(x.view(), y.view(), 3).expect("fits"));
            },
            &mut prods,
        );
        let gflop = flops(&widths, BATCH) / 1e9;
        let outside = 1.0 - gemm.as_secs_f64() / step.as_secs_f64();
        println!(
            "{:>5} {:>10} {:>6} {:>10.1} {:>9.2} {:>12.1} {:>9.1} {:>12.1}%",
            h,
            routing.name(),
            format!("{seed:?}").to_lowercase(),
            step.as_secs_f64() * 1e3,
            gflop,
            gflop / step.as_secs_f64(),
            gemm.as_secs_f64() * 1e3,
            100.0 * outside
        );
    }

    println!();
    println!("element-wise kernels alone, 4·{BATCH}·H elements (the hidden layers of one step)");
    println!("{:>5} {:>24} {:>10} {:>10}", "H", "kernel", "ms", "ns/elem");
    for h in [1024usize, 824] {
        let n = 4 * BATCH * h;
        let z = filled(1, n, 60);
        let u = filled(1, n, 61);
        let mut out = vec![0.0f32; n];
        let mut d = vec![0.0f32; n];
        let row = |name: &str, t: Duration| {
            println!(
                "{:>5} {:>24} {:>10.2} {:>10.2}",
                h,
                name,
                t.as_secs_f64() * 1e3,
                t.as_secs_f64() * 1e9 / n as f64
            );
        };
        let t = best_of(reps, || arctan_with_derivative(black_box(z.as_slice()), &mut out, &mut d));
        row("arctan_with_derivative", t);
        let t = best_of(reps, || hadamard(black_box(u.as_slice()), z.as_slice(), &mut out));
        row("hadamard (backward)", t);
        let t = best_of(reps, || arctan(black_box(z.as_slice()), &mut out));
        row("arctan (evaluation)", t);
        let t = best_of(reps, || {
            // The scalar libm arctan, for comparison with the tensor crate's kernel.
            for (o, &z) in out.iter_mut().zip(black_box(z.as_slice())) {
                *o = z.atan();
            }
        });
        row("scalar f32::atan", t);
    }
}
