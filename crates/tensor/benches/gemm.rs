//! GEMM and element-wise throughput at the study's shapes, single-threaded.
//!
//! `cargo bench -p handprop-tensor` prints one table row per product: the best and the median
//! GFLOP/s (`2·m·k·n / seconds`) over repeated calls, for H = 1024 and H = 824 and batch 1000.
//! Then the element-wise kernels over a 1000×1024 batch, in elements per second (`atan` from libm
//! is listed as the reference the polynomial replaces).
//!
//! A plain `main` rather than criterion: the table is what the docs quote, and it runs in seconds.
//! Pass `--nalgebra` to also time nalgebra's `gemm` on the same zero-copy views, for comparison.

use std::hint::black_box;
use std::time::{Duration, Instant};

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
        let t = Instant::now();
        f();
        times.push(t.elapsed().as_secs_f64());
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

fn bench_ours(p: &Product) -> (f64, f64) {
    let ((ar, ac), (br, bc)) = operand_shapes(p);
    let a = random(ar, ac, 1);
    let b = random(br, bc, 2);
    let mut c = Matrix::zeros(p.m, p.n);
    time(
        || {
            let (a, b, c) = (a.view(), b.view(), c.view_mut());
            match p.kind {
                Kind::Nn => gemm_nn(a, b, c, Accum::Overwrite),
                Kind::Tn => gemm_tn(a, b, c, Accum::Overwrite),
                Kind::Nt => gemm_nt(a, b, c, Accum::Overwrite),
            }
            black_box(&c);
        },
        Duration::from_millis(400),
        5,
    )
}

/// nalgebra's `gemm` on zero-copy views. nalgebra is column-major, so a row-major `r×c` buffer is
/// viewed as its `c×r` transpose and `C = op(A)·op(B)` is computed as `Cᵀ = op(B)ᵀ·op(A)ᵀ`; the
/// transposes are expressed with strided views, never copies.
fn bench_nalgebra(p: &Product) -> (f64, f64) {
    use nalgebra::{Dyn, MatrixView, MatrixViewMut};
    let ((ar, ac), (br, bc)) = operand_shapes(p);
    let a = random(ar, ac, 1);
    let b = random(br, bc, 2);
    let mut c = Matrix::zeros(p.m, p.n);
    let (m, k, n) = (p.m, p.k, p.n);
    let kind = p.kind;
    time(
        || {
            let mut ct = MatrixViewMut::<f32, Dyn, Dyn>::from_slice(c.as_mut_slice(), n, m);
            // op(A)ᵀ is k×m, op(B)ᵀ is n×k, both as column-major strided views of the row-major data.
            let (bt, at) = match kind {
                Kind::Nn => (
                    MatrixView::<f32, Dyn, Dyn, nalgebra::Dyn, nalgebra::Dyn>::from_slice_with_strides_generic(
                        b.as_slice(), Dyn(n), Dyn(k), Dyn(1), Dyn(n)),
                    MatrixView::<f32, Dyn, Dyn, nalgebra::Dyn, nalgebra::Dyn>::from_slice_with_strides_generic(
                        a.as_slice(), Dyn(k), Dyn(m), Dyn(1), Dyn(k)),
                ),
                Kind::Tn => (
                    MatrixView::from_slice_with_strides_generic(
                        b.as_slice(), Dyn(n), Dyn(k), Dyn(1), Dyn(n)),
                    MatrixView::from_slice_with_strides_generic(
                        a.as_slice(), Dyn(k), Dyn(m), Dyn(m), Dyn(1)),
                ),
                Kind::Nt => (
                    MatrixView::from_slice_with_strides_generic(
                        b.as_slice(), Dyn(n), Dyn(k), Dyn(k), Dyn(1)),
                    MatrixView::from_slice_with_strides_generic(
                        a.as_slice(), Dyn(k), Dyn(m), Dyn(1), Dyn(k)),
                ),
            };
            ct.gemm(1.0, &bt, &at, 0.0);
            black_box(&c);
        },
        Duration::from_millis(400),
        5,
    )
}

fn gemm_table(with_nalgebra: bool) {
    println!("GEMM, single-threaded, batch {BATCH}, C overwritten; GFLOP/s = 2·m·k·n / s");
    println!("{:<44} {:>5} {:>10} {:>10}", "product", "H", "best", "median");
    for h in [1024, 824] {
        for p in products(h) {
            let flop = 2.0 * (p.m * p.k * p.n) as f64;
            let (best, median) = bench_ours(&p);
            println!(
                "{:<44} {:>5} {:>10.1} {:>10.1}",
                p.name,
                h,
                flop / best * 1e-9,
                flop / median * 1e-9
            );
            if with_nalgebra {
                let (best, median) = bench_nalgebra(&p);
                println!(
                    "{:<44} {:>5} {:>10.1} {:>10.1}",
                    "  (nalgebra gemm on views)",
                    h,
                    flop / best * 1e-9,
                    flop / median * 1e-9
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
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    // `cargo bench` passes `--bench`; a name filter is not supported, the whole table is cheap.
    let with_nalgebra = args.iter().any(|a| a == "--nalgebra");
    let only_elementwise = args.iter().any(|a| a == "--elementwise");
    if !only_elementwise {
        gemm_table(with_nalgebra);
    }
    elementwise_table();
}
