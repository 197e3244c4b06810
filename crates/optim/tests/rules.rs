//! Behaviour of the rules beyond TF parity: validation, state restore, dispatch errors, the
//! study's rules and the gradient-noise transform, and the TOML config surface.

mod common;

use handprop_optim::{
    Adagrad, AdagradDa, Adam, BiasCorrection, Float, Ftrl, GradientNoise, HyperError, LayerAdam,
    NoiseConfig, NoiseForm, PowerDtype, Rule, RuleConfig, RuleState, UpdateError, UpdateRule,
};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use common::{grads, params, LENS};

fn step<F: Float>(rule: &Rule<F>, state: &mut RuleState<F>, w: &mut [Vec<F>], g: &mut [Vec<F>]) {
    rule.update(state, w.iter_mut().map(|p| &mut p[..]).zip(g.iter_mut().map(|g| &mut g[..])))
        .unwrap();
}

fn bits<F: Float>(w: &[Vec<F>]) -> Vec<u64> {
    w.iter().flatten().map(|x| x.widen().to_bits()).collect()
}

fn restore_is_bit_identical<F: Float>() {
    for config in common::all_rule_configs() {
        let rule: Rule<F> = config.build().unwrap();
        let mut w = params::<F>();
        let mut state = rule.init(&LENS);
        for s in 0..5 {
            step(&rule, &mut state, &mut w, &mut grads(s));
        }
        let json = serde_json::to_string(&state).unwrap();
        let mut restored: RuleState<F> = serde_json::from_str(&json).unwrap();
        assert_eq!(restored, state, "{}", config.name());
        let mut w2 = w.clone();
        for s in 5..8 {
            step(&rule, &mut state, &mut w, &mut grads(s));
            step(&rule, &mut restored, &mut w2, &mut grads(s));
        }
        assert_eq!(bits(&w), bits(&w2), "{}: restored state diverged", config.name());
        assert_eq!(restored, state, "{}", config.name());
        // The rule must actually have moved the parameters.
        assert_ne!(bits(&w), bits(&params::<F>()), "{}", config.name());
    }
}

#[test]
fn restoring_a_serialised_state_gives_bit_identical_steps_f32() {
    restore_is_bit_identical::<f32>();
}

#[test]
fn restoring_a_serialised_state_gives_bit_identical_steps_f64() {
    restore_is_bit_identical::<f64>();
}

#[test]
fn hyperparameters_are_validated_like_tf() {
    let field = |e: HyperError| e.field;
    assert_eq!(field(Adagrad::<f32>::new(0.1, 0.0).unwrap_err()), "initial_accumulator_value");
    assert_eq!(field(Adagrad::<f32>::new(-0.1, 0.1).unwrap_err()), "learning_rate");
    assert_eq!(field(Adagrad::<f32>::new(f32::NAN, 0.1).unwrap_err()), "learning_rate");
    assert_eq!(field(Adagrad::<f32>::new(f32::INFINITY, 0.1).unwrap_err()), "learning_rate");
    assert_eq!(
        field(AdagradDa::<f64>::new(0.1, 0.0, 0.0, 0.0, false).unwrap_err()),
        "initial_gradient_squared_accumulator_value"
    );
    assert_eq!(
        field(AdagradDa::<f64>::new(0.1, 0.1, -1.0, 0.0, false).unwrap_err()),
        "l1_regularization_strength"
    );
    // Ftrl: lr_power must be <= 0, a zero initial accumulator is allowed, negative ones are not.
    assert_eq!(
        field(Ftrl::<f64>::new(0.1, 0.5, 0.1, 0.0, 0.0, 0.0).unwrap_err()),
        "learning_rate_power"
    );
    assert!(Ftrl::<f64>::new(0.1, 0.0, 0.0, 0.0, 0.0, 0.0).is_ok());
    assert_eq!(
        field(Ftrl::<f64>::new(0.1, -0.5, -0.1, 0.0, 0.0, 0.0).unwrap_err()),
        "initial_accumulator_value"
    );
    assert_eq!(
        field(Ftrl::<f64>::new(0.1, -0.5, 0.1, 0.0, 0.0, -0.1).unwrap_err()),
        "l2_shrinkage_regularization_strength"
    );
    assert_eq!(
        field(Adam::<f32>::new(0.1, 1.0, 0.999, 1e-8, PowerDtype::F32).unwrap_err()),
        "beta1"
    );
    assert_eq!(
        field(Adam::<f32>::new(0.1, 0.9, 0.999, 0.0, PowerDtype::F32).unwrap_err()),
        "epsilon"
    );
    // The error message names the rule, the field and the value.
    let msg = Adagrad::<f32>::new(0.1, 0.0).unwrap_err().to_string();
    assert!(
        msg.contains("Adagrad") && msg.contains("initial_accumulator_value") && msg.contains('0'),
        "{msg}"
    );
    // Config values are checked as written (before any f32 rounding).
    let e = RuleConfig::Momentum { learning_rate: 0.1, momentum: 1.5, use_nesterov: false }
        .build::<f32>()
        .unwrap_err();
    assert_eq!((e.field, e.value), ("momentum", 1.5));
    // A learning rate that overflows f32 is rejected rather than becoming infinite.
    assert!(RuleConfig::Sgd { learning_rate: 1e300 }.build::<f32>().is_err());
}

#[test]
fn mismatched_inputs_are_typed_errors() {
    let rule: Rule<f32> =
        RuleConfig::Adam { learning_rate: 0.1, beta1: 0.9, beta2: 0.999, epsilon: 1e-8 }
            .build()
            .unwrap();
    let mut state = rule.init(&[2, 3]);
    let (mut a, mut b, mut ga, mut gb) = (vec![0.0; 2], vec![0.0; 3], vec![1.0; 2], vec![1.0; 2]);
    let err = rule
        .update(&mut state, [(&mut a[..], &mut ga[..]), (&mut b[..], &mut gb[..])])
        .unwrap_err();
    assert!(
        matches!(err, UpdateError::GradientLength { index: 1, params: 3, grads: 2, .. }),
        "{err}"
    );
    let err = rule.update(&mut state, [(&mut a[..], &mut ga[..])]).unwrap_err();
    assert!(matches!(err, UpdateError::TensorCount { got: 1, expected: 2, .. }), "{err}");
    let mut gb3 = [1.0f32; 3];
    let mut c = [0.0f32; 3];
    let mut gc = [0.0f32; 3];
    let err = rule
        .update(
            &mut state,
            [(&mut a[..], &mut ga[..]), (&mut b[..], &mut gb3[..]), (&mut c[..], &mut gc[..])],
        )
        .unwrap_err();
    assert!(matches!(err, UpdateError::TensorCount { got: 3, expected: 2, .. }), "{err}");
    let mut wrong_len = [0.0f32; 4];
    let mut g4 = [0.0f32; 4];
    let err = rule.update(&mut state, [(&mut wrong_len[..], &mut g4[..])]).unwrap_err();
    assert!(matches!(err, UpdateError::StateLength { index: 0, params: 4, state: 2, .. }), "{err}");
    let other: Rule<f32> = RuleConfig::Sgd { learning_rate: 0.1 }.build().unwrap();
    let err = other.update(&mut state, [(&mut a[..], &mut ga[..])]).unwrap_err();
    assert_eq!(err, UpdateError::StateKind { rule: "Sgd", state: "Adam" });
}

#[test]
fn adam_beta_powers_advance_once_per_call_in_f32() {
    let adam = Adam::<f64>::new(0.001, 0.9, 0.999, 1e-8, PowerDtype::F32).unwrap();
    let mut state = adam.init(&[2, 2, 2]);
    let mut w = vec![vec![0.5f64; 2]; 3];
    let g = vec![vec![0.1f64; 2]; 3];
    for _ in 0..2 {
        adam.update(&mut state, w.iter_mut().map(|w| &mut w[..]).zip(g.iter().map(|g| &g[..])))
            .unwrap();
    }
    // Three tensors, two calls: β^3, computed in f32 from f32(β).
    let b = 0.9f64 as f32;
    assert_eq!(state.beta1_power, f64::from(b * b * b));
    assert_ne!(state.beta1_power, 0.9f64 * 0.9 * 0.9);
}

#[test]
fn adagrad_da_keeps_t_at_one_unless_told() {
    let run = |advance: bool| {
        let rule = AdagradDa::<f64>::new(0.1, 0.1, 0.01, 0.01, advance).unwrap();
        let mut state = rule.init(&[4]);
        let mut w = vec![1.0, -2.0, 0.5, 0.0];
        for s in 0..3 {
            let g: Vec<f64> = common::grads_at(s, &[4]).remove(0);
            rule.update(&mut state, [(&mut w[..], &g[..])]).unwrap();
        }
        (state.global_step, w)
    };
    let (fixed, w_fixed) = run(false);
    let (advanced, w_advanced) = run(true);
    assert_eq!((fixed, advanced), (0, 3));
    assert_ne!(w_fixed, w_advanced);
}

#[test]
fn layer_adam_constant_and_true_bias_correction() {
    let g0 = [0.5f64, -2.0, 0.0];
    let run = |bc: BiasCorrection, steps: usize| {
        let rule = LayerAdam::<f64>::new(0.01, 0.9, 0.999, 1e-8, bc).unwrap();
        let mut state = rule.init(&[3]);
        let mut w = vec![0.0; 3];
        for _ in 0..steps {
            let g = g0.to_vec();
            rule.update(&mut state, [(&mut w[..], &g[..])]).unwrap();
        }
        w
    };
    // Step 1: both corrections give m̂ = G, v̂ = G², so the step is η·G/(|G| + ε) ≈ ±η.
    for bc in [BiasCorrection::Constant, BiasCorrection::True] {
        let w = run(bc, 1);
        for (w, g) in w.iter().zip(g0) {
            let want = -0.01 * g / (g.abs() + 1e-8);
            assert!((w - want).abs() < 1e-12, "{bc:?}: {w} vs {want}");
        }
    }
    // With a constant gradient the true correction keeps the step at η, the constant one shrinks
    // it towards η·√(1−β2)/(1−β1) ≈ 0.316·η.
    let n = 3000;
    let (wc, wt) = (run(BiasCorrection::Constant, n), run(BiasCorrection::True, n));
    assert!((wt[0] + 0.01 * n as f64).abs() < 1e-6 * n as f64, "{}", wt[0]);
    let late_step = (run(BiasCorrection::Constant, n + 1)[0] - wc[0]).abs();
    assert!((late_step / 0.01 - (1.0 - 0.999f64).sqrt() / 0.1).abs() < 0.01, "{late_step}");
    assert_eq!(wc[2], 0.0);
}

#[test]
fn scalar_noise_is_one_shared_draw_with_decaying_sigma() {
    let noise = GradientNoise::study();
    let mut state = noise.init(ChaCha8Rng::seed_from_u64(7));
    let (mut a, mut b) = (vec![0.0f32; 4], vec![1.0f32; 3]);
    noise.apply(&mut state, 0, [&mut a[..], &mut b[..]]);
    let eps = a[0];
    assert_ne!(eps, 0.0);
    assert!(a.iter().all(|&x| x == eps));
    assert!(b.iter().all(|&x| x == 1.0 + eps));
    assert_eq!(state.step, 1);
    // σ_t = 0.001/(1+t)^0.55 as the standard deviation of the draws.
    for epoch in [0u64, 100] {
        let want = 0.001 / (1.0 + epoch as f64).powf(0.55);
        assert_eq!(noise.std_dev(&state, epoch), want);
        let n = 20_000;
        let mut sum_sq = 0.0;
        for _ in 0..n {
            let mut g = [0.0f64];
            noise.apply(&mut state, epoch, [&mut g[..]]);
            sum_sq += g[0] * g[0];
        }
        let sd = (sum_sq / n as f64).sqrt();
        assert!((sd / want - 1.0).abs() < 0.03, "epoch {epoch}: sd {sd} vs {want}");
    }
}

#[test]
fn paper_noise_is_per_element_with_variance_eta_over_step_power() {
    let noise = GradientNoise::new(NoiseForm::Paper { eta: 0.01, gamma: 0.55 }).unwrap();
    let mut state = noise.init(ChaCha8Rng::seed_from_u64(3));
    let mut g = vec![0.0f64; 20_000];
    noise.apply(&mut state, 999, [&mut g[..]]);
    let var = g.iter().map(|x| x * x).sum::<f64>() / g.len() as f64;
    assert!((var / 0.01 - 1.0).abs() < 0.05, "{var}");
    // The epoch argument is ignored; t is the state's step.
    assert_eq!(noise.std_dev(&state, 0), (0.01 / 2f64.powf(0.55)).sqrt());
    let distinct = g.iter().map(|x| x.to_bits()).collect::<std::collections::HashSet<_>>().len();
    assert_eq!(distinct, g.len());
}

#[test]
fn noise_state_restores_bit_identically() {
    let noise = NoiseConfig::Paper { eta: 0.001, gamma: 0.55 }.build().unwrap();
    let mut state = noise.init(ChaCha8Rng::seed_from_u64(11));
    noise.apply(&mut state, 0, [&mut vec![0.0f32; 10][..]]);
    let mut restored = serde_json::from_str(&serde_json::to_string(&state).unwrap()).unwrap();
    let (mut a, mut b) = (vec![0.0f32; 10], vec![0.0f32; 10]);
    noise.apply(&mut state, 1, [&mut a[..]]);
    noise.apply(&mut restored, 1, [&mut b[..]]);
    assert_eq!(a, b);
    assert_ne!(a, vec![0.0; 10]);
}

#[test]
fn toml_configs_take_tf1_defaults_and_reject_unknown_keys() {
    let adam: RuleConfig = toml::from_str("rule = \"adam\"").unwrap();
    assert_eq!(
        adam,
        RuleConfig::Adam { learning_rate: 0.001, beta1: 0.9, beta2: 0.999, epsilon: 1e-8 }
    );
    let rms: RuleConfig = toml::from_str("rule = \"rmsprop\"\nlearning_rate = 0.0025").unwrap();
    assert_eq!(
        rms,
        RuleConfig::RmsProp {
            learning_rate: 0.0025,
            decay: 0.9,
            momentum: 0.0,
            epsilon: 1e-10,
            centered: false
        }
    );
    let la: RuleConfig =
        toml::from_str("rule = \"layer_adam\"\nlearning_rate = 0.001\nbias_correction = \"true\"")
            .unwrap();
    assert!(
        matches!(la, RuleConfig::LayerAdam { bias_correction: BiasCorrection::True, beta2, .. } if beta2 == 0.999)
    );
    // deny_unknown_fields really works through the internally tagged enum.
    let err = toml::from_str::<RuleConfig>("rule = \"adam\"\nlearning_rate = 0.001\nbeta3 = 0.5")
        .unwrap_err();
    assert!(err.to_string().contains("beta3"), "{err}");
    let err = toml::from_str::<RuleConfig>("rule = \"sgd\"\nlearning_rate = 0.1\nmomentum = 0.9")
        .unwrap_err();
    assert!(err.to_string().contains("momentum"), "{err}");
    assert!(toml::from_str::<RuleConfig>("rule = \"adamw\"\nlearning_rate = 0.1").is_err());
    // Required fields stay required.
    let err = toml::from_str::<RuleConfig>("rule = \"momentum\"\nlearning_rate = 0.1").unwrap_err();
    assert!(err.to_string().contains("momentum"), "{err}");
    let noise: NoiseConfig = toml::from_str("form = \"scalar\"").unwrap();
    assert_eq!(noise, NoiseConfig::Scalar { sigma0: 0.001, gamma: 0.55 });
    let err = toml::from_str::<NoiseConfig>("form = \"paper\"\nsigma0 = 0.1").unwrap_err();
    assert!(err.to_string().contains("sigma0"), "{err}");
    // Round trip through TOML.
    for config in common::all_rule_configs() {
        let text = toml::to_string(&config).unwrap();
        assert_eq!(toml::from_str::<RuleConfig>(&text).unwrap(), config, "{text}");
    }
}

#[test]
fn python_float_precision_rounds_through_f32_for_f64() {
    let config = RuleConfig::Adagrad { learning_rate: 0.1, initial_accumulator_value: 0.1 };
    let Rule::Adagrad(python) = config.build::<f64>().unwrap() else { unreachable!() };
    let Rule::Adagrad(exact) =
        config.build_with::<f64>(handprop_optim::HyperPrecision::Exact).unwrap()
    else {
        unreachable!()
    };
    // The learning rate is f32-rounded, the initial accumulator (a slot value) is not.
    assert_eq!(python.hyperparameters(), (f64::from(0.1f32), 0.1));
    assert_eq!(exact.hyperparameters(), (0.1, 0.1));
}
