//! Time to target and AlgoPerf-style performance profiles (`docs/report.md`, "Time to target").
//!
//! A [`Target`] is a metric and a threshold: an accuracy reaches it when `value ≥ threshold`, a
//! cost when `value ≤ threshold`. Per cell, the *time to target* is the first epoch `e` (0-based,
//! as in `metrics.csv`) whose value reaches it, measured two ways:
//!
//! - epochs: `t = e + 1`, the epochs trained until the target was first reached;
//! - seconds: `t = Σ_{k=0..=e} wall_s_k` from `timing.csv` (a cell runs on one thread, so these are
//!   its compute seconds).
//!
//! A cell that never reaches the target, diverged, or is missing has `t = ∞`.
//!
//! The *performance profile* of a trial treats every experiment as a problem `p ∈ P` and every case
//! as a solver `c`. With `t_{p,c}` the time above:
//!
//! ```text
//! r_{p,c} = t_{p,c} / min_{c'} t_{p,c'}          (∞ if t_{p,c} = ∞, and for every c if no case solves p)
//! ρ_c(τ)  = |{p ∈ P : r_{p,c} ≤ τ}| / |P|
//! ```
//!
//! so `ρ_c(1)` is the share of problems on which `c` was (one of) the fastest, and `ρ_c(τ)` for
//! large τ the share it solves at all. A problem no case solves counts against every case.

use std::fmt;
use std::str::FromStr;

use handprop_results::fmt_f64;

use crate::analysis::TrialAnalysis;
use crate::data::{Metric, ResultsData};

/// A target: a metric and the threshold it must reach.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Target {
    /// The metric compared.
    pub metric: Metric,
    /// Accuracies reach it at `value ≥ threshold`, the cost at `value ≤ threshold`.
    pub threshold: f64,
}

/// Why a `--target` text is not a target.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("target {text:?}: {reason}")]
pub struct TargetError {
    /// The text as given.
    pub text: String,
    /// What is wrong with it.
    pub reason: String,
}

impl Target {
    /// A target on `metric` at `threshold`.
    pub fn new(metric: Metric, threshold: f64) -> Target {
        Target { metric, threshold }
    }

    /// Whether `value` reaches the target (a non-finite value never does).
    pub fn reached(&self, value: f64) -> bool {
        value.is_finite()
            && if self.metric.higher_is_better() {
                value >= self.threshold
            } else {
                value <= self.threshold
            }
    }

    /// `≥` for accuracies, `≤` for the cost.
    pub fn relation(&self) -> &'static str {
        if self.metric.higher_is_better() {
            "≥"
        } else {
            "≤"
        }
    }

    /// The threshold as written in the CSVs (shortest round-trip form).
    pub fn threshold_text(&self) -> String {
        fmt_f64(self.threshold)
    }

    /// A file-name-safe key, e.g. `test_acc-0p9` (no `.`: chart files get their extension
    /// appended).
    pub fn key(&self) -> String {
        format!("{}-{}", self.metric.name(), self.threshold_text().replace('.', "p"))
    }
}

impl fmt::Display for Target {
    /// "test accuracy ≥ 0.9".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {}", self.metric.title(), self.relation(), self.threshold_text())
    }
}

impl FromStr for Target {
    type Err = TargetError;

    /// Parses `METRIC=THRESHOLD`, e.g. `test_acc=0.95` or `cost=0.1`. Accuracies must lie in
    /// [0, 1]; a cost threshold must be finite and non-negative.
    fn from_str(s: &str) -> Result<Target, TargetError> {
        let bad = |reason: &str| TargetError { text: s.to_string(), reason: reason.to_string() };
        let (m, v) = s.split_once('=').ok_or_else(|| bad("expected METRIC=THRESHOLD"))?;
        let metric = Metric::ALL
            .into_iter()
            .find(|x| x.name() == m.trim())
            .ok_or_else(|| bad("the metric must be cost, train_acc or test_acc"))?;
        let threshold: f64 = v.trim().parse().map_err(|_| bad("the threshold is not a number"))?;
        match metric {
            Metric::Cost if !(threshold.is_finite() && threshold >= 0.0) => {
                Err(bad("a cost threshold must be finite and ≥ 0"))
            }
            Metric::TrainAcc | Metric::TestAcc if !(0.0..=1.0).contains(&threshold) => {
                Err(bad("an accuracy threshold must lie in [0, 1]"))
            }
            // -0 reads as 0 (no sign on zero anywhere in the outputs).
            _ => Ok(Target { metric, threshold: threshold + 0.0 }),
        }
    }
}

/// The targets used when none are given, for trial `t` (`docs/report.md` says why):
///
/// - the faithful study: test accuracy ≥ 0.9 and ≥ 0.97, fixed MNIST levels;
/// - a scaled run (few epochs, narrow layers, subsets): test accuracy ≥ 90 % of the trial's best
///   mean final test accuracy, rounded down to 0.01 (`⌊90 · best⌋ / 100`), so that the best cases
///   reach it and the profile compares how fast; 0.9 if no case has a usable final value.
pub fn default_targets(t: &TrialAnalysis, faithful: bool) -> Vec<Target> {
    if faithful {
        return vec![Target::new(Metric::TestAcc, 0.9), Target::new(Metric::TestAcc, 0.97)];
    }
    let best = t.metrics[Metric::TestAcc.index()]
        .cases
        .iter()
        .map(|s| s.ci.mean)
        .filter(|m| m.is_finite())
        .fold(f64::NEG_INFINITY, f64::max);
    let threshold = if best.is_finite() {
        // The 1e-9 keeps a product such as 0.9 × 0.7 = 0.63 from flooring to 0.62.
        ((90.0 * best + 1e-9).floor() / 100.0).clamp(0.0, 1.0)
    } else {
        0.9
    };
    vec![Target::new(Metric::TestAcc, threshold)]
}

/// How time is measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Measure {
    /// Epochs trained, `e + 1` (machine-independent: the primary measure).
    Epochs,
    /// Compute seconds, Σ of the cell's epoch wall times up to and including `e`.
    Seconds,
}

impl Measure {
    /// `epochs` or `seconds`, as in `profiles.csv`.
    pub fn name(self) -> &'static str {
        match self {
            Measure::Epochs => "epochs",
            Measure::Seconds => "seconds",
        }
    }
}

/// When one cell first reached a target.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct TimeToTarget {
    /// The first epoch (0-based) whose value reaches the target; `None`: never (∞).
    pub epoch: Option<u32>,
    /// Σ wall_s of epochs `0..=epoch`; `None` if never reached or a wall time is missing.
    pub seconds: Option<f64>,
}

impl TimeToTarget {
    /// The time in `m` (`∞` when not reached; NaN when reached but its seconds are unknown).
    pub fn time(&self, m: Measure) -> f64 {
        match (self.epoch, m) {
            (None, _) => f64::INFINITY,
            (Some(e), Measure::Epochs) => e as f64 + 1.0,
            (Some(_), Measure::Seconds) => self.seconds.unwrap_or(f64::NAN),
        }
    }
}

/// The time to target of one cell from its series of the target's metric ((epoch, value), sorted)
/// and its per-epoch wall times ((epoch, wall_s), sorted). A diverged cell counts as never reaching
/// it, even if it crossed the threshold before diverging: the report never counts a diverged run
/// as a result (it never wins either).
pub fn time_to_target(
    series: &[(u32, f64)],
    walls: &[(u32, f64)],
    diverged: bool,
    target: &Target,
) -> TimeToTarget {
    if diverged {
        return TimeToTarget::default();
    }
    let Some(&(epoch, _)) = series.iter().find(|(_, v)| target.reached(*v)) else {
        return TimeToTarget::default();
    };
    let upto: Vec<&(u32, f64)> = walls.iter().filter(|(e, _)| *e <= epoch).collect();
    // Every epoch 0..=epoch must be timed, else the sum would understate the time.
    let complete = upto.len() == epoch as usize + 1
        && upto.iter().enumerate().all(|(i, (e, _))| *e as usize == i);
    let seconds = complete.then(|| upto.iter().map(|(_, w)| *w).sum::<f64>());
    TimeToTarget { epoch: Some(epoch), seconds }
}

/// Performance ratios from `times[p][c]` (∞ = not solved): `ratios[c][p] = t_{p,c} / min_c' t_{p,c'}`,
/// ∞ when the case did not solve the problem or no case did. A problem whose fastest time is 0
/// gives ratio 1 to the cases at 0 and ∞ to the others.
pub fn performance_ratios(times: &[Vec<f64>]) -> Vec<Vec<f64>> {
    let n_cases = times.iter().map(Vec::len).max().unwrap_or(0);
    let mut ratios = vec![Vec::with_capacity(times.len()); n_cases];
    for row in times {
        let best = row.iter().copied().filter(|t| t.is_finite()).fold(f64::INFINITY, f64::min);
        for (c, r) in ratios.iter_mut().enumerate() {
            let t = row.get(c).copied().unwrap_or(f64::INFINITY);
            r.push(if !t.is_finite() || !best.is_finite() {
                f64::INFINITY
            } else if best == 0.0 {
                if t == 0.0 {
                    1.0
                } else {
                    f64::INFINITY
                }
            } else {
                t / best
            });
        }
    }
    ratios
}

/// ρ(τ) = |{p : r_p ≤ τ}| / |P| of one case's ratios (0 for no problems).
pub fn rho(ratios: &[f64], tau: f64) -> f64 {
    if ratios.is_empty() {
        return 0.0;
    }
    ratios.iter().filter(|r| **r <= tau).count() as f64 / ratios.len() as f64
}

/// Where the profiles step: 1 and every distinct finite ratio of any case, ascending.
pub fn breakpoints(ratios: &[Vec<f64>]) -> Vec<f64> {
    let mut v: Vec<f64> = std::iter::once(1.0)
        .chain(ratios.iter().flatten().copied().filter(|r| r.is_finite()))
        .collect();
    v.sort_by(f64::total_cmp);
    v.dedup();
    v
}

/// The median of `v` with ∞ allowed (the mean of the two middle values for an even count, so it is
/// ∞ as soon as half or more of the values are ∞); NaN for no values.
pub fn median_inf(v: &[f64]) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let n = s.len();
    if n % 2 == 1 {
        s[n / 2]
    } else {
        (s[n / 2 - 1] + s[n / 2]) / 2.0
    }
}

/// A profile of one trial, target and measure.
#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    /// The measure of time.
    pub measure: Measure,
    /// `ratios[i][p]`, indexed like [`TargetResult::cases`] and [`TargetResult::experiments`].
    pub ratios: Vec<Vec<f64>>,
    /// [`breakpoints`] of the ratios.
    pub taus: Vec<f64>,
}

/// Time to one target in one trial: every cell's time and the profiles.
#[derive(Debug, Clone, PartialEq)]
pub struct TargetResult {
    /// The trial number.
    pub trial: u32,
    /// The target.
    pub target: Target,
    /// The trial's experiments (the problems), sorted.
    pub experiments: Vec<u32>,
    /// The trial's cases, sorted.
    pub cases: Vec<usize>,
    /// `times[p][i]`: the time to target of case `cases[i]` in experiment `experiments[p]`.
    pub times: Vec<Vec<TimeToTarget>>,
    /// The profile in epochs (the primary one).
    pub epochs: Profile,
    /// The profile in compute seconds, if every cell that reached the target has its seconds.
    pub seconds: Option<Profile>,
}

impl TargetResult {
    /// Problems solved by case index `i`.
    pub fn solved(&self, i: usize) -> usize {
        self.times.iter().filter(|row| row[i].epoch.is_some()).count()
    }

    /// The median time of case index `i` over the problems, ∞ counted ([`median_inf`]).
    pub fn median(&self, i: usize, m: Measure) -> f64 {
        let v: Vec<f64> = self.times.iter().map(|row| row[i].time(m)).collect();
        median_inf(&v)
    }

    /// The profile in `m`, if there is one.
    pub fn profile(&self, m: Measure) -> Option<&Profile> {
        match m {
            Measure::Epochs => Some(&self.epochs),
            Measure::Seconds => self.seconds.as_ref(),
        }
    }
}

fn profile(times: &[Vec<TimeToTarget>], m: Measure) -> Profile {
    let t: Vec<Vec<f64>> =
        times.iter().map(|row| row.iter().map(|x| x.time(m)).collect()).collect();
    let ratios = performance_ratios(&t);
    let taus = breakpoints(&ratios);
    Profile { measure: m, ratios, taus }
}

/// Times and profiles of trial `t` for `target`, from the loaded results.
pub fn analyse(data: &ResultsData, t: &TrialAnalysis, target: Target) -> TargetResult {
    let tr = t.info.trial;
    let times: Vec<Vec<TimeToTarget>> = t
        .experiments
        .iter()
        .map(|&e| {
            t.cases
                .iter()
                .map(|&c| {
                    let Some(f) = data
                        .finals
                        .iter()
                        .find(|f| f.trial == tr && f.experiment == e && f.case == c)
                    else {
                        return TimeToTarget::default();
                    };
                    let key = (tr, e, c);
                    let series =
                        data.series.get(&key).map_or(&[][..], |s| &s[target.metric.index()]);
                    let walls = data.epoch_wall.get(&key).map_or(&[][..], Vec::as_slice);
                    time_to_target(series, walls, f.diverged, &target)
                })
                .collect()
        })
        .collect();
    let timed = times.iter().flatten().all(|x| x.epoch.is_none() || x.seconds.is_some());
    TargetResult {
        trial: tr,
        target,
        experiments: t.experiments.clone(),
        cases: t.cases.clone(),
        epochs: profile(&times, Measure::Epochs),
        seconds: timed.then(|| profile(&times, Measure::Seconds)),
        times,
    }
}

/// A CSV number: [`fmt_f64`] for a finite value, empty for ∞ or unknown.
fn cell(v: f64) -> String {
    if v.is_finite() {
        fmt_f64(v)
    } else {
        String::new()
    }
}

fn to_csv(header: &[&str], rows: Vec<Vec<String>>) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    // Writing records into a Vec cannot fail: the only errors are I/O errors of the sink.
    let _ = w.write_record(header);
    for r in rows {
        let _ = w.write_record(&r);
    }
    String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
}

fn case_cols(data: &ResultsData, c: usize) -> [String; 3] {
    let info = data.cases.get(&c);
    [
        c.to_string(),
        info.map_or(String::new(), |i| i.label.clone()),
        info.map_or(String::new(), |i| i.group.name().to_string()),
    ]
}

/// `time_to_target.csv`: one row per trial, experiment, case and target
/// (`trial,experiment,case,label,group,target_metric,target,epoch,seconds`; empty = ∞ or unknown).
pub fn time_to_target_csv(data: &ResultsData, results: &[TargetResult]) -> String {
    let mut rows = Vec::new();
    for r in results {
        for (p, &e) in r.experiments.iter().enumerate() {
            for (i, &c) in r.cases.iter().enumerate() {
                let x = r.times[p][i];
                let mut row = vec![r.trial.to_string(), e.to_string()];
                row.extend(case_cols(data, c));
                row.push(r.target.metric.name().to_string());
                row.push(r.target.threshold_text());
                row.push(x.epoch.map_or(String::new(), |e| e.to_string()));
                row.push(x.seconds.map_or(String::new(), cell));
                rows.push(row);
            }
        }
    }
    to_csv(
        &[
            "trial",
            "experiment",
            "case",
            "label",
            "group",
            "target_metric",
            "target",
            "epoch",
            "seconds",
        ],
        rows,
    )
}

/// `profiles.csv`: ρ of every case at every breakpoint τ, per trial, target and measure
/// (`trial,target_metric,target,measure,case,label,group,tau,rho`).
pub fn profiles_csv(data: &ResultsData, results: &[TargetResult]) -> String {
    let mut rows = Vec::new();
    for r in results {
        for p in [Some(&r.epochs), r.seconds.as_ref()].into_iter().flatten() {
            for (i, &c) in r.cases.iter().enumerate() {
                for &tau in &p.taus {
                    let mut row = vec![
                        r.trial.to_string(),
                        r.target.metric.name().to_string(),
                        r.target.threshold_text(),
                        p.measure.name().to_string(),
                    ];
                    row.extend(case_cols(data, c));
                    row.push(fmt_f64(tau));
                    row.push(fmt_f64(rho(&p.ratios[i], tau)));
                    rows.push(row);
                }
            }
        }
    }
    to_csv(
        &["trial", "target_metric", "target", "measure", "case", "label", "group", "tau", "rho"],
        rows,
    )
}

/// `time_to_target_summary.csv`: per trial, target and case the problems, the solved count and the
/// median epochs and seconds to target (∞ counted; empty = ∞ or unknown)
/// (`trial,target_metric,target,case,label,group,problems,solved,median_epochs,median_seconds`).
pub fn summary_csv(data: &ResultsData, results: &[TargetResult]) -> String {
    let mut rows = Vec::new();
    for r in results {
        for (i, &c) in r.cases.iter().enumerate() {
            let mut row = vec![
                r.trial.to_string(),
                r.target.metric.name().to_string(),
                r.target.threshold_text(),
            ];
            row.extend(case_cols(data, c));
            row.push(r.experiments.len().to_string());
            row.push(r.solved(i).to_string());
            row.push(cell(r.median(i, Measure::Epochs)));
            row.push(if r.seconds.is_some() {
                cell(r.median(i, Measure::Seconds))
            } else {
                String::new()
            });
            rows.push(row);
        }
    }
    to_csv(
        &[
            "trial",
            "target_metric",
            "target",
            "case",
            "label",
            "group",
            "problems",
            "solved",
            "median_epochs",
            "median_seconds",
        ],
        rows,
    )
}
