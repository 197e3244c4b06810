//! One case of a config ([`CaseSpec`]) and how it resolves against a rule registry
//! ([`CaseRegistry`]): the update table with η filled in, the built rule and transform, their
//! hyperparameters for `cases.csv`, and what identifies them in the config hash.

use std::fmt;
use std::sync::Arc;

use handprop_layers::{GradSeed, Routing};
use handprop_optim::{
    BoxedRule, BuildError, GradientTransform, HyperValue, Hyperparameters, NoiseConfig, Registry,
    RuleConfig, Table,
};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

#[cfg(doc)]
use crate::config::Config;
use crate::config::{json, TrialConfig};

/// The rule registry a config's cases resolve against, shared by cheap clones.
///
/// Not part of the config's TOML (a config names rules; the registry says what the names mean)
/// and never compared: two configs are the same when their resolved hyperparameters are, which
/// [`Config::hash`] covers. A deserialised config holds [`Registry::tf1`] until
/// [`Config::set_registry`] gives it another.
#[derive(Clone)]
pub struct CaseRegistry(Arc<Registry<f32>>);

impl CaseRegistry {
    /// Shares `registry` (a clone: the constructors themselves are shared).
    pub fn new(registry: &Registry<f32>) -> Self {
        CaseRegistry(Arc::new(registry.clone()))
    }

    /// The registry.
    pub fn get(&self) -> &Registry<f32> {
        &self.0
    }
}

impl Default for CaseRegistry {
    fn default() -> Self {
        CaseRegistry(Arc::new(Registry::tf1()))
    }
}

impl fmt::Debug for CaseRegistry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CaseRegistry({} rules)", self.0.rule_names().len())
    }
}

impl PartialEq for CaseRegistry {
    /// Always equal: the registry does not identify a config (its resolution does).
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

/// One case: everything that distinguishes it from the other cases of a trial.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaseSpec {
    /// The label shown in tables and charts.
    pub label: String,
    /// A matplotlib colour name (`tab:green`, `aqua`, …) or `#rrggbb`.
    pub colour: String,
    /// The gradient seed at the output: `manual` (δ = p − y) or `exact` (∂C/∂a₅).
    pub gradient: GradSeed,
    /// How gradients are routed between layers (see `docs/study.md`).
    pub routing: Routing,
    /// The update rule: `rule = "<name>"` of the config's [`Registry`] and that rule's fields;
    /// `learning_rate` defaults to the trial's η, and the string `"eta"` as any value stands for
    /// the trial's η.
    pub update: Table,
    /// An optional gradient transform applied before the rule (`transform = "<name>"` of the
    /// registry; without it the study's `gradient_noise`, e.g. `{ form = "scalar" }`).
    #[serde(default, skip_serializing_if = "Option::is_none", serialize_with = "noise_out")]
    pub noise: Option<Table>,
    /// The case's own η per trial, replacing the trials' η for this case only (one value per
    /// trial, in trial order). Tuned configs (`tuned.toml`) carry each case's chosen η here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eta: Option<Vec<f64>>,
    /// The registry `update` and `noise` resolve against.
    #[serde(skip)]
    pub(crate) registry: CaseRegistry,
}

impl CaseSpec {
    /// The η this case sees in trial `index` (from 0): its own `eta[index]` when it has one,
    /// else the trial's.
    pub fn eta(&self, index: usize, trial: &TrialConfig) -> f64 {
        self.eta.as_ref().and_then(|e| e.get(index).copied()).unwrap_or(trial.learning_rate)
    }

    /// Whether the case's rule changes with η: false when every value is fixed (an
    /// explicit `learning_rate` and no `"eta"`), so tuning η cannot change its results.
    pub fn uses_eta(&self) -> bool {
        self.rule_identity(1.0) != self.rule_identity(0.5)
    }

    /// The update table for a trial with learning rate `eta`: `"eta"` values and a missing
    /// `learning_rate` are filled in with `eta`.
    pub fn update_table(&self, eta: f64) -> Table {
        let mut table = self.update.clone();
        for (_, value) in table.iter_mut() {
            if value.as_str() == Some("eta") {
                *value = toml::Value::Float(eta);
            }
        }
        table.entry("learning_rate").or_insert(toml::Value::Float(eta));
        table
    }

    /// The registry the case resolves against.
    pub fn registry(&self) -> &Registry<f32> {
        self.registry.get()
    }

    /// The case's update for a trial with learning rate `eta`, built by `registry`: the rule of
    /// [`Self::update_table`], preceded by the `noise` transform (whose random stream `rng`
    /// seeds at `init`).
    ///
    /// # Errors
    /// What the registry reports: an unknown name (listing the registered ones), a bad field, a
    /// value out of range.
    pub fn build(
        &self,
        registry: &Registry<f32>,
        eta: f64,
        rng: ChaCha8Rng,
    ) -> Result<BoxedRule<f32>, BuildError> {
        registry.build_case(&self.update_table(eta), self.noise.as_ref(), rng)
    }

    /// The resolved rule's hyperparameters for a trial with learning rate `eta` (defaults filled
    /// in, as the kernel sees them), from the case's registry.
    ///
    /// # Errors
    /// As [`Self::build`].
    pub fn rule_hyperparameters(&self, eta: f64) -> Result<Hyperparameters, BuildError> {
        Ok(self.registry().build_rule(&self.update_table(eta))?.hyperparameter_table())
    }

    /// The noise transform's name and hyperparameters (`None` without noise).
    ///
    /// # Errors
    /// As [`Self::build`].
    pub fn noise_hyperparameters(&self) -> Result<Option<(String, Hyperparameters)>, BuildError> {
        let Some(table) = &self.noise else { return Ok(None) };
        let transform = self.registry().build_transform(table)?;
        let name = table
            .get(handprop_optim::TRANSFORM_KEY)
            .and_then(|v| v.as_str())
            .unwrap_or(handprop_optim::DEFAULT_TRANSFORM);
        Ok(Some((name.to_string(), transform.hyperparameter_table())))
    }

    /// Fills a study noise table's defaults in (`{ form = "scalar" }` gains `sigma0` and
    /// `gamma`), as the saved config writes it, so that a loaded config equals the one its
    /// saved TOML loads into.
    pub(crate) fn fill_noise_defaults(&mut self) {
        let Some(table) = &self.noise else { return };
        if let Ok(known) = NoiseConfig::deserialize(toml::Value::Table(table.clone())) {
            if let Ok(full) = Table::try_from(&known) {
                self.noise = Some(full);
            }
        }
    }

    /// What identifies the resolved rule of a trial with learning rate `eta`, as JSON: for the
    /// study's rules their `RuleConfig` with defaults filled in (the form hashes had before the
    /// registry, so the study's results keep their hash); for other rules the name and the
    /// built rule's hyperparameter table.
    pub(crate) fn rule_identity(&self, eta: f64) -> String {
        let table = self.update_table(eta);
        if let Ok(known) = RuleConfig::deserialize(toml::Value::Table(table.clone())) {
            return json(&known);
        }
        match self.registry().build_rule(&table) {
            Ok(rule) => json(&Resolved {
                name: self.rule_name(),
                hyperparameters: display_table(&rule.hyperparameter_table()),
            }),
            Err(e) => json(&e.to_string()),
        }
    }

    /// What identifies the noise transform: `None` without; the study's `NoiseConfig` with
    /// defaults; else the transform's name and hyperparameters.
    pub(crate) fn noise_identity(&self) -> Option<NoiseIdentity> {
        let table = self.noise.as_ref()?;
        if let Ok(known) = NoiseConfig::deserialize(toml::Value::Table(table.clone())) {
            return Some(NoiseIdentity::Known(known));
        }
        Some(match self.noise_hyperparameters() {
            Ok(Some((name, h))) => {
                NoiseIdentity::Other(Resolved { name, hyperparameters: display_table(&h) })
            }
            Ok(None) => return None,
            Err(e) => NoiseIdentity::Error(e.to_string()),
        })
    }

    /// `hand-made` for the study's manual gradient seed (C0–C6), `tf1` for exact gradients (TF1's
    /// optimizers, C7–C16): the study's central split, a column of `cases.csv`.
    pub fn gradient_group(&self) -> &'static str {
        match self.gradient {
            GradSeed::Manual => "hand-made",
            GradSeed::Exact => "tf1",
        }
    }

    /// The gradient seed's name as in the config (`manual` or `exact`).
    pub fn gradient_name(&self) -> String {
        serde_json::to_value(self.gradient)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default()
    }

    /// The routing's kind (`standard`, `sparse`, …).
    pub fn routing_name(&self) -> String {
        serde_json::to_value(self.routing)
            .ok()
            .and_then(|v| v.get("kind").and_then(|k| k.as_str()).map(str::to_string))
            .unwrap_or_default()
    }

    /// The update rule's name.
    pub fn rule_name(&self) -> String {
        self.update.get("rule").and_then(|v| v.as_str()).unwrap_or_default().to_string()
    }

    /// The case's parameters as flat `(column, value)` pairs for `cases.csv`: `routing_<p>` for the
    /// routing's coefficients, `noise` (the transform's form or name) and `noise_<p>`, every
    /// hyperparameter of the resolved rule under its own name (from the rule's
    /// `hyperparameter_table`, defaults filled in), and `eta_params`: the hyperparameters that
    /// take each trial's η (left empty here; `trials.csv` has η). A number that is exactly an
    /// `f32` (what an `f32` kernel holds) prints in its shortest `f32` form (`0.9`, not
    /// `0.8999999761581421`), any other in its shortest `f64` form.
    pub fn flat_params(&self, trials: &[TrialConfig]) -> Vec<(String, String)> {
        let mut out = Vec::new();
        if let Ok(serde_json::Value::Object(map)) = serde_json::to_value(self.routing) {
            for (k, v) in map.iter().filter(|(k, _)| *k != "kind") {
                let v = v.as_f64().map(|x| handprop_results::fmt_f32(x as f32)).unwrap_or_default();
                out.push((format!("routing_{k}"), v));
            }
        }
        if let Ok(Some((name, table))) = self.noise_hyperparameters() {
            let has_form = table.iter().any(|(k, _)| *k == "form");
            if !has_form {
                out.push(("noise".into(), name));
            }
            for (k, v) in &table {
                if *k == "form" {
                    out.push(("noise".into(), flat_value(v)));
                } else {
                    out.push((format!("noise_{k}"), flat_value(v)));
                }
            }
        }
        // Resolve at two different η to tell the η-valued hyperparameters from fixed ones (at
        // half the first trial's η, which keeps η-valued ones such as the study's momentum = η
        // in range).
        if let Some(etas) = &self.eta {
            for (t, eta) in etas.iter().enumerate() {
                out.push((format!("eta_trial{}", t + 1), handprop_results::fmt_f64(*eta)));
            }
        }
        let eta = trials.first().map_or(1.0, |t| self.eta(0, t));
        if let (Ok(a), Ok(b)) =
            (self.rule_hyperparameters(eta), self.rule_hyperparameters(eta * 0.5))
        {
            let mut eta_params = Vec::new();
            for (k, v) in &a {
                if b.iter().find(|(k2, _)| k2 == k).map(|(_, v2)| v2) != Some(v) {
                    eta_params.push(k.to_string());
                    out.push((k.to_string(), String::new()));
                } else {
                    out.push((k.to_string(), flat_value(v)));
                }
            }
            out.push(("eta_params".into(), eta_params.join(" ")));
        }
        out
    }
}

/// A rule or transform that is not one of the study's, as hashed: its name and resolved
/// hyperparameters.
#[derive(Serialize)]
pub(crate) struct Resolved {
    name: String,
    hyperparameters: Vec<(String, String)>,
}

/// Writes a study noise table as its `NoiseConfig`, defaults filled in
/// (`{ form = "scalar", sigma0 = 0.001, gamma = 0.55 }`), so the saved config shows every value
/// (and reads as before the registry); other transforms' tables as written.
fn noise_out<S: serde::Serializer>(
    noise: &Option<Table>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    let known =
        noise.as_ref().and_then(|t| NoiseConfig::deserialize(toml::Value::Table(t.clone())).ok());
    match (known, noise) {
        (Some(known), _) => known.serialize(serializer),
        (None, Some(table)) => table.serialize(serializer),
        (None, None) => serializer.serialize_none(),
    }
}

/// A noise transform as hashed; untagged, so the study's `NoiseConfig` hashes as it always did.
#[derive(Serialize)]
#[serde(untagged)]
pub(crate) enum NoiseIdentity {
    Known(NoiseConfig),
    Other(Resolved),
    Error(String),
}

/// A hyperparameter as a CSV cell (see [`CaseSpec::flat_params`]).
fn flat_value(v: &HyperValue) -> String {
    match *v {
        HyperValue::Number(x) if f64::from(x as f32) == x => handprop_results::fmt_f32(x as f32),
        HyperValue::Number(x) => handprop_results::fmt_f64(x),
        ref other => other.to_string(),
    }
}

fn display_table(table: &Hyperparameters) -> Vec<(String, String)> {
    table.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}
