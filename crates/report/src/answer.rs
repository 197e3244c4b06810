//! The answer first: the banner that says whether the run is the faithful study or a scaled
//! profile, and one paragraph per trial with its winners, the hand-made vs TF1 result and how
//! much the number of experiments lets one trust it.

use crate::analysis::{TrialAnalysis, ALPHA};
use crate::data::{Group, Metric, ResultsData};
use crate::fmt::{num, param};
use crate::published::STUDY;
use crate::stats;

/// How a run's settings compare with the study's (`published::STUDY`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ScaleCheck {
    /// Each setting that differs from the study, as "what: this run's (study: the study's)".
    pub differences: Vec<String>,
    /// Settings that could not be checked (no or unreadable `config.toml`).
    pub unchecked: Vec<String>,
}

impl ScaleCheck {
    /// Whether the run is a scaled profile (any setting differs from the study's).
    pub fn is_scaled(&self) -> bool {
        !self.differences.is_empty()
    }
}

/// 55000 → "55,000".
fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, ch) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

fn join<T: ToString>(v: impl IntoIterator<Item = T>) -> String {
    v.into_iter().map(|x| x.to_string()).collect::<Vec<_>>().join(", ")
}

/// Compares the run's trials (from `trials.csv`), cases and data subsets (from `config.toml`'s
/// `[data]`) with the study's settings.
pub fn scale_check(data: &ResultsData) -> ScaleCheck {
    let mut c = ScaleCheck::default();
    let trials: Vec<_> = data.trials.values().collect();
    let study_h = join(STUDY.trials.iter().map(|t| t.1));
    let study_eta = join(STUDY.trials.iter().map(|t| param(t.0)));
    if trials.len() != STUDY.trials.len() {
        c.differences.push(format!("trials: {} (study: {})", trials.len(), STUDY.trials.len()));
    }
    // Trial k is compared with the study's trial k; η as f32, the precision the runner uses.
    let study_of = |t: u32| STUDY.trials.get((t as usize).wrapping_sub(1));
    if trials.iter().any(|t| study_of(t.trial).is_none_or(|s| s.1 != t.hidden)) {
        c.differences.push(format!(
            "hidden widths H: {} (study: {study_h})",
            join(trials.iter().map(|t| t.hidden))
        ));
    }
    if trials.iter().any(|t| study_of(t.trial).is_none_or(|s| s.0 as f32 != t.learning_rate as f32))
    {
        c.differences.push(format!(
            "learning rates η: {} (study: {study_eta})",
            join(trials.iter().map(|t| param(t.learning_rate)))
        ));
    }
    let distinct = |f: &dyn Fn(&crate::data::TrialInfo) -> u64| {
        let mut v: Vec<u64> = trials.iter().map(|t| f(t)).collect();
        v.sort_unstable();
        v.dedup();
        v
    };
    for (what, values, study) in [
        ("experiments per trial", distinct(&|t| t.experiments as u64), STUDY.experiments as u64),
        ("epochs per cell", distinct(&|t| t.epochs as u64), STUDY.epochs as u64),
        ("batch size", distinct(&|t| t.batch), STUDY.batch),
    ] {
        if values.iter().any(|v| *v != study) {
            c.differences.push(format!("{what}: {} (study: {study})", join(values)));
        }
    }
    if data.cases.len() != STUDY.cases {
        c.differences.push(format!("cases: {} (study: {})", data.cases.len(), STUDY.cases));
    }
    match (&data.config, &data.config_error) {
        (Some(cfg), _) => {
            let d = cfg.get("data").and_then(|d| d.as_table());
            let int = |k: &str| d.and_then(|d| d.get(k)).and_then(|v| v.as_integer());
            let split = d.and_then(|d| d.get("split")).and_then(|v| v.as_str()).unwrap_or("tf1");
            if split != "tf1" {
                c.differences.push(format!(
                    "data split: {split} (study: tf1, the last {} training images and the {} test images)",
                    thousands(STUDY.train_images),
                    thousands(STUDY.test_images)
                ));
            }
            if let Some(n) = int("train_subset").filter(|n| (*n as u64) < STUDY.train_images) {
                c.differences.push(format!(
                    "training images: the first {} (study: all {})",
                    thousands(n as u64),
                    thousands(STUDY.train_images)
                ));
            }
            if let Some(n) = int("test_subset").filter(|n| (*n as u64) < STUDY.test_images) {
                c.differences.push(format!(
                    "test images: the first {} (study: all {})",
                    thousands(n as u64),
                    thousands(STUDY.test_images)
                ));
            }
        }
        (None, Some(_)) => {
            c.unchecked.push("the data split and subsets (config.toml does not parse)".into())
        }
        (None, None) => c.unchecked.push("the data split and subsets (no config.toml)".into()),
    }
    c
}

/// The banner text for a run.
pub fn banner(c: &ScaleCheck) -> String {
    let unchecked = if c.unchecked.is_empty() {
        String::new()
    } else {
        format!(" Not checked: {}.", c.unchecked.join("; "))
    };
    if c.is_scaled() {
        format!(
            "Scaled profile: this run cannot reproduce the study. Compared with the study it changes {}. Its winners describe this small run only, not the study's question; configs/paper.toml is the faithful study (about 1,000 core-hours, run sharded, see docs/scaling.md).{unchecked}",
            c.differences.join("; ")
        )
    } else {
        format!(
            "Faithful profile: this run uses the study's settings (those of configs/paper.toml), so its win shares can be set beside the published ones.{unchecked}"
        )
    }
}

/// "C13 Ftrl [TF1]".
pub(crate) fn case_name(data: &ResultsData, c: usize) -> String {
    match data.cases.get(&c) {
        Some(info) => format!("C{c} {} [{}]", info.label, short_group(info.group)),
        None => format!("C{c}"),
    }
}

/// The group's short tag: `hand-made` or `TF1`.
pub fn short_group(g: Group) -> &'static str {
    match g {
        Group::HandMade => "hand-made",
        Group::Tf1 => "TF1",
    }
}

fn group_of(data: &ResultsData, c: usize) -> Option<Group> {
    data.cases.get(&c).map(|i| i.group)
}

/// Winners of one criterion as "C13 Ftrl [TF1] 2/2, C0 … 1/2", most wins first.
fn winners_text(data: &ResultsData, t: &TrialAnalysis, m: Metric) -> String {
    let n = t.experiments.len();
    let mut w: Vec<(usize, usize)> = t
        .cases
        .iter()
        .zip(&t.wins[m.index()])
        .filter(|(_, w)| **w > 0)
        .map(|(c, w)| (*c, *w))
        .collect();
    w.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    if w.is_empty() {
        return "none (every cell diverged)".into();
    }
    join(w.iter().map(|(c, k)| format!("{} {k}/{n}", case_name(data, *c))))
}

/// The paragraph that answers the question for one trial.
pub fn trial_answer(data: &ResultsData, t: &TrialAnalysis) -> String {
    let n = t.experiments.len();
    let mut s = format!(
        "Trial {} (η = {}, H = {}, {n} experiment(s) × {} epoch(s)). Winners: {}.",
        t.info.trial,
        param(t.info.learning_rate),
        t.info.hidden,
        t.info.epochs,
        Metric::ALL
            .iter()
            .map(|&m| format!("{} {}", criterion_title(m), winners_text(data, t, m)))
            .collect::<Vec<_>>()
            .join("; ")
    );

    // Hand-made vs TF1: wins over all criteria, then the best of each group on test accuracy.
    let mut group_wins = [0usize; 2];
    for w in t.winners.iter().flatten().flatten() {
        if let Some(g) = group_of(data, *w) {
            group_wins[g as usize] += 1;
        }
    }
    let total: usize = group_wins.iter().sum();
    let ms = &t.metrics[Metric::TestAcc.index()];
    let best_in = |g: Group| {
        ms.cases
            .iter()
            .filter(|s| group_of(data, s.case) == Some(g))
            .min_by(|a, b| a.mean_rank.total_cmp(&b.mean_rank).then(a.case.cmp(&b.case)))
    };
    let (Some(h), Some(f)) = (best_in(Group::HandMade), best_in(Group::Tf1)) else {
        s.push_str(&format!(
            " Only one group of cases is present, so there is no hand-made vs TF1 comparison ({} of {total} wins).",
            total
        ));
        return s;
    };
    let (lead, other) = if ms.best == h.case { (h, f) } else { (f, h) };
    let ci = |st: &crate::analysis::CaseStat| {
        if st.ci.half_width.is_nan() {
            format!("{} (n = {})", num(st.ci.mean), st.ci.n)
        } else {
            format!("{} ± {}", num(st.ci.mean), num(st.ci.half_width))
        }
    };
    s.push_str(&format!(
        " Hand-made vs TF1: hand-made cases took {} and TF1 optimizers {} of the {total} wins (3 criteria × {n} experiments); on final test accuracy the best {} case {} ({}, mean rank {:.2}) leads the best {} case {} ({}, mean rank {:.2}).",
        group_wins[0],
        group_wins[1],
        short_group(group_of(data, lead.case).unwrap_or(Group::Tf1)),
        format_args!("C{}", lead.case),
        ci(lead),
        lead.mean_rank,
        short_group(group_of(data, other.case).unwrap_or(Group::Tf1)),
        format_args!("C{}", other.case),
        ci(other),
        other.mean_rank,
    ));
    // Confidence: the exact paired test of the other group's best against the leader.
    let conf = match other.vs_best {
        _ if n < 6 => format!(
            " Confidence: none yet. With {n} experiment(s) the exact two-sided Wilcoxon signed-rank test cannot reach p < {ALPHA} whatever the data (its smallest p is {}), so these winners are descriptive only.",
            num(stats::wilcoxon_min_p(n))
        ),
        Some(w) if w.n == 0 => " Confidence: none; the two cases never differ in a usable experiment.".into(),
        Some(w) => format!(
            " Confidence: exact Wilcoxon signed-rank test of C{} against C{} over {} paired experiment(s): p = {} ({}; not corrected for the other comparisons).",
            other.case,
            lead.case,
            w.n,
            num(w.p_two_sided),
            if w.p_two_sided < ALPHA {
                format!("the lead holds at p < {ALPHA}")
            } else {
                format!("not separable at p < {ALPHA}")
            }
        ),
        None => String::new(),
    };
    s.push_str(&conf);
    s
}

/// "lowest cost", "highest train accuracy", "highest test accuracy".
pub fn criterion_title(m: Metric) -> &'static str {
    match m {
        Metric::Cost => "lowest cost",
        Metric::TrainAcc => "highest train accuracy",
        Metric::TestAcc => "highest test accuracy",
    }
}
