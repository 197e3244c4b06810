//! Run configuration: TOML in `configs/`, validated before any work starts.
//!
//! A config names the data, the training schedule, the trials and the cases. A **case is data**: a
//! label, a colour, the gradient seed, the routing and the update rule with its hyperparameters,
//! optionally preceded by a gradient-noise transform. The study's 17 cases ship as a reusable case
//! table (`configs/cases/study.toml`) that configs name with `case_table`; further cases can be
//! written inline as `[[cases]]`.
//!
//! Loading resolves everything into a self-contained [`Config`] (case table inlined, the subset of
//! cases applied) whose TOML form is saved next to every result and can be loaded again as a
//! config. Its hash ([`Config::hash`]) identifies the results: cells computed under another
//! resolved config are never mixed in.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use handprop_layers::{GradSeed, Routing};
use handprop_mnist::Split;
use handprop_optim::{
    BoxedRule, BuildError, GradientTransform, HyperValue, Hyperparameters, NoiseConfig, Registry,
    RuleConfig, Table,
};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// An error in a config file: names the file, the place and the problem.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("{path}: cannot read: {error}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause (shown in the message, so deliberately not exposed as `source()` too: error
        /// reporters that print the chain would repeat it).
        error: std::io::Error,
    },
    /// The TOML is malformed or has an unknown key, a missing key or a value of the wrong type.
    #[error("{path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// What the parser said, with line and column.
        message: String,
    },
    /// A value is out of range or does not fit the rest of the config.
    #[error("{path}: {key}: {message}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// The key, in dotted form (`trials[2].learning_rate`).
        key: String,
        /// The problem.
        message: String,
    },
}

/// `[data]`: the split and optional subsets (the first N images of a split).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataConfig {
    /// The split (`tf1` as the study).
    pub split: Split,
    /// Train on only the first N training images of the split.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub train_subset: Option<usize>,
    /// Test on only the first N test images.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_subset: Option<usize>,
}

/// `[training]`: the schedule shared by every trial.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainingConfig {
    /// Images per batch (contiguous slices in file order, no shuffling; the study: 1000).
    pub batch: usize,
    /// Epochs t = 0..epochs−1 (the study: 801).
    pub epochs: usize,
    /// Base seed; every random stream derives from (seed, trial, experiment, purpose).
    pub seed: u64,
    /// Hidden layers of width H (the study: 4, so 5 weight layers).
    #[serde(default = "default_hidden_layers")]
    pub hidden_layers: usize,
    /// Evaluate the training and test accuracies every `eval_every` epochs (epochs `t` with
    /// `t mod eval_every = 0`) and at the final epoch; other epochs record NaN accuracies. The
    /// default 1 (the study) evaluates every epoch and is not written out, so configs, hashes
    /// and tables of the study are unchanged by this option.
    #[serde(default = "default_eval_every", skip_serializing_if = "is_one")]
    pub eval_every: usize,
}

impl TrainingConfig {
    /// Whether epoch `epoch` (from 0) measures the accuracies: every `eval_every`-th epoch from 0,
    /// and always the final one.
    pub fn evaluates(&self, epoch: usize) -> bool {
        epoch.is_multiple_of(self.eval_every.max(1)) || epoch + 1 == self.epochs
    }
}

fn default_hidden_layers() -> usize {
    4
}

fn default_eval_every() -> usize {
    1
}

fn is_one(v: &usize) -> bool {
    *v == 1
}

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

/// `[[trials]]`: one trial, numbered from 1 in file order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrialConfig {
    /// η, shared by every case of the trial.
    pub learning_rate: f64,
    /// Hidden width H.
    pub hidden: usize,
    /// Seeded experiments (the study: 10).
    pub experiments: usize,
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
    /// The registry `update` and `noise` resolve against.
    #[serde(skip)]
    registry: CaseRegistry,
}

impl CaseSpec {
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
    fn fill_noise_defaults(&mut self) {
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
    fn rule_identity(&self, eta: f64) -> String {
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
    fn noise_identity(&self) -> Option<NoiseIdentity> {
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
        let eta = trials.first().map_or(1.0, |t| t.learning_rate);
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
struct Resolved {
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
enum NoiseIdentity {
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

/// The file as written: like [`Config`] plus a case table reference and a case subset.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    name: Option<String>,
    case_table: Option<PathBuf>,
    #[serde(default)]
    only_cases: Option<Vec<usize>>,
    #[serde(default)]
    cases: Vec<CaseSpec>,
    data: DataConfig,
    training: TrainingConfig,
    trials: Vec<TrialConfig>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct CaseTableFile {
    case: Vec<CaseSpec>,
}

/// A resolved, validated, self-contained run configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The run's name (default: the config file's stem); names the results directory.
    pub name: String,
    /// Data split and subsets.
    pub data: DataConfig,
    /// Schedule.
    pub training: TrainingConfig,
    /// The trials, numbered from 1.
    pub trials: Vec<TrialConfig>,
    /// The cases, numbered from 0.
    pub cases: Vec<CaseSpec>,
    /// The registry the cases resolve against (not serialised; see [`CaseRegistry`]).
    #[serde(skip)]
    registry: CaseRegistry,
}

/// Upper bounds of a config, far above any real study but low enough that sizes never overflow and
/// a typo (`hidden = 2e9`) is an error, not an allocation failure. The trial, experiment and case
/// bounds also keep the fields of [`crate::cells::stream_id`] apart.
pub mod limits {
    /// Hidden width H.
    pub const HIDDEN: usize = 1 << 16;
    /// Hidden layers.
    pub const HIDDEN_LAYERS: usize = 64;
    /// Images per batch.
    pub const BATCH: usize = 1 << 20;
    /// Epochs per cell.
    pub const EPOCHS: usize = 1_000_000;
    /// Experiments per trial (the stream id allows 2²⁴).
    pub const EXPERIMENTS: usize = 100_000;
    /// Trials (the stream id allows 2¹⁶).
    pub const TRIALS: usize = 1_000;
    /// Cases (the stream id allows 2¹⁶).
    pub const CASES: usize = 1_000;
    /// Cells of a run.
    pub const CELLS: usize = 10_000_000;
    /// Estimated memory of one running cell, in bytes (weights, gradients, optimizer slots and the
    /// batch's activations).
    pub const CELL_BYTES: u128 = 64 << 30;
}

/// Input width (28 × 28 pixels) and classes of MNIST.
pub const INPUT: usize = 784;
/// Output classes.
pub const CLASSES: usize = 10;

impl Config {
    /// Loads, resolves and validates a config file against the study's rules
    /// ([`Registry::tf1`]). Errors name the file, the key and the problem.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        Self::load_with(path, &Registry::tf1())
    }

    /// Loads, resolves and validates a config file whose cases name rules and transforms of
    /// `registry` (e.g. the study's plus a user's own). Errors name the file, the key and the
    /// problem; an unknown rule lists the registered ones.
    pub fn load_with(path: &Path, registry: &Registry<f32>) -> Result<Config, ConfigError> {
        let file: ConfigFile = parse_toml(path)?;
        let mut cases = Vec::new();
        if let Some(table) = &file.case_table {
            let table_path = path.parent().unwrap_or(Path::new(".")).join(table);
            let t: CaseTableFile = parse_toml(&table_path).map_err(|e| match e {
                ConfigError::Io { path: table, error } => ConfigError::Invalid {
                    path: path.to_owned(),
                    key: "case_table".into(),
                    message: format!("cannot read {}: {error}", table.display()),
                },
                other => other,
            })?;
            cases.extend(t.case);
        }
        cases.extend(file.cases);
        if let Some(only) = &file.only_cases {
            let mut picked = Vec::with_capacity(only.len());
            for (n, &i) in only.iter().enumerate() {
                if only[..n].contains(&i) {
                    return Err(ConfigError::Invalid {
                        path: path.to_owned(),
                        key: "only_cases".into(),
                        message: format!("case {i} is listed twice"),
                    });
                }
                let case = cases.get(i).ok_or_else(|| ConfigError::Invalid {
                    path: path.to_owned(),
                    key: "only_cases".into(),
                    message: format!("case {i} does not exist (there are {})", cases.len()),
                })?;
                picked.push(case.clone());
            }
            cases = picked;
        }
        let name = file.name.unwrap_or_else(|| {
            path.file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| "run".into())
        });
        let mut config = Config {
            name,
            data: file.data,
            training: file.training,
            trials: file.trials,
            cases,
            registry: CaseRegistry::default(),
        };
        config.set_registry(registry);
        for case in &mut config.cases {
            case.fill_noise_defaults();
        }
        config.validate(path)?;
        Ok(config)
    }

    /// Parses a resolved config's TOML (as [`Config::to_toml`] writes it), resolving its cases
    /// against `registry`. Not validated: call [`Config::validate`].
    ///
    /// # Errors
    /// The TOML parser's message.
    pub fn from_toml(text: &str, registry: &Registry<f32>) -> Result<Config, toml::de::Error> {
        let mut config: Config = toml::from_str(text)?;
        config.set_registry(registry);
        Ok(config)
    }

    /// The registry the cases resolve against.
    pub fn registry(&self) -> &Registry<f32> {
        self.registry.get()
    }

    /// Resolves the cases against `registry` from now on (for configs deserialised directly, or
    /// to run a loaded config with a user's rules: [`crate::run_with`] does this).
    pub fn set_registry(&mut self, registry: &Registry<f32>) {
        self.registry = CaseRegistry::new(registry);
        for case in &mut self.cases {
            case.registry = self.registry.clone();
        }
    }

    /// Checks every value before any work starts.
    pub fn validate(&self, path: &Path) -> Result<(), ConfigError> {
        let bad = |key: String, message: String| ConfigError::Invalid {
            path: path.to_owned(),
            key,
            message,
        };
        if self.name.is_empty()
            || self.name.starts_with('.')
            || self.name.chars().any(|c| matches!(c, '/' | '\\' | ':') || c.is_control())
        {
            return Err(bad(
                "name".into(),
                format!(
                    "{:?} is not a usable directory name (no path separators, no leading dot)",
                    self.name
                ),
            ));
        }
        let t = &self.training;
        let over = |key: &str, value: usize, max: usize| {
            (value > max).then(|| bad(key.into(), format!("{value} is above the limit of {max}")))
        };
        for (key, value, max) in [
            ("training.batch", t.batch, limits::BATCH),
            ("training.epochs", t.epochs, limits::EPOCHS),
            ("training.hidden_layers", t.hidden_layers, limits::HIDDEN_LAYERS),
            ("trials", self.trials.len(), limits::TRIALS),
            ("cases", self.cases.len(), limits::CASES),
        ] {
            if let Some(e) = over(key, value, max) {
                return Err(e);
            }
        }
        if t.batch == 0 {
            return Err(bad("training.batch".into(), "must be at least 1".into()));
        }
        if t.epochs == 0 {
            return Err(bad("training.epochs".into(), "must be at least 1".into()));
        }
        if t.hidden_layers == 0 {
            return Err(bad("training.hidden_layers".into(), "must be at least 1".into()));
        }
        if t.eval_every == 0 {
            return Err(bad("training.eval_every".into(), "must be at least 1".into()));
        }
        if let Some(n) = self.data.train_subset {
            if n == 0 || n % t.batch != 0 {
                return Err(bad(
                    "data.train_subset".into(),
                    format!("{n} is not a positive multiple of the batch size {}", t.batch),
                ));
            }
        }
        if self.data.test_subset == Some(0) {
            return Err(bad("data.test_subset".into(), "must be at least 1".into()));
        }
        if self.trials.is_empty() {
            return Err(bad("trials".into(), "at least one [[trials]] entry is needed".into()));
        }
        if self.cases.is_empty() {
            return Err(bad("cases".into(), "no cases: set case_table or add [[cases]]".into()));
        }
        for (i, trial) in self.trials.iter().enumerate() {
            let key = |k: &str| format!("trials[{}].{k}", i + 1);
            if !(trial.learning_rate.is_finite() && trial.learning_rate > 0.0) {
                return Err(bad(
                    key("learning_rate"),
                    format!("{} is not a positive finite number", trial.learning_rate),
                ));
            }
            if trial.hidden == 0 {
                return Err(bad(key("hidden"), "must be at least 1".into()));
            }
            if trial.experiments == 0 {
                return Err(bad(key("experiments"), "must be at least 1".into()));
            }
            if let Some(e) = over(&key("hidden"), trial.hidden, limits::HIDDEN)
                .or_else(|| over(&key("experiments"), trial.experiments, limits::EXPERIMENTS))
            {
                return Err(e);
            }
            let bytes = cell_bytes(INPUT, trial.hidden, t.hidden_layers, t.batch);
            if bytes > limits::CELL_BYTES {
                return Err(bad(
                    key("hidden"),
                    format!(
                        "a cell of H = {} with {} hidden layers and batch {} would need ≈ {} GiB \
                         (the limit is {} GiB)",
                        trial.hidden,
                        t.hidden_layers,
                        t.batch,
                        bytes >> 30,
                        limits::CELL_BYTES >> 30
                    ),
                ));
            }
            for (c, case) in self.cases.iter().enumerate() {
                let ckey = |k: &str| format!("case {c} ({:?}).{k}", case.label);
                crate::colour::to_hex(&case.colour).map_err(|m| bad(ckey("colour"), m))?;
                let registry = case.registry();
                registry
                    .build_rule(&case.update_table(trial.learning_rate))
                    .map_err(|e| bad(ckey("update"), e.to_string()))?;
                if let Some(noise) = &case.noise {
                    registry
                        .build_transform(noise)
                        .map_err(|e| bad(ckey("noise"), e.to_string()))?;
                }
                case.routing
                    .validate(&self.widths(trial))
                    .map_err(|e| bad(ckey("routing"), format!("{e} (trial {})", i + 1)))?;
            }
        }
        let experiments: usize = self.trials.iter().map(|t| t.experiments).sum();
        if experiments.saturating_mul(self.cases.len()) > limits::CELLS {
            return Err(bad(
                "trials".into(),
                format!(
                    "{experiments} experiments × {} cases is above the limit of {} cells",
                    self.cases.len(),
                    limits::CELLS
                ),
            ));
        }
        Ok(())
    }

    /// Layer widths of a trial's network: `[784, H × hidden_layers, 10]`.
    pub fn widths(&self, trial: &TrialConfig) -> Vec<usize> {
        let mut w = vec![INPUT];
        w.extend(std::iter::repeat_n(trial.hidden, self.training.hidden_layers));
        w.push(CLASSES);
        w
    }

    /// The resolved config as TOML (loadable again with [`Config::load`]).
    pub fn to_toml(&self) -> String {
        toml::to_string(self).expect("a resolved config always serialises to TOML")
    }

    /// The parts of the config that determine results, each as JSON: data, training, every
    /// trial, and per case its gradient, routing, resolved rule (per trial, defaults filled in)
    /// and noise — not its label or colour, which only name it.
    fn result_parts(&self) -> Vec<(String, String)> {
        let mut parts = vec![
            ("results format".to_string(), handprop_results::RESULTS_VERSION.to_string()),
            ("[data]".to_string(), json(&self.data)),
            ("[training]".to_string(), json(&self.training)),
        ];
        for (i, t) in self.trials.iter().enumerate() {
            parts.push((format!("trials[{}]", i + 1), json(t)));
        }
        for (c, case) in self.cases.iter().enumerate() {
            let rules: Vec<String> =
                self.trials.iter().map(|t| case.rule_identity(t.learning_rate)).collect();
            let what = (case.gradient, case.routing, rules, case.noise_identity());
            parts.push((format!("case {c}"), json(&what)));
        }
        parts
    }

    /// A 16-hex-digit hash of everything that determines the results (see `result_parts`), and of
    /// [`handprop_results::RESULTS_VERSION`], so that code whose numerics changed never reuses
    /// cells of older code. Labels, colours and the name are not hashed.
    pub fn hash(&self) -> String {
        let mut h = Sha256::new();
        for (name, part) in self.result_parts() {
            h.update(name.as_bytes());
            h.update([0]);
            h.update(part.as_bytes());
            h.update([0]);
        }
        hex::encode(&h.finalize()[..8])
    }

    /// The parts of the config in which `other` differs from `self` (as far as results go).
    pub fn differences(&self, other: &Config) -> Vec<String> {
        let mine = self.result_parts();
        let theirs = other.result_parts();
        let mut diff: Vec<String> = mine
            .iter()
            .filter(|(k, v)| theirs.iter().find(|(k2, _)| k2 == k).is_none_or(|(_, v2)| v2 != v))
            .map(|(k, _)| k.clone())
            .collect();
        diff.extend(
            theirs
                .iter()
                .filter(|(k, _)| !mine.iter().any(|(k2, _)| k2 == k))
                .map(|(k, _)| format!("{k} (only in the directory's config)")),
        );
        if diff.is_empty() {
            diff.push("nothing that changes results".into());
        }
        diff
    }

    /// Number of (trial, experiment, case) cells (validation bounds it far below overflow).
    pub fn cell_count(&self) -> usize {
        self.trials.iter().map(|t| t.experiments).sum::<usize>() * self.cases.len()
    }
}

/// JSON of a config part, for hashing and comparing.
fn json<T: Serialize>(v: &T) -> String {
    serde_json::to_string(v).expect("config parts serialise to JSON")
}

/// Estimated bytes of one running cell: weights, gradients and up to four optimizer slots or
/// scratch copies per weight (`6·W` floats), and about four batch-sized arrays per layer width.
fn cell_bytes(input: usize, hidden: usize, layers: usize, batch: usize) -> u128 {
    let (i, h, l, b) = (input as u128, hidden as u128, layers as u128, batch as u128);
    let weights = i * h + l.saturating_sub(1) * h * h + h * CLASSES as u128;
    let activations = b * (i + l * h + CLASSES as u128);
    4 * (6 * weights + 4 * activations)
}

fn parse_toml<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, ConfigError> {
    let text = std::fs::read_to_string(path)
        .map_err(|error| ConfigError::Io { path: path.to_owned(), error })?;
    toml::from_str(&text)
        .map_err(|e| ConfigError::Parse { path: path.to_owned(), message: e.to_string() })
}
