//! Each rule's update on one 1024×1024 f32 parameter, single thread, compared with the machine's
//! copy bandwidth. A plain table printer (`harness = false`): `cargo bench -p handprop-optim`.
//!
//! Memory traffic per element counts every slice the fused pass reads or writes, 4 bytes each:
//! the parameter (read + write), the gradient (read) and each slot (read + write). Two copy
//! references count read + write of `copy_from_slice`: 4 MiB (one parameter's size; with its
//! slots a rule's working set is 8–20 MiB, which a large L3 may hold) and 64 MiB (DRAM). The
//! "% of copy" column is against the 4 MiB copy, the like-for-like ceiling when repeated updates
//! run from cache.

use std::hint::black_box;
use std::time::{Duration, Instant};

use handprop_optim::{GradientNoise, NoiseForm, Registry, Rule, RuleConfig, Table};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

const N: usize = 1024 * 1024;

/// Best time per call over `reps` timed rounds of `inner` calls each.
fn best<Fun: FnMut()>(reps: usize, inner: usize, mut f: Fun) -> Duration {
    f();
    (0..reps)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..inner {
                f();
            }
            t.elapsed() / inner as u32
        })
        .min()
        .unwrap()
}

fn main() {
    let copy = |elems: usize, inner: usize| {
        let src = vec![1.0f32; elems];
        let mut dst = vec![0.0f32; elems];
        let t = best(5, inner, || {
            dst.copy_from_slice(black_box(&src));
            black_box(&mut dst);
        });
        (2 * 4 * elems) as f64 / t.as_secs_f64() / 1e9
    };
    let copy_gbs = copy(N, 20);
    let dram_gbs = copy(16 * N, 2);
    println!("copy bandwidth, read + write: 4 MiB {copy_gbs:.1} GB/s, 64 MiB {dram_gbs:.1} GB/s");
    println!();
    println!("| rule | bytes/elem | ms/update | Melem/s | GB/s | % of copy |");
    println!("|---|---|---|---|---|---|");

    let rules: Vec<(&str, &str, usize)> = vec![
        ("GradientDescent", "rule='gradient_descent'\nlearning_rate=0.001", 3),
        ("Adadelta", "rule='adadelta'", 7),
        ("Adagrad", "rule='adagrad'\nlearning_rate=0.001", 5),
        ("AdagradDA", "rule='adagrad_da'\nlearning_rate=0.001", 6),
        ("Momentum", "rule='momentum'\nlearning_rate=0.001\nmomentum=0.001", 5),
        ("Momentum (Nesterov)", "rule='momentum'\nlearning_rate=0.001\nmomentum=0.9\nuse_nesterov=true", 5),
        ("Adam", "rule='adam'", 7),
        ("Ftrl", "rule='ftrl'\nlearning_rate=0.001", 7),
        ("Ftrl (lr_power -0.3, shrinkage)", "rule='ftrl'\nlearning_rate=0.001\nlearning_rate_power=-0.3\nl2_shrinkage_regularization_strength=0.01", 7),
        ("ProximalGradientDescent", "rule='proximal_gradient_descent'\nlearning_rate=0.001", 3),
        ("ProximalAdagrad", "rule='proximal_adagrad'\nlearning_rate=0.001", 5),
        ("RMSProp", "rule='rms_prop'\nlearning_rate=0.001", 7),
        ("RMSProp (centered)", "rule='rms_prop'\nlearning_rate=0.001\ncentered=true", 9),
        ("Sgd", "rule='sgd'\nlearning_rate=0.001", 3),
        ("LayerAdam", "rule='layer_adam'\nlearning_rate=0.001", 7),
    ];
    let mut w = vec![0.5f32; N];
    let mut g: Vec<f32> = (0..N).map(|i| ((i % 97) as f32 - 48.0) * 1e-3).collect();
    for (name, toml_text, words) in rules {
        let config: RuleConfig = toml::from_str(toml_text).unwrap();
        let rule: Rule<f32> = config.build().unwrap();
        let mut state = rule.init(&[N]);
        w.fill(0.5);
        let t = best(5, 10, || {
            rule.update(&mut state, [(&mut w[..], &mut g[..])]).unwrap();
            black_box(&mut w);
        });
        report(name, words, t, copy_gbs);
    }
    // The same rules built by name: type-erased dispatch, and noise chained before Sgd (case 0),
    // which adds one copy of the gradient per step.
    let registry = Registry::<f32>::tf1();
    let boxed: Vec<(&str, &str, Option<&str>, usize)> = vec![
        ("Sgd (registry, boxed)", "rule='sgd'\nlearning_rate=0.001", None, 3),
        ("Adam (registry, boxed)", "rule='adam'", None, 7),
        ("LayerAdam (registry, boxed)", "rule='layer_adam'\nlearning_rate=0.001", None, 7),
        (
            "scalar noise + Sgd (chain, boxed)",
            "rule='sgd'\nlearning_rate=0.001",
            Some("form='scalar'"),
            5,
        ),
    ];
    for (name, update, noise, words) in boxed {
        let update: Table = toml::from_str(update).unwrap();
        let noise: Option<Table> = noise.map(|n| toml::from_str(n).unwrap());
        let rng = ChaCha8Rng::seed_from_u64(0);
        let rule = registry.build_case(&update, noise.as_ref(), rng).unwrap();
        let mut state = rule.init(&[N]);
        w.fill(0.5);
        let t = best(5, 10, || {
            rule.update(&mut state, [(&mut w[..], &g[..])]).unwrap();
            black_box(&mut w);
        });
        report(name, words, t, copy_gbs);
    }
    for (name, form) in [
        ("GradientNoise (scalar)", NoiseForm::Scalar { sigma0: 0.001, gamma: 0.55 }),
        ("GradientNoise (paper)", NoiseForm::Paper { eta: 0.001, gamma: 0.55 }),
    ] {
        let noise = GradientNoise::new(form).unwrap();
        let mut state = noise.init(ChaCha8Rng::seed_from_u64(0));
        let t = best(5, 10, || {
            noise.apply(&mut state, 3, [&mut g[..]]);
            black_box(&mut g);
        });
        report(name, 2, t, copy_gbs);
    }
}

fn report(name: &str, words: usize, t: Duration, copy_gbs: f64) {
    let s = t.as_secs_f64();
    let gbs = (words * 4 * N) as f64 / s / 1e9;
    println!(
        "| {name} | {} | {:.3} | {:.0} | {gbs:.1} | {:.0}% |",
        words * 4,
        s * 1e3,
        N as f64 / s / 1e6,
        100.0 * gbs / copy_gbs
    );
}
