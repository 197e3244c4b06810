//! The exact gradient against finite differences of an f64 reference, and how far the study's
//! manual seed is from it.

mod common;

use common::{cost, exact_seed, forward, manual_seed, rel_err, setup, M};
use handprop_layers::{Activation, GradSeed, Mlp, Routing};

const WIDTHS: [usize; 5] = [6, 5, 4, 4, 3];

fn net(seed: GradSeed) -> Mlp {
    // Capacity 4, batches of 3 rows: also exercises a batch smaller than the buffers.
    Mlp::new(&WIDTHS, 4, Activation::Arctan, seed, Routing::Standard).unwrap()
}

/// Central finite differences in f64 of the summed cost, for every weight of every layer.
fn finite_differences(w: &[M], x: &M, y: &M) -> Vec<M> {
    // f64 central differences: truncation error ~h²·|C'''| ≈ 1e-12 and cancellation error
    // ~ε_f64·|C|/h ≈ 1e-10 at h = 1e-6, both far below the f32 error being tested.
    let h = 1e-6;
    let mut out = Vec::new();
    for k in 0..w.len() {
        let mut g = M::zeros(w[k].r, w[k].c);
        for idx in 0..w[k].d.len() {
            let mut wp = w.to_vec();
            wp[k].d[idx] += h;
            let cp = cost(&forward(&wp, x).2, y);
            wp[k].d[idx] -= 2.0 * h;
            let cm = cost(&forward(&wp, x).2, y);
            g.d[idx] = (cp - cm) / (2.0 * h);
        }
        out.push(g);
    }
    out
}

#[test]
fn exact_seed_matches_finite_differences_for_every_layer() {
    for seed in [1u64, 2, 3] {
        let mut mlp = net(GradSeed::Exact);
        let (x, y, _) = setup(&WIDTHS, 3, seed, &mut mlp);
        let c32 = mlp.train_batch(x.view(), y.view(), 0).unwrap();
        let w: Vec<M> = mlp.weights().iter().map(M::from32).collect();
        let (x64, y64) = (M::from32(&x), M::from32(&y));
        let c64 = cost(&forward(&w, &x64).2, &y64);
        assert!(((f64::from(c32) - c64) / c64).abs() < 1e-5, "cost {c32} vs {c64}");
        let fd = finite_differences(&w, &x64, &y64);
        for (k, (g, r)) in mlp.grads().iter().zip(&fd).enumerate() {
            // Tolerance 1e-5 of the matrix's largest entry. The f32 gradient carries rounding of
            // at most a few hundred unit roundoffs (6e-8): 4 layers, dot products of ≤ 6 terms,
            // atan/exp/ln and the softmax Jacobian, so ≲ 1e-5 relative (observed: ≤ 5e-7); the
            // finite differences are exact to ~1e-10. A wrong formula (the p − y seed, a missing
            // 1/(1+z²), a transposed product) is off by 1e-2 … 1, far outside the tolerance.
            let err = rel_err(g.as_slice(), r);
            eprintln!("seed {seed}, layer {}: exact vs finite differences {err:.2e}", k + 1);
            assert!(err < 1e-5, "seed {seed}, layer {}: relative error {err:e}", k + 1);
        }
    }
}

#[test]
fn manual_seed_is_not_the_gradient_of_the_cost() {
    let mut mlp = net(GradSeed::Manual);
    let (x, y, _) = setup(&WIDTHS, 3, 1, &mut mlp);
    mlp.train_batch(x.view(), y.view(), 0).unwrap();
    let w: Vec<M> = mlp.weights().iter().map(M::from32).collect();
    let fd = finite_differences(&w, &M::from32(&x), &M::from32(&y));
    // Layer N is where the seeds differ most directly; every layer inherits the difference.
    for (k, (g, r)) in mlp.grads().iter().zip(&fd).enumerate() {
        let err = rel_err(g.as_slice(), r);
        eprintln!("manual seed vs ∂C/∂W_{}: relative difference {err:.3}", k + 1);
        assert!(err > 1e-2, "layer {}: manual seed unexpectedly equals the exact gradient", k + 1);
    }
}

/// On a fixed example where the output layer's weights are zero, `a_N = 0`, so `p` is uniform
/// (`1/K` for `K` classes). Then, with a one-hot `y`, the exact seed is the manual one scaled by
/// `K/(K−1)`: `Σ_c p_c·∂C/∂p_c = (K−1)·(1/K)/(1−1/K) − 1 = 0`, so
/// `δ_j = p_j·∂C/∂p_j`, i.e. `(1/K)/(1−1/K) = (1/K)·K/(K−1)` off the label and `−1 = (1/K − 1)·K/(K−1)`
/// on it. For the study's `K = 10` the exact seed is 11.1 % larger than `p − y`, everywhere.
#[test]
fn exact_seed_is_manual_times_k_over_k_minus_one_at_uniform_output() {
    let widths = [4, 3, 10];
    let mut manual =
        Mlp::new(&widths, 2, Activation::Arctan, GradSeed::Manual, Routing::Standard).unwrap();
    let (x, y, _) = setup(&widths, 2, 9, &mut manual);
    let mut w = manual.weights().to_vec();
    w[1].as_mut_slice().fill(0.0);
    manual.set_weights(&w).unwrap();
    let mut exact =
        Mlp::new(&widths, 2, Activation::Arctan, GradSeed::Exact, Routing::Standard).unwrap();
    exact.set_weights(&w).unwrap();
    manual.train_batch(x.view(), y.view(), 0).unwrap();
    exact.train_batch(x.view(), y.view(), 0).unwrap();
    let (dm, de) = (manual.incoming_grad(1).unwrap(), exact.incoming_grad(1).unwrap());
    let k = 10.0f32;
    for (&m, &e) in dm.as_slice().iter().zip(de.as_slice()) {
        assert!((e - m * k / (k - 1.0)).abs() <= 1e-6, "exact {e} vs manual {m}");
    }
    // The factor carries through every layer's gradient.
    for (gm, ge) in manual.grads().iter().zip(exact.grads()) {
        for (&m, &e) in gm.as_slice().iter().zip(ge.as_slice()) {
            assert!((e - m * k / (k - 1.0)).abs() <= 1e-5 * (1.0 + m.abs()), "{e} vs {m}");
        }
    }
}

/// Both seeds in the network agree with the f64 reference formulas on a non-uniform example, and
/// differ from each other in direction, not just by a factor.
#[test]
fn seeds_match_reference_formulas_and_differ_in_direction() {
    let mut exact = net(GradSeed::Exact);
    let (x, y, _) = setup(&WIDTHS, 3, 5, &mut exact);
    let mut manual = net(GradSeed::Manual);
    manual.set_weights(exact.weights()).unwrap();
    exact.train_batch(x.view(), y.view(), 0).unwrap();
    manual.train_batch(x.view(), y.view(), 0).unwrap();
    let w: Vec<M> = exact.weights().iter().map(M::from32).collect();
    let (y64, p) = (M::from32(&y), forward(&w, &M::from32(&x)).2);
    let n = WIDTHS.len() - 2;
    let (de, dm) = (exact.incoming_grad(n).unwrap(), manual.incoming_grad(n).unwrap());
    assert!(rel_err(de.as_slice(), &exact_seed(&p, &y64)) < 1e-5);
    assert!(rel_err(dm.as_slice(), &manual_seed(&p, &y64)) < 1e-5);
    let dot: f64 = de.as_slice().iter().zip(dm.as_slice()).map(|(&a, &b)| f64::from(a * b)).sum();
    let norm = |v: &[f32]| v.iter().map(|&a| f64::from(a * a)).sum::<f64>().sqrt();
    let cosine = dot / (norm(de.as_slice()) * norm(dm.as_slice()));
    eprintln!("cosine(exact seed, manual seed) = {cosine:.4}");
    assert!(cosine < 0.9999, "the seeds should not be parallel here (cosine {cosine})");
    assert!(cosine > 0.0, "the seeds should still point the same way (cosine {cosine})");
}
