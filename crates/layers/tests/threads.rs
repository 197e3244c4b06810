//! Spare cores help one network without changing a bit: a training step and an evaluation on 1, 2
//! or 3 threads give identical costs, gradients, probabilities and counts; and evaluation in large
//! blocks counts exactly what the training forward pass predicts batch by batch.

use handprop_layers::{Activation, GradSeed, Mlp, Routing, EVAL_BLOCK_ROWS};
use handprop_tensor::init::{fill_standard_normal, stream_rng};
use handprop_tensor::Matrix;

fn filled(rows: usize, cols: usize, stream: u64) -> Matrix {
    let mut m = Matrix::zeros(rows, cols);
    fill_standard_normal(&mut stream_rng(21, stream), m.as_mut_slice());
    m
}

fn onehot(labels: &[u8], classes: usize) -> Matrix {
    let mut y = Matrix::zeros(labels.len(), classes);
    for (i, &l) in labels.iter().enumerate() {
        y.as_mut_slice()[i * classes + usize::from(l)] = 1.0;
    }
    y
}

fn bits(m: &Matrix) -> Vec<u32> {
    m.as_slice().iter().map(|v| v.to_bits()).collect()
}

#[test]
fn thread_count_does_not_change_a_bit() {
    // Wide enough that every product and element-wise pass is actually split.
    let widths = [200, 300, 300, 300, 300, 10];
    let batch = 400;
    let x = filled(batch, widths[0], 1);
    let labels: Vec<u8> = (0..batch).map(|i| (i * 7 % 10) as u8).collect();
    let y = onehot(&labels, 10);
    let x_eval = filled(900, widths[0], 2);
    let labels_eval: Vec<u8> = (0..900).map(|i| (i * 3 % 10) as u8).collect();
    let routing = Routing::DenseAdd { p: 1000.0, d: 0.08 };
    let mut reference = None;
    for threads in [1, 2, 3] {
        let mut mlp =
            Mlp::new(&widths, batch, Activation::Arctan, GradSeed::Exact, routing).unwrap();
        mlp.init_normal(&mut stream_rng(3, 0));
        // Unscaled N(0, 1) weights saturate arctan; scale them so the gradients are not all tiny.
        let scaled: Vec<Matrix> = mlp
            .weights()
            .iter()
            .map(|w| {
                let s = 1.0 / (w.rows() as f32).sqrt();
                Matrix::from_vec(w.rows(), w.cols(), w.as_slice().iter().map(|v| v * s).collect())
                    .unwrap()
            })
            .collect();
        mlp.set_weights(&scaled).unwrap();
        mlp.set_threads(threads);
        assert_eq!(mlp.threads(), threads);
        let cost = mlp.train_batch(x.view(), y.view(), 2).unwrap();
        let grads: Vec<Vec<u32>> = mlp.grads().iter().map(bits).collect();
        assert!(mlp.grads().iter().all(|g| g.as_slice().iter().any(|&v| v != 0.0)));
        let (eval_cost, correct) = mlp.cost_and_correct(x_eval.view(), &labels_eval).unwrap();
        let p: Vec<u32> = mlp.probabilities().as_slice().iter().map(|v| v.to_bits()).collect();
        let run = (cost.to_bits(), grads, eval_cost.to_bits(), correct, p);
        match &reference {
            None => reference = Some(run),
            Some(r) => assert!(*r == run, "{threads} threads differ from 1"),
        }
    }
}

#[test]
fn evaluation_blocks_count_what_training_batches_predict() {
    let widths = [30, 40, 40, 10];
    let batch = 100;
    let rows = EVAL_BLOCK_ROWS + 345; // one full block and a partial one
    let x = filled(rows, widths[0], 5);
    let labels: Vec<u8> = (0..rows).map(|i| (i * 13 % 10) as u8).collect();
    let mut mlp =
        Mlp::new(&widths, batch, Activation::Arctan, GradSeed::Manual, Routing::Standard).unwrap();
    mlp.init_normal(&mut stream_rng(4, 0));
    let (cost, correct) = mlp.cost_and_correct(x.view(), &labels).unwrap();
    // The same rows through the training forward pass, one batch at a time.
    let mut expect = 0;
    let mut cost_batches = 0.0f64;
    for start in (0..rows).step_by(batch) {
        let n = batch.min(rows - start);
        let y = onehot(&labels[start..start + n], 10);
        cost_batches +=
            f64::from(mlp.train_batch(x.view().rows_range(start, n), y.view(), 0).unwrap());
        let p = mlp.probabilities();
        for (row, &l) in p.as_slice().chunks_exact(10).zip(&labels[start..start + n]) {
            let best = (0..10).fold(0, |b, j| if row[j] > row[b] { j } else { b });
            expect += usize::from(best == usize::from(l));
        }
    }
    assert_eq!(correct, expect);
    assert!(correct > 0 && correct < rows);
    assert!((cost - cost_batches).abs() <= 1e-5 * cost, "{cost} vs {cost_batches}");
    // The last block's probabilities are what `probabilities` shows after an evaluation.
    mlp.count_correct(x.view(), &labels).unwrap();
    assert_eq!(mlp.probabilities().rows(), 345);
}
