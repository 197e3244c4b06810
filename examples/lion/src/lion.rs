//! Lion: "evoLved sIgn mOmeNtum" (Chen et al. 2023, "Symbolic Discovery of Optimization
//! Algorithms", Algorithm 2), as a `handprop_optim::UpdateRule<f32>`, with its config and
//! defaults beside it. This file and one `register_rule` call are all a new rule needs.
//!
//! Per weight, with gradient `g` and momentum `m` (zeros at the start):
//!
//! ```text
//! c = β1·m + (1 − β1)·g          (the interpolation whose sign is the update)
//! w ← w − η·(sign(c) + λ·w)      (decoupled weight decay λ)
//! m ← β2·m + (1 − β2)·g          (the momentum, with a longer memory: β2 > β1)
//! ```
//!
//! `sign(0) = 0` (as `jnp.sign` in the paper's code; Rust's `f32::signum` would give ±1).
//! Every update has magnitude η per weight (plus decay), so the paper advises an η 3–10× smaller
//! than AdamW's.

use handprop_optim::{
    parse_table, BuildError, HyperError, HyperValue, Hyperparameters, Table, UpdateError,
    UpdateRule,
};
use serde::{Deserialize, Serialize};

/// The rule's name in configs: `update = { rule = "lion", … }`.
pub const NAME: &str = "lion";

/// Lion's table: `{ rule = "lion", learning_rate = …, beta1 = 0.9, beta2 = 0.99,
/// weight_decay = 0.0 }`. The runner fills `learning_rate` with the trial's η when absent.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LionConfig {
    /// η.
    pub learning_rate: f64,
    /// β1, the interpolation weight of the update's sign (default 0.9).
    #[serde(default = "LionConfig::default_beta1")]
    pub beta1: f64,
    /// β2, the momentum's decay (default 0.99).
    #[serde(default = "LionConfig::default_beta2")]
    pub beta2: f64,
    /// λ, decoupled weight decay (default 0: the study's other rules have none).
    #[serde(default)]
    pub weight_decay: f64,
}

impl LionConfig {
    /// The paper's β1.
    pub const BETA1: f64 = 0.9;
    /// The paper's β2.
    pub const BETA2: f64 = 0.99;

    fn default_beta1() -> f64 {
        Self::BETA1
    }

    fn default_beta2() -> f64 {
        Self::BETA2
    }

    /// Checks the values and builds the rule (hyperparameters rounded to `f32` once, here).
    ///
    /// # Errors
    /// [`HyperError`] naming the field: η and λ must be finite and η > 0, λ ≥ 0; β1, β2 in
    /// [0, 1).
    pub fn build(&self) -> Result<Lion, HyperError> {
        let check = |field: &'static str, value: f64, ok: bool, requirement: &'static str| {
            if ok {
                Ok(())
            } else {
                Err(HyperError { rule: "Lion", field, value, requirement })
            }
        };
        let lr = self.learning_rate;
        check("learning_rate", lr, lr.is_finite() && lr > 0.0, "> 0 and finite")?;
        for (field, b) in [("beta1", self.beta1), ("beta2", self.beta2)] {
            check(field, b, (0.0..1.0).contains(&b), "in [0, 1)")?;
        }
        let wd = self.weight_decay;
        check("weight_decay", wd, wd.is_finite() && wd >= 0.0, ">= 0 and finite")?;
        Ok(Lion {
            learning_rate: lr as f32,
            beta1: self.beta1 as f32,
            beta2: self.beta2 as f32,
            weight_decay: wd as f32,
        })
    }

    /// The registry constructor: parses the table (errors name the field) and builds.
    ///
    /// # Errors
    /// [`BuildError::Field`] for an unknown, missing or mistyped field; [`BuildError::Hyper`].
    pub fn from_table(table: &Table) -> Result<Lion, BuildError> {
        Ok(parse_table::<LionConfig>(NAME, table)?.build()?)
    }
}

/// The built, validated rule.
#[derive(Debug, Clone, PartialEq)]
pub struct Lion {
    learning_rate: f32,
    beta1: f32,
    beta2: f32,
    weight_decay: f32,
}

/// Lion's state: one momentum slot per weight, per tensor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LionState {
    /// `m`, one vector per tensor (its length is the tensor's).
    pub momentum: Vec<Vec<f32>>,
}

/// `sign(x)` with `sign(0) = 0` (and NaN passed through).
fn sign(x: f32) -> f32 {
    if x > 0.0 {
        1.0
    } else if x < 0.0 {
        -1.0
    } else {
        x
    }
}

impl UpdateRule<f32> for Lion {
    type State = LionState;

    fn name(&self) -> &'static str {
        "Lion"
    }

    fn hyperparameter_table(&self) -> Hyperparameters {
        let num = |v: f32| HyperValue::Number(f64::from(v));
        vec![
            ("learning_rate", num(self.learning_rate)),
            ("beta1", num(self.beta1)),
            ("beta2", num(self.beta2)),
            ("weight_decay", num(self.weight_decay)),
        ]
    }

    fn init(&self, lens: &[usize]) -> LionState {
        LionState { momentum: lens.iter().map(|&n| vec![0.0; n]).collect() }
    }

    fn update<'a, I>(&self, state: &mut LionState, params_and_grads: I) -> Result<(), UpdateError>
    where
        I: IntoIterator<Item = (&'a mut [f32], &'a [f32])>,
    {
        let (lr, b1, b2, wd) = (self.learning_rate, self.beta1, self.beta2, self.weight_decay);
        let (rule, expected) = ("Lion", state.momentum.len());
        let mut count = 0;
        for (index, (w, g)) in params_and_grads.into_iter().enumerate() {
            let Some(m) = state.momentum.get_mut(index) else {
                return Err(UpdateError::TensorCount { rule, got: index + 1, expected });
            };
            let (params, grads) = (w.len(), g.len());
            if grads != params {
                return Err(UpdateError::GradientLength { rule, index, params, grads });
            }
            if m.len() != params {
                return Err(UpdateError::StateLength { rule, index, params, state: m.len() });
            }
            for ((w, &g), m) in w.iter_mut().zip(g).zip(m.iter_mut()) {
                let c = b1 * *m + (1.0 - b1) * g;
                *w -= lr * (sign(c) + wd * *w);
                *m = b2 * *m + (1.0 - b2) * g;
            }
            count = index + 1;
        }
        if count != expected {
            return Err(UpdateError::TensorCount { rule, got: count, expected });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(text: &str) -> Table {
        toml::from_str(text).unwrap()
    }

    #[test]
    fn one_step_by_hand() {
        // η = 0.5, β1 = 0.9, β2 = 0.99, λ = 0.1; w = [1, −2, 3], g = [0.2, 0.4, 0], m = [0.5, −1, 0].
        let rule = LionConfig { learning_rate: 0.5, beta1: 0.9, beta2: 0.99, weight_decay: 0.1 }
            .build()
            .unwrap();
        let mut state = LionState { momentum: vec![vec![0.5, -1.0, 0.0]] };
        let mut w = vec![1.0f32, -2.0, 3.0];
        let g = [0.2f32, 0.4, 0.0];
        rule.update(&mut state, [(&mut w[..], &g[..])]).unwrap();
        // c = 0.9·m + 0.1·g = [0.47, −0.86, 0] → sign [1, −1, 0];
        // w − 0.5·(sign + 0.1·w) = [1 − 0.55, −2 + 0.5 + 0.1, 3 − 0.15] = [0.45, −1.4, 2.85].
        let expected = [0.45f32, -1.4, 2.85];
        for (got, want) in w.iter().zip(expected) {
            assert!((got - want).abs() < 1e-6, "{w:?}");
        }
        // m = 0.99·m + 0.01·g = [0.497, −0.986, 0].
        for (got, want) in state.momentum[0].iter().zip([0.497f32, -0.986, 0.0]) {
            assert!((got - want).abs() < 1e-6, "{:?}", state.momentum);
        }
    }

    #[test]
    fn first_step_is_sign_descent_and_the_update_ignores_the_gradients_scale() {
        let rule = LionConfig::from_table(&table("learning_rate = 0.25")).unwrap();
        for scale in [1e-6f32, 1.0, 1e6] {
            let mut state = rule.init(&[3]);
            let mut w = vec![0.0f32; 3];
            let g = [scale, -scale, 0.0];
            rule.update(&mut state, [(&mut w[..], &g[..])]).unwrap();
            assert_eq!(w, [-0.25, 0.25, 0.0], "scale {scale}");
        }
    }

    #[test]
    fn the_state_round_trips_to_the_same_next_step() {
        let rule = LionConfig::from_table(&table("learning_rate = 0.01")).unwrap();
        let g: Vec<f32> = (0..7).map(|i| (i as f32 - 3.3) * 0.37).collect();
        let mut w: Vec<f32> = (0..7).map(|i| i as f32 * 0.1).collect();
        let mut state = rule.init(&[7]);
        for _ in 0..3 {
            rule.update(&mut state, [(&mut w[..], &g[..])]).unwrap();
        }
        let saved = serde_json::to_string(&state).unwrap();
        let mut restored: LionState = serde_json::from_str(&saved).unwrap();
        assert_eq!(restored, state);
        let mut w2 = w.clone();
        rule.update(&mut state, [(&mut w[..], &g[..])]).unwrap();
        rule.update(&mut restored, [(&mut w2[..], &g[..])]).unwrap();
        assert_eq!(w, w2);
        assert_eq!(restored, state);
    }

    #[test]
    fn defaults_and_bad_tables() {
        let rule = LionConfig::from_table(&table("learning_rate = 0.001")).unwrap();
        let h = rule.hyperparameter_table();
        assert_eq!(h[1], ("beta1", HyperValue::Number(f64::from(0.9f32))));
        assert_eq!(h[2], ("beta2", HyperValue::Number(f64::from(0.99f32))));
        assert_eq!(h[3], ("weight_decay", HyperValue::Number(0.0)));
        let typo = LionConfig::from_table(&table("learning_rate = 0.1\nbeta = 0.9")).unwrap_err();
        assert!(matches!(&typo, BuildError::Field { field: Some(f), .. } if f == "beta"), "{typo}");
        let range = LionConfig::from_table(&table("learning_rate = 0.1\nbeta2 = 1.0")).unwrap_err();
        assert!(range.to_string().contains("beta2"), "{range}");
        let missing = LionConfig::from_table(&Table::new()).unwrap_err();
        assert!(missing.to_string().contains("learning_rate"), "{missing}");
    }

    #[test]
    fn mismatched_inputs_are_errors() {
        let rule = LionConfig::from_table(&table("learning_rate = 0.1")).unwrap();
        let mut state = rule.init(&[2]);
        let mut w = [0.0f32; 3];
        let g = [0.0f32; 3];
        assert!(rule.update(&mut state, [(&mut w[..], &g[..])]).is_err());
        let empty: [(&mut [f32], &[f32]); 0] = [];
        assert!(matches!(rule.update(&mut state, empty), Err(UpdateError::TensorCount { .. })));
    }
}
