//! The network: N dense arctan layers, the softmax head, and routed back-propagation.

use handprop_tensor::elementwise::{argmax_correct, bce_cost, softmax_rows};
use handprop_tensor::init::fill_standard_normal;
use handprop_tensor::{try_gemm_nn_activate_threads, MatMut, MatRef, Matrix};

use crate::dense::{first_rows, first_rows_mut};
use crate::routing::{Combine, Skip};
use crate::seed::add_row_cost;
use crate::{Activation, Dense, GradSeed, LayerError, Routing};

/// A multi-layer perceptron `x → a_1 → … → a_N`, `a_k = f(a_{k−1}·W_k)`, no biases, with the
/// study's head `p = softmax(a_N)` and cost `C = Σ −[y·ln p + (1−y)·ln(1−p)]` (summed over batch and
/// classes), trained by hand-written back-propagation.
///
/// One [`Mlp::train_batch`] computes, for the current (pre-step) weights:
/// 1. the forward pass, caching every `z_k` and `a_k`;
/// 2. the batch cost `C`;
/// 3. the seed `u_N = δ` ([`GradSeed`]);
/// 4. for `k = N, …, 1`: `e_k = u_k ⊙ f′(z_k)`, `G_k = a_{k−1}ᵀ·e_k` (with `a_0 = x`), and
///    `g_k = e_k·W_kᵀ` for `k ≥ 2`, where `u_k` for `k < N` is built from the `g_j` by the
///    [`Routing`].
///
/// It never changes the weights: the caller (the optimizer) reads `(W_k, G_k)` through
/// [`Mlp::params_and_grads`] and updates afterwards, so every layer's gradient used the pre-step
/// weights (the study's training step, docs/study.md).
///
/// Where the study differs from textbook back-propagation: the manual seed `δ = p − y` is not the
/// gradient of the reported cost (see [`GradSeed`]); `G_k` are **batch sums**, not means; arctan is
/// applied on the output layer too, before the softmax; there are no biases; and dilated routings
/// add gradients from layers further up.
///
/// All buffers are sized at construction for `batch` rows; a training batch may have **1 to
/// `batch` rows** (it uses the first rows of each buffer). Nothing is allocated per step.
#[derive(Debug, Clone)]
pub struct Mlp {
    widths: Vec<usize>,
    batch: usize,
    activation: Activation,
    seed: GradSeed,
    routing: Routing,
    weights: Vec<Matrix>,
    grads: Vec<Matrix>,
    layers: Vec<Dense>,
    /// Skip connection into layer `i + 1` (0-based index `i`).
    skips: Vec<Option<Skip>>,
    /// Routed incoming gradients `u_k`, only for layers with a skip connection (else 0 rows).
    mixed: Vec<Matrix>,
    /// Softmax probabilities.
    p: Matrix,
    /// The seed `u_N`.
    delta: Matrix,
    /// Rows of the last training batch.
    rows: usize,
    /// Threads of the current rayon pool a step or an evaluation may use.
    threads: usize,
    /// Evaluation buffers (allocated by the first evaluation, then reused).
    eval: EvalBuffers,
    /// Rows of the last evaluation block, if the last forward pass was an evaluation.
    eval_rows: Option<usize>,
}

/// Rows an evaluation forwards at once (at least the training batch): large blocks keep the
/// products at their most efficient shape and pack each weight matrix once per block.
pub const EVAL_BLOCK_ROWS: usize = 2048;

/// Two ping-pong activation buffers and the probabilities, `rows × widest layer` each.
#[derive(Debug, Clone, Default)]
struct EvalBuffers {
    rows: usize,
    act: [Vec<f32>; 2],
    p: Vec<f32>,
}

impl Mlp {
    /// A network with `widths = [inputs, h_1, …, h_{N−1}, classes]` (N layers; the study uses
    /// `[784, H, H, H, H, 10]`), buffers for `batch` rows, zero weights (call
    /// [`Mlp::init_normal`] or [`Mlp::set_weights`]).
    ///
    /// Errors: fewer than two widths, a zero width, `batch == 0`, or a routing that cannot run on
    /// these widths ([`Routing::validate`]).
    pub fn new(
        widths: &[usize],
        batch: usize,
        activation: Activation,
        seed: GradSeed,
        routing: Routing,
    ) -> Result<Self, LayerError> {
        if widths.len() < 2 {
            return Err(LayerError::TooFewWidths { found: widths.len() });
        }
        if let Some(index) = widths.iter().position(|&w| w == 0) {
            return Err(LayerError::ZeroWidth { index });
        }
        if batch == 0 {
            return Err(LayerError::ZeroBatch);
        }
        routing.validate(widths)?;
        let n = widths.len() - 1;
        let mut layers = Vec::with_capacity(n);
        let mut weights = Vec::with_capacity(n);
        let mut grads = Vec::with_capacity(n);
        let mut skips = Vec::with_capacity(n);
        let mut mixed = Vec::with_capacity(n);
        for i in 0..n {
            let (inp, out) = (widths[i], widths[i + 1]);
            layers.push(Dense::new(inp, out, batch, activation, i > 0)?);
            weights.push(Matrix::zeros(inp, out));
            grads.push(Matrix::zeros(inp, out));
            let skip = routing.skip(i + 1, n);
            mixed.push(Matrix::zeros(if skip.is_some() { batch } else { 0 }, out));
            skips.push(skip);
        }
        let classes = widths[n];
        Ok(Self {
            widths: widths.to_vec(),
            batch,
            activation,
            seed,
            routing,
            weights,
            grads,
            layers,
            skips,
            mixed,
            p: Matrix::zeros(batch, classes),
            delta: Matrix::zeros(batch, classes),
            rows: 0,
            threads: 1,
            eval: EvalBuffers::default(),
            eval_rows: None,
        })
    }

    /// Lets a training step and an evaluation use up to `threads` threads of the current rayon
    /// pool (the global one, or the pool the call runs in via `ThreadPool::install`; 0 counts as
    /// one). Every product is split over disjoint output blocks and every element-wise pass over
    /// disjoint ranges, so **the results are bit-identical for every thread count**. Meant for
    /// spare cores: when fewer cells remain than cores, give each cell several.
    pub fn set_threads(&mut self, threads: usize) {
        self.threads = threads.max(1);
        for layer in &mut self.layers {
            layer.set_threads(self.threads);
        }
    }

    /// The thread count of [`Mlp::set_threads`] (1 unless set).
    pub fn threads(&self) -> usize {
        self.threads
    }

    /// The widths, input first.
    pub fn widths(&self) -> &[usize] {
        &self.widths
    }

    /// Number of layers N.
    pub fn num_layers(&self) -> usize {
        self.layers.len()
    }

    /// Rows the buffers were built for.
    pub fn batch(&self) -> usize {
        self.batch
    }

    /// The activation of every layer.
    pub fn activation(&self) -> Activation {
        self.activation
    }

    /// The output seed.
    pub fn grad_seed(&self) -> GradSeed {
        self.seed
    }

    /// The gradient routing.
    pub fn routing(&self) -> Routing {
        self.routing
    }

    /// Fills every weight with i.i.d. N(0, 1) draws (unscaled, as the study), layer 1 first, each
    /// matrix in row-major order, from `rng`. Identical generator states give identical weights.
    pub fn init_normal<R: rand::Rng + ?Sized>(&mut self, rng: &mut R) {
        for w in &mut self.weights {
            fill_standard_normal(rng, w.as_mut_slice());
        }
    }

    /// The weights `W_1 … W_N`, `W_k` being `widths[k−1] × widths[k]`, row-major.
    pub fn weights(&self) -> &[Matrix] {
        &self.weights
    }

    /// Replaces all weights (e.g. to start every case of an experiment from identical weights).
    /// Errors if the count or a shape differs; on error nothing is changed.
    pub fn set_weights(&mut self, weights: &[Matrix]) -> Result<(), LayerError> {
        if weights.len() != self.weights.len() {
            return Err(LayerError::WeightCount {
                expected: self.weights.len(),
                found: weights.len(),
            });
        }
        for (k, (new, old)) in weights.iter().zip(&self.weights).enumerate() {
            if (new.rows(), new.cols()) != (old.rows(), old.cols()) {
                return Err(LayerError::WeightShape {
                    layer: k + 1,
                    expected: (old.rows(), old.cols()),
                    found: (new.rows(), new.cols()),
                });
            }
        }
        for (old, new) in self.weights.iter_mut().zip(weights) {
            old.as_mut_slice().copy_from_slice(new.as_slice());
        }
        Ok(())
    }

    /// The weight gradients `G_1 … G_N` of the last [`Mlp::train_batch`] (batch sums).
    pub fn grads(&self) -> &[Matrix] {
        &self.grads
    }

    /// `(W_k, G_k)` as mutable row-major slices, layer 1 first, for the optimizer to apply an
    /// update after [`Mlp::train_batch`]. The gradient is mutable so that an update rule may
    /// transform it in place (say, add noise); it is overwritten by the next step.
    pub fn params_and_grads(&mut self) -> impl Iterator<Item = (&mut [f32], &mut [f32])> + '_ {
        self.weights
            .iter_mut()
            .zip(self.grads.iter_mut())
            .map(|(w, g)| (w.as_mut_slice(), g.as_mut_slice()))
    }

    /// The cached layers (forward state of the last pass, backward state of the last step).
    pub fn layers(&self) -> &[Dense] {
        &self.layers
    }

    /// The gradient `u` that flowed into layer `index + 1` (0-based `index`) in the last
    /// [`Mlp::train_batch`]: the seed δ for the last layer, else as the [`Routing`] built it.
    /// `None` if `index` is out of range.
    pub fn incoming_grad(&self, index: usize) -> Option<MatRef<'_>> {
        let n = self.layers.len();
        if index >= n {
            None
        } else if index == n - 1 {
            Some(first_rows(&self.delta, self.rows))
        } else if self.skips[index].is_some() {
            Some(first_rows(&self.mixed[index], self.rows))
        } else {
            self.layers[index + 1].passed_down()
        }
    }

    /// Softmax probabilities `p` of the last forward pass (training step or the last evaluation
    /// block).
    pub fn probabilities(&self) -> MatRef<'_> {
        let classes = self.classes();
        match self.eval_rows {
            Some(rows) => MatRef::new(rows, classes, &self.eval.p[..rows * classes])
                .expect("rows ≤ capacity by construction"),
            None => first_rows(&self.p, self.layers[0].rows()),
        }
    }

    fn check_input(&self, x: MatRef<'_>) -> Result<(), LayerError> {
        if x.cols() != self.widths[0] {
            return Err(LayerError::InputWidth { expected: self.widths[0], found: x.cols() });
        }
        Ok(())
    }

    fn classes(&self) -> usize {
        self.widths[self.widths.len() - 1]
    }

    /// Evaluation forward pass of `x.rows() ≤ block` rows through the evaluation buffers (sized for
    /// `block` rows on first use, then reused): `a = f(a_prev·W)` per layer, in place, then
    /// `p = softmax(a_N)`. The same operations as the training forward pass, so the same bits.
    fn forward_block(&mut self, x: MatRef<'_>, block: usize) -> Result<(), LayerError> {
        let widest = self.widths[1..].iter().copied().max().unwrap_or(0);
        let classes = self.classes();
        let eval = &mut self.eval;
        if eval.rows < block {
            // First evaluation (or a larger block): the only allocation of evaluating.
            eval.rows = block;
            eval.act = [vec![0.0; block * widest], vec![0.0; block * widest]];
            eval.p = vec![0.0; block * classes];
        }
        let rows = x.rows();
        let [ping, pong] = &mut eval.act;
        let (mut prev, mut cur): (&mut Vec<f32>, &mut Vec<f32>) = (ping, pong);
        let act = self.activation;
        for (i, w) in self.weights.iter().enumerate() {
            let (inp, out) = (self.widths[i], self.widths[i + 1]);
            let input = if i == 0 {
                x
            } else {
                MatRef::new(rows, inp, &prev[..rows * inp]).map_err(|e| LayerError::Shape(e.0))?
            };
            let z = MatMut::new(rows, out, &mut cur[..rows * out])
                .map_err(|e| LayerError::Shape(e.0))?;
            try_gemm_nn_activate_threads(input, w.view(), z, act.fused_in_place(), self.threads)
                .map_err(|e| LayerError::Shape(e.0))?;
            std::mem::swap(&mut prev, &mut cur);
        }
        let last = MatRef::new(rows, classes, &prev[..rows * classes])
            .map_err(|e| LayerError::Shape(e.0))?;
        let p = MatMut::new(rows, classes, &mut eval.p[..rows * classes])
            .map_err(|e| LayerError::Shape(e.0))?;
        softmax_rows(last, p);
        self.eval_rows = Some(rows);
        Ok(())
    }

    /// Training forward pass for `x.rows() ≤ batch` rows, caching `z`, `a` and `f′(z)` per
    /// layer, ending with `p = softmax(a_N)`.
    fn forward(&mut self, x: MatRef<'_>) -> Result<(), LayerError> {
        let rows = x.rows();
        for i in 0..self.layers.len() {
            let (below, rest) = self.layers.split_at_mut(i);
            let input = if i == 0 { x } else { below[i - 1].output() };
            rest[0].forward(input, self.weights[i].view())?;
        }
        let last = self.layers.last().expect("at least one layer");
        softmax_rows(last.output(), first_rows_mut(&mut self.p, rows));
        Ok(())
    }

    /// One training step's computations on a batch (no weight update): forward, the batch cost
    /// `C` (returned, summed over rows and classes), the seed, and routed back-propagation into
    /// the gradient buffers ([`Mlp::grads`]) using the current weights.
    ///
    /// `x` is `rows × widths[0]`, `y_onehot` is `rows × classes` (any targets in \[0, 1\] work; the
    /// study's are one-hot), `1 ≤ rows ≤ batch`. `epoch` is `t` in the dilation coefficient
    /// `r_t = P/(1 + D·t)`. Shape mismatches are errors and leave the gradients untouched.
    pub fn train_batch(
        &mut self,
        x: MatRef<'_>,
        y_onehot: MatRef<'_>,
        epoch: u64,
    ) -> Result<f32, LayerError> {
        self.check_input(x)?;
        let classes = self.classes();
        if y_onehot.cols() != classes {
            return Err(LayerError::LabelWidth { expected: classes, found: y_onehot.cols() });
        }
        if y_onehot.rows() != x.rows() {
            return Err(LayerError::RowMismatch { inputs: x.rows(), labels: y_onehot.rows() });
        }
        let rows = x.rows();
        if rows == 0 {
            return Err(LayerError::EmptyBatch);
        }
        if rows > self.batch {
            return Err(LayerError::BatchTooLarge { rows, capacity: self.batch });
        }
        self.rows = rows;
        self.eval_rows = None;
        self.forward(x)?;
        let m = rows * classes;
        let p = &self.p.as_slice()[..m];
        let cost = bce_cost(p, y_onehot.as_slice());
        self.seed.seed(p, y_onehot.as_slice(), classes, &mut self.delta.as_mut_slice()[..m]);

        let r = self.routing.rate(epoch);
        let n = self.layers.len();
        for i in (0..n).rev() {
            // Build u for layer i + 1 from the gradients the layers above passed down.
            if let Some(skip) = self.skips[i] {
                route(&self.layers, skip, r, i, rows, &mut self.mixed[i]);
            }
            let (below, rest) = self.layers.split_at_mut(i);
            let (layer, above) = rest.split_first_mut().expect("index in range");
            let input = if i == 0 { x } else { below[i - 1].output() };
            let u = if i == n - 1 {
                first_rows(&self.delta, rows)
            } else if self.skips[i].is_some() {
                first_rows(&self.mixed[i], rows)
            } else {
                above[0].passed_down().expect("layers above the first pass down")
            };
            layer.backward(input, self.weights[i].view(), u, self.grads[i].view_mut())?;
        }
        Ok(cost)
    }

    /// Number of rows of `x` whose argmax of `p = softmax(a_N)` (first maximum on ties) equals
    /// the label. Forward only, in blocks of `max(batch, EVAL_BLOCK_ROWS)` rows (the last block may
    /// be partial) through evaluation buffers that the first call allocates and later calls reuse
    /// (no allocation after that). Leaves the training caches and the gradients untouched;
    /// [`Mlp::probabilities`] then shows the last block's `p`.
    pub fn count_correct(&mut self, x: MatRef<'_>, labels: &[u8]) -> Result<usize, LayerError> {
        self.cost_and_correct(x, labels).map(|(_, correct)| correct)
    }

    /// The study's cost `C` summed over all rows of `x` (each term and the sum in f64, the same
    /// operations in the same order as the tensor crate's `bce_cost_f64` on one-hot targets) and
    /// the number of correct argmax predictions, forward only in blocks as
    /// [`Mlp::count_correct`]. Labels are class indices; they must be below the number of classes.
    pub fn cost_and_correct(
        &mut self,
        x: MatRef<'_>,
        labels: &[u8],
    ) -> Result<(f64, usize), LayerError> {
        self.check_input(x)?;
        if labels.len() != x.rows() {
            return Err(LayerError::RowMismatch { inputs: x.rows(), labels: labels.len() });
        }
        let classes = self.classes();
        if let Some(row) = labels.iter().position(|&l| usize::from(l) >= classes) {
            return Err(LayerError::LabelOutOfRange { row, label: labels[row], classes });
        }
        let block = self.batch.max(EVAL_BLOCK_ROWS);
        let mut cost = 0.0f64;
        let mut correct = 0;
        let mut start = 0;
        while start < x.rows() {
            let rows = block.min(x.rows() - start);
            let chunk_labels = &labels[start..start + rows];
            self.forward_block(x.rows_range(start, rows), block)?;
            let p = self.probabilities();
            correct += argmax_correct(p, chunk_labels);
            for (row, &label) in p.as_slice().chunks_exact(classes).zip(chunk_labels) {
                add_row_cost(&mut cost, row, usize::from(label));
            }
            start += rows;
        }
        Ok((cost, correct))
    }
}

/// Writes `u_{i+1} = g_{i+2} + r·s` into `out` (0-based layer index `i`), with
/// `s = g_first ∘ … ∘ g_last` combined left to right (`∘` is `+` or `⊙`). Plain multiply and add
/// (no fused multiply-add), so the rounding is that of the written formula.
///
/// The passes (copy, one per further source, the final `g + r·u`) run block by block over
/// [`ROUTE_BLOCK`] elements, so each block of `u` stays in L1 between them: one trip through
/// memory instead of one per pass (the dense routings made 2–4 passes over a `batch × H` matrix
/// per layer, 5–10 % of a training step). Each element sees the same operations in the same
/// order either way.
fn route(layers: &[Dense], skip: Skip, r: f32, i: usize, rows: usize, out: &mut Matrix) {
    let passed = |k: usize| {
        layers[k - 1].passed_down().expect("layers above the first pass down").as_slice()
    };
    let cols = out.cols();
    let len = rows * cols;
    let u = &mut out.as_mut_slice()[..len];
    let next = passed(i + 2);
    for start in (0..len).step_by(ROUTE_BLOCK) {
        let end = (start + ROUTE_BLOCK).min(len);
        let u = &mut u[start..end];
        u.copy_from_slice(&passed(skip.first)[start..end]);
        for j in skip.first + 1..=skip.last {
            let g = &passed(j)[start..end];
            match skip.combine {
                Combine::Add => {
                    for (u, &g) in u.iter_mut().zip(g) {
                        *u += g;
                    }
                }
                Combine::Mul => {
                    for (u, &g) in u.iter_mut().zip(g) {
                        *u *= g;
                    }
                }
            }
        }
        for (u, &g) in u.iter_mut().zip(&next[start..end]) {
            *u = g + r * *u;
        }
    }
}

/// Elements per block of [`route`]: 16 KiB of `u`, which with its sources stays in L1/L2.
const ROUTE_BLOCK: usize = 4096;
