//! Which passed-down gradients reach which layer: standard and dilated back-propagation.

use serde::{Deserialize, Serialize};

use crate::LayerError;

/// How the gradients that layers pass down are routed into the layers below (the study's dilated routings, docs/study.md).
///
/// Notation, for a network of `N` layers numbered `1..=N` from the input: `u_k` is the gradient
/// that flows **into** layer `k` (at its output), `e_k = u_k ⊙ f′(z_k)` its local error and
/// `g_k = e_k W_kᵀ` the gradient it passes down. Every `g_k` is computed from layer `k`'s own,
/// possibly dilated, input `u_k`. The dilation coefficient is `r_t = P / (1 + D·t)` with `t` the
/// epoch index (constant within an epoch), evaluated in f32 as the original TF graph did.
///
/// The study's table for `N = 5` (δ is the output seed, ⊙ the element-wise product):
///
/// | input of | standard | sparse | dense_add | dense_mul | hybrid |
/// |---|---|---|---|---|---|
/// | layer 5 | δ | δ | δ | δ | δ |
/// | layer 4 | g_5 | g_5 | g_5 | g_5 | g_5 |
/// | layer 3 | g_4 | g_4 + r·g_5 | g_4 + r·g_5 | g_4 + r·g_5 | g_4 + r·g_5 |
/// | layer 2 | g_3 | g_3 + r·g_4 | g_3 + r·(g_4+g_5) | g_3 + r·(g_4⊙g_5) | g_3 + r·(g_4+g_5) |
/// | layer 1 | g_2 | g_2 + r·g_3 | g_2 + r·(g_3+g_4+g_5) | g_2 + r·(g_3⊙g_4⊙g_5) | g_2 + r·(g_3⊙g_4⊙g_5) |
///
/// **Generalisation to any depth `N ≥ 3`.** `u_N = δ`, `u_{N−1} = g_N`, and for `k ≤ N − 2`
/// `u_k = g_{k+1} + r·s_k` where `s_k` combines the *skip sources* `g_{k+2}, …`:
/// * `sparse`: `s_k = g_{k+2}` (skip exactly one layer);
/// * `dense_add`: `s_k = g_{k+2} + g_{k+3} + … + g_N`;
/// * `dense_mul`: `s_k = g_{k+2} ⊙ g_{k+3} ⊙ … ⊙ g_N`;
/// * `hybrid`: like `dense_add` for every layer `k ≥ 2` and like `dense_mul` into layer 1 (the
///   study's hybrid adds into layer 2 and multiplies into layer 1; into layer 3 the two coincide).
///
/// Sources are combined left to right in ascending layer order, exactly as the table is written,
/// and `r·s_k` is a plain multiply then add (no fused multiply-add). A dilated routing on a network
/// of fewer than 3 layers has no skip connection to make and is rejected, as is one whose skip
/// sources are not as wide as the gradient they join (`g_j` is `widths[j−1]` wide, `u_k` is
/// `widths[k]` wide); the study's hidden widths are all `H`, so its routings always fit.
/// `standard` is textbook back-propagation and fits every network.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Routing {
    /// `u_k = g_{k+1}`: textbook back-propagation (case 0 and cases 7–16).
    #[default]
    Standard,
    /// Skip one layer: `u_k = g_{k+1} + r·g_{k+2}` (cases 1, 2 with `(1000, 0.08)`).
    Sparse {
        /// `P`, the coefficient at epoch 0.
        p: f32,
        /// `D`, the decay of the coefficient per epoch.
        d: f32,
    },
    /// `u_k = g_{k+1} + r·(g_{k+2} + … + g_N)` (cases 3 and 5).
    DenseAdd {
        /// `P`, the coefficient at epoch 0.
        p: f32,
        /// `D`, the decay of the coefficient per epoch.
        d: f32,
    },
    /// `u_k = g_{k+1} + r·(g_{k+2} ⊙ … ⊙ g_N)` (case 4).
    DenseMul {
        /// `P`, the coefficient at epoch 0.
        p: f32,
        /// `D`, the decay of the coefficient per epoch.
        d: f32,
    },
    /// Sums into layers `k ≥ 2`, products into layer 1 (case 6, as coded).
    Hybrid {
        /// `P`, the coefficient at epoch 0.
        p: f32,
        /// `D`, the decay of the coefficient per epoch.
        d: f32,
    },
}

/// How a layer's skip sources are combined.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Combine {
    /// Element-wise sum.
    Add,
    /// Element-wise (Hadamard) product.
    Mul,
}

/// The skip connection into one layer: sources `g_first ..= g_last` (1-based layer numbers) and
/// how they combine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Skip {
    pub(crate) first: usize,
    pub(crate) last: usize,
    pub(crate) combine: Combine,
}

impl Routing {
    /// Config name (snake_case, the serde `kind`).
    pub fn name(&self) -> &'static str {
        match self {
            Routing::Standard => "standard",
            Routing::Sparse { .. } => "sparse",
            Routing::DenseAdd { .. } => "dense_add",
            Routing::DenseMul { .. } => "dense_mul",
            Routing::Hybrid { .. } => "hybrid",
        }
    }

    /// `(P, D)`, or `None` for [`Routing::Standard`].
    pub fn params(&self) -> Option<(f32, f32)> {
        match *self {
            Routing::Standard => None,
            Routing::Sparse { p, d }
            | Routing::DenseAdd { p, d }
            | Routing::DenseMul { p, d }
            | Routing::Hybrid { p, d } => Some((p, d)),
        }
    }

    /// The dilation coefficient `r_t = P / (1 + D·t)` at epoch `t`, in f32 (`0` for standard).
    pub fn rate(&self, epoch: u64) -> f32 {
        match self.params() {
            None => 0.0,
            // Epochs are small integers (≤ a few thousand), exactly representable in f32.
            Some((p, d)) => p / (1.0 + d * epoch as f32),
        }
    }

    /// The skip connection into layer `k` (1-based) of an `n`-layer network, if any.
    pub(crate) fn skip(&self, k: usize, n: usize) -> Option<Skip> {
        if k + 2 > n {
            return None;
        }
        let dense = |combine| Skip { first: k + 2, last: n, combine };
        match self {
            Routing::Standard => None,
            Routing::Sparse { .. } => {
                Some(Skip { first: k + 2, last: k + 2, combine: Combine::Add })
            }
            Routing::DenseAdd { .. } => Some(dense(Combine::Add)),
            Routing::DenseMul { .. } => Some(dense(Combine::Mul)),
            Routing::Hybrid { .. } => Some(dense(if k == 1 { Combine::Mul } else { Combine::Add })),
        }
    }

    /// Checks that this routing can run on a network with these `widths` (input first): enough
    /// layers, finite parameters with `D ≥ 0`, and skip sources as wide as the gradient they join.
    pub fn validate(&self, widths: &[usize]) -> Result<(), LayerError> {
        let Some((p, d)) = self.params() else {
            return Ok(());
        };
        let routing = self.name();
        if !p.is_finite() {
            return Err(LayerError::RoutingParameter {
                routing,
                name: "p",
                value: p,
                reason: "must be finite",
            });
        }
        if !d.is_finite() || d < 0.0 {
            return Err(LayerError::RoutingParameter {
                routing,
                name: "d",
                value: d,
                reason: "must be finite and ≥ 0",
            });
        }
        let n = widths.len().saturating_sub(1);
        if n < 3 {
            return Err(LayerError::RoutingDepth { routing, layers: n });
        }
        for k in 1..=n {
            if let Some(skip) = self.skip(k, n) {
                for j in skip.first..=skip.last {
                    if widths[j - 1] != widths[k] {
                        return Err(LayerError::RoutingWidths {
                            routing,
                            layer: k,
                            width: widths[k],
                            source_layer: j,
                            source_width: widths[j - 1],
                        });
                    }
                }
            }
        }
        Ok(())
    }
}
