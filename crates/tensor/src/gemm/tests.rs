use super::*;
use crate::init::{fill_standard_normal, stream_rng};
use crate::Matrix;

const SIZES: [usize; 8] = [1, 2, 3, 17, 63, 65, 100, 130];

fn random(rows: usize, cols: usize, stream: u64) -> Matrix {
    let mut m = Matrix::zeros(rows, cols);
    fill_standard_normal(&mut stream_rng(11, stream), m.as_mut_slice());
    m
}

#[derive(Clone, Copy, Debug)]
enum Kind {
    Nn,
    Tn,
    Nt,
}

/// The naive triple loop in f64, `op(A)·op(B)` for row-major `a`, `b`, and alongside it
/// `Σ_l |op(A)_il|·|op(B)_lj|`, the scale of the rounding error of an f32 product.
fn naive(kind: Kind, a: &Matrix, b: &Matrix, m: usize, k: usize, n: usize) -> (Vec<f64>, Vec<f64>) {
    let at = |i: usize, l: usize| match kind {
        Kind::Tn => a.as_slice()[l * m + i],
        _ => a.as_slice()[i * k + l],
    };
    let bt = |l: usize, j: usize| match kind {
        Kind::Nt => b.as_slice()[j * k + l],
        _ => b.as_slice()[l * n + j],
    };
    let mut c = vec![0.0; m * n];
    let mut s = vec![0.0; m * n];
    for i in 0..m {
        for j in 0..n {
            for l in 0..k {
                let (x, y) = (f64::from(at(i, l)), f64::from(bt(l, j)));
                c[i * n + j] += x * y;
                s[i * n + j] += (x * y).abs();
            }
        }
    }
    (c, s)
}

fn run(kind: Kind, a: &Matrix, b: &Matrix, c: &mut Matrix, acc: Accum) {
    match kind {
        Kind::Nn => gemm_nn(a.view(), b.view(), c.view_mut(), acc),
        Kind::Tn => gemm_tn(a.view(), b.view(), c.view_mut(), acc),
        Kind::Nt => gemm_nt(a.view(), b.view(), c.view_mut(), acc),
    }
}

/// Runs `f` once with each kernel this CPU has forced on the current thread.
fn for_each_kernel(mut f: impl FnMut(Kernel)) {
    for kernel in Kernel::available() {
        FORCED_KERNEL.with(|k| k.set(Some(kernel)));
        f(kernel);
    }
    FORCED_KERNEL.with(|k| k.set(None));
}

fn check_kind(kind: Kind) {
    for_each_kernel(|kernel| check_kind_with(kind, kernel));
}

fn check_kind_with(kind: Kind, kernel: Kernel) {
    let mut stream = 0;
    for &m in &SIZES {
        for &k in &SIZES {
            for &n in &SIZES {
                // Keep the triple loop cheap: skip the largest combinations.
                if m * k * n > 300_000 {
                    continue;
                }
                stream += 1;
                let (a, b) = match kind {
                    Kind::Nn => (random(m, k, 3 * stream), random(k, n, 3 * stream + 1)),
                    Kind::Tn => (random(k, m, 3 * stream), random(k, n, 3 * stream + 1)),
                    Kind::Nt => (random(m, k, 3 * stream), random(n, k, 3 * stream + 1)),
                };
                let (expect, scale) = naive(kind, &a, &b, m, k, n);
                let tol = |i: usize| 1e-6 * (k as f64).sqrt() * scale[i].max(1e-30) + 1e-30;

                // Overwrite ignores C entirely, NaN included.
                let mut c = Matrix::from_vec(m, n, vec![f32::NAN; m * n]).unwrap();
                run(kind, &a, &b, &mut c, Accum::Overwrite);
                for (i, (&got, &want)) in c.as_slice().iter().zip(&expect).enumerate() {
                    assert!(
                        (f64::from(got) - want).abs() <= tol(i),
                        "{kernel:?} {kind:?} overwrite m={m} k={k} n={n} at {i}: {got} vs {want}"
                    );
                }

                // Accumulate adds to what is there.
                let c0 = random(m, n, 3 * stream + 2);
                let mut c = c0.clone();
                run(kind, &a, &b, &mut c, Accum::Accumulate);
                for (i, ((&got, &want), &before)) in
                    c.as_slice().iter().zip(&expect).zip(c0.as_slice()).enumerate()
                {
                    let want = want + f64::from(before);
                    assert!(
                        (f64::from(got) - want).abs() <= tol(i) + 1e-7 * want.abs(),
                        "{kernel:?} {kind:?} accumulate m={m} k={k} n={n} at {i}: {got} vs {want}"
                    );
                }
            }
        }
    }
}

#[test]
fn gemm_nn_matches_naive() {
    check_kind(Kind::Nn);
}

#[test]
fn gemm_tn_matches_naive() {
    check_kind(Kind::Tn);
}

#[test]
fn gemm_nt_matches_naive() {
    check_kind(Kind::Nt);
}

#[test]
fn the_detected_kernel_is_the_fastest_available() {
    assert_eq!(Kernel::detect(), Kernel::available()[0]);
}

/// Identical inputs give bit-identical products on every call, for every kernel (the kernels are
/// single-threaded and keep a fixed summation order; packing memory reused from an earlier, larger
/// product must not matter either).
#[test]
fn products_are_bit_reproducible() {
    for_each_kernel(|kernel| {
        for (kind, m, k, n) in
            [(Kind::Nn, 70, 300, 33), (Kind::Tn, 65, 513, 17), (Kind::Nt, 130, 9, 100)]
        {
            let (a, b) = match kind {
                Kind::Nn => (random(m, k, 200), random(k, n, 201)),
                Kind::Tn => (random(k, m, 200), random(k, n, 201)),
                Kind::Nt => (random(m, k, 200), random(n, k, 201)),
            };
            let mut first = Matrix::zeros(m, n);
            run(kind, &a, &b, &mut first, Accum::Overwrite);
            // A larger product in between, so the second call runs on packing memory that held
            // other data.
            let big = random(300, 300, 202);
            let mut big_c = Matrix::zeros(300, 300);
            run(Kind::Nn, &big, &big, &mut big_c, Accum::Overwrite);
            let mut second = Matrix::from_vec(m, n, vec![f32::NAN; m * n]).unwrap();
            run(kind, &a, &b, &mut second, Accum::Overwrite);
            let same = first
                .as_slice()
                .iter()
                .zip(second.as_slice())
                .all(|(x, y)| x.to_bits() == y.to_bits());
            assert!(same, "{kernel:?} {kind:?} {m}×{k}×{n}: two calls differ");
        }
    });
}

#[test]
fn empty_inner_dimension() {
    let a = Matrix::zeros(3, 0);
    let b = Matrix::zeros(0, 4);
    let mut c = Matrix::from_vec(3, 4, vec![f32::NAN; 12]).unwrap();
    gemm_nn(a.view(), b.view(), c.view_mut(), Accum::Overwrite);
    assert!(c.as_slice().iter().all(|&v| v == 0.0));
    let mut c = Matrix::from_vec(3, 4, vec![2.5; 12]).unwrap();
    gemm_nn(a.view(), b.view(), c.view_mut(), Accum::Accumulate);
    assert!(c.as_slice().iter().all(|&v| v == 2.5));
}

#[test]
fn products_of_row_ranges_and_reborrows() {
    // A batch taken as a row range of a larger set, written into a row range of the output.
    let x = random(10, 5, 90);
    let w = random(5, 3, 91);
    let mut z = Matrix::from_vec(10, 3, vec![f32::NAN; 30]).unwrap();
    let mut zv = z.view_mut();
    gemm_nn(x.view().rows_range(4, 6), w.view(), zv.rows_range_mut(4, 6), Accum::Overwrite);
    gemm_nn(x.view().rows_range(0, 4), w.view(), zv.rows_range_mut(0, 4), Accum::Overwrite);
    let mut full = Matrix::zeros(10, 3);
    gemm_nn(x.view(), w.view(), full.view_mut(), Accum::Overwrite);
    assert_eq!(z, full);
    let mut again = Matrix::zeros(10, 3);
    let mut v = again.view_mut();
    gemm_nn(x.view(), w.view(), v.reborrow(), Accum::Overwrite);
    gemm_nn(x.view(), w.view(), v.reborrow(), Accum::Accumulate);
    for (a, f) in again.as_slice().iter().zip(full.as_slice()) {
        assert_eq!(*a, 2.0 * f);
    }
}

#[test]
fn shape_errors_name_the_product_and_leave_c_untouched() {
    let a = Matrix::zeros(2, 3);
    let b = Matrix::zeros(4, 5);
    let mut c = Matrix::from_vec(2, 5, vec![7.0; 10]).unwrap();
    let e = try_gemm_nn(a.view(), b.view(), c.view_mut(), Accum::Overwrite).unwrap_err();
    assert!(e.0.contains("gemm_nn") && e.0.contains("2×3") && e.0.contains("4×5"), "{e}");
    assert!(c.as_slice().iter().all(|&v| v == 7.0));
    // Aᵀ·B needs equal row counts; C must be cols(A)×cols(B).
    let e = try_gemm_tn(a.view(), b.view(), c.view_mut(), Accum::Overwrite).unwrap_err();
    assert!(e.0.contains("gemm_tn"), "{e}");
    let b2 = Matrix::zeros(2, 5);
    let e = try_gemm_tn(a.view(), b2.view(), c.view_mut(), Accum::Overwrite).unwrap_err();
    assert!(e.0.contains("C 2×5"), "{e}");
    let mut c35 = Matrix::zeros(3, 5);
    try_gemm_tn(a.view(), b2.view(), c35.view_mut(), Accum::Overwrite).unwrap();
    // A·Bᵀ needs equal column counts.
    let e = try_gemm_nt(a.view(), b.view(), c.view_mut(), Accum::Overwrite).unwrap_err();
    assert!(e.0.contains("gemm_nt"), "{e}");
}

#[test]
#[should_panic(expected = "gemm_nn")]
fn gemm_panics_on_shape_mismatch() {
    let a = Matrix::zeros(2, 3);
    let mut c = Matrix::zeros(2, 2);
    gemm_nn(a.view(), a.view(), c.view_mut(), Accum::Overwrite);
}

/// Runs one product through the `_threads` form.
fn run_threads(kind: Kind, a: &Matrix, b: &Matrix, c: &mut Matrix, acc: Accum, threads: usize) {
    let (a, b, c) = (a.view(), b.view(), c.view_mut());
    match kind {
        Kind::Nn => try_gemm_nn_threads(a, b, c, acc, threads),
        Kind::Tn => try_gemm_tn_threads(a, b, c, acc, threads),
        Kind::Nt => try_gemm_nt_threads(a, b, c, acc, threads),
    }
    .unwrap();
}

/// Every edge of the register tiles (AVX-512 12 × 32, AVX2 6 × 16) on both sides, narrow outputs
/// (the 10-column products and their transposes), and `k` past one packed block, for all three
/// transposition combinations and every kernel, against the f64 triple loop.
#[test]
fn odd_shapes_match_naive() {
    let edges = [1, 2, 5, 6, 7, 10, 11, 12, 13, 16, 17, 23, 25, 31, 32, 33, 47, 49, 64, 70];
    for_each_kernel(|kernel| {
        let mut stream = 10_000;
        for kind in [Kind::Nn, Kind::Tn, Kind::Nt] {
            for (ix, &m) in edges.iter().enumerate() {
                for (jx, &n) in edges.iter().enumerate() {
                    // All (m, n) pairs with a cheap k, and a sparser grid with deep k (several
                    // packed k blocks).
                    let ks: &[usize] = if (ix + jx) % 5 == 0 { &[3, 70, 600] } else { &[1, 33] };
                    for &k in ks {
                        stream += 1;
                        let (a, b) = match kind {
                            Kind::Nn => (random(m, k, 3 * stream), random(k, n, 3 * stream + 1)),
                            Kind::Tn => (random(k, m, 3 * stream), random(k, n, 3 * stream + 1)),
                            Kind::Nt => (random(m, k, 3 * stream), random(n, k, 3 * stream + 1)),
                        };
                        let (expect, scale) = naive(kind, &a, &b, m, k, n);
                        let c0 = random(m, n, 3 * stream + 2);
                        for acc in [Accum::Overwrite, Accum::Accumulate] {
                            let mut c = if acc == Accum::Overwrite {
                                Matrix::from_vec(m, n, vec![f32::NAN; m * n]).unwrap()
                            } else {
                                c0.clone()
                            };
                            run(kind, &a, &b, &mut c, acc);
                            for (i, &got) in c.as_slice().iter().enumerate() {
                                let before = match acc {
                                    Accum::Overwrite => 0.0,
                                    Accum::Accumulate => f64::from(c0.as_slice()[i]),
                                };
                                let want = expect[i] + before;
                                // f32 rounding: ~k·ε·Σ|a·b| in the worst case, √k·ε typically;
                                // 2·√k·ε·Σ|a·b| plus the final addition's rounding.
                                let tol = 2.0 * 6e-8 * (k as f64).sqrt() * scale[i]
                                    + 6e-8 * want.abs()
                                    + 1e-30;
                                assert!(
                                    (f64::from(got) - want).abs() <= tol,
                                    "{kernel:?} {kind:?} {acc:?} m={m} k={k} n={n} at {i}: \
                                     {got} vs {want}"
                                );
                            }
                        }
                    }
                }
            }
        }
    });
}

/// Splitting a product over 1, 2 or 3 threads gives the same bits (every element keeps its
/// summation order), for products large enough to be split, on both sides, narrow ones included.
#[test]
fn thread_count_does_not_change_a_bit() {
    let pool = rayon::ThreadPoolBuilder::new().num_threads(3).build().unwrap();
    for_each_kernel(|kernel| {
        for (kind, m, k, n) in [
            (Kind::Nn, 250, 300, 70),
            (Kind::Nn, 40, 700, 333),
            (Kind::Tn, 130, 513, 260),
            (Kind::Nt, 301, 129, 95),
            (Kind::Nn, 1000, 300, 10),
            (Kind::Tn, 520, 1000, 10),
            (Kind::Nt, 1000, 10, 520),
        ] {
            let (a, b) = match kind {
                Kind::Nn => (random(m, k, 300), random(k, n, 301)),
                Kind::Tn => (random(k, m, 300), random(k, n, 301)),
                Kind::Nt => (random(m, k, 300), random(n, k, 301)),
            };
            let c0 = random(m, n, 302);
            for acc in [Accum::Overwrite, Accum::Accumulate] {
                let results: Vec<Vec<u32>> = [1, 2, 3]
                    .iter()
                    .map(|&t| {
                        let mut c = c0.clone();
                        // The forced kernel is thread-local: set it on the pool's threads too.
                        pool.install(|| {
                            pool.broadcast(|_| FORCED_KERNEL.with(|k| k.set(Some(kernel))));
                            run_threads(kind, &a, &b, &mut c, acc, t);
                        });
                        c.as_slice().iter().map(|v| v.to_bits()).collect()
                    })
                    .collect();
                assert!(
                    results[0] == results[1] && results[1] == results[2],
                    "{kernel:?} {kind:?} {acc:?} {m}×{k}×{n}: thread counts disagree"
                );
                let mut single = c0.clone();
                run(kind, &a, &b, &mut single, acc);
                let plain: Vec<u32> = single.as_slice().iter().map(|v| v.to_bits()).collect();
                assert_eq!(plain, results[0], "{kernel:?} {kind:?}: _threads(1) ≠ plain");
            }
        }
    });
}

/// The fused forward (`Z = X·W` with the activation applied per finished row segment) gives
/// bit-identical `z`, `a` and `d` to the product followed by the element-wise kernel, for every
/// kernel, thread count and shape: narrow outputs, the transposed orientation, `k` deeper than a
/// block, ragged tiles, and an empty inner dimension.
#[test]
fn fused_activation_equals_product_then_elementwise() {
    use crate::elementwise::{arctan, arctan_with_derivative};
    let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    for_each_kernel(|kernel| {
        for (m, k, n) in [(70, 600, 100), (40, 9, 33), (29, 1000, 10), (13, 0, 5), (1, 3, 1)] {
            let (x, w) = (random(m, k, 400), random(k, n, 401));
            // Scale so the activations cover arctan's three ranges.
            let x = Matrix::from_vec(m, k, x.as_slice().iter().map(|v| v * 0.3).collect()).unwrap();
            let mut z0 = Matrix::zeros(m, n);
            gemm_nn(x.view(), w.view(), z0.view_mut(), Accum::Overwrite);
            let (mut a0, mut d0) = (vec![0.0; m * n], vec![0.0; m * n]);
            arctan_with_derivative(z0.as_slice(), &mut a0, &mut d0);
            let mut a_only = vec![0.0; m * n];
            arctan(z0.as_slice(), &mut a_only);
            for threads in [1, 2, 3] {
                let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
                pool.broadcast(|_| FORCED_KERNEL.with(|f| f.set(Some(kernel))));
                let nan = || Matrix::from_vec(m, n, vec![f32::NAN; m * n]).unwrap();
                let (mut z, mut a, mut d) = (nan(), vec![f32::NAN; m * n], vec![f32::NAN; m * n]);
                pool.install(|| {
                    let e = Epilogue::ArctanWithDerivative { a: &mut a, d: &mut d };
                    try_gemm_nn_activate_threads(x.view(), w.view(), z.view_mut(), e, threads)
                })
                .unwrap();
                let what = format!("{kernel:?} {m}×{k}×{n} on {threads} threads");
                assert_eq!(bits(z.as_slice()), bits(z0.as_slice()), "z: {what}");
                assert_eq!(bits(&a), bits(&a0), "a: {what}");
                assert_eq!(bits(&d), bits(&d0), "d: {what}");
                let (mut z, mut a) = (nan(), vec![f32::NAN; m * n]);
                pool.install(|| {
                    let e = Epilogue::Arctan { a: &mut a };
                    try_gemm_nn_activate_threads(x.view(), w.view(), z.view_mut(), e, threads)
                })
                .unwrap();
                assert_eq!(bits(&a), bits(&a_only), "arctan only: {what}");
                let mut z = nan();
                pool.install(|| {
                    let e = Epilogue::ArctanInPlace;
                    try_gemm_nn_activate_threads(x.view(), w.view(), z.view_mut(), e, threads)
                })
                .unwrap();
                assert_eq!(bits(z.as_slice()), bits(&a_only), "in place: {what}");
                pool.broadcast(|_| FORCED_KERNEL.with(|f| f.set(None)));
            }
        }
    });
}

/// An activation output of the wrong length is refused, naming it, before anything is written.
#[test]
fn fused_activation_refuses_short_outputs() {
    let (x, w) = (random(4, 3, 410), random(3, 5, 411));
    let mut z = Matrix::from_vec(4, 5, vec![7.0; 20]).unwrap();
    let (mut a, mut d) = (vec![7.0; 20], vec![7.0; 19]);
    let e = Epilogue::ArctanWithDerivative { a: &mut a, d: &mut d };
    let err = try_gemm_nn_activate_threads(x.view(), w.view(), z.view_mut(), e, 1).unwrap_err();
    assert!(err.0.contains("d holds 19") && err.0.contains("4×5"), "{err}");
    assert!(z.as_slice().iter().chain(&a).chain(&d).all(|&v| v == 7.0));
    let mut short = vec![0.0; 3];
    let err = try_gemm_nn_activate_threads(
        x.view(),
        w.view(),
        z.view_mut(),
        Epilogue::Arctan { a: &mut short },
        1,
    )
    .unwrap_err();
    assert!(err.0.contains("a holds 3"), "{err}");
}

/// Rows a multiple of 4 KiB apart (H = 1024) alias in L1 and are packed; others are read in place.
#[test]
fn aliasing_row_strides_are_detected() {
    for stride in [1024, 2048, 4096, 1024 * 5] {
        assert!(driver::rows_alias(stride, 12), "stride {stride}");
        assert!(driver::rows_alias(stride, 6), "stride {stride}, AVX2 rows");
    }
    // 512: two sets of six lines each (within 8 or 12 ways); 1: all rows in one line.
    for stride in [512, 768, 824, 784, 1000, 10, 100, 1, 896, 1040] {
        assert!(!driver::rows_alias(stride, 12), "stride {stride}");
    }
}

/// `A·B` read in place (`csa = 1`; packed when its rows alias) gives the same bits as `Aᵀ·B` over
/// the transposed copy of `A`, which is always packed: the summation order does not depend on
/// how the panel reaches the kernel. With `k` = 1024 (aliasing rows) and 824 (not).
#[test]
fn in_place_and_packed_broadcast_panels_agree() {
    for_each_kernel(|kernel| {
        for k in [1024, 824] {
            let (m, n) = (37, 70);
            let a = random(m, k, 500);
            let b = random(k, n, 501);
            let mut at = Matrix::zeros(k, m);
            for i in 0..m {
                for l in 0..k {
                    at.as_mut_slice()[l * m + i] = a.as_slice()[i * k + l];
                }
            }
            let (mut c1, mut c2) = (Matrix::zeros(m, n), Matrix::zeros(m, n));
            gemm_nn(a.view(), b.view(), c1.view_mut(), Accum::Overwrite);
            gemm_tn(at.view(), b.view(), c2.view_mut(), Accum::Overwrite);
            let bits = |c: &Matrix| c.as_slice().iter().map(|v| v.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&c1), bits(&c2), "{kernel:?} k = {k}");
        }
    });
}
