//! Running the element loops with the widest vector instructions the CPU has, bit for bit.
//!
//! The crate compiles for baseline x86-64 (SSE2), where a `sqrt` or a division handles 4 `f32`
//! lanes (2 for the `f64` of `f32`'s [`crate::Float::rsqrt`]); the Adagrad family, Adadelta, Ftrl
//! and LayerAdam were compute-bound there at 40–70 % of the copy bandwidth. [`vectorized`] runs a
//! loop inside a function compiled for AVX-512F or AVX2 (detected at run time), so LLVM emits
//! 16- or 8-lane code for it.
//!
//! Results are identical: each element still goes through the same IEEE operations (`+ − × ÷`,
//! `sqrt`, conversions, compares), each correctly rounded per lane whatever the vector width, and
//! nothing is fused (Rust never contracts `a * b + c` into an FMA, and no `mul_add` is written)
//! or reordered (no loop here reduces across elements). `tests/tf1_parity.rs` and the rules' own
//! tests run through this path on any CPU that has the features.

#[cfg(test)]
thread_local! {
    /// The tests' switch to the baseline build of the loops on their own thread (the reference).
    static SCALAR: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs `f` compiled for the widest of AVX-512F and AVX2 this CPU has (else as it is).
#[inline(always)]
pub(crate) fn vectorized<R>(f: impl FnOnce() -> R) -> R {
    #[cfg(test)]
    if SCALAR.with(std::cell::Cell::get) {
        return f();
    }
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU has AVX-512F.
            return unsafe { avx512(f) };
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2.
            return unsafe { avx2(f) };
        }
    }
    f()
}

/// `f()` with AVX-512F enabled for the code inlined into it.
///
/// # Safety
/// The CPU must have AVX-512F.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn avx512<R>(f: impl FnOnce() -> R) -> R {
    f()
}

/// `f()` with AVX2 enabled for the code inlined into it.
///
/// # Safety
/// The CPU must have AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn avx2<R>(f: impl FnOnce() -> R) -> R {
    f()
}

#[cfg(test)]
mod tests {
    use super::SCALAR;
    use crate::{Float, Rule, RuleConfig};

    /// Six updates of two tensors (one of odd length, one shorter than a vector) with gradients
    /// spanning twelve orders of magnitude and exact zeros; the hash of every parameter's bits
    /// after each step.
    fn trajectory<F: Float>(config: &str, scalar: bool) -> u64 {
        SCALAR.with(|s| s.set(scalar));
        let config: RuleConfig = toml::from_str(config).unwrap();
        let rule: Rule<F> = config.build().unwrap();
        let n = 1037;
        let mut state = rule.init(&[n, 7]);
        let mut x: u64 = 0x1234_5678;
        let mut rnd = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 11) as f64 / (1u64 << 53) as f64
        };
        let mut w: Vec<F> = (0..n).map(|_| F::from_f64_rounded(rnd() * 2.0 - 1.0)).collect();
        let mut w2: Vec<F> = (0..7).map(|_| F::from_f64_rounded(rnd() - 0.5)).collect();
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for step in 0..6 {
            let g: Vec<F> = (0..n)
                .map(|i| {
                    let scale = 10f64.powi((i % 9) as i32 - 6 + step);
                    F::from_f64_rounded(if i % 7 == 0 { 0.0 } else { (rnd() - 0.5) * scale })
                })
                .collect();
            let g2: Vec<F> = (0..7).map(|_| F::from_f64_rounded(rnd() - 0.5)).collect();
            rule.update(&mut state, [(&mut w[..], &g[..]), (&mut w2[..], &g2[..])]).unwrap();
            for v in w.iter().chain(&w2) {
                h = (h ^ v.widen().to_bits()).wrapping_mul(0x100_0000_01b3);
            }
        }
        SCALAR.with(|s| s.set(false));
        h
    }

    /// Every rule and variant, in `f32` and `f64`: the vector build of the loops gives the
    /// baseline build's bits.
    #[test]
    fn vector_loops_give_the_scalar_bits() {
        let rules = [
            "rule='gradient_descent'\nlearning_rate=0.001",
            "rule='adadelta'\nlearning_rate=0.3\nrho=0.9",
            "rule='adagrad'\nlearning_rate=0.01",
            "rule='adagrad_da'\nlearning_rate=0.01",
            "rule='adagrad_da'\nlearning_rate=0.01\nl1_regularization_strength=0.001\nl2_regularization_strength=0.01",
            "rule='momentum'\nlearning_rate=0.01\nmomentum=0.9",
            "rule='momentum'\nlearning_rate=0.01\nmomentum=0.9\nuse_nesterov=true",
            "rule='adam'\nlearning_rate=0.01",
            "rule='ftrl'\nlearning_rate=0.01",
            "rule='ftrl'\nlearning_rate=0.01\nl1_regularization_strength=0.001\nl2_regularization_strength=0.01",
            "rule='ftrl'\nlearning_rate=0.001\nlearning_rate_power=-0.3\nl2_shrinkage_regularization_strength=0.01",
            "rule='proximal_gradient_descent'\nlearning_rate=0.01\nl1_regularization_strength=0.001",
            "rule='proximal_adagrad'\nlearning_rate=0.01",
            "rule='proximal_adagrad'\nlearning_rate=0.01\nl1_regularization_strength=0.001\nl2_regularization_strength=0.01",
            "rule='rms_prop'\nlearning_rate=0.01",
            "rule='rms_prop'\nlearning_rate=0.01\ncentered=true\nmomentum=0.5",
            "rule='sgd'\nlearning_rate=0.001",
            "rule='layer_adam'\nlearning_rate=0.001",
            "rule='layer_adam'\nlearning_rate=0.001\nbias_correction='true'",
        ];
        for r in rules {
            assert_eq!(trajectory::<f32>(r, true), trajectory::<f32>(r, false), "f32 {r}");
            assert_eq!(trajectory::<f64>(r, true), trajectory::<f64>(r, false), "f64 {r}");
        }
    }
}
