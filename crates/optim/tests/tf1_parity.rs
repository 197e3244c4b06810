//! Parity with real TensorFlow 2.21 (`tf.compat.v1.train.*`): replays the golden traces in
//! `tests/fixtures/` (made by `reference/gen_tf1_fixtures.py`) and compares every parameter after
//! every step.
//!
//! Required: `f64` bit-exact everywhere except Ftrl with `learning_rate_power != -0.5` (≤ 1e-13
//! relative); `f32` bit-exact except where TF uses its approximate rsqrt (Adadelta, Adagrad,
//! ProximalAdagrad) or Eigen's pow (Ftrl with `learning_rate_power != -0.5`), which are held to
//! the ulp bounds below.

use std::collections::HashMap;
use std::path::PathBuf;

use handprop_optim::{Float, HyperPrecision, PowerDtype, Rule, RuleConfig};
use serde::Deserialize;

// Tolerances are measured against each element's *scale*: the largest |w| TF's trace reaches for
// that element (initial value included). A weight crossing zero has a tiny value but carries the
// rounding history of its large past, so plain relative error there says nothing about the
// kernel; "ulp of the scale" does. The raw ulp and relative figures are printed as well.

/// Max difference, in ulp of the element's scale, for `f32` rules that go through TF's
/// approximate rsqrt (Adadelta, Adagrad, ProximalAdagrad).
const F32_RSQRT_MAX_SCALE_ULP: f64 = 4.0;
/// Max difference, in ulp of the element's scale, for `f32` Ftrl with a general power (Eigen's
/// vectorised pow, whose 1-ulp differences are magnified by the cancellation in `n'^p − n^p`).
const F32_POW_MAX_SCALE_ULP: f64 = 4.0;
/// Max difference, relative to the element's scale, for `f64` Ftrl with a general power.
const F64_POW_MAX_SCALE_REL: f64 = 1e-13;

#[derive(Deserialize)]
struct Inputs {
    lens: Vec<usize>,
    steps: usize,
    init: HashMap<String, Vec<String>>,
    grads: HashMap<String, Vec<Vec<String>>>,
}

#[derive(Deserialize)]
struct Fixture {
    tensorflow: String,
    cases: Vec<Case>,
}

#[derive(Deserialize)]
struct Case {
    name: String,
    dtype: String,
    precision: HyperPrecision,
    config: RuleConfig,
    kernel_hyper: Vec<String>,
    params: Vec<Vec<String>>,
    beta_power_dtype: Option<String>,
    final_beta_powers: Option<[f64; 2]>,
}

/// Hex decoding and ulp distance for the two dtypes.
trait Bits: Float {
    /// Explicit mantissa bits.
    const MANTISSA: i32;
    fn from_hex(s: &str) -> Vec<Self>;
    fn ordered(self) -> i64;
}

impl Bits for f32 {
    const MANTISSA: i32 = 23;
    fn from_hex(s: &str) -> Vec<Self> {
        (0..s.len() / 8)
            .map(|i| f32::from_bits(u32::from_str_radix(&s[8 * i..8 * i + 8], 16).unwrap()))
            .collect()
    }
    fn ordered(self) -> i64 {
        let b = self.to_bits() as i32;
        i64::from(if b < 0 { i32::MIN - b } else { b })
    }
}

impl Bits for f64 {
    const MANTISSA: i32 = 52;
    fn from_hex(s: &str) -> Vec<Self> {
        (0..s.len() / 16)
            .map(|i| f64::from_bits(u64::from_str_radix(&s[16 * i..16 * i + 16], 16).unwrap()))
            .collect()
    }
    fn ordered(self) -> i64 {
        let b = self.to_bits() as i64;
        if b < 0 {
            i64::MIN - b
        } else {
            b
        }
    }
}

/// Worst differences over a whole trace.
#[derive(Default, Debug)]
struct Diff {
    elements: usize,
    unequal: usize,
    max_ulp: u64,
    max_rel: f64,
    max_abs: f64,
    /// Largest |ours − TF| / ulp(scale).
    max_scale_ulp: f64,
    /// Largest |ours − TF| / scale.
    max_scale_rel: f64,
    /// Where the largest relative difference occurred.
    worst: String,
}

fn fixtures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn load_inputs() -> Inputs {
    let text = std::fs::read_to_string(fixtures_dir().join("tf1_inputs.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// The kernel hyperparameters of a built rule, in the order the fixture records them.
fn kernel_hyper<F: Float>(rule: &Rule<F>) -> Vec<F> {
    match rule {
        Rule::GradientDescent(r) => vec![r.learning_rate()],
        Rule::Adadelta(r) => {
            let (a, b, c) = r.hyperparameters();
            vec![a, b, c]
        }
        Rule::Adagrad(r) => {
            let (a, b) = r.hyperparameters();
            vec![a, b]
        }
        Rule::AdagradDa(r) => {
            let (a, b, c, d) = r.hyperparameters();
            vec![a, b, c, d]
        }
        Rule::Momentum(r) => {
            let (a, b, _) = r.hyperparameters();
            vec![a, b]
        }
        Rule::Adam(r) => {
            let (a, b, c, d) = r.hyperparameters();
            vec![a, b, c, d]
        }
        Rule::Ftrl(r) => {
            let (a, b, c, d, e, f) = r.hyperparameters();
            vec![a, b, c, d, e, f]
        }
        Rule::ProximalGradientDescent(r) => {
            let (a, b, c) = r.hyperparameters();
            vec![a, b, c]
        }
        Rule::ProximalAdagrad(r) => {
            let (a, b, c, d) = r.hyperparameters();
            vec![a, b, c, d]
        }
        Rule::RmsProp(r) => {
            let (a, b, c, d, _) = r.hyperparameters();
            vec![a, b, c, d]
        }
        Rule::Sgd(_) | Rule::LayerAdam(_) => unreachable!("not a TF1 rule"),
    }
}

fn replay<F: Bits>(inputs: &Inputs, case: &Case) -> Diff {
    let rule: Rule<F> =
        case.config.build_with(case.precision).unwrap_or_else(|e| panic!("{}: {e}", case.name));
    // The hyperparameters our config builder produces must be exactly what TF's kernel saw.
    let seen: Vec<F> = case.kernel_hyper.iter().flat_map(|h| F::from_hex(h)).collect();
    let ours = kernel_hyper(&rule);
    assert_eq!(
        ours.iter().map(|x| x.widen().to_bits()).collect::<Vec<_>>(),
        seen.iter().map(|x| x.widen().to_bits()).collect::<Vec<_>>(),
        "{}: hyperparameters differ from TF's ({ours:?} vs {seen:?})",
        case.name
    );
    if let (Rule::Adam(adam), Some(dtype)) = (&rule, &case.beta_power_dtype) {
        let want = if dtype == "float32" { PowerDtype::F32 } else { PowerDtype::F64 };
        assert_eq!(adam.power_dtype(), want, "{}", case.name);
    }

    let mut params: Vec<Vec<F>> = inputs.init[&case.dtype].iter().map(|h| F::from_hex(h)).collect();
    let mut state = rule.init(&inputs.lens);
    let mut diff = Diff::default();
    assert_eq!(case.params.len(), inputs.steps);
    // Each element's scale: max |w| over TF's whole trace, initial value included.
    let mut scale: Vec<Vec<f64>> =
        params.iter().map(|p| p.iter().map(|w| w.widen().abs()).collect()).collect();
    for step in &case.params {
        for (sc, want) in scale.iter_mut().zip(step) {
            for (s, w) in sc.iter_mut().zip(F::from_hex(want)) {
                *s = s.max(w.widen().abs());
            }
        }
    }
    for (step, want) in case.params.iter().enumerate() {
        let mut grads: Vec<Vec<F>> =
            inputs.grads[&case.dtype][step].iter().map(|h| F::from_hex(h)).collect();
        rule.update(
            &mut state,
            params.iter_mut().map(|p| &mut p[..]).zip(grads.iter_mut().map(|g| &mut g[..])),
        )
        .unwrap();
        for (t, (ours, want)) in params.iter().zip(want).enumerate() {
            for (k, (&a, b)) in ours.iter().zip(F::from_hex(want)).enumerate() {
                diff.elements += 1;
                // Bit-exact, except that +0 and −0 compare equal (TF's sign/select may produce
                // either; both are the same weight).
                if a.widen().to_bits() == b.widen().to_bits() || (a == F::zero() && b == F::zero())
                {
                    continue;
                }
                diff.unequal += 1;
                diff.max_ulp = diff.max_ulp.max(a.ordered().abs_diff(b.ordered()));
                let (a, b) = (a.widen(), b.widen());
                diff.max_abs = diff.max_abs.max((a - b).abs());
                let sc = scale[t][k];
                let ulp = 2f64.powi(sc.log2().floor() as i32 - F::MANTISSA);
                diff.max_scale_ulp = diff.max_scale_ulp.max((a - b).abs() / ulp);
                diff.max_scale_rel = diff.max_scale_rel.max((a - b).abs() / sc);
                let rel = (a - b).abs() / a.abs().max(b.abs());
                if rel > diff.max_rel {
                    diff.max_rel = rel;
                    diff.worst =
                        format!("step {} tensor {t} element {k}: ours {a:e}, TF {b:e}", step + 1);
                }
            }
        }
    }
    if let (handprop_optim::RuleState::Adam(s), Some([b1, b2])) = (&state, case.final_beta_powers) {
        assert_eq!((s.beta1_power, s.beta2_power), (b1, b2), "{}: beta powers", case.name);
    }
    diff
}

fn check_optimizer(file: &str) {
    let inputs = load_inputs();
    let text = std::fs::read_to_string(fixtures_dir().join(file)).unwrap();
    let fixture: Fixture = serde_json::from_str(&text).unwrap();
    assert!(fixture.cases.len() >= 4, "{file}: too few cases");
    let mut failures = Vec::new();
    for case in &fixture.cases {
        let is_f32 = case.dtype == "float32";
        let diff = if is_f32 { replay::<f32>(&inputs, case) } else { replay::<f64>(&inputs, case) };
        let rsqrt = matches!(
            case.config,
            RuleConfig::Adadelta { .. }
                | RuleConfig::Adagrad { .. }
                | RuleConfig::ProximalAdagrad { .. }
        );
        let pow = matches!(case.config, RuleConfig::Ftrl { learning_rate_power, .. } if learning_rate_power != -0.5);
        let ok = match (is_f32, rsqrt, pow) {
            (true, true, _) => diff.max_scale_ulp <= F32_RSQRT_MAX_SCALE_ULP,
            (true, false, true) => diff.max_scale_ulp <= F32_POW_MAX_SCALE_ULP,
            (false, _, true) => diff.max_scale_rel <= F64_POW_MAX_SCALE_REL,
            _ => diff.unequal == 0,
        };
        eprintln!(
            "| {} | {} | {} | {} | {:.2e} | {:.2e} | {} | {:.2e} |{} {}",
            case.name,
            diff.elements,
            diff.unequal,
            diff.max_ulp,
            diff.max_rel,
            diff.max_abs,
            diff.max_scale_ulp,
            diff.max_scale_rel,
            if ok { "" } else { "  FAIL" },
            diff.worst
        );
        if !ok {
            failures.push(case.name.clone());
        }
    }
    assert!(failures.is_empty(), "TF {} parity failed for {failures:?}", fixture.tensorflow);
}

#[test]
fn gradient_descent() {
    check_optimizer("tf1_gradient_descent.json");
}
#[test]
fn adadelta() {
    check_optimizer("tf1_adadelta.json");
}
#[test]
fn adagrad() {
    check_optimizer("tf1_adagrad.json");
}
#[test]
fn adagrad_da() {
    check_optimizer("tf1_adagrad_da.json");
}
#[test]
fn momentum() {
    check_optimizer("tf1_momentum.json");
}
#[test]
fn adam() {
    check_optimizer("tf1_adam.json");
}
#[test]
fn ftrl() {
    check_optimizer("tf1_ftrl.json");
}
#[test]
fn proximal_gradient_descent() {
    check_optimizer("tf1_proximal_gradient_descent.json");
}
#[test]
fn proximal_adagrad() {
    check_optimizer("tf1_proximal_adagrad.json");
}
#[test]
fn rms_prop() {
    check_optimizer("tf1_rms_prop.json");
}
