//! The gradient seed that starts back-propagation ([`GradSeed`]), with the softmax output and the
//! study's cost it is seeded from.

use serde::{Deserialize, Serialize};

/// Which gradient seeds back-propagation at the last layer's output `a_N` (docs/study.md).
///
/// With `p = softmax(a_N)` per row and the study's cost
/// `C = Σ_i Σ_c −[y_ic·ln p_ic + (1−y_ic)·ln(1−p_ic)]` (binary cross-entropy on the softmax,
/// summed over the batch and the classes):
/// * [`GradSeed::Manual`]: `δ = p − y`. This is the gradient of the *categorical* cross-entropy
///   `−Σ y·ln p` with respect to the softmax input, **not** the gradient of `C`; the study's
///   hand-made cases 0–6 used it, so they follow a slightly different objective than the one they
///   report. It is the faithful default.
/// * [`GradSeed::Exact`]: `δ = ∂C/∂a_N`, what TF's autodiff gave cases 7–16:
///   `∂C/∂p_c = −y_c/p_c + (1−y_c)/(1−p_c)`, then through the softmax
///   `δ_j = (∂C/∂p_j − Σ_c p_c·∂C/∂p_c)·p_j` (evaluated in that order, as TF's `SoftmaxGrad`).
///
/// Either way the seed is `u_N`, the gradient arriving at layer N's output; layer N then
/// multiplies by `f′(z_N) = 1/(1+z_N²)` like every other layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GradSeed {
    /// `δ = p − y` (study cases 0–6).
    #[default]
    Manual,
    /// `δ = ∂C/∂a_N` through the softmax (study cases 7–16).
    Exact,
}

impl GradSeed {
    /// Writes the seed for every row: `p`, `y` and `delta` are row-major with `classes` columns.
    ///
    /// # Panics
    /// If the lengths differ or are not a multiple of `classes` (a programming error).
    pub fn seed(self, p: &[f32], y: &[f32], classes: usize, delta: &mut [f32]) {
        assert_eq!(p.len(), y.len(), "seed: p and y differ in length");
        assert_eq!(p.len(), delta.len(), "seed: p and delta differ in length");
        match self {
            GradSeed::Manual => {
                for ((d, &p), &y) in delta.iter_mut().zip(p).zip(y) {
                    *d = p - y;
                }
            }
            GradSeed::Exact => {
                // `is_multiple_of` needs Rust 1.87; the workspace supports 1.85.
                #[allow(clippy::manual_is_multiple_of)]
                let whole_rows = classes > 0 && p.len() % classes == 0;
                assert!(whole_rows, "seed: bad class count");
                for ((d, p), y) in delta
                    .chunks_exact_mut(classes)
                    .zip(p.chunks_exact(classes))
                    .zip(y.chunks_exact(classes))
                {
                    // First ∂C/∂p into the output row, then the softmax Jacobian in place.
                    let mut dot = 0.0f32;
                    for ((d, &p), &y) in d.iter_mut().zip(p).zip(y) {
                        *d = -y / p + (1.0 - y) / (1.0 - p);
                        dot += *d * p;
                    }
                    for (d, &p) in d.iter_mut().zip(p) {
                        *d = (*d - dot) * p;
                    }
                }
            }
        }
    }
}

/// Adds the study's cost of one row, given its class label instead of a one-hot vector, to `c`:
/// `c −= ln p_label` and `c −= ln(1 − p_j)` for every other class, each term in f64, element by
/// element in column order. This is exactly what `bce_cost_f64` computes for a one-hot `y` (its
/// zero-weighted terms contribute an exact zero), so evaluation and training report the same cost.
pub(crate) fn add_row_cost(c: &mut f64, p: &[f32], label: usize) {
    for (j, &p) in p.iter().enumerate() {
        let p = f64::from(p);
        *c -= if j == label { p.ln() } else { (1.0 - p).ln() };
    }
}
