//! The "Default η vs tuned η" comparison: a tuned run (every case at the η its tuning sweep chose
//! on the validation split) set beside its baseline (the same trials, experiments and seeds at the
//! default η), and, optionally, the sweep's `tuning.csv`.
//!
//! Three directories take part (`docs/report.md`, "Default η vs tuned η"):
//!
//! - TUNED, the directory the report is written into (an ordinary run of the tuned config);
//! - DEFAULT (`--baseline`), an ordinary run with the same `trials.csv` and the same cases (numbers
//!   and labels); anything else is refused with [`ReportError::Mismatch`] naming what differs;
//! - TUNING (`--tuning`, optional), the sweep: its `tuning.csv` (`handprop_results::TuningRow`)
//!   must name exactly TUNED's trials (as base trials) and cases, with the same labels.
//!
//! Per trial and criterion the **frequency winner** is the case with the most wins (ties to the
//! lowest case number, the report's tie rule); it *changed* when the tuned run's differs from the
//! default run's. Each case's **rank** is its place by mean final test accuracy (1 = highest; ties
//! share the average of the places they span; a case with no usable value ranks last).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use handprop_results::{Table as _, TuningRow};

use crate::analysis::{analyse_trial, TrialAnalysis};
use crate::data::{verify_manifest, Metric, ResultsData};
use crate::error::ReportError;
use crate::fmt::csv_num;
use crate::stats::{self, MeanCi};

/// The file the comparison writes into the tuned run's directory, next to `summary.csv`.
pub const COMPARISON_FILE: &str = "comparison.csv";

/// The columns of `comparison.csv`, in order (documented in `docs/report.md`).
pub const COMPARISON_COLUMNS: [&str; 26] = [
    "trial",
    "case",
    "label",
    "group",
    "default_eta",
    "tuned_eta",
    "tuned_factor",
    "default_n",
    "tuned_n",
    "default_test_acc",
    "default_test_acc_ci95",
    "tuned_test_acc",
    "tuned_test_acc_ci95",
    "default_cost",
    "default_cost_ci95",
    "tuned_cost",
    "tuned_cost_ci95",
    "default_rank",
    "tuned_rank",
    "rank_change",
    "default_wins_lowest_cost",
    "tuned_wins_lowest_cost",
    "default_wins_highest_train_acc",
    "tuned_wins_highest_train_acc",
    "default_wins_highest_test_acc",
    "tuned_wins_highest_test_acc",
];

/// The comparison's inputs besides the tuned run itself.
#[derive(Debug, Clone, PartialEq)]
pub struct CompareOptions {
    /// DEFAULT: the run at the default η (same trials, experiments, seeds and cases).
    pub baseline: PathBuf,
    /// TUNING: the tuning sweep's directory, holding `tuning.csv` (adds the η columns and the
    /// tuning-curve charts).
    pub tuning: Option<PathBuf>,
}

/// One criterion's frequency winner in the default and in the tuned run.
#[derive(Debug, Clone, PartialEq)]
pub struct WinnerChange {
    /// The criterion's metric.
    pub metric: Metric,
    /// The default run's winner: most wins, ties to the lowest case; `None` if nothing won.
    pub default: Option<usize>,
    /// Its wins.
    pub default_wins: usize,
    /// Every case with that many wins (more than one: a tie, decided by the lowest case).
    pub default_tied: Vec<usize>,
    /// The tuned run's winner.
    pub tuned: Option<usize>,
    /// Its wins.
    pub tuned_wins: usize,
    /// Every case with that many wins.
    pub tuned_tied: Vec<usize>,
}

impl WinnerChange {
    /// Whether the tuned run's winner differs from the default run's.
    pub fn changed(&self) -> bool {
        self.default != self.tuned
    }
}

/// One case of one trial, default vs tuned.
#[derive(Debug, Clone, PartialEq)]
pub struct CaseComparison {
    /// Case number.
    pub case: usize,
    /// The η the default run used for the case in this trial ([`run_eta`] on DEFAULT); `None`
    /// for a case whose rule does not take η.
    pub default_eta: Option<f64>,
    /// The η the tuned run used ([`run_eta`] on TUNED).
    pub tuned_eta: Option<f64>,
    /// Final test accuracy, mean ± 95 % CI over the usable cells, default run.
    pub default_test: MeanCi,
    /// The same, tuned run.
    pub tuned_test: MeanCi,
    /// Final cost, mean ± 95 % CI, default run.
    pub default_cost: MeanCi,
    /// The same, tuned run.
    pub tuned_cost: MeanCi,
    /// Rank by mean final test accuracy in the default run (1 = highest).
    pub default_rank: f64,
    /// The same in the tuned run.
    pub tuned_rank: f64,
    /// Wins per criterion ([`Metric::index`]) in the default run.
    pub default_wins: [usize; 3],
    /// The same in the tuned run.
    pub tuned_wins: [usize; 3],
}

impl CaseComparison {
    /// default rank − tuned rank: positive when the case moved up (towards rank 1).
    pub fn rank_change(&self) -> f64 {
        self.default_rank - self.tuned_rank
    }

    /// The tuned η as a multiple of the default η, if both are known.
    pub fn tuned_factor(&self) -> Option<f64> {
        Some(self.tuned_eta? / self.default_eta?)
    }

    /// "↑" (moved up), "↓" (moved down) or "=".
    pub fn arrow(&self) -> &'static str {
        match self.rank_change() {
            d if d > 0.0 => "↑",
            d if d < 0.0 => "↓",
            _ => "=",
        }
    }
}

/// One trial, default vs tuned.
#[derive(Debug, Clone, PartialEq)]
pub struct TrialComparison {
    /// The trial's analysis in the default run.
    pub default: TrialAnalysis,
    /// The trial's analysis in the tuned run.
    pub tuned: TrialAnalysis,
    /// Per criterion ([`Metric::index`]), the frequency winners.
    pub winners: [WinnerChange; 3],
    /// Per case, in case order.
    pub cases: Vec<CaseComparison>,
}

impl TrialComparison {
    /// The trial number.
    pub fn trial(&self) -> u32 {
        self.tuned.info.trial
    }

    /// How many of the three criteria changed winner.
    pub fn changed(&self) -> usize {
        self.winners.iter().filter(|w| w.changed()).count()
    }
}

/// Everything the comparison section and `comparison.csv` show.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    /// DEFAULT.
    pub baseline_dir: PathBuf,
    /// TUNING, if given.
    pub tuning_dir: Option<PathBuf>,
    /// Per trial present in both runs, in trial order.
    pub trials: Vec<TrialComparison>,
    /// `tuning.csv`'s rows (empty without `--tuning`).
    pub tuning: Vec<TuningRow>,
    /// Inconsistencies that do not stop the report (experiments present in one run only).
    pub warnings: Vec<String>,
}

/// The frequency winner of `m` in `t`: (winner, its wins, every case with as many wins). The
/// winner is the case with the most wins, ties to the lowest case number; none if nothing won.
pub fn frequency_winner(t: &TrialAnalysis, m: Metric) -> (Option<usize>, usize, Vec<usize>) {
    let wins = &t.wins[m.index()];
    let top = wins.iter().copied().max().unwrap_or(0);
    if top == 0 {
        return (None, 0, Vec::new());
    }
    let tied: Vec<usize> =
        t.cases.iter().zip(wins).filter(|(_, w)| **w == top).map(|(c, _)| *c).collect();
    (tied.first().copied(), top, tied)
}

/// Ranks by mean (1 = best): `higher_is_better` for accuracies; ties share the average of the
/// places they span; a NaN mean (no usable cell) ranks last.
pub fn rank_by_mean(means: &[f64], higher_is_better: bool) -> Vec<f64> {
    let v: Vec<Option<f64>> = means.iter().map(|m| m.is_finite().then_some(*m)).collect();
    stats::rank_best_first(&v, higher_is_better)
}

/// The default and tuned η of (trial, case) from `tuning.csv`'s rows: default = the factor-1
/// candidate's η, else η / factor of the first candidate, else `trial_eta`; tuned = the selected
/// candidate's η, else the default.
pub fn etas(rows: &[TuningRow], trial: u32, case: usize, trial_eta: f64) -> (f64, f64) {
    let mine: Vec<&TuningRow> =
        rows.iter().filter(|r| r.trial == trial as usize && r.case == case).collect();
    let default = mine
        .iter()
        .find(|r| r.factor == 1.0)
        .map(|r| r.learning_rate)
        .or_else(|| mine.first().map(|r| r.learning_rate / r.factor))
        .unwrap_or(trial_eta);
    let tuned = mine.iter().find(|r| r.selected == 1).map_or(default, |r| r.learning_rate);
    (default, tuned)
}

/// The η a run used for `case` in `trial`, from its `cases.csv` (`docs/results.md`): the case's
/// `eta_trialN` column (a tuned config's own η per trial) when set; else the trial's η from
/// `trials.csv` when the case lists hyperparameters in `eta_params`, or when the table has no
/// `eta_params` column at all (an older runner); else `None` (the rule does not take η).
pub fn run_eta(data: &ResultsData, trial: u32, case: usize) -> Option<f64> {
    let info = data.cases.get(&case)?;
    let param = |name: &str| info.params.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    if let Some(v) = param(&format!("eta_trial{trial}")).and_then(|v| v.parse::<f64>().ok()) {
        return Some(v);
    }
    let has_column = data.cases.values().any(|c| c.params.iter().any(|(k, _)| k == "eta_params"));
    let takes_eta = param("eta_params").is_some_and(|v| !v.is_empty());
    (takes_eta || !has_column).then(|| data.trials.get(&trial).map(|t| t.learning_rate)).flatten()
}

fn mismatch(path: PathBuf, other: PathBuf, what: String) -> ReportError {
    ReportError::Mismatch { path, other, what }
}

/// Refuses a baseline whose trials (η as f32, H, experiments, epochs, batch) or cases (numbers
/// and labels) differ from the tuned run's.
pub fn check_same_design(baseline: &ResultsData, tuned: &ResultsData) -> Result<(), ReportError> {
    let (bt, tt) = (baseline.dir.join("trials.csv"), tuned.dir.join("trials.csv"));
    let list = |v: Vec<u32>| v.iter().map(u32::to_string).collect::<Vec<_>>().join(", ");
    let (b_trials, t_trials): (Vec<u32>, Vec<u32>) =
        (baseline.trials.keys().copied().collect(), tuned.trials.keys().copied().collect());
    if b_trials != t_trials {
        return Err(mismatch(
            bt,
            tt,
            format!("trials {} vs trials {}", list(b_trials), list(t_trials)),
        ));
    }
    for (b, t) in baseline.trials.values().zip(tuned.trials.values()) {
        let fields = [
            (
                "learning_rate",
                crate::fmt::param(b.learning_rate),
                crate::fmt::param(t.learning_rate),
            ),
            ("hidden", b.hidden.to_string(), t.hidden.to_string()),
            ("experiments", b.experiments.to_string(), t.experiments.to_string()),
            ("epochs", b.epochs.to_string(), t.epochs.to_string()),
            ("batch", b.batch.to_string(), t.batch.to_string()),
        ];
        // η is compared as f32, the precision the runner computes with.
        let eta_same = b.learning_rate as f32 == t.learning_rate as f32;
        for (name, bv, tv) in fields {
            if (name == "learning_rate" && !eta_same) || (name != "learning_rate" && bv != tv) {
                return Err(mismatch(bt, tt, format!("trial {}: {name} {bv} vs {tv}", b.trial)));
            }
        }
    }
    let (bc, tc) = (baseline.dir.join("cases.csv"), tuned.dir.join("cases.csv"));
    if baseline.cases.len() != tuned.cases.len() {
        return Err(mismatch(
            bc,
            tc,
            format!("{} cases vs {} cases", baseline.cases.len(), tuned.cases.len()),
        ));
    }
    for (b, t) in baseline.cases.values().zip(tuned.cases.values()) {
        if b.case != t.case {
            return Err(mismatch(bc, tc, format!("case C{} vs case C{}", b.case, t.case)));
        }
        if b.label != t.label {
            return Err(mismatch(
                bc,
                tc,
                format!("case C{}: label {:?} vs {:?}", b.case, b.label, t.label),
            ));
        }
    }
    Ok(())
}

/// Reads TUNING's `tuning.csv` (after checking the directory against its `run.json` manifest)
/// and checks it against the tuned run: every row names a trial and a case of TUNED with the same
/// label, a positive finite factor and η, `selected` 0 or 1, no candidate twice and at most one
/// selected per (trial, case); and it names every trial and every case of TUNED.
pub fn read_tuning(dir: &Path, tuned: &ResultsData) -> Result<Vec<TuningRow>, ReportError> {
    verify_manifest(dir)?;
    let path = dir.join(TuningRow::FILE);
    if !path.exists() {
        return Err(ReportError::MissingFile {
            path,
            what: "the tuning sweep's outcome (one row per base trial, case and candidate η)"
                .into(),
        });
    }
    let rows: Vec<TuningRow> = handprop_results::read_table(&path)?;
    let invalid = |i: usize, field: &'static str, value: String, reason: String| {
        ReportError::Invalid { path: path.clone(), line: i as u64 + 2, field, value, reason }
    };
    let mut seen = BTreeSet::new();
    let mut selected = BTreeMap::new();
    for (i, r) in rows.iter().enumerate() {
        if !tuned.trials.contains_key(&(r.trial as u32)) {
            let reason = format!("not a trial of {}", tuned.dir.join("trials.csv").display());
            return Err(invalid(i, "trial", r.trial.to_string(), reason));
        }
        let Some(info) = tuned.cases.get(&r.case) else {
            let reason = format!("not a case of {}", tuned.dir.join("cases.csv").display());
            return Err(invalid(i, "case", r.case.to_string(), reason));
        };
        if info.label != r.label {
            let reason = format!(
                "C{} is {:?} in {}",
                r.case,
                info.label,
                tuned.dir.join("cases.csv").display()
            );
            return Err(invalid(i, "label", r.label.clone(), reason));
        }
        for (field, v) in [("factor", r.factor), ("learning_rate", r.learning_rate)] {
            if !(v.is_finite() && v > 0.0) {
                return Err(invalid(i, field, v.to_string(), "expected a positive number".into()));
            }
        }
        if r.selected > 1 {
            return Err(invalid(i, "selected", r.selected.to_string(), "expected 0 or 1".into()));
        }
        if !seen.insert((r.trial, r.case, r.candidate)) {
            let reason = format!("candidate listed twice for trial {}, C{}", r.trial, r.case);
            return Err(invalid(i, "candidate", r.candidate.to_string(), reason));
        }
        if r.selected == 1 {
            if let Some(prev) = selected.insert((r.trial, r.case), r.candidate) {
                let reason =
                    format!("trial {}, C{} already has candidate {prev} selected", r.trial, r.case);
                return Err(invalid(i, "selected", "1".into(), reason));
            }
        }
    }
    let named_trials: BTreeSet<u32> = rows.iter().map(|r| r.trial as u32).collect();
    if let Some(t) = tuned.trials.keys().find(|t| !named_trials.contains(t)) {
        return Err(mismatch(
            path,
            tuned.dir.join("trials.csv"),
            format!("trial {t} has no candidate in tuning.csv"),
        ));
    }
    let named_cases: BTreeSet<usize> = rows.iter().map(|r| r.case).collect();
    if let Some(c) = tuned.cases.keys().find(|c| !named_cases.contains(c)) {
        return Err(mismatch(
            path,
            tuned.dir.join("cases.csv"),
            format!("case C{c} has no candidate in tuning.csv"),
        ));
    }
    Ok(rows)
}

/// Loads DEFAULT (and TUNING) and compares them with the loaded tuned run.
///
/// # Errors
/// A baseline or tuning directory that does not load, or whose design differs from TUNED's
/// ([`ReportError::Mismatch`], [`ReportError::Invalid`] naming the file).
pub fn load(tuned: &ResultsData, opts: &CompareOptions) -> Result<Comparison, ReportError> {
    let baseline = ResultsData::load(&opts.baseline)?;
    check_same_design(&baseline, tuned)?;
    let tuning = match &opts.tuning {
        Some(d) => read_tuning(d, tuned)?,
        None => Vec::new(),
    };
    let mut c = compare(&baseline, tuned, tuning);
    c.tuning_dir = opts.tuning.clone();
    Ok(c)
}

/// Compares two loaded runs of the same design (see [`check_same_design`]); `tuning` may be
/// empty (no η columns).
pub fn compare(baseline: &ResultsData, tuned: &ResultsData, tuning: Vec<TuningRow>) -> Comparison {
    let mut trials = Vec::new();
    let mut warnings = Vec::new();
    for info in tuned.trials.values() {
        let (Some(d), Some(t)) = (
            baseline.trials.get(&info.trial).and_then(|b| analyse_trial(baseline, b)),
            analyse_trial(tuned, info),
        ) else {
            warnings.push(format!(
                "trial {}: no cells in one of the two runs, left out of the comparison",
                info.trial
            ));
            continue;
        };
        if d.experiments != t.experiments {
            warnings.push(format!(
                "trial {}: experiments {:?} in the baseline but {:?} in the tuned run, so the comparison is not fully paired",
                info.trial, d.experiments, t.experiments
            ));
        }
        let winners = Metric::ALL.map(|m| {
            let (default, default_wins, default_tied) = frequency_winner(&d, m);
            let (tuned, tuned_wins, tuned_tied) = frequency_winner(&t, m);
            WinnerChange {
                metric: m,
                default,
                default_wins,
                default_tied,
                tuned,
                tuned_wins,
                tuned_tied,
            }
        });
        let test = Metric::TestAcc.index();
        let means = |a: &TrialAnalysis| -> Vec<f64> {
            a.metrics[test].cases.iter().map(|s| s.ci.mean).collect()
        };
        let (d_rank, t_rank) = (rank_by_mean(&means(&d), true), rank_by_mean(&means(&t), true));
        let cases = t
            .cases
            .iter()
            .enumerate()
            .map(|(i, &c)| {
                let (default_eta, tuned_eta) =
                    (run_eta(baseline, info.trial, c), run_eta(tuned, info.trial, c));
                let swept = tuning.iter().any(|r| r.trial == info.trial as usize && r.case == c);
                if let (true, Some(used)) = (swept, tuned_eta) {
                    // The sweep's choice must be what the tuned run ran (compared as f32: cases.csv
                    // writes η in its shortest f32 form).
                    let (_, chosen) = etas(&tuning, info.trial, c, info.learning_rate);
                    if chosen as f32 != used as f32 {
                        warnings.push(format!(
                            "trial {}, C{c}: the tuned run used η = {} but tuning.csv chose {}",
                            info.trial,
                            crate::fmt::param(used),
                            crate::fmt::param(chosen)
                        ));
                    }
                }
                let cost = Metric::Cost.index();
                CaseComparison {
                    case: c,
                    default_eta,
                    tuned_eta,
                    default_test: d.metrics[test].cases[i].ci,
                    tuned_test: t.metrics[test].cases[i].ci,
                    default_cost: d.metrics[cost].cases[i].ci,
                    tuned_cost: t.metrics[cost].cases[i].ci,
                    default_rank: d_rank[i],
                    tuned_rank: t_rank[i],
                    default_wins: [0, 1, 2].map(|m| d.wins[m][i]),
                    tuned_wins: [0, 1, 2].map(|m| t.wins[m][i]),
                }
            })
            .collect();
        trials.push(TrialComparison { default: d, tuned: t, winners, cases });
    }
    Comparison { baseline_dir: baseline.dir.clone(), tuning_dir: None, trials, tuning, warnings }
}

/// `comparison.csv`: one row per trial × case, columns [`COMPARISON_COLUMNS`]. Numbers in the
/// shortest text that reads back to the f64; empty for NaN (no value) and for an η unknown
/// without `--tuning`.
///
/// # Errors
/// Only if the CSV writer fails (it writes to memory), named as `<tuned>/comparison.csv`.
pub fn comparison_csv(tuned: &ResultsData, c: &Comparison) -> Result<String, ReportError> {
    let path = tuned.dir.join(COMPARISON_FILE);
    let e = |err: &dyn std::fmt::Display| ReportError::Csv {
        path: path.clone(),
        line: 0,
        message: err.to_string(),
    };
    let opt = |v: Option<f64>| v.map_or(String::new(), csv_num);
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(COMPARISON_COLUMNS).map_err(|x| e(&x))?;
    for t in &c.trials {
        for k in &t.cases {
            let info = tuned.cases.get(&k.case);
            let mut row = vec![
                t.trial().to_string(),
                k.case.to_string(),
                info.map_or(String::new(), |i| i.label.clone()),
                info.map_or(String::new(), |i| i.group.name().to_string()),
                opt(k.default_eta),
                opt(k.tuned_eta),
                opt(k.tuned_factor()),
                k.default_test.n.to_string(),
                k.tuned_test.n.to_string(),
            ];
            for ci in [k.default_test, k.tuned_test, k.default_cost, k.tuned_cost] {
                row.push(csv_num(ci.mean));
                row.push(csv_num(ci.half_width));
            }
            row.extend([k.default_rank, k.tuned_rank, k.rank_change()].map(csv_num));
            for m in 0..3 {
                row.push(k.default_wins[m].to_string());
                row.push(k.tuned_wins[m].to_string());
            }
            w.write_record(&row).map_err(|x| e(&x))?;
        }
    }
    let bytes = w.into_inner().map_err(|x| e(&x))?;
    String::from_utf8(bytes).map_err(|x| e(&x))
}
