//! The registry, the type-erased rules it builds, and `chain`: same bits as the enum-dispatched
//! rules and the in-place noise they replace, typed errors naming the name or field, state
//! restore, user-registered rules, use from several threads.

mod common;

use handprop_optim::{
    chain, parse_table, BoxedRule, BuildError, DynState, Float, GradientNoise, GradientTransform,
    HyperValue, NoSlots, NoiseForm, NoiseState, Registry, Rule, RuleConfig, Sgd, Table,
    UpdateError, UpdateRule,
};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use common::{grads, params, LENS};

fn bits<F: Float>(w: &[Vec<F>]) -> Vec<u64> {
    w.iter().flatten().map(|x| x.widen().to_bits()).collect()
}

fn table(text: &str) -> Table {
    toml::from_str(text).unwrap()
}

/// A config as the registry's table.
fn as_table(config: &RuleConfig) -> Table {
    Table::try_from(config).unwrap()
}

fn registry_matches_enum_dispatch<F: Float>() {
    let registry = Registry::<F>::tf1();
    for config in common::all_rule_configs() {
        let old: Rule<F> = config.build().unwrap();
        let new: BoxedRule<F> = registry.build_rule(&as_table(&config)).unwrap();
        assert_eq!(new.name(), old.name());
        assert_eq!(new.hyperparameter_table(), UpdateRule::hyperparameter_table(&old));
        let (mut w_old, mut w_new) = (params::<F>(), params::<F>());
        let (mut s_old, mut s_new) = (old.init(&LENS), new.init(&LENS));
        for s in 0..6 {
            let g = grads::<F>(s);
            old.update(
                &mut s_old,
                w_old.iter_mut().map(|w| &mut w[..]).zip(g.iter().map(|g| &g[..])),
            )
            .unwrap();
            new.update(
                &mut s_new,
                w_new.iter_mut().map(|w| &mut w[..]).zip(g.iter().map(|g| &g[..])),
            )
            .unwrap();
        }
        assert_eq!(bits(&w_new), bits(&w_old), "{}", config.name());
        assert_ne!(bits(&w_new), bits(&params::<F>()), "{}", config.name());
        // The erased state serialises exactly like the concrete one inside RuleState.
        let concrete = serde_json::to_value(&s_old).unwrap();
        let inner = concrete.as_object().unwrap().values().next().unwrap();
        assert_eq!(&serde_json::to_value(&s_new).unwrap(), inner, "{}", config.name());
    }
}

#[test]
fn registry_rules_are_bit_identical_to_rule_config_f32() {
    registry_matches_enum_dispatch::<f32>();
}

#[test]
fn registry_rules_are_bit_identical_to_rule_config_f64() {
    registry_matches_enum_dispatch::<f64>();
}

#[test]
fn registered_names_and_their_errors() {
    let registry = Registry::<f32>::default();
    assert_eq!(
        registry.rule_names(),
        [
            "adadelta",
            "adagrad",
            "adagrad_da",
            "adam",
            "ftrl",
            "gradient_descent",
            "layer_adam",
            "momentum",
            "proximal_adagrad",
            "proximal_gradient_descent",
            "rms_prop",
            "rmsprop",
            "sgd"
        ]
    );
    assert_eq!(registry.transform_names(), ["gradient_noise"]);

    let err = registry.build_rule(&table("rule = \"lion\"\nlearning_rate = 0.1")).unwrap_err();
    assert!(matches!(&err, BuildError::Unknown { name, .. } if name == "lion"), "{err}");
    let msg = err.to_string();
    assert!(msg.contains("lion") && msg.contains("adam") && msg.contains("layer_adam"), "{msg}");

    let err = registry.build_rule(&table("learning_rate = 0.1")).unwrap_err();
    assert!(matches!(err, BuildError::MissingName { key: "rule", .. }), "{err}");
    let err = registry.build_rule(&table("rule = 3")).unwrap_err();
    assert!(matches!(err, BuildError::MissingName { .. }), "{err}");

    let field = |text: &str| match registry.build_rule(&table(text)).unwrap_err() {
        BuildError::Field { field, message, .. } => (field, message),
        other => panic!("{text}: {other}"),
    };
    // Unknown, mistyped and missing fields are named.
    assert_eq!(field("rule = \"adam\"\nbeta3 = 0.5").0.as_deref(), Some("beta3"));
    let (f, message) = field("rule = \"adam\"\nbeta1 = \"fast\"");
    assert_eq!(f.as_deref(), Some("beta1"), "{message}");
    assert_eq!(
        field("rule = \"momentum\"\nlearning_rate = 0.1\nuse_nesterov = 1").0.as_deref(),
        Some("use_nesterov")
    );
    assert_eq!(field("rule = \"momentum\"\nlearning_rate = 0.1").0.as_deref(), Some("momentum"));
    assert_eq!(
        field("rule = \"sgd\"\nlearning_rate = 0.1\nmomentum = 0.9").0.as_deref(),
        Some("momentum")
    );
    let msg =
        registry.build_rule(&table("rule = \"adam\"\nbeta1 = \"fast\"")).unwrap_err().to_string();
    assert!(msg.contains("adam") && msg.contains("beta1"), "{msg}");

    // Values out of range are HyperErrors naming field and value as written.
    let err = registry.build_rule(&table("rule = \"rms_prop\"\nlearning_rate = 0.1\ndecay = 1.5"));
    match err.unwrap_err() {
        BuildError::Hyper(e) => assert_eq!((e.rule, e.field, e.value), ("RMSProp", "decay", 1.5)),
        other => panic!("{other}"),
    }

    // Transforms: the study's tables name no transform; an explicit one works too.
    assert!(registry.build_transform(&table("form = \"scalar\"")).is_ok());
    assert!(registry
        .build_transform(&table("transform = \"gradient_noise\"\nform = \"paper\""))
        .is_ok());
    let err = registry.build_transform(&table("form = \"paper\"\nsigma0 = 0.1")).unwrap_err();
    assert!(matches!(&err, BuildError::Field { field: Some(f), .. } if f == "sigma0"), "{err}");
    let err = registry.build_transform(&table("transform = \"clip\"")).unwrap_err();
    assert!(err.to_string().contains("gradient_noise"), "{err}");
}

#[test]
fn hyperparameter_tables_show_what_the_kernel_sees() {
    let registry = Registry::<f64>::tf1();
    let adam = registry.build_rule(&table("rule = \"adam\"")).unwrap();
    assert_eq!(
        adam.hyperparameter_table(),
        vec![
            ("learning_rate", HyperValue::Number(f64::from(0.001f32))),
            ("beta1", HyperValue::Number(f64::from(0.9f32))),
            ("beta2", HyperValue::Number(f64::from(0.999f32))),
            ("epsilon", HyperValue::Number(f64::from(1e-8f32))),
            ("power_dtype", HyperValue::Text("f32")),
        ]
    );
    let exact = Registry::<f64>::with_precision(handprop_optim::HyperPrecision::Exact);
    let adam = exact.build_rule(&table("rule = \"adam\"")).unwrap();
    assert_eq!(adam.hyperparameter_table()[1], ("beta1", HyperValue::Number(0.9)));
    assert_eq!(adam.hyperparameter_table()[4], ("power_dtype", HyperValue::Text("f64")));
    let case0 = registry
        .build_case(
            &table("rule = \"sgd\"\nlearning_rate = 0.5"),
            Some(&table("form = \"scalar\"")),
            ChaCha8Rng::seed_from_u64(1),
        )
        .unwrap();
    let names: Vec<_> = case0.hyperparameter_table().into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, ["form", "sigma0", "gamma", "learning_rate"]);
    assert_eq!(HyperValue::Number(0.1).to_string(), "0.1");
}

/// Case 0 as the runner ran it before: noise added to the gradients in place, then Sgd.
fn old_case0(form: NoiseForm, steps: usize, seed: u64) -> Vec<Vec<f32>> {
    let noise = GradientNoise::new(form).unwrap();
    let rule: Rule<f32> = RuleConfig::Sgd { learning_rate: 0.05 }.build().unwrap();
    let mut noise_state = noise.init(ChaCha8Rng::seed_from_u64(seed));
    let mut state = rule.init(&LENS);
    let mut w = params::<f32>();
    for s in 0..steps {
        let epoch = (s / 3) as u64;
        let mut g = grads::<f32>(s);
        noise.apply(&mut noise_state, epoch, g.iter_mut().map(|g| &mut g[..]));
        rule.update(
            &mut state,
            w.iter_mut().map(|w| &mut w[..]).zip(g.iter_mut().map(|g| &mut g[..])),
        )
        .unwrap();
    }
    w
}

#[test]
fn chained_noise_and_sgd_equal_in_place_noise_then_sgd_bit_for_bit() {
    for (form, text) in [
        (NoiseForm::Scalar { sigma0: 0.3, gamma: 0.55 }, "form = \"scalar\"\nsigma0 = 0.3"),
        (NoiseForm::Paper { eta: 0.3, gamma: 0.55 }, "form = \"paper\"\neta = 0.3"),
    ] {
        let want = old_case0(form, 9, 42);
        // Generic chain of concrete types.
        let typed = chain(
            GradientNoise::new(form).unwrap(),
            Sgd::<f32>::new(0.05).unwrap(),
            ChaCha8Rng::seed_from_u64(42),
        );
        // And the registry's boxed chain.
        let boxed = Registry::<f32>::tf1()
            .build_case(
                &table("rule = \"sgd\"\nlearning_rate = 0.05"),
                Some(&table(text)),
                ChaCha8Rng::seed_from_u64(42),
            )
            .unwrap();
        let mut typed_state = typed.init(&LENS);
        let mut boxed_state = boxed.init(&LENS);
        let (mut w1, mut w2) = (params::<f32>(), params::<f32>());
        for s in 0..9 {
            let epoch = (s / 3) as u64;
            let g = grads::<f32>(s);
            typed.set_epoch(&mut typed_state, epoch);
            boxed.set_epoch(&mut boxed_state, epoch).unwrap();
            typed
                .update(
                    &mut typed_state,
                    w1.iter_mut().map(|w| &mut w[..]).zip(g.iter().map(|g| &g[..])),
                )
                .unwrap();
            boxed
                .update(
                    &mut boxed_state,
                    w2.iter_mut().map(|w| &mut w[..]).zip(g.iter().map(|g| &g[..])),
                )
                .unwrap();
            // The caller's gradients are read only.
            assert_eq!(bits(&g), bits(&grads::<f32>(s)));
        }
        assert_eq!(bits(&w1), bits(&want), "{form:?}");
        assert_eq!(bits(&w2), bits(&want), "{form:?}");
        assert_eq!(typed_state.transform.step, 9);
        // Without noise the result differs (the noise really was applied).
        let plain = Sgd::<f32>::new(0.05).unwrap();
        let mut st = plain.init(&LENS);
        let mut w3 = params::<f32>();
        for s in 0..9 {
            let g = grads::<f32>(s);
            plain
                .update(&mut st, w3.iter_mut().map(|w| &mut w[..]).zip(g.iter().map(|g| &g[..])))
                .unwrap();
        }
        assert_ne!(bits(&w3), bits(&want));
    }
}

#[test]
fn erased_and_chained_states_restore_bit_identically() {
    let registry = Registry::<f64>::tf1();
    let cases = [
        (table("rule = \"adam\"\nlearning_rate = 0.01"), None),
        (table("rule = \"layer_adam\"\nlearning_rate = 0.01"), Some(table("form = \"paper\""))),
        (
            table("rule = \"sgd\"\nlearning_rate = 0.01"),
            Some(table("form = \"scalar\"\nsigma0 = 0.1")),
        ),
    ];
    for (update, noise) in cases {
        let rule =
            registry.build_case(&update, noise.as_ref(), ChaCha8Rng::seed_from_u64(5)).unwrap();
        let mut state = rule.init(&LENS);
        let mut w = params::<f64>();
        let step = |state: &mut DynState, w: &mut Vec<Vec<f64>>, s: usize| {
            let g = grads::<f64>(s);
            rule.set_epoch(state, s as u64).unwrap();
            rule.update(state, w.iter_mut().map(|w| &mut w[..]).zip(g.iter().map(|g| &g[..])))
                .unwrap();
        };
        for s in 0..4 {
            step(&mut state, &mut w, s);
        }
        let json = serde_json::to_string(&state).unwrap();
        let mut restored: DynState = serde_json::from_str(&json).unwrap();
        assert_eq!(restored.owner(), None);
        let mut w2 = w.clone();
        for s in 4..8 {
            step(&mut state, &mut w, s);
            step(&mut restored, &mut w2, s);
        }
        assert_eq!(bits(&w), bits(&w2), "{update:?}");
        assert_eq!(
            serde_json::to_string(&state).unwrap(),
            serde_json::to_string(&restored).unwrap()
        );
        assert_eq!(restored.owner(), Some(rule.name()));
    }
}

#[test]
fn foreign_and_corrupt_states_are_typed_errors() {
    let registry = Registry::<f32>::tf1();
    let adam = registry.build_rule(&table("rule = \"adam\"")).unwrap();
    let sgd = registry.build_rule(&table("rule = \"sgd\"\nlearning_rate = 0.1")).unwrap();
    let mut sgd_state = sgd.init(&[2]);
    let (mut w, g) = (vec![0.0f32; 2], vec![1.0f32; 2]);
    let err = adam.update(&mut sgd_state, [(&mut w[..], &g[..])]).unwrap_err();
    assert_eq!(err, UpdateError::StateKind { rule: "Adam", state: "Sgd" });
    // A restored Sgd state (only `lens`) does not parse as Adam's.
    let mut restored: DynState =
        serde_json::from_str(&serde_json::to_string(&sgd_state).unwrap()).unwrap();
    let err = adam.update(&mut restored, [(&mut w[..], &g[..])]).unwrap_err();
    assert!(
        matches!(&err, UpdateError::Restore { rule: "Adam", message } if message.contains("beta1_power")),
        "{err}"
    );
    // Length mismatches still come from the rule, through the chain too.
    let case0 = registry
        .build_case(
            &table("rule = \"sgd\"\nlearning_rate = 0.1"),
            Some(&table("form = \"scalar\"")),
            ChaCha8Rng::seed_from_u64(0),
        )
        .unwrap();
    let mut state = case0.init(&[2]);
    let (mut w3, g3) = (vec![0.0f32; 3], vec![1.0f32; 3]);
    let err = case0.update(&mut state, [(&mut w3[..], &g3[..])]).unwrap_err();
    assert!(matches!(err, UpdateError::StateLength { index: 0, params: 3, state: 2, .. }), "{err}");
    let err =
        case0.update(&mut state, [(&mut w[..], &g3[..2]), (&mut w3[..], &g3[..])]).unwrap_err();
    assert!(matches!(err, UpdateError::TensorCount { expected: 1, .. }), "{err}");
}

/// A toy rule as a user's crate would write it: sign descent, `w ← w − η·sign(g)`.
#[derive(Debug)]
struct SignDescent {
    learning_rate: f32,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct SignDescentConfig {
    learning_rate: f64,
}

impl UpdateRule<f32> for SignDescent {
    type State = NoSlots;
    fn name(&self) -> &'static str {
        "SignDescent"
    }
    fn hyperparameter_table(&self) -> handprop_optim::Hyperparameters {
        vec![("learning_rate", HyperValue::Number(f64::from(self.learning_rate)))]
    }
    fn init(&self, lens: &[usize]) -> NoSlots {
        NoSlots { lens: lens.to_vec() }
    }
    fn update<'a, I>(&self, state: &mut NoSlots, params_and_grads: I) -> Result<(), UpdateError>
    where
        I: IntoIterator<Item = (&'a mut [f32], &'a [f32])>,
    {
        for (index, (w, g)) in params_and_grads.into_iter().enumerate() {
            if w.len() != g.len() || state.lens.get(index) != Some(&w.len()) {
                return Err(UpdateError::GradientLength {
                    rule: "SignDescent",
                    index,
                    params: w.len(),
                    grads: g.len(),
                });
            }
            for (w, g) in w.iter_mut().zip(g) {
                *w -= self.learning_rate * g.signum();
            }
        }
        Ok(())
    }
}

#[test]
fn a_user_rule_registers_and_builds_from_several_threads() {
    let mut registry = Registry::<f32>::tf1();
    registry
        .register_rule("sign_descent", |t: &Table| {
            let c: SignDescentConfig = parse_table("sign_descent", t)?;
            Ok(SignDescent { learning_rate: c.learning_rate as f32 })
        })
        .unwrap();
    let err = registry
        .register_rule("adam", |_: &Table| Ok(SignDescent { learning_rate: 1.0 }))
        .unwrap_err();
    assert!(matches!(err, BuildError::Duplicate { kind: "rule", .. }), "{err}");
    assert!(registry.rule_names().contains(&"sign_descent"));
    let err = registry.build_rule(&table("rule = \"sign_descent\"\nlr = 0.1")).unwrap_err();
    assert!(matches!(&err, BuildError::Field { field: Some(f), .. } if f == "lr"), "{err}");

    // The runner's workers share one registry.
    fn shared<T: Send + Sync>(_: &T) {}
    shared(&registry);
    let results: Vec<Vec<f32>> = std::thread::scope(|scope| {
        let handles: Vec<_> = [0.5f64, 0.25]
            .into_iter()
            .map(|lr| {
                let registry = &registry;
                scope.spawn(move || {
                    let mut t = table("rule = \"sign_descent\"");
                    t.insert("learning_rate".into(), toml::Value::Float(lr));
                    let rule = registry
                        .build_case(
                            &t,
                            Some(&table("form = \"scalar\"\nsigma0 = 0.0")),
                            ChaCha8Rng::seed_from_u64(0),
                        )
                        .unwrap();
                    let mut state = rule.init(&[3]);
                    let mut w = vec![0.0f32; 3];
                    let g = [2.0f32, -0.5, 0.0];
                    rule.update(&mut state, [(&mut w[..], &g[..])]).unwrap();
                    w
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    // σ = 0 noise leaves g as is; sign(0.0) is +1 for f32::signum.
    assert_eq!(results, [vec![-0.5, 0.5, -0.5], vec![-0.25, 0.25, -0.25]]);
}

#[test]
fn noise_transform_trait_matches_the_old_entry_point() {
    let noise = GradientNoise::study();
    let mut a: NoiseState = noise.init(ChaCha8Rng::seed_from_u64(9));
    let mut b = GradientTransform::<f32>::init(&noise, &LENS, ChaCha8Rng::seed_from_u64(9));
    for epoch in [0u64, 0, 3, 7] {
        let (mut ga, mut gb) = (grads::<f32>(epoch as usize), grads::<f32>(epoch as usize));
        noise.apply(&mut a, epoch, ga.iter_mut().map(|g| &mut g[..]));
        GradientTransform::<f32>::set_epoch(&noise, &mut b, epoch);
        GradientTransform::<f32>::apply(&noise, &mut b, gb.iter_mut().map(|g| &mut g[..])).unwrap();
        assert_eq!(bits(&ga), bits(&gb));
        assert_ne!(bits(&ga), bits(&grads::<f32>(epoch as usize)));
    }
    assert_eq!(a, b);
}
