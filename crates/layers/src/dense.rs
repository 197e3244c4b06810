//! One fully connected layer without bias, with cached forward state and hand-written backward.

use handprop_tensor::elementwise::par_chunks2;
use handprop_tensor::{
    try_gemm_nn_activate_threads, try_gemm_nt_threads, try_gemm_tn_threads, Accum, MatMut, MatRef,
    Matrix,
};

use crate::{Activation, LayerError};

/// A dense layer `z = x·W`, `a = f(z)` without bias, owning the buffers its forward and backward
/// passes write (sized once for `capacity` rows; nothing is allocated per call).
///
/// The weights `W` (`inputs × outputs`, row-major) and the weight gradient are *not* owned here:
/// the network keeps them in two plain `Vec<Matrix>` so that an optimizer can borrow
/// `(weights, gradient)` pairs without touching the caches.
///
/// * forward: `z = x·W`, `a = f(z)` and `d = f′(z)` (all cached; [`Dense::forward_eval`] skips
///   `d`);
/// * backward, given `u` (the gradient arriving at the output `a`):
///   `e = u ⊙ d = u ⊙ f′(z)` (local error), `G = xᵀ·e` (weight gradient) and, unless this is the first
///   layer, `g = e·Wᵀ` (the gradient passed down).
///
/// Where the study differs from textbook back-propagation: `G` is the **sum** over the batch rows
/// (no `1/batch` factor), there is no bias, and the first layer passes nothing down (there is
/// nothing below it to receive it), which saves one product per step.
#[derive(Debug, Clone)]
pub struct Dense {
    inputs: usize,
    outputs: usize,
    capacity: usize,
    activation: Activation,
    pass_down: bool,
    rows: usize,
    /// Whether the last forward pass cached `d` (a backward pass needs it).
    has_derivative: bool,
    /// Threads of the current rayon pool a pass may use (1: the calling thread only).
    threads: usize,
    z: Matrix,
    a: Matrix,
    d: Matrix,
    e: Matrix,
    g: Matrix,
}

/// The first `rows` rows of a row-major buffer with `cols` columns, as a view.
pub(crate) fn first_rows(m: &Matrix, rows: usize) -> MatRef<'_> {
    let cols = m.cols();
    MatRef::new(rows, cols, &m.as_slice()[..rows * cols]).expect("rows ≤ capacity by construction")
}

/// The first `rows` rows of a row-major buffer with `cols` columns, as a mutable view.
pub(crate) fn first_rows_mut(m: &mut Matrix, rows: usize) -> MatMut<'_> {
    let cols = m.cols();
    MatMut::new(rows, cols, &mut m.as_mut_slice()[..rows * cols])
        .expect("rows ≤ capacity by construction")
}

impl Dense {
    /// A layer mapping `inputs` to `outputs` columns for batches of up to `capacity` rows.
    /// `pass_down` says whether backward computes `g = e·Wᵀ` (false for the first layer).
    pub fn new(
        inputs: usize,
        outputs: usize,
        capacity: usize,
        activation: Activation,
        pass_down: bool,
    ) -> Result<Self, LayerError> {
        if capacity == 0 {
            return Err(LayerError::ZeroBatch);
        }
        if inputs == 0 || outputs == 0 {
            return Err(LayerError::Shape(format!("a {inputs}→{outputs} layer has a zero width")));
        }
        Ok(Self {
            inputs,
            outputs,
            capacity,
            activation,
            pass_down,
            rows: 0,
            has_derivative: false,
            threads: 1,
            z: Matrix::zeros(capacity, outputs),
            a: Matrix::zeros(capacity, outputs),
            d: Matrix::zeros(capacity, outputs),
            e: Matrix::zeros(capacity, outputs),
            g: if pass_down { Matrix::zeros(capacity, inputs) } else { Matrix::zeros(0, inputs) },
        })
    }

    /// Input width (rows of `W`).
    pub fn inputs(&self) -> usize {
        self.inputs
    }

    /// Output width (columns of `W`).
    pub fn outputs(&self) -> usize {
        self.outputs
    }

    /// Lets the products and element-wise passes use up to `threads` threads of the current rayon
    /// pool (0 counts as 1). Results are bit-identical for every thread count.
    pub fn set_threads(&mut self, threads: usize) {
        self.threads = threads.max(1);
    }

    /// The thread count of [`Dense::set_threads`].
    pub fn threads(&self) -> usize {
        self.threads
    }

    /// Rows of the last forward pass (0 before the first).
    pub fn rows(&self) -> usize {
        self.rows
    }

    fn check_w(&self, w: MatRef<'_>) -> Result<(), LayerError> {
        if (w.rows(), w.cols()) != (self.inputs, self.outputs) {
            return Err(LayerError::Shape(format!(
                "weights are {}×{}, the layer is {}×{}",
                w.rows(),
                w.cols(),
                self.inputs,
                self.outputs
            )));
        }
        Ok(())
    }

    /// Forward pass for training: caches `z = x·W`, `a = f(z)` and `d = f′(z)` for the
    /// `x.rows()` rows and returns `a`.
    pub fn forward(&mut self, x: MatRef<'_>, w: MatRef<'_>) -> Result<MatRef<'_>, LayerError> {
        self.forward_impl(x, w, true)
    }

    /// Forward pass for evaluation: caches `z` and `a` only (no backward pass may follow).
    pub fn forward_eval(&mut self, x: MatRef<'_>, w: MatRef<'_>) -> Result<MatRef<'_>, LayerError> {
        self.forward_impl(x, w, false)
    }

    fn forward_impl(
        &mut self,
        x: MatRef<'_>,
        w: MatRef<'_>,
        derivative: bool,
    ) -> Result<MatRef<'_>, LayerError> {
        self.check_w(w)?;
        if x.cols() != self.inputs {
            return Err(LayerError::Shape(format!(
                "input has {} columns, the layer takes {}",
                x.cols(),
                self.inputs
            )));
        }
        if x.rows() > self.capacity {
            return Err(LayerError::BatchTooLarge { rows: x.rows(), capacity: self.capacity });
        }
        let rows = x.rows();
        self.rows = rows;
        self.has_derivative = derivative;
        let n = rows * self.outputs;
        let a = &mut self.a.as_mut_slice()[..n];
        // The activation runs inside the product, on each row segment of z as it becomes final
        // (the same element-wise kernel, so the same bits as a second pass).
        let epilogue = if derivative {
            self.activation.fused_with_derivative(a, &mut self.d.as_mut_slice()[..n])
        } else {
            self.activation.fused(a)
        };
        let z = first_rows_mut(&mut self.z, rows);
        try_gemm_nn_activate_threads(x, w, z, epilogue, self.threads)
            .map_err(|e| LayerError::Shape(e.0))?;
        Ok(first_rows(&self.a, rows))
    }

    /// Backward pass for the rows of the last [`Dense::forward`]: `e = u ⊙ f′(z)`, `grad = xᵀ·e` (overwritten,
    /// a batch sum) and, if this layer passes down, `g = e·Wᵀ`. `x` and `w` must be the input and
    /// the weights of that forward pass (the study's step semantics: pre-step weights).
    pub fn backward(
        &mut self,
        x: MatRef<'_>,
        w: MatRef<'_>,
        u: MatRef<'_>,
        grad: MatMut<'_>,
    ) -> Result<(), LayerError> {
        self.check_w(w)?;
        if !self.has_derivative {
            return Err(LayerError::Shape(
                "backward needs a training forward pass (forward, not forward_eval) first".into(),
            ));
        }
        let rows = self.rows;
        if (x.rows(), x.cols()) != (rows, self.inputs) {
            return Err(LayerError::Shape(format!(
                "backward input is {}×{}, the forward pass saw {rows}×{}",
                x.rows(),
                x.cols(),
                self.inputs
            )));
        }
        if (u.rows(), u.cols()) != (rows, self.outputs) {
            return Err(LayerError::Shape(format!(
                "incoming gradient is {}×{}, expected {rows}×{}",
                u.rows(),
                u.cols(),
                self.outputs
            )));
        }
        if (grad.rows(), grad.cols()) != (self.inputs, self.outputs) {
            return Err(LayerError::Shape(format!(
                "gradient buffer is {}×{}, expected {}×{}",
                grad.rows(),
                grad.cols(),
                self.inputs,
                self.outputs
            )));
        }
        let n = rows * self.outputs;
        let (u, d) = (u.as_slice(), &self.d.as_slice()[..n]);
        let threads = self.threads;
        par_chunks2(threads, 1, &mut self.e.as_mut_slice()[..n], &mut [], &|off, e, _| {
            let end = off + e.len();
            Activation::backward(&u[off..end], &d[off..end], e);
        });
        let e = first_rows(&self.e, rows);
        let shape = |e: handprop_tensor::ShapeError| LayerError::Shape(e.0);
        try_gemm_tn_threads(x, e, grad, Accum::Overwrite, threads).map_err(shape)?;
        if self.pass_down {
            let g = first_rows_mut(&mut self.g, rows);
            try_gemm_nt_threads(e, w, g, Accum::Overwrite, threads).map_err(shape)?;
        }
        Ok(())
    }

    /// Cached pre-activation `z` of the last forward pass.
    pub fn pre_activation(&self) -> MatRef<'_> {
        first_rows(&self.z, self.rows)
    }

    /// Cached output `a = f(z)` of the last forward pass.
    pub fn output(&self) -> MatRef<'_> {
        first_rows(&self.a, self.rows)
    }

    /// Cached derivative `d = f′(z)` of the last training forward pass.
    pub fn derivative(&self) -> MatRef<'_> {
        first_rows(&self.d, self.rows)
    }

    /// Local error `e = u ⊙ f′(z)` of the last backward pass.
    pub fn local_error(&self) -> MatRef<'_> {
        first_rows(&self.e, self.rows)
    }

    /// The gradient passed down, `g = e·Wᵀ`, of the last backward pass (`None` for a layer that
    /// does not pass down).
    pub fn passed_down(&self) -> Option<MatRef<'_>> {
        self.pass_down.then(|| first_rows(&self.g, self.rows))
    }
}
