//! Every routing on a tiny network (hidden width 3) against u_k written out from the study's routing table (docs/study.md),
//! and the depth generalisation against its documented formula.

mod common;

use common::{dact, forward, manual_seed, rel_err, setup, M};
use handprop_layers::{Activation, GradSeed, LayerError, Mlp, Routing};

const WIDTHS: [usize; 6] = [4, 3, 3, 3, 3, 2];

/// (P, D, epoch) giving r = 3 / (1 + 0.25·4) = 1.5: large enough that a missing or misplaced
/// term changes u_k by as much as the term itself.
const P: f32 = 3.0;
const D: f32 = 0.25;
const EPOCH: u64 = 4;

fn all_routings() -> [Routing; 5] {
    [
        Routing::Standard,
        Routing::Sparse { p: P, d: D },
        Routing::DenseAdd { p: P, d: D },
        Routing::DenseMul { p: P, d: D },
        Routing::Hybrid { p: P, d: D },
    ]
}

/// Back-propagation in f64 with u_k taken literally from the table. Returns (u_1..u_5, G_1..G_5).
fn table_reference(routing: Routing, w: &[M], x: &M, y: &M) -> (Vec<M>, Vec<M>) {
    let r = f64::from(routing.rate(EPOCH));
    let (zs, a_s, p) = forward(w, x);
    let layer = |k: usize, u: &M| -> (M, M) {
        // e_k, g_k for 1-based k.
        let e = u.had(&dact(&zs[k - 1]));
        let g = e.mul(&w[k - 1].t());
        (e, g)
    };
    let u5 = manual_seed(&p, y);
    let (e5, g5) = layer(5, &u5);
    let u4 = g5.clone();
    let (e4, g4) = layer(4, &u4);
    let u3 = match routing {
        Routing::Standard => g4.clone(),
        _ => g4.add(&g5.scale(r)),
    };
    let (e3, g3) = layer(3, &u3);
    let u2 = match routing {
        Routing::Standard => g3.clone(),
        Routing::Sparse { .. } => g3.add(&g4.scale(r)),
        Routing::DenseAdd { .. } => g3.add(&g4.add(&g5).scale(r)),
        Routing::DenseMul { .. } => g3.add(&g4.had(&g5).scale(r)),
        Routing::Hybrid { .. } => g3.add(&g4.add(&g5).scale(r)),
    };
    let (e2, g2) = layer(2, &u2);
    let u1 = match routing {
        Routing::Standard => g2.clone(),
        Routing::Sparse { .. } => g2.add(&g3.scale(r)),
        Routing::DenseAdd { .. } => g2.add(&g3.add(&g4).add(&g5).scale(r)),
        Routing::DenseMul { .. } => g2.add(&g3.had(&g4).had(&g5).scale(r)),
        Routing::Hybrid { .. } => g2.add(&g3.had(&g4).had(&g5).scale(r)),
    };
    let (e1, _) = layer(1, &u1);
    let inputs = [x, &a_s[0], &a_s[1], &a_s[2], &a_s[3]];
    let grads = [e1, e2, e3, e4, e5].iter().zip(inputs).map(|(e, a)| a.t().mul(e)).collect();
    (vec![u1, u2, u3, u4, u5], grads)
}

#[test]
fn every_routing_matches_the_table() {
    let mut results = Vec::new();
    for routing in all_routings() {
        let mut mlp = Mlp::new(&WIDTHS, 3, Activation::Arctan, GradSeed::Manual, routing).unwrap();
        let (x, y, _) = setup(&WIDTHS, 3, 11, &mut mlp);
        mlp.train_batch(x.view(), y.view(), EPOCH).unwrap();
        let w: Vec<M> = mlp.weights().iter().map(M::from32).collect();
        let (us, gs) = table_reference(routing, &w, &M::from32(&x), &M::from32(&y));
        for k in 0..5 {
            // f32 against f64 through ≤ 5 layers of width ≤ 4: ~1e-6 relative; 1e-4 leaves room
            // for the products of dense_mul, while any wrong term is off by O(1).
            let err = rel_err(mlp.incoming_grad(k).unwrap().as_slice(), &us[k]);
            assert!(err < 1e-4, "{}: u_{} off by {err:e}", routing.name(), k + 1);
            let err = rel_err(mlp.grads()[k].as_slice(), &gs[k]);
            assert!(err < 1e-4, "{}: G_{} off by {err:e}", routing.name(), k + 1);
        }
        results.push(mlp.grads()[0].as_slice().to_vec());
    }
    // The routings really differ from each other on layer 1 (otherwise the test proves little);
    // hybrid and dense_mul share the layer-1 rule but differ in layer 2, hence in G_1 too.
    for i in 0..results.len() {
        for j in i + 1..results.len() {
            assert_ne!(results[i], results[j], "routings {i} and {j} gave identical G_1");
        }
    }
}

/// The documented generalisation at depth 6: u_k = g_{k+1} + r·s_k, s_k combining g_{k+2}..g_N
/// (sparse: g_{k+2} only; dense_add: sum; dense_mul: product; hybrid: product into layer 1, sum
/// elsewhere).
#[test]
fn routing_generalises_to_six_layers() {
    let widths = [4, 3, 3, 3, 3, 3, 2];
    let n = 6;
    for routing in all_routings() {
        let mut mlp = Mlp::new(&widths, 2, Activation::Arctan, GradSeed::Manual, routing).unwrap();
        let (x, y, _) = setup(&widths, 2, 12, &mut mlp);
        mlp.train_batch(x.view(), y.view(), EPOCH).unwrap();
        let r = f64::from(routing.rate(EPOCH));
        let w: Vec<M> = mlp.weights().iter().map(M::from32).collect();
        let (zs, _, p) = forward(&w, &M::from32(&x));
        let mut g: Vec<Option<M>> = vec![None; n + 2];
        let mut u = manual_seed(&p, &M::from32(&y));
        for k in (1..=n).rev() {
            if k < n {
                let next = g[k + 1].clone().unwrap();
                u = if k + 2 > n {
                    next
                } else {
                    let src = |j: usize| g[j].clone().unwrap();
                    let mul = matches!(routing, Routing::DenseMul { .. })
                        || (matches!(routing, Routing::Hybrid { .. }) && k == 1);
                    let last = if matches!(routing, Routing::Sparse { .. }) { k + 2 } else { n };
                    let s = (k + 3..=last).fold(src(k + 2), |s, j| {
                        if mul {
                            s.had(&src(j))
                        } else {
                            s.add(&src(j))
                        }
                    });
                    match routing {
                        Routing::Standard => next,
                        _ => next.add(&s.scale(r)),
                    }
                };
            }
            let err = rel_err(mlp.incoming_grad(k - 1).unwrap().as_slice(), &u);
            assert!(err < 1e-4, "{}: u_{k} off by {err:e}", routing.name());
            let e = u.had(&dact(&zs[k - 1]));
            g[k] = Some(e.mul(&w[k - 1].t()));
        }
    }
}

#[test]
fn rate_follows_p_over_one_plus_d_t() {
    let r = Routing::Sparse { p: 1000.0, d: 0.08 };
    assert_eq!(r.rate(0), 1000.0);
    assert!((r.rate(100) - 1000.0 / 9.0).abs() < 1e-3);
    assert_eq!(Routing::Standard.rate(7), 0.0);
    let h = Routing::Hybrid { p: 500.0, d: 0.04 };
    assert!((h.rate(800) - 500.0 / 33.0).abs() < 1e-3);
}

#[test]
fn dilated_routing_rejects_unequal_widths_and_shallow_nets() {
    // g_3 is 5 wide (layer 3's input) but u_1 is 3 wide.
    let widths = [4, 3, 5, 3, 3, 2];
    for routing in all_routings().into_iter().skip(1) {
        let err = Mlp::new(&widths, 2, Activation::Arctan, GradSeed::Manual, routing).unwrap_err();
        assert!(matches!(err, LayerError::RoutingWidths { .. }), "{}: {err}", routing.name());
        let err =
            Mlp::new(&[4, 3, 2], 2, Activation::Arctan, GradSeed::Manual, routing).unwrap_err();
        assert!(matches!(err, LayerError::RoutingDepth { layers: 2, .. }), "{err}");
    }
    // Standard back-propagation combines nothing, so any widths are fine.
    Mlp::new(&widths, 2, Activation::Arctan, GradSeed::Manual, Routing::Standard).unwrap();
    let bad = Routing::DenseAdd { p: 1.0, d: -0.5 };
    let err = Mlp::new(&WIDTHS, 2, Activation::Arctan, GradSeed::Manual, bad).unwrap_err();
    assert!(matches!(err, LayerError::RoutingParameter { name: "d", .. }), "{err}");
}

#[test]
fn routing_config_is_tagged_snake_case_and_strict() {
    let r: Routing = serde_json::from_str(r#"{"kind":"dense_add","p":800,"d":0.064}"#).unwrap();
    assert_eq!(r, Routing::DenseAdd { p: 800.0, d: 0.064 });
    let r: Routing = serde_json::from_str(r#"{"kind":"standard"}"#).unwrap();
    assert_eq!(r, Routing::Standard);
    assert!(serde_json::from_str::<Routing>(r#"{"kind":"sparse","p":1,"d":0,"q":2}"#).is_err());
    let json = serde_json::to_string(&Routing::Hybrid { p: 500.0, d: 0.04 }).unwrap();
    assert_eq!(
        serde_json::from_str::<Routing>(&json).unwrap(),
        Routing::Hybrid { p: 500.0, d: 0.04 }
    );
    assert_eq!(serde_json::to_string(&GradSeed::Exact).unwrap(), r#""exact""#);
}

/// `u_k` of every dilated routing, on a batch whose gradients span several of the router's
/// blocks (and end in a partial one), equals the table's formula evaluated element by element in
/// f32 from the layers' own passed-down gradients: bit for bit, so blocking the passes changed
/// neither the terms nor their order.
#[test]
fn routed_gradients_are_the_formula_bit_for_bit_across_blocks() {
    let widths = [5, 70, 70, 70, 70, 3];
    let rows = 150; // 150 · 70 = 10,500 elements per gradient: 2 full blocks of 4,096 + a part
    for routing in all_routings().into_iter().skip(1) {
        let mut mlp =
            Mlp::new(&widths, rows, Activation::Arctan, GradSeed::Manual, routing).unwrap();
        let (x, y, _) = setup(&widths, rows, 5, &mut mlp);
        mlp.train_batch(x.view(), y.view(), EPOCH).unwrap();
        let r = routing.rate(EPOCH);
        let g = |k: usize| mlp.layers()[k - 1].passed_down().unwrap().as_slice().to_vec();
        // u_k for k = 1, 2, 3 (1-based): g_{k+1} + r·s_k with s_k from the skip sources.
        for k in 1..=3 {
            let sources: Vec<Vec<f32>> = match routing {
                Routing::Sparse { .. } => vec![g(k + 2)],
                Routing::DenseAdd { .. } => (k + 2..=5).map(g).collect(),
                Routing::DenseMul { .. } => (k + 2..=5).map(g).collect(),
                Routing::Hybrid { .. } => (k + 2..=5).map(g).collect(),
                Routing::Standard => unreachable!(),
            };
            let mul = matches!(routing, Routing::DenseMul { .. })
                || (matches!(routing, Routing::Hybrid { .. }) && k == 1);
            let next = g(k + 1);
            let want: Vec<f32> = (0..next.len())
                .map(|e| {
                    let mut s = sources[0][e];
                    for src in &sources[1..] {
                        s = if mul { s * src[e] } else { s + src[e] };
                    }
                    next[e] + r * s
                })
                .collect();
            let got = mlp.incoming_grad(k - 1).unwrap();
            assert_eq!(got.as_slice().len(), rows * 70);
            let same = want.iter().zip(got.as_slice()).all(|(a, b)| a.to_bits() == b.to_bits());
            assert!(same, "{}: u_{k} differs from the formula", routing.name());
        }
    }
}
