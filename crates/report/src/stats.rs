//! Statistics over experiments: Student-t confidence intervals, ranks with ties averaged, and the
//! exact paired Wilcoxon signed-rank test.
//!
//! Everything here is plain `f64` arithmetic with no dependency, so it can be checked by hand.

/// ln Γ(x) for x > 0 by the Lanczos approximation (g = 7, nine coefficients; relative error
/// below 1e-13 for the arguments used here, which are multiples of 1/2).
pub fn ln_gamma(x: f64) -> f64 {
    const G: f64 = 7.0;
    const COEF: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        // Reflection: Γ(x)·Γ(1−x) = π / sin(πx).
        let pi = std::f64::consts::PI;
        return (pi / (pi * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut a = COEF[0];
    let t = x + G + 0.5;
    for (i, c) in COEF.iter().enumerate().skip(1) {
        a += c / (x + i as f64);
    }
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + a.ln()
}

/// The regularized incomplete beta function I_x(a, b) = B(x; a, b) / B(a, b), by Lentz's continued
/// fraction (Numerical Recipes' `betacf`), using the symmetry I_x(a, b) = 1 − I_{1−x}(b, a) where the
/// fraction converges slowly.
pub fn reg_inc_beta(a: f64, b: f64, x: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    let ln_front = ln_gamma(a + b) - ln_gamma(a) - ln_gamma(b) + a * x.ln() + b * (1.0 - x).ln();
    if x < (a + 1.0) / (a + b + 2.0) {
        ln_front.exp() * beta_cf(a, b, x) / a
    } else {
        1.0 - ln_front.exp() * beta_cf(b, a, 1.0 - x) / b
    }
}

/// The continued fraction of the regularised incomplete beta function, evaluated by the modified
/// Lentz method (Numerical Recipes' `betacf`): each term `aa` updates `d` and `c`, and `h`, the
/// value so far, is multiplied by their product until that product is 1 to 1e-15.
fn beta_cf(a: f64, b: f64, x: f64) -> f64 {
    const TINY: f64 = 1e-300;
    // Keeps a denominator away from zero, as Lentz's method prescribes.
    let nonzero = |v: f64| if v.abs() < TINY { TINY } else { v };
    let (qab, qap, qam) = (a + b, a + 1.0, a - 1.0);
    let mut c = 1.0;
    let mut d = 1.0 / nonzero(1.0 - qab * x / qap);
    let mut h = d;
    // One Lentz step with coefficient `aa`; returns the factor it multiplies `h` by.
    let step = |aa: f64, c: &mut f64, d: &mut f64| {
        *d = 1.0 / nonzero(1.0 + aa * *d);
        *c = nonzero(1.0 + aa / *c);
        *d * *c
    };
    for m in 1..=300 {
        let m = m as f64;
        let m2 = 2.0 * m;
        // The even and the odd term of the fraction.
        h *= step(m * (b - m) * x / ((qam + m2) * (a + m2)), &mut c, &mut d);
        let del = step(-(a + m) * (qab + m) * x / ((a + m2) * (qap + m2)), &mut c, &mut d);
        h *= del;
        if (del - 1.0).abs() < 1e-15 {
            break;
        }
    }
    h
}

/// The CDF of Student's t distribution with `df` degrees of freedom:
/// F(t) = 1 − ½·I_{df/(df+t²)}(df/2, ½) for t ≥ 0, and F(−t) = 1 − F(t).
pub fn student_t_cdf(t: f64, df: f64) -> f64 {
    let tail = 0.5 * reg_inc_beta(df / 2.0, 0.5, df / (df + t * t));
    if t >= 0.0 {
        1.0 - tail
    } else {
        tail
    }
}

/// The quantile t_{p, df} of Student's t distribution (the t with F(t) = p), found by bisection on
/// [`student_t_cdf`] to a relative precision of about 1e-12. Returns NaN for p ∉ (0, 1) or df ≤ 0.
pub fn student_t_quantile(p: f64, df: f64) -> f64 {
    if !(p > 0.0 && p < 1.0) || df.is_nan() || df <= 0.0 {
        return f64::NAN;
    }
    if p < 0.5 {
        return -student_t_quantile(1.0 - p, df);
    }
    let mut hi = 1.0;
    while student_t_cdf(hi, df) < p {
        hi *= 2.0;
        if hi > 1e12 {
            return f64::INFINITY;
        }
    }
    let mut lo = 0.0;
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if student_t_cdf(mid, df) < p {
            lo = mid;
        } else {
            hi = mid;
        }
        if hi - lo <= 1e-13 * hi.max(1.0) {
            break;
        }
    }
    0.5 * (lo + hi)
}

/// Mean and two-sided confidence interval of a sample.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MeanCi {
    /// Sample size n.
    pub n: usize,
    /// Sample mean x̄ = Σx / n (NaN when n = 0).
    pub mean: f64,
    /// Sample standard deviation s = √(Σ(x − x̄)² / (n − 1)) (NaN when n < 2).
    pub sd: f64,
    /// Half-width h = t_{(1+level)/2, n−1} · s / √n (NaN when n < 2).
    pub half_width: f64,
}

impl MeanCi {
    /// Lower end x̄ − h.
    pub fn low(&self) -> f64 {
        self.mean - self.half_width
    }
    /// Upper end x̄ + h.
    pub fn high(&self) -> f64 {
        self.mean + self.half_width
    }
}

/// Mean ± Student-t confidence interval at `level` (e.g. 0.95) over `values`.
pub fn mean_ci(values: &[f64], level: f64) -> MeanCi {
    let n = values.len();
    if n == 0 {
        return MeanCi { n, mean: f64::NAN, sd: f64::NAN, half_width: f64::NAN };
    }
    let mean = values.iter().sum::<f64>() / n as f64;
    if n < 2 {
        return MeanCi { n, mean, sd: f64::NAN, half_width: f64::NAN };
    }
    let var = values.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / (n - 1) as f64;
    let sd = var.sqrt();
    let t = student_t_quantile(0.5 + level / 2.0, (n - 1) as f64);
    MeanCi { n, mean, sd, half_width: t * sd / (n as f64).sqrt() }
}

/// 1-based ranks of `values` in ascending order, ties getting the average of the ranks they span
/// (e.g. [10, 20, 20, 30] → [1, 2.5, 2.5, 4]). Values must not be NaN.
pub fn average_ranks(values: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| values[a].total_cmp(&values[b]));
    let mut ranks = vec![0.0; values.len()];
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && values[order[j + 1]] == values[order[i]] {
            j += 1;
        }
        // Positions i..=j (0-based) hold equal values: they share the mean of ranks i+1..=j+1.
        let avg = (i + j) as f64 / 2.0 + 1.0;
        for &k in &order[i..=j] {
            ranks[k] = avg;
        }
        i = j + 1;
    }
    ranks
}

/// Ranks the cases of one experiment, rank 1 = best. `None` (a diverged cell, or a non-finite value)
/// ranks below every finite value; several `None`s share the average of the worst ranks.
pub fn rank_best_first(values: &[Option<f64>], higher_is_better: bool) -> Vec<f64> {
    // Map to a key where smaller is better, and put missing values after every finite one.
    let keys: Vec<f64> = values
        .iter()
        .map(|v| match v {
            Some(x) if x.is_finite() => {
                if higher_is_better {
                    -x
                } else {
                    *x
                }
            }
            _ => f64::INFINITY,
        })
        .collect();
    average_ranks(&keys)
}

/// The result of a paired Wilcoxon signed-rank test.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Wilcoxon {
    /// Number of pairs with a non-zero difference (the n of the test; zero differences are dropped,
    /// Wilcoxon's original convention, scipy's `zero_method="wilcox"`).
    pub n: usize,
    /// Number of pairs whose difference was exactly zero (dropped).
    pub zeros: usize,
    /// W⁺ = sum of the ranks of |d_i| over the pairs with d_i > 0 (ties in |d| get average ranks).
    pub w_plus: f64,
    /// W⁻ = sum of the ranks over the pairs with d_i < 0; W⁺ + W⁻ = n(n+1)/2.
    pub w_minus: f64,
    /// Exact two-sided p-value: 2·min(P(W ≤ W⁺), P(W ≥ W⁺)) (capped at 1) under the null hypothesis
    /// that each rank's sign is + or − with probability ½, enumerating all 2ⁿ sign patterns of the
    /// observed (mid)ranks. 1 when n = 0.
    pub p_two_sided: f64,
}

/// Paired Wilcoxon signed-rank test of x against y (d_i = x_i − y_i), with an exact p-value.
///
/// The null distribution of W⁺ is computed by dynamic programming over the doubled ranks (midranks
/// are multiples of ½, so doubling makes them integers): P₀(0) = 1 and, adding rank r_k,
/// P_k(s) = ½·P_{k−1}(s) + ½·P_{k−1}(s − 2r_k). That is the exact enumeration of the 2ⁿ sign
/// patterns in O(n³) time; with ties it is the exact permutation distribution given the midranks.
///
/// # Panics
/// Never on finite input; pairs must have the same length (checked by the caller).
pub fn wilcoxon_signed_rank(x: &[f64], y: &[f64]) -> Wilcoxon {
    let diffs: Vec<f64> = x.iter().zip(y).map(|(a, b)| a - b).collect();
    let zeros = diffs.iter().filter(|d| **d == 0.0).count();
    let nonzero: Vec<f64> = diffs.into_iter().filter(|d| *d != 0.0).collect();
    let n = nonzero.len();
    if n == 0 {
        return Wilcoxon { n, zeros, w_plus: 0.0, w_minus: 0.0, p_two_sided: 1.0 };
    }
    let abs: Vec<f64> = nonzero.iter().map(|d| d.abs()).collect();
    let ranks = average_ranks(&abs);
    let w_plus: f64 = ranks.iter().zip(&nonzero).filter(|(_, d)| **d > 0.0).map(|(r, _)| r).sum();
    let total = (n * (n + 1)) as f64 / 2.0;
    let doubled: Vec<usize> = ranks.iter().map(|r| (2.0 * r).round() as usize).collect();
    let max_sum: usize = doubled.iter().sum();
    let mut dist = vec![0.0f64; max_sum + 1];
    dist[0] = 1.0;
    for &r in &doubled {
        for s in (0..=max_sum).rev() {
            let with = if s >= r { dist[s - r] } else { 0.0 };
            dist[s] = 0.5 * dist[s] + 0.5 * with;
        }
    }
    let w2 = (2.0 * w_plus).round() as usize;
    let lower: f64 = dist[..=w2].iter().sum();
    let upper: f64 = dist[w2..].iter().sum();
    Wilcoxon {
        n,
        zeros,
        w_plus,
        w_minus: total - w_plus,
        p_two_sided: (2.0 * lower.min(upper)).min(1.0),
    }
}

/// The smallest two-sided p-value the exact signed-rank test can give with n non-zero differences:
/// every sign equal, probability 2·2⁻ⁿ. It is above 0.05 for n ≤ 5, so with five or fewer
/// experiments no pair of cases can be separated at the 5 % level, whatever the data.
pub fn wilcoxon_min_p(n: usize) -> f64 {
    (2.0 * 0.5f64.powi(n as i32)).min(1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol
    }

    #[test]
    fn t_quantiles_match_printed_tables() {
        // Two-sided 95 % critical values from any t table.
        for (df, t) in [
            (1.0, 12.7062),
            (2.0, 4.3027),
            (4.0, 2.7764),
            (9.0, 2.2622),
            (30.0, 2.0423),
            (1000.0, 1.9623),
        ] {
            let q = student_t_quantile(0.975, df);
            assert!(close(q, t, 1e-4), "df {df}: {q} vs {t}");
        }
        assert!(close(student_t_quantile(0.5, 3.0), 0.0, 1e-12));
        assert!(close(student_t_quantile(0.025, 9.0), -2.2622, 1e-4));
        // df = 1 is the Cauchy distribution: F(1) = 3/4.
        assert!(close(student_t_cdf(1.0, 1.0), 0.75, 1e-12));
        assert!(student_t_quantile(1.0, 3.0).is_nan());
    }

    #[test]
    fn ln_gamma_at_known_points() {
        assert!(close(ln_gamma(1.0), 0.0, 1e-12));
        assert!(close(ln_gamma(5.0), 24f64.ln(), 1e-12));
        assert!(close(ln_gamma(0.5), std::f64::consts::PI.sqrt().ln(), 1e-12));
    }

    #[test]
    fn mean_ci_by_hand() {
        // x = 1..5: mean 3, s² = 10/4 = 2.5, se = √(2.5/5) = √0.5, h = 2.776445 · 0.707107 = 1.963243.
        let ci = mean_ci(&[1.0, 2.0, 3.0, 4.0, 5.0], 0.95);
        assert_eq!(ci.n, 5);
        assert!(close(ci.mean, 3.0, 1e-12));
        assert!(close(ci.sd, 2.5f64.sqrt(), 1e-12));
        assert!(close(ci.half_width, 1.963243, 1e-5), "{}", ci.half_width);
        assert!(close(ci.low(), 1.036757, 1e-5));
        let one = mean_ci(&[4.0], 0.95);
        assert_eq!(one.mean, 4.0);
        assert!(one.half_width.is_nan());
        assert!(mean_ci(&[], 0.95).mean.is_nan());
    }

    #[test]
    fn ranks_average_ties() {
        assert_eq!(average_ranks(&[10.0, 20.0, 20.0, 30.0]), vec![1.0, 2.5, 2.5, 4.0]);
        assert_eq!(average_ranks(&[3.0, 1.0, 2.0]), vec![3.0, 1.0, 2.0]);
        // Higher is better; two missing values share ranks 3 and 4.
        let r = rank_best_first(&[Some(0.9), None, Some(0.95), Some(f64::NAN)], true);
        assert_eq!(r, vec![2.0, 3.5, 1.0, 3.5]);
        let r = rank_best_first(&[Some(2.0), Some(1.0), Some(1.0)], false);
        assert_eq!(r, vec![3.0, 1.5, 1.5]);
    }

    #[test]
    fn wilcoxon_all_positive_five_pairs() {
        // d = 1..5, all positive: W⁺ = 15 is the single most extreme of 32 sign patterns,
        // so p = 2/32 = 0.0625 (the smallest possible with n = 5).
        let w = wilcoxon_signed_rank(&[2.0, 3.0, 4.0, 5.0, 6.0], &[1.0; 5]);
        assert_eq!((w.n, w.zeros), (5, 0));
        assert_eq!((w.w_plus, w.w_minus), (15.0, 0.0));
        assert!(close(w.p_two_sided, 0.0625, 1e-12));
        assert!(close(wilcoxon_min_p(5), 0.0625, 1e-12));
        assert!(close(wilcoxon_min_p(6), 0.03125, 1e-12));
    }

    #[test]
    fn wilcoxon_one_negative_of_six() {
        // d = 1, −2, 3, 4, 5, 6: W⁻ = 2. Subsets of {1..6} with sum ≤ 2: {}, {1}, {2} → 3/64;
        // two-sided p = 6/64 = 0.09375 (scipy.stats.wilcoxon gives the same).
        let x = [1.0, -2.0, 3.0, 4.0, 5.0, 6.0];
        let w = wilcoxon_signed_rank(&x, &[0.0; 6]);
        assert_eq!((w.w_plus, w.w_minus), (19.0, 2.0));
        assert!(close(w.p_two_sided, 0.09375, 1e-12));
    }

    #[test]
    fn wilcoxon_zeros_dropped_and_ties_midranked() {
        // d = 0, 1, 1, −2: the zero is dropped (n = 3); |d| = 1, 1, 2 → ranks 1.5, 1.5, 3;
        // W⁺ = 3, W⁻ = 3. Sign patterns of (1.5, 1.5, 3): W⁺ ∈ {0, 1.5, 1.5, 3, 3, 4.5, 4.5, 6},
        // P(W ≤ 3) = 5/8 and P(W ≥ 3) = 5/8, so p = min(1, 2·5/8) = 1.
        let w = wilcoxon_signed_rank(&[5.0, 6.0, 6.0, 3.0], &[5.0, 5.0, 5.0, 5.0]);
        assert_eq!((w.n, w.zeros), (3, 1));
        assert_eq!((w.w_plus, w.w_minus), (3.0, 3.0));
        assert!(close(w.p_two_sided, 1.0, 1e-12));
        // d = 1, 1, 2 (all positive): W⁺ = 6 has probability 1/8 → p = 0.25.
        let w = wilcoxon_signed_rank(&[6.0, 6.0, 7.0], &[5.0, 5.0, 5.0]);
        assert!(close(w.p_two_sided, 0.25, 1e-12));
        // All differences zero: nothing to test.
        let w = wilcoxon_signed_rank(&[1.0, 2.0], &[1.0, 2.0]);
        assert_eq!((w.n, w.zeros, w.p_two_sided), (0, 2, 1.0));
    }

    #[test]
    fn wilcoxon_ten_pairs_matches_enumeration() {
        // Brute force over all 2^10 sign patterns of ranks 1..10 for W⁺ = 8 (d: ranks 1, 3, 4 positive).
        let d = [1.0, -2.0, 3.0, 4.0, -5.0, -6.0, -7.0, -8.0, -9.0, -10.0];
        let w = wilcoxon_signed_rank(&d, &[0.0; 10]);
        assert_eq!(w.w_plus, 8.0);
        let mut le = 0u32;
        for mask in 0u32..1024 {
            let s: u32 = (0..10).filter(|k| mask >> k & 1 == 1).map(|k| k + 1).sum();
            if s <= 8 {
                le += 1;
            }
        }
        assert!(close(w.p_two_sided, 2.0 * le as f64 / 1024.0, 1e-12));
        // Hand value: subsets of distinct parts summing to 0..=8 number 1+1+1+2+2+3+4+5+6 = 25,
        // so p = 50/1024 = 0.048828125.
        assert_eq!(le, 25);
        assert!(close(w.p_two_sided, 0.048828125, 1e-12));
    }
}
