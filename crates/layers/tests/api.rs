//! Construction, initialisation, weight exchange, evaluation in chunks, and shape errors.

mod common;

use common::setup;
use handprop_layers::{Activation, Dense, GradSeed, LayerError, Mlp, Routing};
use handprop_tensor::init::stream_rng;
use handprop_tensor::{MatRef, Matrix};

const WIDTHS: [usize; 4] = [5, 4, 4, 3];

fn net(batch: usize) -> Mlp {
    Mlp::new(&WIDTHS, batch, Activation::Arctan, GradSeed::Manual, Routing::Standard).unwrap()
}

#[test]
fn identical_seeds_give_identical_weights_in_layer_order() {
    let (mut a, mut b, mut c) = (net(2), net(7), net(2));
    a.init_normal(&mut stream_rng(42, 3));
    b.init_normal(&mut stream_rng(42, 3));
    c.init_normal(&mut stream_rng(42, 4));
    assert_eq!(a.weights(), b.weights());
    assert_ne!(a.weights(), c.weights());
    // Layer 1 first, row-major: the concatenation is one draw sequence from the stream.
    let mut flat = vec![0.0f32; WIDTHS.windows(2).map(|w| w[0] * w[1]).sum()];
    handprop_tensor::init::fill_standard_normal(&mut stream_rng(42, 3), &mut flat);
    let concat: Vec<f32> = a.weights().iter().flat_map(|w| w.as_slice().to_vec()).collect();
    assert_eq!(concat, flat);
    for (w, k) in a.weights().iter().zip(0..) {
        assert_eq!((w.rows(), w.cols()), (WIDTHS[k], WIDTHS[k + 1]));
    }
}

#[test]
fn set_weights_copies_and_checks_shapes() {
    let mut a = net(2);
    a.init_normal(&mut stream_rng(1, 0));
    let mut b = net(3);
    b.set_weights(a.weights()).unwrap();
    assert_eq!(a.weights(), b.weights());
    let before = b.weights().to_vec();
    let mut wrong = a.weights().to_vec();
    wrong[1] = Matrix::zeros(4, 5);
    assert_eq!(
        b.set_weights(&wrong).unwrap_err(),
        LayerError::WeightShape { layer: 2, expected: (4, 4), found: (4, 5) }
    );
    assert_eq!(b.weights(), &before[..], "a failed set_weights must change nothing");
    assert!(matches!(
        b.set_weights(&wrong[..2]),
        Err(LayerError::WeightCount { expected: 3, found: 2 })
    ));
}

#[test]
fn training_step_does_not_touch_weights_and_gradients_are_batch_sums() {
    let mut mlp = net(4);
    let (x, y, _) = setup(&WIDTHS, 4, 3, &mut mlp);
    let w0 = mlp.weights().to_vec();
    let c_all = mlp.train_batch(x.view(), y.view(), 0).unwrap();
    assert_eq!(mlp.weights(), &w0[..]);
    let g_all = mlp.grads().to_vec();
    // Row by row: costs and gradients add up to the batch's (sums, not means).
    let mut c_sum = 0.0f32;
    let mut g_sum: Vec<Vec<f32>> = g_all.iter().map(|g| vec![0.0; g.as_slice().len()]).collect();
    for i in 0..4 {
        let xi = x.view().rows_range(i, 1);
        let yi = y.view().rows_range(i, 1);
        c_sum += mlp.train_batch(xi, yi, 0).unwrap();
        for (s, g) in g_sum.iter_mut().zip(mlp.grads()) {
            for (s, &g) in s.iter_mut().zip(g.as_slice()) {
                *s += g;
            }
        }
    }
    assert!((c_sum - c_all).abs() <= 1e-5 * c_all.abs());
    for (s, g) in g_sum.iter().zip(&g_all) {
        for (&s, &g) in s.iter().zip(g.as_slice()) {
            assert!((s - g).abs() <= 1e-5 * (1.0 + g.abs()), "{s} vs {g}");
        }
    }
    // The optimizer's view is the same memory: layer 1 first.
    let pairs: Vec<(Vec<f32>, Vec<f32>)> =
        mlp.params_and_grads().map(|(w, g)| (w.to_vec(), g.to_vec())).collect();
    assert_eq!(pairs.len(), 3);
    for ((w, g), k) in pairs.iter().zip(0..) {
        assert_eq!(w, mlp.weights()[k].as_slice());
        assert_eq!(g, mlp.grads()[k].as_slice());
    }
    // Updating through the pairs changes the weights the next forward uses.
    for (w, g) in mlp.params_and_grads() {
        for (w, &g) in w.iter_mut().zip(g.iter()) {
            *w -= 0.1 * g;
        }
    }
    assert_ne!(mlp.weights(), &w0[..]);
}

#[test]
fn count_correct_handles_partial_chunks_and_matches_one_row_at_a_time() {
    let rows = 11;
    let mut big = net(rows);
    let (x, _, labels) = setup(&WIDTHS, rows, 5, &mut big);
    // Chunks of 4: 4 + 4 + 3 rows.
    let mut chunked = net(4);
    chunked.set_weights(big.weights()).unwrap();
    let (cost4, correct4) = chunked.cost_and_correct(x.view(), &labels).unwrap();
    let mut single = net(1);
    single.set_weights(big.weights()).unwrap();
    let mut correct1 = 0;
    let mut cost1 = 0.0f64;
    for i in 0..rows {
        let (c, n) = single.cost_and_correct(x.view().rows_range(i, 1), &labels[i..=i]).unwrap();
        cost1 += c;
        correct1 += n;
        // Direct argmax of the probabilities for this row.
        let p = single.probabilities();
        let row = p.as_slice();
        let best = (0..row.len()).fold(0, |b, j| if row[j] > row[b] { j } else { b });
        assert_eq!(n, usize::from(best == labels[i] as usize));
    }
    assert_eq!(correct4, correct1);
    assert_eq!(chunked.count_correct(x.view(), &labels).unwrap(), correct1);
    assert_eq!(big.count_correct(x.view(), &labels).unwrap(), correct1);
    assert!((cost4 - cost1).abs() <= 1e-6 * cost1);
    // The evaluation cost agrees with the training step's batch cost on the same rows.
    let (_, y, _) = setup(&WIDTHS, rows, 5, &mut net(rows));
    let c_train = big.train_batch(x.view(), y.view(), 0).unwrap();
    assert!((f64::from(c_train) - cost1).abs() <= 1e-5 * cost1, "{c_train} vs {cost1}");
    // In one chunk, evaluation performs the training step's cost operations exactly.
    let (c_eval, _) = big.cost_and_correct(x.view(), &labels).unwrap();
    assert_eq!(c_eval as f32, c_train);
    assert_eq!(chunked.count_correct(x.view().rows_range(0, 0), &[]).unwrap(), 0);
}

#[test]
fn shapes_that_do_not_fit_are_errors() {
    let mut mlp = net(3);
    let x = Matrix::zeros(3, 5);
    let y = Matrix::zeros(3, 3);
    let e = |r: Result<f32, LayerError>| r.unwrap_err();
    assert_eq!(
        e(mlp.train_batch(Matrix::zeros(3, 6).view(), y.view(), 0)),
        LayerError::InputWidth { expected: 5, found: 6 }
    );
    assert_eq!(
        e(mlp.train_batch(x.view(), Matrix::zeros(3, 4).view(), 0)),
        LayerError::LabelWidth { expected: 3, found: 4 }
    );
    assert_eq!(
        e(mlp.train_batch(x.view(), Matrix::zeros(2, 3).view(), 0)),
        LayerError::RowMismatch { inputs: 3, labels: 2 }
    );
    assert_eq!(
        e(mlp.train_batch(Matrix::zeros(4, 5).view(), Matrix::zeros(4, 3).view(), 0)),
        LayerError::BatchTooLarge { rows: 4, capacity: 3 }
    );
    let empty = MatRef::new(0, 5, &[]).unwrap();
    let empty_y = MatRef::new(0, 3, &[]).unwrap();
    assert_eq!(e(mlp.train_batch(empty, empty_y, 0)), LayerError::EmptyBatch);
    assert_eq!(
        mlp.count_correct(Matrix::zeros(2, 4).view(), &[0, 1]).unwrap_err(),
        LayerError::InputWidth { expected: 5, found: 4 }
    );
    assert_eq!(
        mlp.count_correct(x.view(), &[0, 1]).unwrap_err(),
        LayerError::RowMismatch { inputs: 3, labels: 2 }
    );
    assert_eq!(
        mlp.count_correct(x.view(), &[0, 3, 1]).unwrap_err(),
        LayerError::LabelOutOfRange { row: 1, label: 3, classes: 3 }
    );
    let new =
        |w: &[usize], b| Mlp::new(w, b, Activation::Arctan, GradSeed::Exact, Routing::Standard);
    assert_eq!(new(&[5], 2).unwrap_err(), LayerError::TooFewWidths { found: 1 });
    assert_eq!(new(&[5, 0, 3], 2).unwrap_err(), LayerError::ZeroWidth { index: 1 });
    assert_eq!(new(&[5, 3], 0).unwrap_err(), LayerError::ZeroBatch);
}

#[test]
fn dense_layer_caches_activation_and_derivative_and_guards_backward() {
    let x = Matrix::from_vec(2, 3, vec![0.1, -0.5, 2.0, 1.5, 0.0, -3.0]).unwrap();
    let mut w = Matrix::zeros(3, 2);
    handprop_tensor::init::fill_standard_normal(&mut stream_rng(5, 5), w.as_mut_slice());
    let mut layer = Dense::new(3, 2, 4, Activation::Arctan, true).unwrap();
    let u = Matrix::from_vec(2, 2, vec![1.0, -2.0, 0.5, 3.0]).unwrap();
    let mut g = Matrix::zeros(3, 2);
    layer.forward_eval(x.view(), w.view()).unwrap();
    assert!(matches!(
        layer.backward(x.view(), w.view(), u.view(), g.view_mut()),
        Err(LayerError::Shape(_))
    ));
    layer.forward(x.view(), w.view()).unwrap();
    let (z, a, d) = (layer.pre_activation(), layer.output(), layer.derivative());
    for i in 0..4 {
        let zi = z.as_slice()[i];
        // The vectorised arctan is within a few ulp of the scalar one.
        assert!((a.as_slice()[i] - Activation::Arctan.value(zi)).abs() <= 4.0 * f32::EPSILON);
        assert_eq!(d.as_slice()[i], Activation::Arctan.derivative(zi));
    }
    layer.backward(x.view(), w.view(), u.view(), g.view_mut()).unwrap();
    let e = layer.local_error().as_slice();
    for ((&e, &u), &d) in e.iter().zip(u.as_slice()).zip(layer.derivative().as_slice()) {
        assert_eq!(e, u * d);
    }
    // Wrong shapes are errors: weights, input width, too many rows, incoming gradient.
    assert!(layer.forward(x.view(), Matrix::zeros(2, 3).view()).is_err());
    assert!(layer.forward(Matrix::zeros(2, 4).view(), w.view()).is_err());
    assert!(layer.forward(Matrix::zeros(5, 3).view(), w.view()).is_err());
    assert!(layer.backward(x.view(), w.view(), Matrix::zeros(2, 3).view(), g.view_mut()).is_err());
}

#[test]
fn config_enums_are_snake_case() {
    assert_eq!(serde_json::to_string(&Activation::Arctan).unwrap(), r#""arctan""#);
    assert_eq!(serde_json::from_str::<GradSeed>(r#""manual""#).unwrap(), GradSeed::Manual);
    assert!(serde_json::from_str::<GradSeed>(r#""Manual""#).is_err());
}
