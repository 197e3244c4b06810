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
