//! Fused element-wise kernels over slices.
//!
//! Every kernel makes one pass over zipped slices and allocates nothing. Lengths must agree
//! (checked with `assert_eq!`: a mismatch is a programming error of the caller, not bad input).

use crate::{MatMut, MatRef};

/// `a = arctan(z)`, element-wise.
pub fn arctan(z: &[f32], a: &mut [f32]) {
    assert_eq!(z.len(), a.len());
    for (a, &z) in a.iter_mut().zip(z) {
        *a = z.atan();
    }
}

/// `e = u ⊙ arctan′(z) = u / (1 + z²)`, element-wise: the local error of an arctan layer.
pub fn arctan_backward(u: &[f32], z: &[f32], e: &mut [f32]) {
    assert_eq!(u.len(), z.len());
    assert_eq!(u.len(), e.len());
    for ((e, &u), &z) in e.iter_mut().zip(u).zip(z) {
        *e = u / (1.0 + z * z);
    }
}

/// Row-wise softmax, numerically stable: `p_ij = exp(x_ij − max_j x_ij) / Σ_j exp(x_ij − max_j x_ij)`.
pub fn softmax_rows(x: MatRef<'_>, mut p: MatMut<'_>) {
    assert_eq!((x.rows(), x.cols()), (p.rows(), p.cols()));
    let cols = x.cols();
    if cols == 0 {
        return;
    }
    for (xr, pr) in x.as_slice().chunks_exact(cols).zip(p.as_mut_slice().chunks_exact_mut(cols)) {
        let max = xr.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let mut sum = 0.0f32;
        for (p, &x) in pr.iter_mut().zip(xr) {
            *p = (x - max).exp();
            sum += *p;
        }
        let inv = 1.0 / sum;
        for p in pr.iter_mut() {
            *p *= inv;
        }
    }
}

/// The study's cost: binary cross-entropy on softmax outputs, **summed** over batch and classes,
/// `C = Σ_i Σ_c −[y_ic·ln p_ic + (1−y_ic)·ln(1−p_ic)]`.
pub fn bce_cost(p: &[f32], y: &[f32]) -> f32 {
    assert_eq!(p.len(), y.len());
    let mut c = 0.0f64;
    for (&p, &y) in p.iter().zip(y) {
        c -= (y * p.ln() + (1.0 - y) * (1.0 - p).ln()) as f64;
    }
    c as f32
}

/// Number of rows of `scores` whose argmax (first maximum on ties) equals `labels[row]`.
pub fn argmax_correct(scores: MatRef<'_>, labels: &[u8]) -> usize {
    assert_eq!(scores.rows(), labels.len());
    let cols = scores.cols();
    if cols == 0 {
        return 0;
    }
    scores
        .as_slice()
        .chunks_exact(cols)
        .zip(labels)
        .filter(|(row, &label)| {
            let mut best = 0;
            for j in 1..row.len() {
                if row[j] > row[best] {
                    best = j;
                }
            }
            best == label as usize
        })
        .count()
}

/// `c = a ⊙ b` (Hadamard product).
pub fn hadamard(a: &[f32], b: &[f32], c: &mut [f32]) {
    assert_eq!(a.len(), b.len());
    assert_eq!(a.len(), c.len());
    for ((c, &a), &b) in c.iter_mut().zip(a).zip(b) {
        *c = a * b;
    }
}

/// `y = y + α·x` (scaled add), without a fused multiply-add.
pub fn axpy(alpha: f32, x: &[f32], y: &mut [f32]) {
    assert_eq!(x.len(), y.len());
    for (y, &x) in y.iter_mut().zip(x) {
        *y += alpha * x;
    }
}
