//! Helpers shared by the integration tests.

#![allow(dead_code)]

use handprop_optim::{Float, RuleConfig};

/// The tensor lengths of the small three-tensor model the rule tests step.
pub const LENS: [usize; 3] = [5, 8, 3];

/// Deterministic starting parameters of [`LENS`]' tensors.
pub fn params<F: Float>() -> Vec<Vec<F>> {
    LENS.iter()
        .enumerate()
        .map(|(t, &n)| {
            (0..n).map(|i| F::from_f64_rounded(((i + 2 * t) as f64 * 0.7).cos())).collect()
        })
        .collect()
}

/// The gradients of step `step` for [`LENS`]' tensors, rounded to `F`.
pub fn grads<F: Float>(step: usize) -> Vec<Vec<F>> {
    grads_at(step, &LENS)
        .into_iter()
        .map(|g| g.into_iter().map(F::from_f64_rounded).collect())
        .collect()
}

/// One config per rule and per branch, with learning rates that make every rule move.
pub fn all_rule_configs() -> Vec<RuleConfig> {
    let toml = r#"
        [[r]]
        rule = "gradient_descent"
        learning_rate = 0.01
        [[r]]
        rule = "adadelta"
        learning_rate = 1.0
        [[r]]
        rule = "adagrad"
        learning_rate = 0.1
        [[r]]
        rule = "adagrad_da"
        learning_rate = 0.1
        [[r]]
        rule = "adagrad_da"
        learning_rate = 0.1
        l1_regularization_strength = 0.001
        l2_regularization_strength = 0.01
        advance_global_step = true
        [[r]]
        rule = "momentum"
        learning_rate = 0.01
        momentum = 0.9
        [[r]]
        rule = "momentum"
        learning_rate = 0.01
        momentum = 0.9
        use_nesterov = true
        [[r]]
        rule = "adam"
        learning_rate = 0.01
        [[r]]
        rule = "ftrl"
        learning_rate = 0.1
        [[r]]
        rule = "ftrl"
        learning_rate = 0.1
        learning_rate_power = -0.3
        l1_regularization_strength = 0.001
        l2_regularization_strength = 0.01
        l2_shrinkage_regularization_strength = 0.01
        [[r]]
        rule = "proximal_gradient_descent"
        learning_rate = 0.01
        l1_regularization_strength = 0.001
        l2_regularization_strength = 0.01
        [[r]]
        rule = "proximal_adagrad"
        learning_rate = 0.1
        l1_regularization_strength = 0.001
        [[r]]
        rule = "rms_prop"
        learning_rate = 0.01
        [[r]]
        rule = "rmsprop"
        learning_rate = 0.01
        momentum = 0.5
        centered = true
        [[r]]
        rule = "sgd"
        learning_rate = 0.01
        [[r]]
        rule = "layer_adam"
        learning_rate = 0.01
        [[r]]
        rule = "layer_adam"
        learning_rate = 0.01
        bias_correction = "true"
    "#;
    #[derive(serde::Deserialize)]
    struct List {
        r: Vec<RuleConfig>,
    }
    toml::from_str::<List>(toml).unwrap().r
}

/// Deterministic pseudo-gradients for step `step`: mixed signs and magnitudes.
pub fn grads_at(step: usize, lens: &[usize]) -> Vec<Vec<f64>> {
    lens.iter()
        .enumerate()
        .map(|(t, &n)| {
            (0..n)
                .map(|i| ((step * 7 + i * 3 + t * 11) as f64 * 0.37).sin() * (1.0 + (i % 3) as f64))
                .collect()
        })
        .collect()
}
