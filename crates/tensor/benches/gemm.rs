//! GEMM and element-wise throughput at the study's shapes, single-threaded.
//!
//! `cargo bench -p handprop-tensor` prints one table row per product: the best and the median
//! GFLOP/s (`2·m·k·n / seconds`) over repeated calls, for H = 1024 and H = 824 and batch 1000.
//! Then the element-wise kernels over a 1000×1024 batch, in elements per second (`atan` from libm
//! is listed as the reference the polynomial replaces).
//!
//! A plain `main` rather than criterion: the table is what the docs quote, and it runs in seconds.
//! Pass `--compare` to also time, interleaved with ours, faer's `private_gemm_x86` (the previous
//! kernel), `matrixmultiply` (the fallback) and nalgebra's `gemm` on the same zero-copy views; `--elementwise` skips the GEMM table.

use std::hint::black_box;
use std::time::{Duration, Instant};

use handprop_tensor::peak::{fma_peak, thread_cpu_seconds};

use handprop_tensor::elementwise::{
    arctan, arctan_backward, arctan_with_derivative, axpy, bce_cost, hadamard, softmax_rows,
};
use handprop_tensor::init::{fill_standard_normal, stream_rng};
use handprop_tensor::{gemm_nn, gemm_nt, gemm_tn, Accum, Matrix};

const BATCH: usize = 1000;

/// Runs `f` until at least `budget` has elapsed (and at least `min_reps` times), after one warm-up
/// call, and returns the fastest and the median call time in seconds.
fn time<F: FnMut()>(mut f: F, budget: Duration, min_reps: usize) -> (f64, f64) {
    f();
    let mut times = Vec::new();
    let start = Instant::now();
    while times.len() < min_reps || start.elapsed() < budget {
        let t = thread_cpu_seconds();
        f();
        times.push(thread_cpu_seconds() - t);
    }
    times.sort_by(f64::total_cmp);
    (times[0], times[times.len() / 2])
}

fn random(rows: usize, cols: usize, stream: u64) -> Matrix {
    let mut m = Matrix::zeros(rows, cols);
    fill_standard_normal(&mut stream_rng(7, stream), m.as_mut_slice());
    m
}

#[derive(Clone, Copy)]
enum Kind {
    Nn,
    Tn,
    Nt,
}

/// One product of a training step: `C (m×n) = op(A)·op(B)` with inner dimension `k`.
struct Product {
    name: String,
    kind: Kind,
    m: usize,
    k: usize,
    n: usize,
}

fn products(h: usize) -> Vec<Product> {
    let p = |name: &str, kind, m, k, n| Product { name: name.to_string(), kind, m, k, n };
    vec![
        p("fwd    X·W1   (1000×784)·(784×H)", Kind::Nn, BATCH, 784, h),
        p("fwd    A·W    (1000×H)·(H×H)", Kind::Nn, BATCH, h, h),
        p("fwd    A·W5   (1000×H)·(H×10)", Kind::Nn, BATCH, h, 10),
        p("wgrad  Xᵀ·E   (784×1000)·(1000×H)", Kind::Tn, 784, BATCH, h),
        p("wgrad  Aᵀ·E   (H×1000)·(1000×H)", Kind::Tn, h, BATCH, h),
        p("wgrad  Aᵀ·E5  (H×1000)·(1000×10)", Kind::Tn, h, BATCH, 10),
        p("down   E·Wᵀ   (1000×H)·(H×H)", Kind::Nt, BATCH, h, h),
        p("down   E5·W5ᵀ (1000×10)·(10×H)", Kind::Nt, BATCH, 10, h),
        p("down   E·W1ᵀ  (1000×H)·(H×784) [unused]", Kind::Nt, BATCH, h, 784),
    ]
}

/// Stored operand shapes for a product (row-major): `A`, `B`.
fn operand_shapes(p: &Product) -> ((usize, usize), (usize, usize)) {
    match p.kind {
        Kind::Nn => ((p.m, p.k), (p.k, p.n)),
        Kind::Tn => ((p.k, p.m), (p.k, p.n)),
        Kind::Nt => ((p.m, p.k), (p.n, p.k)),
    }
}

/// The product through this crate's API.
fn run_ours(p: &Product, a: &Matrix, b: &Matrix, c: &mut Matrix) {
    let (a, b, c) = (a.view(), b.view(), c.view_mut());
    match p.kind {
        Kind::Nn => gemm_nn(a, b, c, Accum::Overwrite),
        Kind::Tn => gemm_tn(a, b, c, Accum::Overwrite),
        Kind::Nt => gemm_nt(a, b, c, Accum::Overwrite),
    }
}

/// `matrixmultiply::sgemm` on the transposed problem `Cᵀ = op(B)ᵀ·op(A)ᵀ`: this crate's kernel
/// before it moved to `private_gemm_x86` (and still its fallback on CPUs without AVX2 and FMA).
fn run_mm_transposed(p: &Product, a: &Matrix, b: &Matrix, c: &mut Matrix) {
    let (m, k, n) = (p.m, p.k, p.n);
    let (rsa, csa) = match p.kind {
        Kind::Tn => (1, m as isize),
        _ => (k as isize, 1),
    };
    let (rsb, csb) = match p.kind {
        Kind::Nt => (1, k as isize),
        _ => (n as isize, 1),
    };
    // SAFETY: the buffers hold exactly the elements these dimensions and strides address.
    unsafe {
        matrixmultiply::sgemm(
            n,
            k,
            m,
            1.0,
            b.as_slice().as_ptr(),
            csb,
            rsb,
            a.as_slice().as_ptr(),
            csa,
            rsa,
            0.0,
            c.as_mut_slice().as_mut_ptr(),
            1,
            n as isize,
        )
    }
}

/// nalgebra's `gemm` on zero-copy views. nalgebra is column-major, so a row-major `r×c` buffer is
/// viewed as its `c×r` transpose and `C = op(A)·op(B)` is computed as `Cᵀ = op(B)ᵀ·op(A)ᵀ`; the
/// transposes are strided views, never copies.
fn run_nalgebra(p: &Product, a: &Matrix, b: &Matrix, c: &mut Matrix) {
    use nalgebra::{Dyn, MatrixView, MatrixViewMut};
    let (m, k, n) = (p.m, p.k, p.n);
    let view = |data, rows, cols, rs, cs| {
        MatrixView::<f32, Dyn, Dyn, Dyn, Dyn>::from_slice_with_strides_generic(
            data,
            Dyn(rows),
            Dyn(cols),
            Dyn(rs),
            Dyn(cs),
        )
    };
    let mut ct = MatrixViewMut::<f32, Dyn, Dyn>::from_slice(c.as_mut_slice(), n, m);
    // op(B)ᵀ is n×k and op(A)ᵀ is k×m, as column-major strided views of the row-major data.
    let bt = match p.kind {
        Kind::Nt => view(b.as_slice(), n, k, k, 1),
        _ => view(b.as_slice(), n, k, 1, n),
    };
    let at = match p.kind {
        Kind::Tn => view(a.as_slice(), k, m, m, 1),
        _ => view(a.as_slice(), k, m, 1, k),
    };
    ct.gemm(1.0, &bt, &at, 0.0);
}

type Runner = fn(&Product, &Matrix, &Matrix, &mut Matrix);

/// Times each runner on the same operands, interleaving the calls round by round so that load from
/// other processes hits all of them alike. Returns (best, median) seconds per runner.
fn time_interleaved(p: &Product, runners: &[Runner], budget: Duration) -> Vec<(f64, f64)> {
    let ((ar, ac), (br, bc)) = operand_shapes(p);
    let a = random(ar, ac, 1);
    let b = random(br, bc, 2);
    let mut c = Matrix::zeros(p.m, p.n);
    let mut times = vec![Vec::new(); runners.len()];
    for r in runners {
        r(p, &a, &b, &mut c);
    }
    let start = Instant::now();
    while times[0].len() < 5 || start.elapsed() < budget {
        for (r, t) in runners.iter().zip(&mut times) {
            let t0 = thread_cpu_seconds();
            r(p, black_box(&a), &b, &mut c);
            black_box(&c);
            t.push(thread_cpu_seconds() - t0);
        }
    }
    times
        .into_iter()
        .map(|mut t| {
            t.sort_by(f64::total_cmp);
            (t[0], t[t.len() / 2])
        })
        .collect()
}

/// The faer kernel this crate used before its own (`private_gemm_x86`), for `--compare`.
#[cfg(target_arch = "x86_64")]
fn run_faer(p: &Product, a: &Matrix, b: &Matrix, c: &mut Matrix) {
    use private_gemm_x86::{gemm, Accum as PAccum, DType, DstKind, IType, InstrSet};
    let (m, k, n) = (p.m, p.k, p.n);
    let (rsa, csa) = match p.kind {
        Kind::Tn => (1, m as isize),
        _ => (k as isize, 1),
    };
    let (rsb, csb) = match p.kind {
        Kind::Nt => (1, k as isize),
        _ => (n as isize, 1),
    };
    let instr = if std::arch::is_x86_feature_detected!("avx512f") {
        InstrSet::Avx512
    } else {
        InstrSet::Avx256
    };
    let alpha = 1.0f32;
    // SAFETY: the buffers hold exactly the elements these dimensions and strides address; the
    // bench only runs this on CPUs with AVX2 + FMA at least.
    unsafe {
        gemm(
            DType::F32,
            IType::U64,
            instr,
            m,
            n,
            k,
            c.as_mut_slice().as_mut_ptr().cast(),
            n as isize,
            1,
            std::ptr::null(),
            std::ptr::null(),
            DstKind::Full,
            PAccum::Replace,
            a.as_slice().as_ptr().cast(),
            rsa,
            csa,
            false,
            std::ptr::null(),
            0,
            b.as_slice().as_ptr().cast(),
            rsb,
            csb,
            false,
            (&alpha as *const f32).cast(),
            1,
        );
    }
}

fn gemm_table(compare: bool, peak: f64) {
    println!(
        "GEMM, single-threaded, batch {BATCH}, C overwritten; GFLOP/s = 2·m·k·n / thread CPU s; \
         % of the measured FMA peak {peak:.1} GFLOP/s"
    );
    println!("{:<44} {:>5} {:>9} {:>9} {:>7}", "product", "H", "best", "median", "best %");
    let mut runners: Vec<(&str, Runner)> = vec![("", run_ours)];
    if compare {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            runners.push(("  (faer private_gemm_x86: the previous kernel)", run_faer));
        }
        runners.push(("  (matrixmultiply, transposed: the fallback)", run_mm_transposed));
        runners.push(("  (nalgebra gemm on views)", run_nalgebra));
    }
    let fns: Vec<Runner> = runners.iter().map(|r| r.1).collect();
    let budget = Duration::from_millis(if compare { 1200 } else { 600 });
    for h in [1024, 824] {
        for p in products(h) {
            let flop = 2.0 * (p.m * p.k * p.n) as f64;
            for ((label, _), (best, median)) in
                runners.iter().zip(time_interleaved(&p, &fns, budget))
            {
                let name = if label.is_empty() { p.name.as_str() } else { label };
                println!(
                    "{:<44} {:>5} {:>9.1} {:>9.1} {:>6.0}%",
                    name,
                    h,
                    flop / best * 1e-9,
                    flop / median * 1e-9,
                    100.0 * flop / best * 1e-9 / peak
                );
            }
        }
    }
}

fn elementwise_table() {
    let n = BATCH * 1024;
    let z = random(BATCH, 1024, 3);
    let u = random(BATCH, 1024, 4);
    let mut a = Matrix::zeros(BATCH, 1024);
    let mut d = Matrix::zeros(BATCH, 1024);
    let budget = Duration::from_millis(300);
    println!();
    println!("Element-wise over 1000×1024 (N(0,1) inputs), single-threaded");
    println!("{:<44} {:>10} {:>10}", "kernel", "best", "median");
    let row = |name: &str, elems: usize, (best, median): (f64, f64)| {
        println!(
            "{:<44} {:>10} {:>10}",
            name,
            format!("{:.2} G/s", elems as f64 / best * 1e-9),
            format!("{:.2} G/s", elems as f64 / median * 1e-9)
        );
    };
    row(
        "arctan (polynomial)",
        n,
        time(|| arctan(black_box(z.as_slice()), a.as_mut_slice()), budget, 5),
    );
    row(
        "arctan_with_derivative (a and 1/(1+z²))",
        n,
        time(
            || arctan_with_derivative(black_box(z.as_slice()), a.as_mut_slice(), d.as_mut_slice()),
            budget,
            5,
        ),
    );
    row(
        "f32::atan (libm), reference",
        n,
        time(
            || {
                for (a, &z) in a.as_mut_slice().iter_mut().zip(black_box(z.as_slice())) {
                    *a = z.atan();
                }
            },
            budget,
            5,
        ),
    );
    row(
        "arctan_backward u/(1+z²)",
        n,
        time(
            || arctan_backward(black_box(u.as_slice()), z.as_slice(), a.as_mut_slice()),
            budget,
            5,
        ),
    );
    row(
        "hadamard",
        n,
        time(|| hadamard(black_box(u.as_slice()), z.as_slice(), a.as_mut_slice()), budget, 5),
    );
    row("axpy", n, time(|| axpy(black_box(-0.01), z.as_slice(), a.as_mut_slice()), budget, 5));
    let x10 = random(BATCH, 10, 5);
    let mut p10 = Matrix::zeros(BATCH, 10);
    row(
        "softmax_rows 1000×10",
        BATCH * 10,
        time(|| softmax_rows(black_box(x10.view()), p10.view_mut()), budget, 5),
    );
    let mut y10 = Matrix::zeros(BATCH, 10);
    for (i, r) in y10.as_mut_slice().chunks_exact_mut(10).enumerate() {
        r[i % 10] = 1.0;
    }
    row(
        "bce_cost 1000×10",
        BATCH * 10,
        time(
            || {
                black_box(bce_cost(black_box(p10.as_slice()), y10.as_slice()));
            },
            budget,
            5,
        ),
    );
    // The same scalar (baseline SSE) code right after a product, timed alone: it is as fast as
    // above only if the product left the upper vector-register state clean (see `gemm.rs`).
    let (ga, gb) = (random(64, 64, 6), random(64, 64, 7));
    let mut gc = Matrix::zeros(64, 64);
    let mut after = Vec::new();
    for _ in 0..200 {
        gemm_nn(ga.view(), gb.view(), gc.view_mut(), Accum::Overwrite);
        let t = Instant::now();
        black_box(bce_cost(black_box(p10.as_slice()), y10.as_slice()));
        after.push(t.elapsed().as_secs_f64());
    }
    after.sort_by(f64::total_cmp);
    row("bce_cost 1000×10, right after a product", BATCH * 10, (after[0], after[after.len() / 2]));
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    // `cargo bench` passes `--bench`; a name filter is not supported, the whole table is cheap.
    let compare = args.iter().any(|a| a == "--compare");
    let only_elementwise = args.iter().any(|a| a == "--elementwise");
    if !only_elementwise {
        let info = handprop_tensor::kernel_info();
        println!("kernel: {info:?}");
        let peak = fma_peak(1, 5, 0.2).map_or(f64::NAN, |p| p.max());
        gemm_table(compare, peak);
    }
    elementwise_table();
}
