//! Seeded initialisation from ChaCha8 streams.
//!
//! Every random stream in handprop is a ChaCha8 generator keyed by a 64-bit seed and positioned on
//! a 64-bit *stream id* ([`stream_rng`]). ChaCha's stream parameter gives 2⁶⁴ independent,
//! non-overlapping sequences per key, so the consumer (say the runner, with
//! `(seed, trial, experiment, purpose)`) picks a stream id and never depends on thread order.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

/// The ChaCha8 generator for `(seed, stream)`: key from `seed` (via `seed_from_u64`), stream
/// parameter `stream`. Identical arguments give identical sequences on every platform.
pub fn stream_rng(seed: u64, stream: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(stream);
    rng
}

/// Fills `out` with i.i.d. N(0, 1) draws from `rng` (Ziggurat, `rand_distr::StandardNormal`).
pub fn fill_standard_normal<R: rand::Rng + ?Sized>(rng: &mut R, out: &mut [f32]) {
    for x in out.iter_mut() {
        *x = StandardNormal.sample(rng);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draw(seed: u64, stream: u64, n: usize) -> Vec<f32> {
        let mut v = vec![0.0; n];
        fill_standard_normal(&mut stream_rng(seed, stream), &mut v);
        v
    }

    #[test]
    fn identical_seed_and_stream_give_identical_draws() {
        assert_eq!(draw(42, 3, 1000), draw(42, 3, 1000));
    }

    #[test]
    fn streams_and_seeds_are_independent() {
        let base = draw(42, 3, 1000);
        for other in [draw(42, 4, 1000), draw(43, 3, 1000), draw(42, 0, 1000)] {
            let equal = base.iter().zip(&other).filter(|(a, b)| a == b).count();
            assert!(equal < 5, "{equal} of 1000 draws coincide");
        }
    }

    #[test]
    fn draws_look_standard_normal() {
        // 10⁵ draws: the sample mean is within 5 standard errors (5/√n ≈ 0.016) of 0 and the
        // variance within 0.03 of 1.
        let v = draw(7, 1, 100_000);
        let n = v.len() as f64;
        let mean = v.iter().map(|&x| f64::from(x)).sum::<f64>() / n;
        let var = v.iter().map(|&x| (f64::from(x) - mean).powi(2)).sum::<f64>() / n;
        assert!(mean.abs() < 0.016, "mean {mean}");
        assert!((var - 1.0).abs() < 0.03, "variance {var}");
    }

    #[test]
    fn a_prefix_is_the_start_of_a_longer_fill() {
        // The stream is a sequence: filling 10 values then 90 equals filling 100 at once.
        let mut rng = stream_rng(5, 9);
        let mut a = vec![0.0; 10];
        let mut b = vec![0.0; 90];
        fill_standard_normal(&mut rng, &mut a);
        fill_standard_normal(&mut rng, &mut b);
        a.extend(b);
        assert_eq!(a, draw(5, 9, 100));
    }
}
