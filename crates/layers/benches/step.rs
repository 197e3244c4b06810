//! One training step (forward + backward, no update) at the study's shape, single-threaded, and
//! with `--epoch` a whole epoch and the use of spare cores.
//!
//! First it measures this CPU's FMA peak (a 24-accumulator FMA loop, 1 and 2 threads, thread CPU
//! time). For each configuration it prints the min and median time of `REPS` steps in thread CPU
//! time, the effective GFLOP/s (2·m·k·n per matrix product: N forward, N weight-gradient and N−1
//! passed-down products) and that as a percentage of the peak, and the same percentage for exactly
//! those products run alone. `--epoch` adds one epoch (55 steps + evaluation of 65,000 rows) at
//! H = 1024 and 824, and two cells on two threads against one. A last table times the element-wise
//! kernels alone. `HANDPROP_BENCH_REPS` (default 7) and `HANDPROP_BENCH_EPOCHS` (default 3)
//! override the repetitions.
//!
//! `--spare-cores` runs only the two-cell table, with the FMA rate of two threads at once
//! measured between its rounds (whether the two threads had a core each).
//!
//! `--zero-skip-steps MNIST_DIR` times steps on real images with the exact skipping of zero pixels
//! on and off (alternating); `--compare-epochs H N [--mnist DIR]` is the handprop side of
//! `cargo xtask compare`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use handprop_layers::{Activation, GradSeed, Mlp, Routing};
use handprop_optim::{Adam, UpdateRule};
use handprop_tensor::elementwise::{arctan, arctan_with_derivative, hadamard};
use handprop_tensor::init::{fill_standard_normal, stream_rng};
use handprop_tensor::peak::fma_peak;
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

/// Min and median of `v`.
fn min_median(mut v: Vec<f64>) -> (f64, f64) {
    v.sort_by(f64::total_cmp);
    (v[0], v[v.len() / 2])
}

/// A synthetic batch source of the study's shapes: pixels in (0, 1), one-hot labels.
fn data(rows: usize, stream: u64) -> (Matrix, Matrix, Vec<u8>) {
    let mut x = filled(rows, 784, stream);
    for v in x.as_mut_slice() {
        *v = 0.5 + v.atan() / std::f32::consts::PI;
    }
    let labels: Vec<u8> = (0..rows).map(|i| (i * 7 % 10) as u8).collect();
    let mut y = Matrix::zeros(rows, 10);
    for (i, &l) in labels.iter().enumerate() {
        y.as_mut_slice()[i * 10 + usize::from(l)] = 1.0;
    }
    (x, y, labels)
}

/// One epoch as the study runs it: 55 steps of 1000 (each followed by a plain update, standing in
/// for the optimizer, which is not this crate's), then the evaluation of 55,000 + 10,000 rows.
fn epoch(mlp: &mut Mlp, x: &Matrix, y: &Matrix, labels: &[u8], x_test: &Matrix, l_test: &[u8]) {
    let rows = x.rows();
    for start in (0..rows).step_by(BATCH) {
        let n = BATCH.min(rows - start);
        black_box(mlp.train_batch(x.view().rows_range(start, n), y.view().rows_range(start, n), 1))
            .expect("fits");
        for (w, g) in mlp.params_and_grads() {
            handprop_tensor::elementwise::axpy(-1e-6, g, w);
        }
    }
    black_box(mlp.count_correct(x.view(), labels).expect("fits"));
    black_box(mlp.count_correct(x_test.view(), l_test).expect("fits"));
}

fn epoch_table(reps: usize, peak: f64) {
    println!();
    println!(
        "one epoch: 55 steps of {BATCH} + evaluation of 55,000 + 10,000 rows, single thread, \
         CPU time of this thread, {reps} epochs (synthetic data)"
    );
    println!(
        "{:>5} {:>9} {:>9} {:>9} {:>12} {:>7}",
        "H", "min s", "median s", "TFLOP", "GFLOP/s", "% peak"
    );
    let (x, y, labels) = data(55_000, 70);
    let (x_test, _, l_test) = data(10_000, 71);
    for h in [1024usize, 824] {
        let widths = [784, h, h, h, h, 10];
        let mut mlp =
            Mlp::new(&widths, BATCH, Activation::Arctan, GradSeed::Manual, Routing::Standard)
                .expect("valid net");
        mlp.init_normal(&mut stream_rng(1, 0));
        let fwd: f64 = (0..5).map(|k| 2.0 * widths[k] as f64 * widths[k + 1] as f64).sum();
        let flop = 55.0 * flops(&widths, BATCH) + 65_000.0 * fwd;
        let times: Vec<f64> = (0..reps)
            .map(|_| time(|| epoch(&mut mlp, &x, &y, &labels, &x_test, &l_test)).as_secs_f64())
            .collect();
        let (min, median) = min_median(times);
        println!(
            "{:>5} {:>9.2} {:>9.2} {:>9.3} {:>12.1} {:>6.0}%",
            h,
            min,
            median,
            flop * 1e-12,
            flop / min * 1e-9,
            100.0 * flop / min * 1e-9 / peak
        );
    }
}

/// Spare cores: two cells on two threads against one, and one cell on two threads.
fn scaling_table(steps: usize) {
    println!();
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "spare cores, H = 1024, {steps} steps per cell, wall clock, fastest of 3 interleaved rounds (load average before: {})",
        load.split_whitespace().take(3).collect::<Vec<_>>().join(" ")
    );
    let widths = [784, 1024, 1024, 1024, 1024, 10];
    let run_cell = move |threads: usize| {
        let (x, y, _) = data(BATCH, 80);
        let mut mlp =
            Mlp::new(&widths, BATCH, Activation::Arctan, GradSeed::Manual, Routing::Standard)
                .expect("valid net");
        mlp.init_normal(&mut stream_rng(1, 0));
        mlp.set_threads(threads);
        mlp.train_batch(x.view(), y.view(), 0).expect("fits");
        let t = Instant::now();
        for _ in 0..steps {
            black_box(mlp.train_batch(x.view(), y.view(), 0).expect("fits"));
        }
        t.elapsed().as_secs_f64()
    };
    // This VM's speed changes in phases of seconds (other tenants on the host), so one shot of
    // each is a coin toss: interleave the three measurements, `ROUNDS` times, and keep each one's
    // fastest (the machine as it is when nobody else loads it).
    const ROUNDS: usize = 3;
    let (mut one, mut two_cells, mut shared) = (f64::INFINITY, f64::INFINITY, f64::INFINITY);
    // Whether the two threads really have a core each: the FMA rate of two threads at once,
    // per thread, against one thread's, between the rounds. A VM's two vCPUs can sit on one
    // physical core's two hyperthreads, or share a core with another tenant, for a while: then
    // two cells cannot reach ×2, whatever the code does.
    let mut fma = (Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        if let (Some(p1), Some(p2)) = (fma_peak(1, 1, 0.2), fma_peak(2, 1, 0.2)) {
            fma.0.push(p1.max());
            fma.1.extend(p2.per_thread_gflops);
        }
        one = one.min(run_cell(1));
        let t = Instant::now();
        let handles: Vec<_> = (0..2).map(|_| std::thread::spawn(move || run_cell(1))).collect();
        for h in handles {
            h.join().expect("cell thread");
        }
        two_cells = two_cells.min(t.elapsed().as_secs_f64());
        shared = shared.min(run_cell(2));
    }
    println!("  one cell, one thread:        {one:>7.2} s");
    println!(
        "  two cells on two threads:    {two_cells:>7.2} s  → throughput ×{:.2} of one",
        2.0 * one / two_cells
    );
    println!("  one cell on two threads:     {shared:>7.2} s  → speed-up ×{:.2}", one / shared);
    if let (Some(&p1), Some(lo), Some(hi)) = (
        fma.0.iter().max_by(|a, b| a.total_cmp(b)),
        fma.1.iter().copied().min_by(f64::total_cmp),
        fma.1.iter().copied().max_by(f64::total_cmp),
    ) {
        println!(
            "  FMA rate between the rounds: one thread {p1:.1} GFLOP/s; two at once, per thread \
             {lo:.1}–{hi:.1} ({:.0}–{:.0} % of one){}",
            100.0 * lo / p1,
            100.0 * hi / p1,
            if lo < 0.9 * p1 {
                " — the two threads did not always have a core each, so ×2 was out of reach"
            } else {
                ""
            }
        );
    }
}

/// `--compare-epochs H N [--mnist DIR]`: N epochs of the study's network with Adam at width H, on
/// MNIST's TF1 split from DIR (55,000 training and 10,000 test images, as the Python side reads
/// them) or else on synthetic data of the same shapes; one line per epoch in the format
/// `cargo xtask compare` parses (the same as bench/compare/study_net.py prints, plus
/// `eval_cpu_s`, the evaluation's share of `cpu_s`, which the parser ignores). Real images
/// matter for the timing: their zero pixels are skipped in the first layer's products. With
/// `alternate` the skipping is off in odd epochs (`zero_skip off` on their lines), to measure what
/// it saves in one process (the bits are the same either way).
fn compare_epochs(h: usize, epochs: usize, mnist: Option<&str>, alternate: bool) {
    let (x, y, labels, x_test, l_test) = match mnist {
        Some(dir) => mnist_data(dir),
        None => {
            let (x, y, labels) = data(55_000, 90);
            let (x_test, _, l_test) = data(10_000, 91);
            (x, y, labels, x_test, l_test)
        }
    };
    let (train_rows, test_rows) = (x.rows(), x_test.rows());
    let widths = [784, h, h, h, h, 10];
    let mut mlp = Mlp::new(&widths, BATCH, Activation::Arctan, GradSeed::Exact, Routing::Standard)
        .expect("valid net");
    mlp.init_normal(&mut stream_rng(1, 0));
    // handprop's TF1 Adam (lr 0.001, β₁ 0.9, β₂ 0.999, ε 1e-8), as a run of the study uses it.
    let adam = Adam::<f32>::tf1(1e-3).expect("valid Adam");
    let lens: Vec<usize> = mlp.weights().iter().map(|w| w.as_slice().len()).collect();
    let mut state = adam.init(&lens);
    for e in 0..epochs {
        let skip = !alternate || e % 2 == 0;
        handprop_tensor::set_zero_skipping(skip);
        let (c0, t0) = (on_cpu_ns().unwrap_or(0), Instant::now());
        for start in (0..train_rows - train_rows % BATCH).step_by(BATCH) {
            let (xb, yb) = (x.view().rows_range(start, BATCH), y.view().rows_range(start, BATCH));
            black_box(mlp.train_batch(xb, yb, e as u64).expect("fits"));
            let pairs = mlp.params_and_grads().map(|(w, g)| (w, &*g));
            adam.update(&mut state, pairs).expect("shapes fit");
        }
        let c1 = on_cpu_ns().unwrap_or(0);
        let train = mlp.count_correct(x.view(), &labels).expect("fits");
        let test = mlp.count_correct(x_test.view(), &l_test).expect("fits");
        let c2 = on_cpu_ns().unwrap_or(0);
        let cpu = (c2 - c0) as f64 * 1e-9;
        println!(
            "epoch {e} cpu_s {cpu:.3} wall_s {:.3} train_acc {:.4} test_acc {:.4} eval_cpu_s {:.3}{}",
            t0.elapsed().as_secs_f64(),
            train as f64 / train_rows as f64,
            test as f64 / test_rows as f64,
            (c2 - c1) as f64 * 1e-9,
            if skip { "" } else { " zero_skip off" }
        );
    }
}

/// MNIST's TF1 split from `dir`: training images, one-hot labels and labels, then test images and
/// labels (exits with a message if it cannot be read).
fn mnist_data(dir: &str) -> (Matrix, Matrix, Vec<u8>, Matrix, Vec<u8>) {
    let m = handprop_mnist::load(std::path::Path::new(dir), handprop_mnist::Split::Tf1)
        .unwrap_or_else(|e| {
            eprintln!("cannot load MNIST from {dir}: {e}");
            std::process::exit(2)
        });
    let mat = |v: Vec<f32>, rows: usize, cols: usize| {
        Matrix::from_vec(rows, cols, v).expect("the loader's shapes")
    };
    let (tr, te) = (m.train, m.test);
    (
        mat(tr.images, tr.len, 784),
        mat(tr.one_hot, tr.len, 10),
        tr.labels,
        mat(te.images, te.len, 784),
        te.labels,
    )
}

/// `--zero-skip-steps DIR`: what skipping the images' zero pixels saves per training step on the
/// first 1,000 MNIST training images, at H = 1024 and 824: 30 rounds alternating one step with
/// the skipping on and one with it off (the same bits), thread CPU time, min and median of each.
fn zero_skip_steps(dir: &str) {
    let (x, y, ..) = mnist_data(dir);
    let (xb, yb) = (x.view().rows_range(0, BATCH), y.view().rows_range(0, BATCH));
    println!(
        "one training step on MNIST (batch {BATCH}), zero-pixel skipping on vs off, 30 rounds"
    );
    println!("{:>5} {:>14} {:>14} {:>8}", "H", "on min/med ms", "off min/med ms", "saved");
    for h in [1024, 824] {
        let widths = [784, h, h, h, h, 10];
        let mut mlp =
            Mlp::new(&widths, BATCH, Activation::Arctan, GradSeed::Exact, Routing::Standard)
                .expect("valid net");
        mlp.init_normal(&mut stream_rng(1, 0));
        let mut times = [Vec::new(), Vec::new()];
        for round in 0..31 {
            for (i, skip) in [true, false].into_iter().enumerate() {
                handprop_tensor::set_zero_skipping(skip);
                let c0 = on_cpu_ns().unwrap_or(0);
                black_box(mlp.train_batch(xb, yb, 0).expect("fits"));
                // Round 0 warms up.
                if round > 0 {
                    times[i].push((on_cpu_ns().unwrap_or(0) - c0) as f64 * 1e-6);
                }
            }
        }
        handprop_tensor::set_zero_skipping(true);
        let [on, off] = times.map(min_median);
        println!(
            "{h:>5} {:>6.1} / {:>5.1} {:>6.1} / {:>5.1} {:>7.1}%",
            on.0,
            on.1,
            off.0,
            off.1,
            100.0 * (1.0 - on.0 / off.0)
        );
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--compare-epochs") {
        let num = |j: usize| args.get(i + j).and_then(|s| s.parse().ok());
        let (Some(h), Some(n)) = (num(1), num(2)) else {
            eprintln!(
                "usage: step --compare-epochs H EPOCHS [--mnist DIR] [--alternate-zero-skip]"
            );
            std::process::exit(2);
        };
        let mnist = args.iter().position(|a| a == "--mnist").map(|j| {
            args.get(j + 1).map(String::as_str).unwrap_or_else(|| {
                eprintln!("--mnist needs a directory");
                std::process::exit(2)
            })
        });
        compare_epochs(h, n, mnist, args.iter().any(|a| a == "--alternate-zero-skip"));
        return;
    }
    if args.iter().any(|a| a == "--spare-cores") {
        scaling_table(20);
        return;
    }
    if let Some(i) = args.iter().position(|a| a == "--zero-skip-steps") {
        let Some(dir) = args.get(i + 1) else {
            eprintln!("usage: step --zero-skip-steps MNIST_DIR");
            std::process::exit(2);
        };
        zero_skip_steps(dir);
        return;
    }
    let reps: usize =
        std::env::var("HANDPROP_BENCH_REPS").ok().and_then(|s| s.parse().ok()).unwrap_or(7);
    let clock = if on_cpu_ns().is_some() { "CPU time of this thread" } else { "wall clock" };
    println!("kernel: {:?}", handprop_tensor::kernel_info());
    let peak1 = fma_peak(1, 5, 0.3);
    let peak2 = fma_peak(2, 3, 0.3);
    let peak = peak1.as_ref().map_or(f64::NAN, |p| p.max());
    if let (Some(p1), Some(p2)) = (&peak1, &peak2) {
        println!(
            "FMA peak ({}, thread CPU time): 1 thread max {:.1} / median {:.1} GFLOP/s; \
             2 threads at once, per thread max {:.1} / median {:.1}",
            p1.isa,
            p1.max(),
            p1.median(),
            p2.max(),
            p2.median()
        );
    }
    println!(
        "one training step (forward + backward, no update), batch {BATCH}, single thread, {reps} reps, {clock}"
    );
    println!(
        "{:>5} {:>10} {:>6} {:>8} {:>8} {:>7} {:>9} {:>7} {:>8}",
        "H", "routing", "seed", "min ms", "med ms", "GFLOP", "GFLOP/s", "% peak", "gemm %"
    );
    let configs = [
        (1024, Routing::Standard, GradSeed::Manual),
        (1024, Routing::DenseAdd { p: 1000.0, d: 0.08 }, GradSeed::Exact),
        (824, Routing::Standard, GradSeed::Manual),
        (824, Routing::DenseMul { p: 1000.0, d: 0.08 }, GradSeed::Manual),
    ];
    for (h, routing, seed) in configs {
        let widths = [784, h, h, h, h, 10];
        let mut mlp =
            Mlp::new(&widths, BATCH, Activation::Arctan, seed, routing).expect("valid net");
        mlp.init_normal(&mut stream_rng(1, 0));
        let (x, y, _) = data(BATCH, 50);
        let mut prods = products(&widths);
        let mut step = || {
            black_box(mlp.train_batch(x.view(), y.view(), 3).expect("fits"));
        };
        step();
        prods.run();
        let (mut steps, mut gemms) = (Vec::new(), Vec::new());
        for _ in 0..reps {
            steps.push(time(&mut step).as_secs_f64());
            gemms.push(time(|| prods.run()).as_secs_f64());
        }
        let (step_min, step_med) = min_median(steps);
        let (gemm_min, _) = min_median(gemms);
        let gflop = flops(&widths, BATCH) / 1e9;
        println!(
            "{:>5} {:>10} {:>6} {:>8.1} {:>8.1} {:>7.2} {:>9.1} {:>6.0}% {:>7.0}%",
            h,
            routing.name(),
            format!("{seed:?}").to_lowercase(),
            step_min * 1e3,
            step_med * 1e3,
            gflop,
            gflop / step_min,
            100.0 * gflop / step_min / peak,
            100.0 * gflop / gemm_min / peak,
        );
    }
    if args.iter().any(|a| a == "--epoch") {
        let epochs =
            std::env::var("HANDPROP_BENCH_EPOCHS").ok().and_then(|s| s.parse().ok()).unwrap_or(3);
        epoch_table(epochs, peak);
        scaling_table(20);
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
