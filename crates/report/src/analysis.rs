//! Winners, win frequencies and per-case statistics of one trial, computed from `final.csv`.

use std::collections::BTreeSet;

use crate::data::{FinalRow, Metric, ResultsData, TrialInfo};
use crate::stats::{self, MeanCi, Wilcoxon};

/// Confidence level of the intervals.
pub const CI_LEVEL: f64 = 0.95;
/// Significance level the plain-language notes refer to.
pub const ALPHA: f64 = 0.05;

/// Statistics of one case for one metric of one trial.
#[derive(Debug, Clone, PartialEq)]
pub struct CaseStat {
    /// Case number.
    pub case: usize,
    /// Experiments in which the cell diverged (or ended non-finite, or is missing); those are left
    /// out of the mean and the paired test and rank last.
    pub diverged: usize,
    /// Mean ± 95 % CI over the experiments with a usable final value.
    pub ci: MeanCi,
    /// Mean over experiments of the case's rank (1 = best; ties share the average rank).
    pub mean_rank: f64,
    /// Wins under the metric's criterion.
    pub wins: usize,
    /// Wilcoxon signed-rank test of this case against the best case (None for the best case itself).
    pub vs_best: Option<Wilcoxon>,
    /// A plain sentence where the test cannot separate this case from the best one.
    pub note: String,
}

/// Statistics of all cases for one metric of one trial.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricSummary {
    /// The metric.
    pub metric: Metric,
    /// The best case: lowest mean rank, ties to the lowest case number.
    pub best: usize,
    /// One entry per case, in case order.
    pub cases: Vec<CaseStat>,
    /// A plain sentence about what the number of experiments allows.
    pub note: String,
}

/// Everything the report shows about one trial.
#[derive(Debug, Clone, PartialEq)]
pub struct TrialAnalysis {
    /// The trial's settings.
    pub info: TrialInfo,
    /// Experiment numbers present in `final.csv`, sorted.
    pub experiments: Vec<u32>,
    /// Case numbers, sorted (from `cases.csv`).
    pub cases: Vec<usize>,
    /// `winners[e][m]` = the winning case of experiment `experiments[e]` under metric `m`, if any cell
    /// of that experiment is usable.
    pub winners: Vec<[Option<usize>; 3]>,
    /// `wins[m][i]` = wins of `cases[i]` under metric `m`.
    pub wins: [Vec<usize>; 3],
    /// Diverged (or non-finite, or missing) cells as (experiment, case, epochs_run).
    pub diverged: Vec<(u32, usize, u32)>,
    /// Per-metric statistics.
    pub metrics: [MetricSummary; 3],
    /// Cases whose results coincide bit for bit with a lower-numbered case in every experiment
    /// (final values, divergence, and every per-epoch value): (case, the lowest case it equals).
    /// Their curves lie exactly on top of each other, so the report says so.
    pub coincide: Vec<(usize, usize)>,
}

impl TrialAnalysis {
    /// Diverged cells of a case, counted over experiments.
    pub fn diverged_count(&self, case: usize) -> usize {
        self.diverged.iter().filter(|(_, c, _)| *c == case).count()
    }
}

/// The winning case among `values` (indexed like `cases`) under metric `m`: the results format's
/// winner rule (best usable value, ties to the lowest case number, unusable cells never win).
/// `None` if no value is usable.
pub fn winner(m: Metric, cases: &[usize], values: &[Option<f64>]) -> Option<usize> {
    m.rule().pick(cases.iter().copied().zip(values.iter().copied())).map(|(case, _)| case)
}

/// Analyses trial `info` from the loaded results. Returns `None` if the trial has no cells.
pub fn analyse_trial(data: &ResultsData, info: &TrialInfo) -> Option<TrialAnalysis> {
    let rows: Vec<&FinalRow> = data.finals.iter().filter(|r| r.trial == info.trial).collect();
    if rows.is_empty() {
        return None;
    }
    let experiments: Vec<u32> =
        rows.iter().map(|r| r.experiment).collect::<BTreeSet<_>>().into_iter().collect();
    let cases: Vec<usize> = data.cases.keys().copied().collect();
    let cell = |e: u32, c: usize| rows.iter().find(|r| r.experiment == e && r.case == c);

    // values[m][e][i]: usable final value of case i in experiment e.
    let values: Vec<Vec<Vec<Option<f64>>>> = Metric::ALL
        .iter()
        .map(|&m| {
            experiments
                .iter()
                .map(|&e| cases.iter().map(|&c| cell(e, c).and_then(|r| r.usable(m))).collect())
                .collect()
        })
        .collect();

    let mut diverged = Vec::new();
    for &e in &experiments {
        for &c in &cases {
            match cell(e, c) {
                Some(r) if r.diverged || r.values.iter().any(|v| !v.is_finite()) => {
                    diverged.push((e, c, r.epochs_run))
                }
                None => diverged.push((e, c, 0)),
                _ => {}
            }
        }
    }

    let winners: Vec<[Option<usize>; 3]> = (0..experiments.len())
        .map(|ei| Metric::ALL.map(|m| winner(m, &cases, &values[m.index()][ei])))
        .collect();
    let wins: [Vec<usize>; 3] = Metric::ALL.map(|m| {
        cases.iter().map(|&c| winners.iter().filter(|w| w[m.index()] == Some(c)).count()).collect()
    });

    let metrics =
        Metric::ALL.map(|m| summarise_metric(m, &cases, &values[m.index()], &wins[m.index()]));

    let coincide = coinciding_cases(data, info.trial, &experiments, &cases);
    Some(TrialAnalysis {
        info: info.clone(),
        experiments,
        cases,
        winners,
        wins,
        diverged,
        metrics,
        coincide,
    })
}

/// Whether cases `a` and `b` of `trial` give bit-identical results in every experiment: the same
/// divergence flag, epochs run, final values and per-epoch series (compared as bit patterns, so
/// two NaNs of the same pattern are equal and 0 differs from -0).
fn same_results(data: &ResultsData, trial: u32, experiments: &[u32], a: usize, b: usize) -> bool {
    let bits = |v: &[(u32, f64)]| v.iter().map(|(e, x)| (*e, x.to_bits())).collect::<Vec<_>>();
    experiments.iter().all(|&e| {
        let cell = |c: usize| {
            data.finals.iter().find(|r| r.trial == trial && r.experiment == e && r.case == c)
        };
        let (Some(x), Some(y)) = (cell(a), cell(b)) else { return false };
        let finals_equal = x.diverged == y.diverged
            && x.epochs_run == y.epochs_run
            && x.values.iter().zip(&y.values).all(|(p, q)| p.to_bits() == q.to_bits());
        let series = |c: usize| data.series.get(&(trial, e, c));
        let series_equal = match (series(a), series(b)) {
            (Some(sa), Some(sb)) => sa.iter().zip(sb).all(|(p, q)| bits(p) == bits(q)),
            (None, None) => true,
            _ => false,
        };
        finals_equal && series_equal
    })
}

/// The cases that coincide bit for bit with a lower-numbered case (see
/// [`TrialAnalysis::coincide`]), each paired with the lowest case it equals.
pub fn coinciding_cases(
    data: &ResultsData,
    trial: u32,
    experiments: &[u32],
    cases: &[usize],
) -> Vec<(usize, usize)> {
    let mut out: Vec<(usize, usize)> = Vec::new();
    for (j, &b) in cases.iter().enumerate() {
        // Compare with the representatives only: a case equal to C7 is reported as ≡ C7 even if
        // it also equals C14, which itself is ≡ C7.
        if let Some(&a) = cases[..j]
            .iter()
            .filter(|a| !out.iter().any(|(dup, _)| dup == *a))
            .find(|&&a| same_results(data, trial, experiments, a, b))
        {
            out.push((b, a));
        }
    }
    out
}

/// Per-case statistics of one metric: `values[e][i]` is the usable final value of case `cases[i]`
/// in experiment e, `wins[i]` its win count.
pub fn summarise_metric(
    metric: Metric,
    cases: &[usize],
    values: &[Vec<Option<f64>>],
    wins: &[usize],
) -> MetricSummary {
    let n_exp = values.len();
    let k = cases.len();
    let mut rank_sum = vec![0.0; k];
    for row in values {
        for (i, r) in stats::rank_best_first(row, metric.higher_is_better()).into_iter().enumerate()
        {
            rank_sum[i] += r;
        }
    }
    let mean_rank: Vec<f64> =
        rank_sum.iter().map(|s| if n_exp == 0 { f64::NAN } else { s / n_exp as f64 }).collect();
    // The best case: lowest mean rank; `min_by` keeps the first of equal elements, i.e. the lowest case.
    let best_i = (0..k).min_by(|&a, &b| mean_rank[a].total_cmp(&mean_rank[b])).unwrap_or(0);

    let mut stats_out = Vec::with_capacity(k);
    for i in 0..k {
        let own: Vec<f64> = values.iter().filter_map(|row| row[i]).collect();
        let ci = stats::mean_ci(&own, CI_LEVEL);
        let diverged = values.iter().filter(|row| row[i].is_none()).count();
        let (vs_best, note) = if i == best_i {
            (None, String::new())
        } else {
            let (x, y): (Vec<f64>, Vec<f64>) =
                values.iter().filter_map(|row| Some((row[i]?, row[best_i]?))).unzip();
            let w = stats::wilcoxon_signed_rank(&x, &y);
            let note = if w.n == 0 {
                format!(
                    "no experiment where C{} and C{} differ and both are usable: nothing to test",
                    cases[i], cases[best_i]
                )
            } else if stats::wilcoxon_min_p(w.n) > ALPHA {
                format!(
                    "only {} paired difference(s) (zeros and diverged cells left out): the smallest possible p is {:.3}, so C{} cannot be separated from C{} at p < {}",
                    w.n,
                    stats::wilcoxon_min_p(w.n),
                    cases[i],
                    cases[best_i],
                    ALPHA
                )
            } else {
                String::new()
            };
            (Some(w), note)
        };
        stats_out.push(CaseStat {
            case: cases[i],
            diverged,
            ci,
            mean_rank: mean_rank[i],
            wins: wins[i],
            vs_best,
            note,
        });
    }
    let note = if n_exp < 6 {
        format!(
            "With {n_exp} experiment(s) the exact two-sided signed-rank test can never give p < {ALPHA} (its smallest p is 2/2^n = {:.3}), so these experiments are too few to separate any two cases; the mean ranks and intervals are descriptive only.",
            stats::wilcoxon_min_p(n_exp)
        )
    } else {
        format!(
            "p-values compare each case with the best one (C{}) over the {n_exp} experiments; they are not corrected for the {} comparisons.",
            cases[best_i],
            k.saturating_sub(1)
        )
    };
    MetricSummary { metric, best: cases[best_i], cases: stats_out, note }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn winner_breaks_ties_to_lowest_and_skips_missing() {
        let m = Metric::TestAcc;
        assert_eq!(winner(m, &[3, 5, 9], &[Some(0.5), Some(0.7), Some(0.7)]), Some(5));
        let c = Metric::Cost;
        assert_eq!(winner(c, &[0, 1, 2, 3], &[None, Some(3.0), Some(2.0), Some(2.0)]), Some(2));
        assert_eq!(winner(c, &[0, 1], &[None, Some(f64::NAN)]), None);
    }

    #[test]
    fn summary_by_hand() {
        // Two cases, three experiments, cost (lower is better).
        // C0: 1, 2, 3; C1: 2, 4, None (diverged in the third experiment).
        // Ranks: e0 (1, 2), e1 (1, 2), e2 (1, 2) → mean ranks 1 and 2; best = C0.
        let values =
            vec![vec![Some(1.0), Some(2.0)], vec![Some(2.0), Some(4.0)], vec![Some(3.0), None]];
        let s = summarise_metric(Metric::Cost, &[0, 1], &values, &[3, 0]);
        assert_eq!(s.best, 0);
        assert_eq!(s.cases[0].mean_rank, 1.0);
        assert_eq!(s.cases[1].mean_rank, 2.0);
        assert_eq!(s.cases[1].diverged, 1);
        assert_eq!(s.cases[1].ci.n, 2);
        assert_eq!(s.cases[1].ci.mean, 3.0);
        // Paired over the two experiments where both are usable: d = 1, 2 → W⁺ = 3, p = 2·1/4 = 0.5.
        let w = s.cases[1].vs_best.unwrap();
        assert_eq!((w.n, w.w_plus), (2, 3.0));
        assert!((w.p_two_sided - 0.5).abs() < 1e-12);
        assert!(s.cases[1].note.contains("cannot be separated"));
        assert!(s.note.contains("too few"));
        assert!(s.cases[0].vs_best.is_none());
    }
}
