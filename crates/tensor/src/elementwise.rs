//! Fused element-wise kernels over slices.
//!
//! Every kernel makes one pass over zipped slices and allocates nothing. Lengths must agree
//! (checked with `assert_eq!`: a mismatch is a programming error of the caller, not bad input).
//!
//! # Speed and determinism
//! The slice kernels are written branch-free so that LLVM vectorises them. On x86-64 the same
//! source is compiled three times, for the baseline (SSE2), with AVX2 and with AVX-512F enabled,
//! and the widest copy the CPU runs is chosen at run time (16 lanes instead of 8 on AVX-512 CPUs). Both copies execute the same IEEE-754 operations in the
//! same order (Rust never contracts `a*b + c` into a fused multiply-add, and no `mul_add` is used),
//! so the results are bit-identical on every machine; only the vector width differs.
//!
//! # arctan
//! [`arctan`] does not call libm's `atanf` (scalar, ≈10× slower here). It uses the Cephes `atanf`
//! scheme: with `t = |z|`, reduce to `|x| ≤ tan(π/8)`:
//!
//! * `t > tan(3π/8)`: `x = −1/t`, `y₀ = π/2`;
//! * `tan(π/8) < t ≤ tan(3π/8)`: `x = (t−1)/(t+1)`, `y₀ = π/4`;
//! * otherwise `x = t`, `y₀ = 0`;
//!
//! then `arctan(t) ≈ y₀ + x + x·x²·P(x²)` with the Cephes minimax polynomial
//! `P(s) = ((8.05374449538e-2·s − 1.38776856032e-1)·s + 1.99777106478e-1)·s − 3.33329491539e-1`,
//! and `arctan(z) = sign(z)·arctan(t)`. The three cases are computed as selects (one division per
//! element in every case), and `y₀` is added as a two-part constant `hi + lo` so its own rounding
//! does not add to the error. Measured against `f64::atan` rounded to f32 over **every** f32 (see
//! the ignored test `arctan_exhaustive`): at most [`ARCTAN_MAX_ULP`] ulp. Special values:
//! `arctan(±0) = ±0`, `arctan(±∞) = ±π/2` (the f32 nearest π/2), `arctan(NaN) = NaN`, and tiny
//! inputs (subnormals included) return themselves.

use crate::{MatMut, MatRef};

/// A bound on the error of [`arctan`] in units in the last place (ulp) of the exact result, over
/// all 2³² f32 inputs: the measured worst case is 2.09 ulp (at `z = ±0.43595`, just above the
/// `tan(π/8)` threshold, where `t − 1` itself rounds), and 99.99999 % of inputs are within 2 ulp
/// (`cargo test -p handprop-tensor --release -- --ignored arctan_exhaustive --nocapture`).
pub const ARCTAN_MAX_ULP: f64 = 2.1;

/// π/2 split as `hi + lo` with `hi` the f32 nearest π/2 and `lo` the f32 nearest the remainder.
const FRAC_PI_2_HI: f32 = std::f32::consts::FRAC_PI_2;
const FRAC_PI_2_LO: f32 = -4.371_139e-8;
/// π/4 split the same way.
const FRAC_PI_4_HI: f32 = std::f32::consts::FRAC_PI_4;
const FRAC_PI_4_LO: f32 = -2.185_569_5e-8;
/// tan(3π/8) = 1 + √2 and tan(π/8) = √2 − 1, the Cephes reduction thresholds.
const TAN_3PI_8: f32 = 2.414_213_5;
const TAN_PI_8: f32 = 0.414_213_57;

/// Scalar arctan by the branch-free Cephes scheme described in the module docs. Inlined into every
/// slice kernel so that the loops vectorise.
#[inline(always)]
fn atan_f32(z: f32) -> f32 {
    let t = z.abs();
    let big = t > TAN_3PI_8;
    let mid = t > TAN_PI_8;
    // Selects, not branches: every lane computes one division.
    let num = if big {
        -1.0
    } else if mid {
        t - 1.0
    } else {
        t
    };
    let den = if big {
        t
    } else if mid {
        t + 1.0
    } else {
        1.0
    };
    let y0_hi = if big {
        FRAC_PI_2_HI
    } else if mid {
        FRAC_PI_4_HI
    } else {
        0.0
    };
    let y0_lo = if big {
        FRAC_PI_2_LO
    } else if mid {
        FRAC_PI_4_LO
    } else {
        0.0
    };
    let x = num / den;
    let s = x * x;
    let p = ((8.053_744_5e-2 * s - 1.387_768_6e-1) * s + 1.997_771_1e-1) * s - 3.333_295e-1;
    // Small terms first, the large constant last, so only the final addition rounds at the scale
    // of the result.
    let r = y0_hi + (x + (x * s * p + y0_lo));
    r.copysign(z)
}

/// Generates a public slice kernel that runs an `#[inline(always)]` body compiled with AVX-512F or
/// AVX2 when the CPU has it, and the baseline build otherwise. The copies are the same IEEE
/// operations (no contraction into FMA), so they give bit-identical results.
macro_rules! dispatch {
    ($(#[$doc:meta])* pub fn $name:ident($($arg:ident: $ty:ty),* $(,)?) => $body:ident;) => {
        $(#[$doc])*
        pub fn $name($($arg: $ty),*) {
            #[cfg(target_arch = "x86_64")]
            {
                /// The body compiled with AVX-512F enabled.
                ///
                /// # Safety
                /// The CPU must support AVX-512F.
                #[target_feature(enable = "avx512f")]
                unsafe fn avx512($($arg: $ty),*) {
                    $body($($arg),*)
                }
                if std::arch::is_x86_feature_detected!("avx512f") {
                    // SAFETY: AVX-512F support was just detected.
                    return unsafe { avx512($($arg),*) };
                }
                /// The body compiled with AVX2 enabled.
                ///
                /// # Safety
                /// The CPU must support AVX2.
                #[target_feature(enable = "avx2")]
                unsafe fn avx2($($arg: $ty),*) {
                    $body($($arg),*)
                }
                if std::arch::is_x86_feature_detected!("avx2") {
                    // SAFETY: AVX2 support was just detected.
                    return unsafe { avx2($($arg),*) };
                }
            }
            $body($($arg),*)
        }
    };
}

#[inline(always)]
fn arctan_body(z: &[f32], a: &mut [f32]) {
    assert_eq!(z.len(), a.len(), "arctan: z and a differ in length");
    for (a, &z) in a.iter_mut().zip(z) {
        *a = atan_f32(z);
    }
}

dispatch! {
    /// `a = arctan(z)`, element-wise, accurate to [`ARCTAN_MAX_ULP`] ulp (see the module docs).
    ///
    /// # Panics
    /// If the lengths differ.
    pub fn arctan(z: &[f32], a: &mut [f32]) => arctan_body;
}

#[inline(always)]
fn arctan_in_place_body(x: &mut [f32]) {
    for x in x.iter_mut() {
        *x = atan_f32(*x);
    }
}

dispatch! {
    /// `x = arctan(x)` in place, element-wise, the same operations as [`arctan`] (evaluation
    /// reuses one buffer for `z` and `a`).
    pub fn arctan_in_place(x: &mut [f32]) => arctan_in_place_body;
}

#[inline(always)]
fn arctan_with_derivative_body(z: &[f32], a: &mut [f32], d: &mut [f32]) {
    assert_eq!(z.len(), a.len(), "arctan_with_derivative: z and a differ in length");
    assert_eq!(z.len(), d.len(), "arctan_with_derivative: z and d differ in length");
    for ((a, d), &z) in a.iter_mut().zip(d.iter_mut()).zip(z) {
        *a = atan_f32(z);
        *d = 1.0 / (1.0 + z * z);
    }
}

dispatch! {
    /// `a = arctan(z)` and `d = arctan′(z) = 1/(1 + z²)`, element-wise, in one pass.
    ///
    /// With `d` stored by the forward pass, the backward pass is `e = u ⊙ d` ([`hadamard`]), which
    /// is TensorFlow's formula for the arctan gradient (`grad · reciprocal(1 + x²)`) operation for
    /// operation. [`arctan_backward`] instead divides, `u / (1 + z²)`, which can differ from it by
    /// one rounding. For `|z| > 1.8e19`, `z²` overflows and `d = 0`, the correctly rounded limit.
    ///
    /// # Panics
    /// If the lengths differ.
    pub fn arctan_with_derivative(z: &[f32], a: &mut [f32], d: &mut [f32]) => arctan_with_derivative_body;
}

#[inline(always)]
fn arctan_backward_body(u: &[f32], z: &[f32], e: &mut [f32]) {
    assert_eq!(u.len(), z.len(), "arctan_backward: u and z differ in length");
    assert_eq!(u.len(), e.len(), "arctan_backward: u and e differ in length");
    for ((e, &u), &z) in e.iter_mut().zip(u).zip(z) {
        *e = u / (1.0 + z * z);
    }
}

dispatch! {
    /// `e = u ⊙ arctan′(z) = u / (1 + z²)`, element-wise: the local error of an arctan layer, from
    /// the upstream gradient `u` and the pre-activation `z`, fused into one pass.
    ///
    /// # Panics
    /// If the lengths differ.
    pub fn arctan_backward(u: &[f32], z: &[f32], e: &mut [f32]) => arctan_backward_body;
}

/// Row-wise softmax, numerically stable:
/// `p_ij = exp(x_ij − m_i) / Σ_j exp(x_ij − m_i)` with `m_i = max_j x_ij`.
///
/// Subtracting the row maximum makes every exponent ≤ 0, so nothing overflows (inputs of ±1e4 are
/// fine) and the largest term is exactly 1, so the sum is ≥ 1 and never underflows. A row holding
/// NaN or +∞ gives NaN.
///
/// # Panics
/// If `x` and `p` differ in shape.
pub fn softmax_rows(x: MatRef<'_>, mut p: MatMut<'_>) {
    assert_eq!((x.rows(), x.cols()), (p.rows(), p.cols()), "softmax_rows: x and p differ in shape");
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

/// The study's cost in f64: binary cross-entropy on softmax outputs, **summed** over batch and
/// classes, `C = Σ_i Σ_c −[y_ic·ln p_ic + (1−y_ic)·ln(1−p_ic)]`.
///
/// Every term is evaluated in f64 from the f32 inputs (exactly representable), and summed in f64.
///
/// `p = 0` or `p = 1`: a term whose weight is zero contributes zero (the `xlogy` convention
/// `0·ln 0 = 0`), so a one-hot `y` with `p_c = 0` for a wrong class, or `p_c = 1` for the right
/// one, costs nothing; a term whose weight is positive and whose logarithm is `ln 0` makes the cost
/// `+∞`, the true value. TensorFlow's `y·log(p)` would instead give `0·(−∞) = NaN` for the former.
/// In the study this never arises: `p` is a softmax of arctan outputs in `(−π/2, π/2)`, so over 10
/// classes `p ∈ (0.004, 0.72)`.
///
/// # Panics
/// If the lengths differ.
pub fn bce_cost_f64(p: &[f32], y: &[f32]) -> f64 {
    assert_eq!(p.len(), y.len(), "bce_cost: p and y differ in length");
    let mut c = 0.0f64;
    for (&p, &y) in p.iter().zip(y) {
        let (p, y) = (f64::from(p), f64::from(y));
        c -= xlogy(y, p) + xlogy(1.0 - y, 1.0 - p);
    }
    c
}

/// `w·ln v`, with `0·ln v = 0` for every `v` (so `0·ln 0 = 0` instead of NaN).
fn xlogy(w: f64, v: f64) -> f64 {
    if w == 0.0 {
        0.0
    } else {
        w * v.ln()
    }
}

/// [`bce_cost_f64`] rounded to f32.
///
/// # Panics
/// If the lengths differ.
pub fn bce_cost(p: &[f32], y: &[f32]) -> f32 {
    bce_cost_f64(p, y) as f32
}

/// Number of rows of `scores` whose argmax equals `labels[row]`.
///
/// The argmax is the **first** maximum on ties (as NumPy's and TensorFlow's `argmax`). NaN never
/// compares greater, so a NaN entry is never chosen unless it is in column 0 and nothing follows it
/// that is greater than NaN (nothing is).
///
/// # Panics
/// If `labels` does not have one entry per row.
pub fn argmax_correct(scores: MatRef<'_>, labels: &[u8]) -> usize {
    assert_eq!(scores.rows(), labels.len(), "argmax_correct: one label per row");
    let cols = scores.cols();
    if cols == 0 {
        return 0;
    }
    scores
        .as_slice()
        .chunks_exact(cols)
        .zip(labels)
        .filter(|(row, &label)| argmax_first(row) == label as usize)
        .count()
}

/// Index of the first maximum of a non-empty row.
fn argmax_first(row: &[f32]) -> usize {
    let mut best = 0;
    for j in 1..row.len() {
        if row[j] > row[best] {
            best = j;
        }
    }
    best
}

#[inline(always)]
fn hadamard_body(a: &[f32], b: &[f32], c: &mut [f32]) {
    assert_eq!(a.len(), b.len(), "hadamard: a and b differ in length");
    assert_eq!(a.len(), c.len(), "hadamard: a and c differ in length");
    for ((c, &a), &b) in c.iter_mut().zip(a).zip(b) {
        *c = a * b;
    }
}

dispatch! {
    /// `c = a ⊙ b` (Hadamard product).
    ///
    /// # Panics
    /// If the lengths differ.
    pub fn hadamard(a: &[f32], b: &[f32], c: &mut [f32]) => hadamard_body;
}

#[inline(always)]
fn axpy_body(alpha: f32, x: &[f32], y: &mut [f32]) {
    assert_eq!(x.len(), y.len(), "axpy: x and y differ in length");
    for (y, &x) in y.iter_mut().zip(x) {
        *y += alpha * x;
    }
}

dispatch! {
    /// `y = y + α·x` (scaled add), rounded twice (product, then sum): no fused multiply-add, so
    /// the result is the same as TensorFlow's on every platform.
    ///
    /// # Panics
    /// If the lengths differ.
    pub fn axpy(alpha: f32, x: &[f32], y: &mut [f32]) => axpy_body;
}

/// Runs `f(offset, a_part, b_part)` over `a` and `b` cut at the same points into up to `threads`
/// parts of whole `grain`-element units, on the current rayon pool (on this thread when
/// `threads ≤ 1` or there is less than one part of work each). `b` may be empty (then every part
/// gets an empty `b`); otherwise it must be as long as `a`. Element-wise kernels give the same
/// bits however they are cut.
///
/// # Panics
/// If `b` is neither empty nor as long as `a`.
pub fn par_chunks2<F>(threads: usize, grain: usize, a: &mut [f32], b: &mut [f32], f: &F)
where
    F: Fn(usize, &mut [f32], &mut [f32]) + Sync,
{
    assert!(b.is_empty() || b.len() == a.len(), "par_chunks2: a and b differ in length");
    let grain = grain.max(1);
    // Below ~64k elements a second thread costs more than it saves.
    let units = a.len().div_ceil(grain);
    let parts = threads.min(units).min(a.len() / 65_536 + 1).max(1);
    split2(parts, grain, 0, a, b, f);
}

fn split2<F>(parts: usize, grain: usize, offset: usize, a: &mut [f32], b: &mut [f32], f: &F)
where
    F: Fn(usize, &mut [f32], &mut [f32]) + Sync,
{
    if parts <= 1 {
        f(offset, a, b);
        return;
    }
    let left = parts / 2;
    let units = a.len().div_ceil(grain);
    let mid = (units * left / parts * grain).min(a.len());
    let (a0, a1) = a.split_at_mut(mid);
    let (b0, b1) = if b.is_empty() { (&mut [][..], &mut [][..]) } else { b.split_at_mut(mid) };
    rayon::join(
        || split2(left, grain, offset, a0, b0, f),
        || split2(parts - left, grain, offset + mid, a1, b1, f),
    );
}

#[cfg(test)]
mod tests;
