//! Tuning each case's learning rate on the validation split, then running the study with the
//! chosen rates (`docs/tuning.md`).
//!
//! A config's `[tuning]` section turns it into a **tuning sweep**: for every trial `t` (η_t) and
//! every candidate factor `f_k` the sweep trains every case with η = f_k · η_t (or f_k times the
//! case's own η, see [`CaseSpec::eta`]) for `epochs` epochs and scores the final network on the
//! split's 5,000 validation images. The factors are
//!
//! * `grid`: f_k = 10^(a + (b − a)·k/(K − 1)), k = 0 … K − 1, over `log10_range = [a, b]`
//!   (an odd K centred on 0 contains f = 1, the study's η);
//! * `quasirandom`: f_k = 10^(a + (b − a)·x_k) with x_k = frac(φ₂(k + 1) + u), φ₂ the base-2
//!   van der Corput sequence and u one uniform shift drawn from the config's seed (a scrambled
//!   low-discrepancy sequence, as AlgoPerf's quasirandom search), sorted increasingly.
//!
//! The sweep is an ordinary run ([`tuning_config`]): cells, resumes, shards, `--threads` and Slurm
//! work as for any run, and its tables are byte-identical whatever the threads or shards. Its
//! random streams are disjoint from every experiment's: experiment j of the sweep uses stream
//! experiment number 2²³ + j ([`TUNING_EXPERIMENT_OFFSET`]), above any experiment a config may
//! have; and every candidate of a trial uses the trial's streams (the same initial weights and
//! noise), so candidates differ only by η.
//!
//! **Selection** ([`select`]), per (trial, case): a candidate with a diverged experiment or a
//! non-finite score is never chosen; among the others the best mean score wins (highest final
//! validation accuracy, or lowest final training cost with `metric = "cost"`); an exact tie goes
//! to the smaller η. When every candidate diverged, or the case's rule does not depend on η, the
//! case keeps its default η. The outcome is `tuning.csv` (every candidate's score) and
//! `tuned.toml`: the base config with every case's chosen η per trial ([`outcome`], [`write_outcome`]).

use std::path::Path;

use handprop_results::{read_table, write_atomic, FinalRow, Table, TuningRow, TUNED_CONFIG_FILE};
use rand_chacha::rand_core::RngCore;
use serde::{Deserialize, Serialize};

use crate::cells::{stream_id, Purpose};
#[cfg(doc)]
use crate::config::CaseSpec;
use crate::config::{Config, ConfigError, Evaluate, TrialConfig, TUNING_EXPERIMENT_OFFSET};

/// `[tuning]`: the search space, budget and selection metric of a tuning sweep.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TuningConfig {
    /// `[a, b]`: factors range over 10^a … 10^b times the default η (default `[-1.5, 1.5]`).
    #[serde(default = "default_range")]
    pub log10_range: [f64; 2],
    /// Candidates per (trial, case), K (default 7).
    #[serde(default = "default_candidates")]
    pub candidates: usize,
    /// How the factors are placed: `grid` (default) or `quasirandom`.
    #[serde(default)]
    pub sampler: Sampler,
    /// Epochs per candidate (default: the config's `training.epochs`). Fewer epochs than the final
    /// runs favour larger η (short-horizon bias); `docs/tuning.md` discusses it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub epochs: Option<usize>,
    /// Tuning experiments (seeds) per candidate, averaged (default 1).
    #[serde(default = "default_experiments")]
    pub experiments: usize,
    /// The selection metric: `accuracy` (final validation accuracy, default) or `cost` (final
    /// training cost, the study's lowest-cost criterion).
    #[serde(default)]
    pub metric: Metric,
}

impl Default for TuningConfig {
    fn default() -> Self {
        TuningConfig {
            log10_range: default_range(),
            candidates: default_candidates(),
            sampler: Sampler::Grid,
            epochs: None,
            experiments: default_experiments(),
            metric: Metric::Accuracy,
        }
    }
}

fn default_range() -> [f64; 2] {
    [-1.5, 1.5]
}

fn default_candidates() -> usize {
    7
}

fn default_experiments() -> usize {
    1
}

/// How candidate factors are placed on the log axis.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Sampler {
    /// Evenly spaced on the log axis, both ends included.
    #[default]
    Grid,
    /// A randomly shifted base-2 van der Corput sequence (seeded by the config's seed).
    Quasirandom,
}

/// What the selection maximises or minimises.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Metric {
    /// Final validation accuracy, higher is better.
    #[default]
    Accuracy,
    /// Final training cost, lower is better.
    Cost,
}

/// Upper bound of candidates per (trial, case).
pub const MAX_CANDIDATES: usize = 1000;

impl TuningConfig {
    /// Checks the section; the error is `(key, message)` for [`Config::validate`] to place.
    pub fn validate(&self) -> Result<(), (String, String)> {
        let [a, b] = self.log10_range;
        if !(a.is_finite() && b.is_finite() && a <= b && a >= -10.0 && b <= 10.0) {
            return Err((
                "log10_range".into(),
                format!("[{a}, {b}] is not a range [a, b] with −10 ≤ a ≤ b ≤ 10"),
            ));
        }
        if self.candidates == 0 || self.candidates > MAX_CANDIDATES {
            return Err((
                "candidates".into(),
                format!("{} is not between 1 and {MAX_CANDIDATES}", self.candidates),
            ));
        }
        if self.candidates > 1 && a == b {
            return Err((
                "log10_range".into(),
                format!("{} candidates need a range wider than one point", self.candidates),
            ));
        }
        if self.epochs == Some(0) {
            return Err(("epochs".into(), "must be at least 1".into()));
        }
        if self.experiments == 0 || self.experiments > crate::config::limits::EXPERIMENTS {
            return Err((
                "experiments".into(),
                format!(
                    "{} is not between 1 and {}",
                    self.experiments,
                    crate::config::limits::EXPERIMENTS
                ),
            ));
        }
        Ok(())
    }

    /// The K candidate factors, increasing (see the module docs).
    pub fn factors(&self, seed: u64) -> Vec<f64> {
        let [a, b] = self.log10_range;
        let k = self.candidates;
        let xs: Vec<f64> = match self.sampler {
            Sampler::Grid if k == 1 => vec![0.5],
            Sampler::Grid => (0..k).map(|i| i as f64 / (k - 1) as f64).collect(),
            Sampler::Quasirandom => {
                let mut rng =
                    handprop_tensor::init::stream_rng(seed, stream_id(0, 0, 0, Purpose::Tuning));
                // 53 random bits as a uniform in [0, 1).
                let shift = (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
                let mut xs: Vec<f64> =
                    (1..=k).map(|i| (van_der_corput(i as u64) + shift).fract()).collect();
                xs.sort_by(f64::total_cmp);
                xs
            }
        };
        xs.into_iter().map(|x| 10f64.powf(a + (b - a) * x)).collect()
    }
}

/// The base-2 radical inverse: the bits of `i` mirrored behind the binary point.
fn van_der_corput(i: u64) -> f64 {
    i.reverse_bits() as f64 / 2f64.powi(64)
}

/// A tuning-sweep error.
#[derive(Debug, thiserror::Error)]
pub enum TuneError {
    /// The config has no `[tuning]` section.
    #[error("{path}: no [tuning] section: add one (docs/tuning.md) to tune this config")]
    NoTuning {
        /// The config file.
        path: String,
    },
    /// The derived sweep or tuned config is invalid (e.g. too many cells).
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The sweep's tables could not be read or the outcome written.
    #[error("{0}")]
    Results(String),
}

/// The tuning sweep of `base` as a run config: named `<name>-tuning`, scored on the validation
/// split, trials = base trials × candidates (trial `t·K + k + 1` is base trial `t + 1` at factor
/// `f_k`), final-epoch evaluation only, and the tuning streams of the module docs.
pub fn tuning_config(base: &Config, path: &Path) -> Result<Config, TuneError> {
    let tuning = base
        .tuning
        .as_ref()
        .ok_or_else(|| TuneError::NoTuning { path: path.display().to_string() })?;
    if base.data.split == handprop_mnist::Split::Full {
        return Err(ConfigError::Invalid {
            path: path.to_owned(),
            key: "data.split".into(),
            message: "\"full\" holds no validation images to tune on: use split = \"tf1\"".into(),
        }
        .into());
    }
    let factors = tuning.factors(base.training.seed);
    let mut sweep = base.clone();
    sweep.name = format!("{}-tuning", base.name);
    sweep.tuning = None;
    sweep.data.evaluate = Evaluate::Validation;
    sweep.training.epochs = tuning.epochs.unwrap_or(base.training.epochs);
    sweep.training.eval_every = sweep.training.epochs;
    sweep.trials = base
        .trials
        .iter()
        .enumerate()
        .flat_map(|(t, trial)| {
            factors.iter().map(move |f| TrialConfig {
                learning_rate: trial.learning_rate * f,
                hidden: trial.hidden,
                experiments: tuning.experiments,
                seed_trial: Some(trial.seed_trial.unwrap_or(t + 1)),
                seed_experiment_offset: Some(TUNING_EXPERIMENT_OFFSET),
            })
        })
        .collect();
    for case in &mut sweep.cases {
        if case.eta.is_some() {
            let etas = base
                .trials
                .iter()
                .enumerate()
                .flat_map(|(t, trial)| factors.iter().map(move |f| (t, trial, f)))
                .map(|(t, trial, f)| case.eta(t, trial) * f)
                .collect();
            case.eta = Some(etas);
        }
    }
    sweep.validate(path)?;
    Ok(sweep)
}

/// One candidate's outcome over its tuning experiments.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CandidateScore {
    /// Experiments that diverged.
    pub diverged: usize,
    /// The mean of the selection metric (NaN when an experiment diverged).
    pub score: f64,
}

/// The chosen candidate among `candidates` (in increasing η), or `None` when none qualifies: a
/// candidate with a diverged experiment or a non-finite score never wins; the best score wins
/// (highest for accuracy, lowest for cost); an exact tie goes to the smaller η (the earlier one).
pub fn select(candidates: &[CandidateScore], metric: Metric) -> Option<usize> {
    let mut best: Option<(usize, f64)> = None;
    for (k, c) in candidates.iter().enumerate() {
        if c.diverged > 0 || !c.score.is_finite() {
            continue;
        }
        let better = match best {
            None => true,
            Some((_, b)) => match metric {
                Metric::Accuracy => c.score > b,
                Metric::Cost => c.score < b,
            },
        };
        if better {
            best = Some((k, c.score));
        }
    }
    best.map(|(k, _)| k)
}

/// The outcome of a finished sweep: every candidate's row and the tuned config.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// `tuning.csv`'s rows, by trial, case and candidate.
    pub rows: Vec<TuningRow>,
    /// The base config with each case's chosen η per trial, named `<name>-tuned`.
    pub tuned: Config,
}

/// Scores every candidate from the sweep's `final.csv` rows and chooses per (trial, case).
pub fn outcome(
    base: &Config,
    sweep: &Config,
    finals: &[FinalRow],
    path: &Path,
) -> Result<Outcome, TuneError> {
    let tuning = base.tuning.clone().unwrap_or_default();
    let factors = tuning.factors(base.training.seed);
    let k_count = factors.len();
    let mut rows = Vec::new();
    let mut tuned = base.clone();
    tuned.name = format!("{}-tuned", base.name);
    tuned.tuning = None;
    let mut chosen: Vec<Vec<f64>> = base
        .cases
        .iter()
        .map(|case| base.trials.iter().enumerate().map(|(t, tr)| case.eta(t, tr)).collect())
        .collect();
    for (t, trial) in base.trials.iter().enumerate() {
        for (c, case) in base.cases.iter().enumerate() {
            let default_eta = case.eta(t, trial);
            let mut scores = Vec::with_capacity(k_count);
            let start = rows.len();
            for (k, &factor) in factors.iter().enumerate() {
                let sweep_trial = t * k_count + k + 1;
                let cells: Vec<&FinalRow> =
                    finals.iter().filter(|r| r.trial == sweep_trial && r.case == c).collect();
                let expected = sweep.trials[sweep_trial - 1].experiments;
                if cells.len() != expected {
                    return Err(TuneError::Results(format!(
                        "the sweep's final.csv has {} of the {expected} rows of trial \
                         {sweep_trial}, case {c}",
                        cells.len()
                    )));
                }
                let diverged = cells.iter().filter(|r| r.diverged != 0).count();
                let mean = |f: fn(&FinalRow) -> f64| {
                    if diverged > 0 {
                        f64::NAN
                    } else {
                        cells.iter().map(|r| f(r)).sum::<f64>() / cells.len() as f64
                    }
                };
                let (val_acc, cost) = (mean(|r| r.test_acc), mean(|r| r.cost));
                let score = match tuning.metric {
                    Metric::Accuracy => val_acc,
                    Metric::Cost => cost,
                };
                scores.push(CandidateScore { diverged, score });
                rows.push(TuningRow {
                    trial: t + 1,
                    case: c,
                    label: case.label.clone(),
                    candidate: k,
                    factor,
                    learning_rate: default_eta * factor,
                    experiments: cells.len(),
                    diverged,
                    val_acc,
                    cost,
                    score,
                    selected: 0,
                });
            }
            if !case.uses_eta() {
                continue;
            }
            if let Some(k) = select(&scores, tuning.metric) {
                rows[start + k].selected = 1;
                chosen[c][t] = rows[start + k].learning_rate;
            }
        }
    }
    for (case, etas) in tuned.cases.iter_mut().zip(chosen) {
        if case.uses_eta() {
            case.eta = Some(etas);
        }
    }
    tuned.validate(path)?;
    Ok(Outcome { rows, tuned })
}

/// Reads a finished sweep's `final.csv` from `dir`, chooses, and writes `tuning.csv` then
/// `tuned.toml` (last: its presence marks a complete outcome) atomically into `dir`.
pub fn write_outcome(
    base: &Config,
    sweep: &Config,
    dir: &Path,
    path: &Path,
) -> Result<Outcome, TuneError> {
    let err = |e: &dyn std::fmt::Display| TuneError::Results(format!("{}: {e}", dir.display()));
    let finals: Vec<FinalRow> = read_table(&dir.join(FinalRow::FILE)).map_err(|e| err(&e))?;
    let outcome = outcome(base, sweep, &finals, path)?;
    write_atomic(&dir.join(TuningRow::FILE), &handprop_results::write_table(&outcome.rows))
        .map_err(|e| err(&e))?;
    let text = format!(
        "# The tuned config of {:?}: every case's η per trial chosen on the validation split\n\
         # (tuning.csv beside this file has every candidate's score). Run it with\n\
         # `handprop run --config <this file>`.\n\n{}",
        base.name,
        outcome.tuned.to_toml()
    );
    write_atomic(&dir.join(TUNED_CONFIG_FILE), text.as_bytes()).map_err(|e| err(&e))?;
    Ok(outcome)
}

#[cfg(test)]
mod tests;
