//! Every preset against TF1's defaults: the hyperparameters each `tf1(learning_rate)` preset
//! hands its kernel must be bit-identical to what real TensorFlow's kernel received in the
//! fixtures' `*/default_lr*` cases (TF1 constructors called with Python floats and only the
//! learning rate given), and the config defaults must be TF1's documented values.

use std::path::PathBuf;

use handprop_optim::{
    parse_table, Adadelta, AdadeltaConfig, Adagrad, AdagradConfig, AdagradDa, AdagradDaConfig,
    Adam, AdamConfig, BiasCorrection, Float, Ftrl, FtrlConfig, LayerAdam, LayerAdamConfig,
    MomentumConfig, PowerDtype, ProximalAdagrad, ProximalAdagradConfig, ProximalGradientDescent,
    ProximalGradientDescentConfig, RmsProp, RmsPropConfig, RuleConfig, Table,
};
use serde_json::Value;

fn from_hex<F: Float>(hex: &str) -> Vec<F> {
    let width = if F::DTYPE == "float32" { 8 } else { 16 };
    (0..hex.len() / width)
        .map(|i| {
            let bits = u64::from_str_radix(&hex[width * i..width * (i + 1)], 16).unwrap();
            let value = if width == 8 {
                f64::from(f32::from_bits(bits as u32))
            } else {
                f64::from_bits(bits)
            };
            F::from_f64_rounded(value)
        })
        .collect()
}

/// The preset's kernel hyperparameters, in the fixtures' order; `None` for rules without one.
fn preset<F: Float>(rule: &str, lr: f64) -> Option<Vec<F>> {
    Some(match rule {
        "adadelta" => {
            let (a, b, c) = Adadelta::<F>::tf1(lr).unwrap().hyperparameters();
            vec![a, b, c]
        }
        "adagrad" => {
            let (a, b) = Adagrad::<F>::tf1(lr).unwrap().hyperparameters();
            vec![a, b]
        }
        "adagrad_da" => {
            let (a, b, c, d) = AdagradDa::<F>::tf1(lr).unwrap().hyperparameters();
            vec![a, b, c, d]
        }
        "adam" => {
            let adam = Adam::<F>::tf1(lr).unwrap();
            // Python-float β make `float32` beta-power variables, whatever the variable dtype.
            assert_eq!(adam.power_dtype(), PowerDtype::F32);
            let (a, b, c, d) = adam.hyperparameters();
            vec![a, b, c, d]
        }
        "ftrl" => {
            let (a, b, c, d, e, f) = Ftrl::<F>::tf1(lr).unwrap().hyperparameters();
            vec![a, b, c, d, e, f]
        }
        "proximal_gradient_descent" => {
            let (a, b, c) = ProximalGradientDescent::<F>::tf1(lr).unwrap().hyperparameters();
            vec![a, b, c]
        }
        "proximal_adagrad" => {
            let (a, b, c, d) = ProximalAdagrad::<F>::tf1(lr).unwrap().hyperparameters();
            vec![a, b, c, d]
        }
        "rms_prop" => {
            let (a, b, c, d, _) = RmsProp::<F>::tf1(lr).unwrap().hyperparameters();
            vec![a, b, c, d]
        }
        _ => return None,
    })
}

fn bits<F: Float>(v: &[F]) -> Vec<u64> {
    v.iter().map(|x| x.widen().to_bits()).collect()
}

#[test]
fn every_tf1_preset_gives_the_kernel_what_tf1_gave_it() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut checked = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.file_name().unwrap() == "tf1_inputs.json" {
            continue;
        }
        let fixture: Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        for case in fixture["cases"].as_array().unwrap() {
            let name = case["name"].as_str().unwrap();
            if !name.contains("/default_lr") {
                continue;
            }
            let rule = case["config"]["rule"].as_str().unwrap();
            let lr = case["config"]["learning_rate"].as_f64().unwrap();
            // TF1 with Python floats; the Proximal rules exist only with dtype-matching
            // (exact) values for float64, which is what their presets build.
            let proximal = rule.starts_with("proximal");
            if case["precision"] != "python_float" && !proximal {
                continue;
            }
            let hex: Vec<&str> = case["kernel_hyper"]
                .as_array()
                .unwrap()
                .iter()
                .map(|h| h.as_str().unwrap())
                .collect();
            let matched = match case["dtype"].as_str().unwrap() {
                "float32" => preset::<f32>(rule, lr).map(|ours| {
                    let tf: Vec<f32> = hex.iter().flat_map(|h| from_hex::<f32>(h)).collect();
                    assert_eq!(bits(&ours), bits(&tf), "{name}: {ours:?} vs TF {tf:?}");
                }),
                _ => preset::<f64>(rule, lr).map(|ours| {
                    let tf: Vec<f64> = hex.iter().flat_map(|h| from_hex::<f64>(h)).collect();
                    assert_eq!(bits(&ours), bits(&tf), "{name}: {ours:?} vs TF {tf:?}");
                }),
            };
            if matched.is_some() {
                checked.push(name.to_string());
            }
        }
    }
    checked.sort();
    // 8 rules with a preset × 2 learning rates × (f32, f64), plus nothing else.
    assert_eq!(checked.len(), 32, "{checked:#?}");
    for rule in [
        "adadelta",
        "adagrad",
        "adagrad_da",
        "adam",
        "ftrl",
        "proximal_gradient_descent",
        "proximal_adagrad",
        "rms_prop",
    ] {
        assert_eq!(
            checked.iter().filter(|c| c.split('/').next() == Some(rule)).count(),
            4,
            "{rule}"
        );
    }
}

#[test]
fn config_defaults_are_tf1_documented_defaults() {
    // TF1 signatures: AdadeltaOptimizer(learning_rate=0.001, rho=0.95, epsilon=1e-8),
    // AdamOptimizer(learning_rate=0.001, beta1=0.9, beta2=0.999, epsilon=1e-8),
    // AdagradOptimizer(lr, initial_accumulator_value=0.1), AdagradDAOptimizer(lr, gs,
    // initial_gradient_squared_accumulator_value=0.1, l1=0.0, l2=0.0), FtrlOptimizer(lr,
    // learning_rate_power=-0.5, initial_accumulator_value=0.1, l1=l2=l2_shrinkage=0.0),
    // ProximalAdagradOptimizer(lr, initial_accumulator_value=0.1, l1=l2=0.0),
    // ProximalGradientDescentOptimizer(lr, l1=l2=0.0), RMSPropOptimizer(lr, decay=0.9,
    // momentum=0.0, epsilon=1e-10, centered=False).
    let a = AdadeltaConfig::default();
    assert_eq!((a.learning_rate, a.rho, a.epsilon), (0.001, 0.95, 1e-8));
    let a = AdamConfig::default();
    assert_eq!((a.learning_rate, a.beta1, a.beta2, a.epsilon), (0.001, 0.9, 0.999, 1e-8));
    assert_eq!(AdagradConfig::tf1(0.3).initial_accumulator_value, 0.1);
    let d = AdagradDaConfig::tf1(0.3);
    assert_eq!(
        (
            d.initial_gradient_squared_accumulator_value,
            d.l1_regularization_strength,
            d.l2_regularization_strength,
            d.advance_global_step
        ),
        (0.1, 0.0, 0.0, false)
    );
    let f = FtrlConfig::tf1(0.3);
    assert_eq!(
        (
            f.learning_rate_power,
            f.initial_accumulator_value,
            f.l1_regularization_strength,
            f.l2_regularization_strength,
            f.l2_shrinkage_regularization_strength
        ),
        (-0.5, 0.1, 0.0, 0.0, 0.0)
    );
    let p = ProximalAdagradConfig::tf1(0.3);
    assert_eq!(
        (p.initial_accumulator_value, p.l1_regularization_strength, p.l2_regularization_strength),
        (0.1, 0.0, 0.0)
    );
    let p = ProximalGradientDescentConfig::tf1(0.3);
    assert_eq!((p.l1_regularization_strength, p.l2_regularization_strength), (0.0, 0.0));
    let r = RmsPropConfig::tf1(0.3);
    assert_eq!((r.decay, r.momentum, r.epsilon, r.centered), (0.9, 0.0, 1e-10, false));
    // The study's LayerAdam: Adam's β/ε with the constant bias correction.
    let l = LayerAdamConfig::study(0.3);
    assert_eq!(
        (l.beta1, l.beta2, l.epsilon, l.bias_correction),
        (0.9, 0.999, 1e-8, BiasCorrection::Constant)
    );
    assert_eq!(
        LayerAdam::<f32>::study(0.3).unwrap().hyperparameters(),
        (0.3, 0.9, 0.999, 1e-8, BiasCorrection::Constant)
    );
}

/// Omitted fields: the closed `RuleConfig` enum and each rule's own config type fill in the
/// same values (both read the per-rule constants).
#[test]
fn rule_config_and_per_rule_configs_agree_on_every_default() {
    fn both<C: serde::de::DeserializeOwned + serde::Serialize>(rule: &str, fields: &str) {
        let mut with_tag: Table = toml::from_str(fields).unwrap();
        with_tag.insert("rule".into(), toml::Value::String(rule.into()));
        let closed: RuleConfig = RuleConfig::deserialize_table(&with_tag);
        let own: C = parse_table(rule, &toml::from_str(fields).unwrap()).unwrap();
        let mut own_table = Table::try_from(&own).unwrap();
        own_table.insert("rule".into(), toml::Value::String(rule.into()));
        let mut closed_table = Table::try_from(&closed).unwrap();
        // The enum writes its canonical tag (`rms_prop` for the `rmsprop` alias).
        closed_table.insert("rule".into(), toml::Value::String(rule.into()));
        assert_eq!(closed_table, own_table, "{rule}");
    }
    both::<AdadeltaConfig>("adadelta", "");
    both::<AdagradConfig>("adagrad", "learning_rate = 0.5");
    both::<AdagradDaConfig>("adagrad_da", "learning_rate = 0.5");
    both::<MomentumConfig>("momentum", "learning_rate = 0.5\nmomentum = 0.5");
    both::<AdamConfig>("adam", "");
    both::<FtrlConfig>("ftrl", "learning_rate = 0.5");
    both::<ProximalGradientDescentConfig>("proximal_gradient_descent", "learning_rate = 0.5");
    both::<ProximalAdagradConfig>("proximal_adagrad", "learning_rate = 0.5");
    both::<RmsPropConfig>("rms_prop", "learning_rate = 0.5");
    both::<RmsPropConfig>("rmsprop", "learning_rate = 0.5");
    both::<LayerAdamConfig>("layer_adam", "learning_rate = 0.5");
}

trait DeserializeTable {
    fn deserialize_table(table: &Table) -> Self;
}

impl DeserializeTable for RuleConfig {
    fn deserialize_table(table: &Table) -> Self {
        serde::Deserialize::deserialize(toml::Value::Table(table.clone())).unwrap()
    }
}
