//! The meaning of `configs/cases/study.toml`, pinned against the study's case table
//! (docs/study.md): a typo such as `d = 0.8` for 0.08, a swapped rule or a lost quirk fails here.

mod common;

use common::configs_dir;
use handprop_optim::HyperValue;
use handprop_runner::config::CaseSpec;
use handprop_runner::Config;

/// A case as the study defines it: label, gradient seed, routing (kind, P, D), rule, the
/// hyperparameters that must resolve to the given values (`None`: the trial's η), and noise.
struct Expected {
    label: &'static str,
    gradient: &'static str,
    routing: (&'static str, Option<(f32, f32)>),
    rule: &'static str,
    params: &'static [(&'static str, Option<f64>)],
    noise: bool,
}

const LAYER_ADAM: &[(&str, Option<f64>)] = &[
    ("learning_rate", None),
    ("beta1", Some(0.9)),
    ("beta2", Some(0.999)),
    ("epsilon", Some(1e-8)),
];
const LR: &[(&str, Option<f64>)] = &[("learning_rate", None)];

fn case(
    label: &'static str,
    gradient: &'static str,
    routing: (&'static str, Option<(f32, f32)>),
    rule: &'static str,
    params: &'static [(&'static str, Option<f64>)],
    noise: bool,
) -> Expected {
    Expected { label, gradient, routing, rule, params, noise }
}

fn study() -> Vec<Expected> {
    let std = ("standard", None);
    let m = "manual";
    let x = "exact";
    vec![
        case("Google Brain noise + standard BP", m, std, "sgd", LR, true),
        case(
            "Dilated ADAM, sparse",
            m,
            ("sparse", Some((1000.0, 0.08))),
            "layer_adam",
            LAYER_ADAM,
            false,
        ),
        // The code ran SGD + noise here (the post says Adam + noise).
        case("Dilated, sparse + noise", m, ("sparse", Some((1000.0, 0.08))), "sgd", LR, true),
        case(
            "Dilated ADAM, dense by addition",
            m,
            ("dense_add", Some((1000.0, 0.08))),
            "layer_adam",
            LAYER_ADAM,
            false,
        ),
        case(
            "Dilated ADAM, dense by multiplication",
            m,
            ("dense_mul", Some((1000.0, 0.08))),
            "layer_adam",
            LAYER_ADAM,
            false,
        ),
        case(
            "Dilated ADAM, dense by addition (2)",
            m,
            ("dense_add", Some((800.0, 0.064))),
            "layer_adam",
            LAYER_ADAM,
            false,
        ),
        // The code ran the hybrid routing here (the post says dense-add).
        case(
            "Dilated ADAM, dense (3)",
            m,
            ("hybrid", Some((500.0, 0.04))),
            "layer_adam",
            LAYER_ADAM,
            false,
        ),
        case("GradientDescent", x, std, "gradient_descent", LR, false),
        case(
            "Adadelta",
            x,
            std,
            "adadelta",
            &[("learning_rate", None), ("rho", Some(0.95)), ("epsilon", Some(1e-8))],
            false,
        ),
        case(
            "Adagrad",
            x,
            std,
            "adagrad",
            &[("learning_rate", None), ("initial_accumulator_value", Some(0.1))],
            false,
        ),
        case(
            "AdagradDA",
            x,
            std,
            "adagrad_da",
            &[
                ("learning_rate", None),
                ("initial_gradient_squared_accumulator_value", Some(0.1)),
                ("l1_regularization_strength", Some(0.0)),
                ("l2_regularization_strength", Some(0.0)),
            ],
            false,
        ),
        // As coded: momentum = η.
        case("Momentum", x, std, "momentum", &[("learning_rate", None), ("momentum", None)], false),
        case(
            "Adam",
            x,
            std,
            "adam",
            &[
                ("learning_rate", None),
                ("beta1", Some(0.9)),
                ("beta2", Some(0.999)),
                ("epsilon", Some(1e-8)),
            ],
            false,
        ),
        case(
            "Ftrl",
            x,
            std,
            "ftrl",
            &[
                ("learning_rate", None),
                ("learning_rate_power", Some(-0.5)),
                ("initial_accumulator_value", Some(0.1)),
                ("l1_regularization_strength", Some(0.0)),
                ("l2_regularization_strength", Some(0.0)),
            ],
            false,
        ),
        case(
            "ProximalGradientDescent",
            x,
            std,
            "proximal_gradient_descent",
            &[
                ("learning_rate", None),
                ("l1_regularization_strength", Some(0.0)),
                ("l2_regularization_strength", Some(0.0)),
            ],
            false,
        ),
        case(
            "ProximalAdagrad",
            x,
            std,
            "proximal_adagrad",
            &[
                ("learning_rate", None),
                ("initial_accumulator_value", Some(0.1)),
                ("l1_regularization_strength", Some(0.0)),
                ("l2_regularization_strength", Some(0.0)),
            ],
            false,
        ),
        case(
            "RMSProp",
            x,
            std,
            "rms_prop",
            &[
                ("learning_rate", None),
                ("decay", Some(0.9)),
                ("momentum", Some(0.0)),
                ("epsilon", Some(1e-10)),
            ],
            false,
        ),
    ]
}

fn number(case: &CaseSpec, eta: f64, name: &str) -> f64 {
    let table = case.rule_hyperparameters(eta).unwrap();
    match table.iter().find(|(k, _)| *k == name) {
        Some((_, HyperValue::Number(v))) => *v,
        other => panic!("{}: {name} is {other:?}", case.label),
    }
}

#[test]
fn the_study_case_table_means_what_the_study_says() {
    check(&Config::load(&configs_dir().join("smoke.toml")).unwrap());
}

/// Panics naming the first case that differs from [`study`].
fn check(config: &Config) {
    let expected = study();
    assert_eq!(config.cases.len(), expected.len());
    for (i, (case, want)) in config.cases.iter().zip(&expected).enumerate() {
        let at = format!("case {i} ({})", want.label);
        assert_eq!(case.label, want.label, "{at}");
        assert_eq!(case.gradient_name(), want.gradient, "{at}");
        assert_eq!(
            case.gradient_group(),
            if want.gradient == "manual" { "hand-made" } else { "tf1" }
        );
        assert_eq!(case.routing_name(), want.routing.0, "{at}");
        let routing = serde_json::to_value(case.routing).unwrap();
        let pd = routing
            .get("p")
            .map(|p| (p.as_f64().unwrap() as f32, routing["d"].as_f64().unwrap() as f32));
        assert_eq!(pd, want.routing.1, "{at}: routing P, D");
        assert_eq!(case.rule_name(), want.rule, "{at}");
        // Each hyperparameter at two trials' η: fixed ones keep their value, η-valued ones follow.
        for eta in [0.001, 0.0025] {
            for (name, value) in want.params {
                let got = number(case, eta, name);
                let want = value.unwrap_or(eta);
                assert_eq!(got as f32, want as f32, "{at}: {name} at η = {eta}");
            }
        }
        match (&case.noise, want.noise) {
            (None, false) => {}
            (Some(_), true) => {
                let (name, table) = case.noise_hyperparameters().unwrap().unwrap();
                assert_eq!(name, "gradient_noise", "{at}");
                let get = |k: &str| table.iter().find(|(n, _)| *n == k).map(|(_, v)| *v);
                assert_eq!(get("form"), Some(HyperValue::Text("scalar")), "{at}");
                assert_eq!(get("sigma0"), Some(HyperValue::Number(0.001)), "{at}");
                assert_eq!(get("gamma"), Some(HyperValue::Number(0.55)), "{at}");
            }
            (got, _) => panic!("{at}: noise {got:?}, expected {}", want.noise),
        }
    }
    // The quirks the study keeps on purpose.
    let quirk = |i: usize, k: &str| config.cases[i].update.get(k).cloned();
    assert_eq!(quirk(10, "advance_global_step"), Some(toml::Value::Boolean(false)));
    assert_eq!(
        quirk(1, "bias_correction"),
        None,
        "LayerAdam's constant bias correction is the default"
    );
    let h = config.cases[1].rule_hyperparameters(0.001).unwrap();
    assert!(h.contains(&("bias_correction", HyperValue::Text("constant"))), "{h:?}");
}

#[test]
fn a_typo_in_the_table_is_caught() {
    // The check above is not vacuous: the same table with d = 0.8 for case 1 fails it.
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(tmp.path().join("cases")).unwrap();
    let table = std::fs::read_to_string(configs_dir().join("cases/study.toml")).unwrap();
    let typo = table.replacen("p = 1000.0, d = 0.08 }", "p = 1000.0, d = 0.8 }", 1);
    assert_ne!(typo, table);
    std::fs::write(tmp.path().join("cases/study.toml"), typo).unwrap();
    std::fs::copy(configs_dir().join("smoke.toml"), tmp.path().join("smoke.toml")).unwrap();
    let config = Config::load(&tmp.path().join("smoke.toml")).unwrap();
    let err =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| check(&config))).unwrap_err();
    let message = err.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(message.contains("case 1 (Dilated ADAM, sparse): routing P, D"), "{message}");
}
