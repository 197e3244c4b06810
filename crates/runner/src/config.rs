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

use std::path::{Path, PathBuf};

use handprop_mnist::{DatasetKind, Split};
use handprop_optim::Registry;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub use crate::case::{CaseRegistry, CaseSpec};
pub use crate::tune::TuningConfig;

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
    /// The dataset: `mnist` (the study's, the default) or `fashion-mnist` (the same shapes and
    /// classes, harder: a second workload). Left out of the saved config and the hash when it is
    /// `mnist`, so MNIST configs keep their hashes.
    #[serde(default, skip_serializing_if = "is_mnist")]
    pub dataset: DatasetKind,
    /// The split (`tf1` as the study; the same 5,000 validation / 55,000 training rule applies to
    /// Fashion-MNIST).
    pub split: Split,
    /// Train on only the first N training images of the split.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub train_subset: Option<usize>,
    /// Test on only the first N test images (of the evaluation set, see `evaluate`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_subset: Option<usize>,
    /// The set the `test_acc` columns measure: `test` (the study, the default; not written out,
    /// so configs and hashes of the study are unchanged) or `validation` (the split's 5,000
    /// held-out training-file images; tuning sweeps score on it so that the test set never
    /// influences a choice).
    #[serde(default, skip_serializing_if = "Evaluate::is_test")]
    pub evaluate: Evaluate,
}

/// Which held-out images a run evaluates on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Evaluate {
    /// The test files (10,000 images).
    #[default]
    Test,
    /// The split's validation images (TF1's split: training-file images 0–4,999).
    Validation,
}

impl Evaluate {
    fn is_test(&self) -> bool {
        *self == Evaluate::Test
    }
}

fn is_mnist(d: &DatasetKind) -> bool {
    *d == DatasetKind::Mnist
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
    /// The trial number its random streams use (default: its own). Tuning sweeps set it to the
    /// base trial, so that every candidate η of a trial starts from the same weights and draws
    /// the same noise (common random numbers: candidates differ only by η).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed_trial: Option<usize>,
    /// Added to the experiment number in its random streams (default 0). Tuning sweeps use
    /// [`TUNING_EXPERIMENT_OFFSET`], above every experiment a config may have, so tuning seeds
    /// never coincide with an experiment's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed_experiment_offset: Option<usize>,
}

/// The experiment offset of tuning streams: 2²³, above [`limits::EXPERIMENTS`] and inside the
/// stream id's 24 experiment bits.
pub const TUNING_EXPERIMENT_OFFSET: usize = 1 << 23;

impl TrialConfig {
    /// A trial of η, H and experiments with its own random streams.
    pub fn new(learning_rate: f64, hidden: usize, experiments: usize) -> Self {
        TrialConfig {
            learning_rate,
            hidden,
            experiments,
            seed_trial: None,
            seed_experiment_offset: None,
        }
    }

    /// The (trial, experiment) numbers the random streams of experiment `experiment` of trial
    /// number `trial` (from 1) use.
    pub fn stream_numbers(&self, trial: usize, experiment: usize) -> (usize, usize) {
        (self.seed_trial.unwrap_or(trial), experiment + self.seed_experiment_offset.unwrap_or(0))
    }
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
    #[serde(default)]
    tuning: Option<TuningConfig>,
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
    /// How `handprop tune` searches each case's η (see [`crate::tune`]); not part of the hash,
    /// since it never changes this config's own cells.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tuning: Option<TuningConfig>,
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
            tuning: file.tuning,
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
            if let Some(st) = trial.seed_trial {
                if st == 0 || st > limits::TRIALS {
                    return Err(bad(
                        key("seed_trial"),
                        format!("{st} is not a trial number between 1 and {}", limits::TRIALS),
                    ));
                }
            }
            if let Some(offset) = trial.seed_experiment_offset {
                if offset.saturating_add(trial.experiments) > 1 << 24 {
                    return Err(bad(
                        key("seed_experiment_offset"),
                        format!(
                            "{offset} + {} experiments is above the stream id's limit of 2^24",
                            trial.experiments
                        ),
                    ));
                }
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
                if let Some(etas) = &case.eta {
                    if etas.len() != self.trials.len() {
                        return Err(bad(
                            ckey("eta"),
                            format!(
                                "{} values for {} trials (one η per trial)",
                                etas.len(),
                                self.trials.len()
                            ),
                        ));
                    }
                    if let Some(v) = etas.iter().find(|v| !(v.is_finite() && **v > 0.0)) {
                        return Err(bad(ckey("eta"), format!("{v} is not a positive finite η")));
                    }
                }
                let registry = case.registry();
                registry
                    .build_rule(&case.update_table(case.eta(i, trial)))
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
        if let Some(tuning) = &self.tuning {
            tuning.validate().map_err(|(k, m)| bad(format!("tuning.{k}"), m))?;
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
            let rules: Vec<String> = self
                .trials
                .iter()
                .enumerate()
                .map(|(i, t)| case.rule_identity(case.eta(i, t)))
                .collect();
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
pub(crate) fn json<T: Serialize>(v: &T) -> String {
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
