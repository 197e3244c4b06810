use super::*;
use crate::Matrix;

/// The spacing of f32 values at the magnitude of `v` (the ulp of the f32 nearest `v`).
fn ulp_at(v: f64) -> f64 {
    let f = (v as f32).abs();
    let next = f32::from_bits(f.to_bits() + 1);
    f64::from(next) - f64::from(f)
}

/// Error of `arctan(x)` against `f64::atan`, in ulp of the result.
fn atan_ulp_error(x: f32, got: f32) -> f64 {
    let exact = f64::from(x).atan();
    (f64::from(got) - exact).abs() / ulp_at(exact)
}

fn arctan_one(x: f32) -> f32 {
    let mut a = [0.0];
    arctan(&[x], &mut a);
    a[0]
}

#[test]
fn split_constants_sum_to_pi() {
    let half = f64::from(FRAC_PI_2_HI) + f64::from(FRAC_PI_2_LO);
    let quarter = f64::from(FRAC_PI_4_HI) + f64::from(FRAC_PI_4_LO);
    assert!((half - std::f64::consts::FRAC_PI_2).abs() < 4e-15);
    assert!((quarter - std::f64::consts::FRAC_PI_4).abs() < 4e-15);
}

#[test]
fn arctan_special_values() {
    assert_eq!(arctan_one(0.0).to_bits(), 0.0f32.to_bits());
    assert_eq!(arctan_one(-0.0).to_bits(), (-0.0f32).to_bits());
    assert_eq!(arctan_one(f32::INFINITY), std::f32::consts::FRAC_PI_2);
    assert_eq!(arctan_one(f32::NEG_INFINITY), -std::f32::consts::FRAC_PI_2);
    assert_eq!(arctan_one(f32::MAX), std::f32::consts::FRAC_PI_2);
    assert!(arctan_one(f32::NAN).is_nan());
    assert!(arctan_one(-f32::NAN).is_nan());
    for tiny in [f32::from_bits(1), f32::MIN_POSITIVE, 1e-30, 1e-10, 1e-5] {
        assert_eq!(arctan_one(tiny), tiny);
        assert_eq!(arctan_one(-tiny), -tiny);
    }
}

/// A dense sweep: 2²⁰ evenly spaced bit patterns over all positive finite f32 (every magnitude
/// from subnormals to f32::MAX), their negatives, and every f32 in [−4, 4] with a stride of 64.
#[test]
fn arctan_ulp_bound_dense_sweep() {
    let mut xs: Vec<f32> = Vec::new();
    let max_bits = f32::MAX.to_bits();
    let step = max_bits / (1 << 20);
    let mut b = 0u32;
    while b <= max_bits {
        xs.push(f32::from_bits(b));
        b += step;
    }
    let four = 4.0f32.to_bits();
    xs.extend((0..four).step_by(64).map(f32::from_bits));
    xs.extend([
        TAN_PI_8,
        TAN_3PI_8,
        f32::from_bits(TAN_PI_8.to_bits() + 1),
        f32::from_bits(TAN_3PI_8.to_bits() + 1),
        1.0,
        f32::MAX,
    ]);
    let neg: Vec<f32> = xs.iter().map(|x| -x).collect();
    xs.extend(neg);
    let mut a = vec![0.0; xs.len()];
    arctan(&xs, &mut a);
    let mut worst = (0.0f64, 0.0f32);
    for (&x, &got) in xs.iter().zip(&a) {
        let e = atan_ulp_error(x, got);
        if e > worst.0 {
            worst = (e, x);
        }
    }
    assert!(worst.0 <= ARCTAN_MAX_ULP, "{} ulp at x = {:e}", worst.0, worst.1);
}

/// Every f32, against f64 `atan`: slow in debug, so ignored; run with
/// `cargo test -p handprop-tensor --release -- --ignored arctan_exhaustive --nocapture`.
#[test]
#[ignore]
fn arctan_exhaustive() {
    const CHUNK: u32 = 1 << 16;
    let mut xs = vec![0.0f32; CHUNK as usize];
    let mut a = vec![0.0f32; CHUNK as usize];
    let mut worst = (0.0f64, 0.0f32);
    let mut hist = [0u64; 4];
    for hi in 0..(1u32 << 16) {
        for (i, x) in xs.iter_mut().enumerate() {
            *x = f32::from_bits(hi * CHUNK + i as u32);
        }
        arctan(&xs, &mut a);
        for (&x, &got) in xs.iter().zip(&a) {
            if x.is_nan() {
                assert!(got.is_nan());
                continue;
            }
            let e = atan_ulp_error(x, got);
            hist[(e.ceil() as usize).min(3)] += 1;
            if e > worst.0 {
                worst = (e, x);
            }
        }
    }
    println!(
        "arctan worst error {} ulp at x = {:e}; ulp histogram (≤0,≤1,≤2,>2): {hist:?}",
        worst.0, worst.1
    );
    assert!(worst.0 <= ARCTAN_MAX_ULP);
}

#[test]
fn dispatched_kernels_match_baseline_bit_for_bit() {
    let mut z: Vec<f32> = (0..1003).map(|i| ((i as f32) * 0.37 - 180.0) * 0.05).collect();
    z.extend([0.0, -0.0, f32::INFINITY, f32::NEG_INFINITY, 1e30, -1e-30]);
    let u: Vec<f32> = z.iter().map(|x| x.sin()).collect();
    let n = z.len();
    let (mut a1, mut a2, mut d1, mut d2) = (vec![0.0; n], vec![0.0; n], vec![0.0; n], vec![0.0; n]);
    arctan(&z, &mut a1);
    arctan_body(&z, &mut a2);
    assert!(a1.iter().zip(&a2).all(|(x, y)| x.to_bits() == y.to_bits()));
    arctan_with_derivative(&z, &mut a2, &mut d1);
    assert!(a1.iter().zip(&a2).all(|(x, y)| x.to_bits() == y.to_bits()));
    arctan_with_derivative_body(&z, &mut a2, &mut d2);
    assert!(d1.iter().zip(&d2).all(|(x, y)| x.to_bits() == y.to_bits()));
    arctan_backward(&u, &z, &mut d1);
    arctan_backward_body(&u, &z, &mut d2);
    assert!(d1.iter().zip(&d2).all(|(x, y)| x.to_bits() == y.to_bits()));
}

#[test]
fn arctan_derivative_matches_finite_differences() {
    // Central differences of the f64 arctan, compared with the f32 kernels' derivative.
    let z: Vec<f32> = (-40..=40).map(|i| i as f32 * 0.125).collect();
    let n = z.len();
    let (mut a, mut d, mut e) = (vec![0.0; n], vec![0.0; n], vec![0.0; n]);
    let u: Vec<f32> = (0..n).map(|i| 1.0 + i as f32 * 0.01).collect();
    arctan_with_derivative(&z, &mut a, &mut d);
    arctan_backward(&u, &z, &mut e);
    let h = 1e-4;
    for i in 0..n {
        let zz = f64::from(z[i]);
        let fd = ((zz + h).atan() - (zz - h).atan()) / (2.0 * h);
        assert!((f64::from(d[i]) - fd).abs() <= 1e-6 * fd.abs().max(1e-3), "z = {zz}");
        let expect = f64::from(u[i]) * fd;
        assert!((f64::from(e[i]) - expect).abs() <= 1e-6 * expect.abs(), "z = {zz}");
        // The forward kernel over the same grid: its difference quotient over one step matches
        // the exact one, so value and derivative are consistent.
        if i > 0 {
            let slope = (f64::from(a[i]) - f64::from(a[i - 1])) / 0.125;
            let exact = (zz.atan() - (zz - 0.125).atan()) / 0.125;
            // Two values each within 2.1 ulp (≤ 2.5e-7) of the truth, divided by the step.
            assert!((slope - exact).abs() < 4.0 * 2.5e-7 / 0.125, "z = {zz}");
        }
    }
}

#[test]
fn arctan_is_monotone_near_reduction_thresholds() {
    for t in [TAN_PI_8, TAN_3PI_8, 1.0] {
        let bits = t.to_bits();
        let xs: Vec<f32> = (bits - 2000..bits + 2000).map(f32::from_bits).collect();
        let mut a = vec![0.0; xs.len()];
        arctan(&xs, &mut a);
        assert!(a.windows(2).all(|w| w[0] <= w[1]), "not monotone near {t}");
    }
}

#[test]
fn softmax_stable_at_large_inputs() {
    let x = Matrix::from_vec(
        3,
        4,
        vec![
            1e4,
            -1e4,
            1e4,
            0.0, //
            -1e4,
            -1e4,
            -1e4,
            -1e4, //
            1e4,
            1e4 - 1.0,
            -1e4,
            3.0,
        ],
    )
    .unwrap();
    let mut p = Matrix::zeros(3, 4);
    softmax_rows(x.view(), p.view_mut());
    let p = p.as_slice();
    assert!(p.iter().all(|v| v.is_finite()));
    assert_eq!(&p[0..4], &[0.5, 0.0, 0.5, 0.0]);
    assert_eq!(&p[4..8], &[0.25; 4]);
    let e = (-1.0f64).exp();
    assert!((f64::from(p[8]) - 1.0 / (1.0 + e)).abs() < 1e-7);
    assert!((f64::from(p[9]) - e / (1.0 + e)).abs() < 1e-7);
    assert_eq!(p[10], 0.0);
    for row in p.chunks(4) {
        assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-6);
    }
}

#[test]
fn softmax_matches_f64_definition() {
    let x: Vec<f32> = (0..30).map(|i| ((i * 7 % 11) as f32 - 5.0) * 0.3).collect();
    let mut p = Matrix::zeros(3, 10);
    softmax_rows(MatRef::new(3, 10, &x).unwrap(), p.view_mut());
    for (xr, pr) in x.chunks(10).zip(p.as_slice().chunks(10)) {
        let s: f64 = xr.iter().map(|&v| f64::from(v).exp()).sum();
        for (&xv, &pv) in xr.iter().zip(pr) {
            assert!((f64::from(pv) - f64::from(xv).exp() / s).abs() < 1e-7);
        }
    }
}

#[test]
fn bce_cost_matches_f64_definition() {
    let p = [0.1f32, 0.7, 0.2, 0.004, 0.72, 0.276];
    let y = [0.0f32, 1.0, 0.0, 0.0, 1.0, 0.0];
    let mut expect = 0.0f64;
    for (&p, &y) in p.iter().zip(&y) {
        let (p, y) = (f64::from(p), f64::from(y));
        expect -= y * p.ln() + (1.0 - y) * (1.0 - p).ln();
    }
    assert_eq!(bce_cost_f64(&p, &y), expect);
    assert_eq!(bce_cost(&p, &y), expect as f32);
}

#[test]
fn bce_cost_at_zero_and_one() {
    // Zero-weight logarithms of 0 contribute nothing; a weighted ln 0 is +∞.
    assert_eq!(bce_cost_f64(&[0.0, 1.0], &[0.0, 1.0]), 0.0);
    assert_eq!(bce_cost_f64(&[0.0], &[1.0]), f64::INFINITY);
    assert_eq!(bce_cost_f64(&[1.0], &[0.0]), f64::INFINITY);
    assert_eq!(bce_cost_f64(&[], &[]), 0.0);
}

#[test]
fn argmax_ties_go_to_first_maximum() {
    let s = Matrix::from_vec(
        4,
        3,
        vec![
            1.0, 1.0, 0.0, // tie between 0 and 1: 0
            0.0, 2.0, 2.0, // tie between 1 and 2: 1
            3.0, 3.0, 3.0, // all equal: 0
            -1.0, -2.0, -0.5, // 2
        ],
    )
    .unwrap();
    assert_eq!(argmax_correct(s.view(), &[0, 1, 0, 2]), 4);
    assert_eq!(argmax_correct(s.view(), &[1, 2, 2, 2]), 1);
    assert_eq!(argmax_correct(s.view(), &[2, 0, 1, 0]), 0);
}

#[test]
fn hadamard_and_axpy() {
    let a = [1.0f32, -2.0, 3.5];
    let b = [2.0f32, 0.5, -1.0];
    let mut c = [f32::NAN; 3];
    hadamard(&a, &b, &mut c);
    assert_eq!(c, [2.0, -1.0, -3.5]);
    let mut y = [1.0f32, 1.0, 1.0];
    axpy(-0.5, &a, &mut y);
    assert_eq!(y, [0.5, 2.0, -0.75]);
}

#[test]
#[should_panic(expected = "differ in length")]
fn arctan_length_mismatch_panics() {
    arctan(&[1.0, 2.0], &mut [0.0]);
}

#[test]
fn arctan_in_place_matches_arctan_bit_for_bit() {
    let z: Vec<f32> = (0..5000).map(|i| (i as f32 - 2500.0) * 0.013).collect();
    let mut a = vec![0.0; z.len()];
    arctan(&z, &mut a);
    let mut x = z.clone();
    arctan_in_place(&mut x);
    assert!(x.iter().zip(&a).all(|(x, a)| x.to_bits() == a.to_bits()));
}

#[test]
fn par_chunks2_covers_everything_once_for_any_thread_count() {
    let pool = rayon::ThreadPoolBuilder::new().num_threads(3).build().unwrap();
    let z: Vec<f32> = (0..300_001).map(|i| (i % 977) as f32 * 0.01 - 4.0).collect();
    let mut want_a = vec![0.0; z.len()];
    let mut want_d = vec![0.0; z.len()];
    arctan_with_derivative(&z, &mut want_a, &mut want_d);
    for threads in [1, 2, 3, 8] {
        let (mut a, mut d) = (vec![f32::NAN; z.len()], vec![f32::NAN; z.len()]);
        pool.install(|| {
            par_chunks2(threads, 10, &mut a, &mut d, &|off, a, d| {
                arctan_with_derivative(&z[off..off + a.len()], a, d);
            })
        });
        assert!(a.iter().zip(&want_a).all(|(x, y)| x.to_bits() == y.to_bits()), "{threads}");
        assert!(d.iter().zip(&want_d).all(|(x, y)| x.to_bits() == y.to_bits()), "{threads}");
        let mut only = vec![0.0f32; 1000];
        par_chunks2(threads, 7, &mut only, &mut [], &|off, a, b| {
            assert!(b.is_empty());
            for (i, v) in a.iter_mut().enumerate() {
                *v = (off + i) as f32;
            }
        });
        assert!(only.iter().enumerate().all(|(i, &v)| v == i as f32));
    }
}
