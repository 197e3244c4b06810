//! The convergence table (optax's smoke test): every rule lowers a quadratic and the Rosenbrock
//! function from a fixed start. Run with `--nocapture` to print the table that docs/optim.md
//! quotes; each asserted bound is about twice the final loss measured in f64 (so a
//! change that slows any rule down fails), and every rule must end below its start.

use handprop_optim::{Rule, RuleConfig};

const STEPS: usize = 1000;

/// f(x, y) = ½(x² + 10y²), minimum 0 at the origin; start (3, −2).
fn quadratic(w: &[f64], g: &mut [f64]) -> f64 {
    g[0] = w[0];
    g[1] = 10.0 * w[1];
    0.5 * (w[0] * w[0] + 10.0 * w[1] * w[1])
}

/// f(x, y) = (1 − x)² + 100(y − x²)², minimum 0 at (1, 1); start (−1.2, 1).
fn rosenbrock(w: &[f64], g: &mut [f64]) -> f64 {
    let (x, y) = (w[0], w[1]);
    g[0] = -2.0 * (1.0 - x) - 400.0 * x * (y - x * x);
    g[1] = 200.0 * (y - x * x);
    (1.0 - x) * (1.0 - x) + 100.0 * (y - x * x) * (y - x * x)
}

fn minimise(config: &RuleConfig, f: fn(&[f64], &mut [f64]) -> f64, start: [f64; 2]) -> (f64, f64) {
    let rule: Rule<f64> = config.build_with(handprop_optim::HyperPrecision::Exact).unwrap();
    let mut state = rule.init(&[2]);
    let mut w = start.to_vec();
    let mut g = vec![0.0; 2];
    let initial = f(&w, &mut g);
    for _ in 0..STEPS {
        f(&w, &mut g);
        rule.update(&mut state, [(&mut w[..], &mut g[..])]).unwrap();
    }
    (initial, f(&w, &mut g))
}

fn cfg(toml: &str) -> RuleConfig {
    toml::from_str(toml).unwrap()
}

#[test]
fn every_rule_lowers_quadratic_and_rosenbrock() {
    // (config for the quadratic, bound, config for Rosenbrock, bound). The bounds are final
    // losses after 1000 steps; initial losses are 24.5 (quadratic) and 24.2 (Rosenbrock).
    let table: Vec<(&str, &str, f64, &str, f64)> = vec![
        (
            "GradientDescent",
            "rule='gradient_descent'\nlearning_rate=0.05",
            1e-43,
            "rule='gradient_descent'\nlearning_rate=0.001",
            1.0,
        ),
        (
            "Adadelta",
            "rule='adadelta'\nlearning_rate=1.0\nepsilon=1e-4",
            0.2,
            "rule='adadelta'\nlearning_rate=1.0\nepsilon=1e-4",
            2.5,
        ),
        (
            "Adagrad",
            "rule='adagrad'\nlearning_rate=0.5",
            1e-68,
            "rule='adagrad'\nlearning_rate=0.1",
            3.1,
        ),
        (
            "AdagradDA (T=1)",
            "rule='adagrad_da'\nlearning_rate=1.0",
            1e-300,
            "rule='adagrad_da'\nlearning_rate=0.05",
            0.8,
        ),
        (
            "Momentum",
            "rule='momentum'\nlearning_rate=0.01\nmomentum=0.9",
            1e-44,
            "rule='momentum'\nlearning_rate=0.0005\nmomentum=0.9",
            6e-3,
        ),
        (
            "Momentum (Nesterov)",
            "rule='momentum'\nlearning_rate=0.01\nmomentum=0.9\nuse_nesterov=true",
            1e-49,
            "rule='momentum'\nlearning_rate=0.0005\nmomentum=0.9\nuse_nesterov=true",
            7e-3,
        ),
        ("Adam", "rule='adam'\nlearning_rate=0.1", 2e-44, "rule='adam'\nlearning_rate=0.02", 0.3),
        ("Ftrl", "rule='ftrl'\nlearning_rate=1.0", 1e-257, "rule='ftrl'\nlearning_rate=0.1", 3.1),
        (
            "ProximalGradientDescent",
            "rule='proximal_gradient_descent'\nlearning_rate=0.05",
            1e-43,
            "rule='proximal_gradient_descent'\nlearning_rate=0.001",
            1.0,
        ),
        (
            "ProximalAdagrad",
            "rule='proximal_adagrad'\nlearning_rate=0.5",
            1e-68,
            "rule='proximal_adagrad'\nlearning_rate=0.1",
            3.1,
        ),
        (
            "RMSProp",
            "rule='rms_prop'\nlearning_rate=0.01",
            3e-4,
            "rule='rms_prop'\nlearning_rate=0.001",
            4.8,
        ),
        (
            "RMSProp (centered, momentum)",
            "rule='rms_prop'\nlearning_rate=0.001\nmomentum=0.9\ncentered=true",
            2e-6,
            "rule='rms_prop'\nlearning_rate=0.0005\nmomentum=0.9\ncentered=true",
            4e-5,
        ),
        ("Sgd", "rule='sgd'\nlearning_rate=0.05", 1e-43, "rule='sgd'\nlearning_rate=0.001", 1.0),
        (
            "LayerAdam (constant)",
            "rule='layer_adam'\nlearning_rate=0.1",
            1e-45,
            "rule='layer_adam'\nlearning_rate=0.02",
            1.7,
        ),
        (
            "LayerAdam (true)",
            "rule='layer_adam'\nlearning_rate=0.1\nbias_correction='true'",
            2e-44,
            "rule='layer_adam'\nlearning_rate=0.02\nbias_correction='true'",
            0.3,
        ),
    ];
    eprintln!("| rule | quadratic: config | final | Rosenbrock: config | final |");
    eprintln!("|---|---|---|---|---|");
    let mut failures = Vec::new();
    for (name, q, q_bound, r, r_bound) in table {
        let (qc, rc) = (cfg(q), cfg(r));
        let (q0, q1) = minimise(&qc, quadratic, [3.0, -2.0]);
        let (r0, r1) = minimise(&rc, rosenbrock, [-1.2, 1.0]);
        assert_eq!((q0, r0), (24.5, 24.199999999999996));
        let short = |s: &str| s.replace('\n', ", ").replace("rule=", "");
        eprintln!("| {name} | {} | {q1:.3e} | {} | {r1:.3e} |", short(q), short(r));
        if !(q1 < q_bound && q1 < q0) {
            failures.push(format!("{name} quadratic {q1:e} >= {q_bound:e}"));
        }
        if !(r1 < r_bound && r1 < r0) {
            failures.push(format!("{name} Rosenbrock {r1:e} >= {r_bound:e}"));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}
