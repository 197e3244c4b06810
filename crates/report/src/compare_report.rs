//! The report's "Default η vs tuned η" section: the per-trial answer (are the default-η winners
//! still the winners?), the side-by-side tables, and the tuning-curve charts (one panel per case,
//! one line per trial, hand-made and TF1 cases in a chart each).

use handprop_results::TuningRow;

use crate::answer::{case_name, criterion_title, short_group};
use crate::charts::{Chart, LegendEntry, Plot, Swatch, TuningPanel, TuningSeries, PANELS_SIZE};
use crate::compare::{Comparison, TrialComparison, WinnerChange};
use crate::curves::{group_heading, Source};
use crate::data::{Group, Metric, ResultsData, Rgb};
use crate::doc::Block;
use crate::error::ReportError;
use crate::fmt::{csv_num, num, param};
use crate::stats::MeanCi;

/// Line colours of the trials in the tuning charts (matplotlib's tab10, in order; trials beyond
/// ten reuse them).
const TRIAL_COLOURS: [Rgb; 10] = [
    (0x1f, 0x77, 0xb4),
    (0xff, 0x7f, 0x0e),
    (0x2c, 0xa0, 0x2c),
    (0xd6, 0x27, 0x28),
    (0x94, 0x67, 0xbd),
    (0x8c, 0x56, 0x4b),
    (0xe3, 0x77, 0xc2),
    (0x7f, 0x7f, 0x7f),
    (0xbc, 0xbd, 0x22),
    (0x17, 0xbe, 0xcf),
];

/// "C16 Adam [TF1] 3/3 (tied with C2)" or "none (every cell diverged)".
fn winner_text(
    data: &ResultsData,
    n: usize,
    w: Option<usize>,
    wins: usize,
    tied: &[usize],
) -> String {
    let Some(c) = w else { return "none (every cell diverged)".into() };
    let others: Vec<String> = tied.iter().filter(|&&x| x != c).map(|x| format!("C{x}")).collect();
    let tie = if others.is_empty() {
        String::new()
    } else {
        format!(" (tied with {}; ties go to the lowest case)", others.join(", "))
    };
    format!("{} {wins}/{n}{tie}", case_name(data, c))
}

fn change_text(data: &ResultsData, t: &TrialComparison, w: &WinnerChange) -> String {
    let (nd, nt) = (t.default.experiments.len(), t.tuned.experiments.len());
    format!(
        "{}: {} → {}, {}",
        criterion_title(w.metric),
        winner_text(data, nd, w.default, w.default_wins, &w.default_tied),
        winner_text(data, nt, w.tuned, w.tuned_wins, &w.tuned_tied),
        if w.changed() { "changed" } else { "unchanged" }
    )
}

/// The per-trial answer: whether the default-η winners are still the tuned winners, criterion by
/// criterion.
pub fn trial_verdict(data: &ResultsData, t: &TrialComparison) -> String {
    let info = &t.tuned.info;
    let k = t.changed();
    let head = if k == 0 {
        "the default-η winners are still the tuned winners under all three criteria".to_string()
    } else {
        format!("the winners changed under {k} of 3 criteria")
    };
    format!(
        "Trial {} (η = {}, H = {}, {} experiment(s)): {head}. {}.",
        info.trial,
        param(info.learning_rate),
        info.hidden,
        t.tuned.experiments.len(),
        t.winners.iter().map(|w| change_text(data, t, w)).collect::<Vec<_>>().join("; ")
    )
}

fn ci_text(ci: &MeanCi) -> String {
    if ci.half_width.is_nan() {
        num(ci.mean)
    } else {
        format!("{} ± {}", num(ci.mean), num(ci.half_width))
    }
}

/// The tables of one trial: η and win frequencies, then final test accuracy, cost and rank,
/// default beside tuned; cases grouped, hand-made first.
fn trial_tables(src: &Source, t: &TrialComparison) -> Vec<Block> {
    let tr = t.trial();
    let mut order: Vec<usize> = (0..t.cases.len()).collect();
    order.sort_by_key(|&i| (src.group(t.cases[i].case), t.cases[i].case));
    let name = |c: usize| {
        vec![format!("C{c}"), short_group(src.group(c)).to_string(), src.label(c).to_string()]
    };
    let mut b = vec![Block::Heading(3, format!("Trial {tr}: default η → tuned η"))];
    let mut header: Vec<String> = ["case", "group", "label"].map(String::from).to_vec();
    header.extend(["default η", "tuned η", "factor"].map(String::from));
    for m in Metric::ALL {
        header.push(format!("{}: default", criterion_title(m)));
        header.push("tuned".into());
    }
    let rows = order
        .iter()
        .map(|&i| {
            let k = &t.cases[i];
            let mut r = name(k.case);
            let p = |v: Option<f64>| v.map_or("–".into(), param);
            r.extend([p(k.default_eta), p(k.tuned_eta)]);
            r.push(
                k.tuned_factor().map_or("–".into(), |f| format!("× {}", crate::charts::tick(f))),
            );
            for m in 0..3 {
                r.push(k.default_wins[m].to_string());
                r.push(k.tuned_wins[m].to_string());
            }
            r
        })
        .collect();
    b.push(Block::Para(format!(
        "Win frequencies over {} (default) and {} (tuned) experiment(s).",
        t.default.experiments.len(),
        t.tuned.experiments.len()
    )));
    b.push(Block::Table(header, rows));
    let rows = order
        .iter()
        .map(|&i| {
            let k = &t.cases[i];
            let mut r = name(k.case);
            r.extend(
                [k.default_test, k.tuned_test, k.default_cost, k.tuned_cost].map(|c| ci_text(&c)),
            );
            r.push(format!("{} → {}", csv_num(k.default_rank), csv_num(k.tuned_rank)));
            r.push(match k.arrow() {
                "=" => "=".to_string(),
                a => format!("{a} {}", csv_num(k.rank_change().abs())),
            });
            r
        })
        .collect();
    b.push(Block::Table(
        [
            "case",
            "group",
            "label",
            "test accuracy: default (mean ± 95 % CI)",
            "tuned",
            "cost: default (mean ± 95 % CI)",
            "tuned",
            "rank by mean test accuracy: default → tuned",
            "change",
        ]
        .map(String::from)
        .to_vec(),
        rows,
    ));
    b
}

/// What `tuning.csv`'s score is: validation accuracy or training cost (whichever column every
/// finite score equals), else "score".
fn score_name(rows: &[TuningRow]) -> &'static str {
    let finite: Vec<&TuningRow> = rows.iter().filter(|r| r.score.is_finite()).collect();
    if finite.iter().all(|r| r.score.to_bits() == r.val_acc.to_bits()) {
        "validation accuracy"
    } else if finite.iter().all(|r| r.score.to_bits() == r.cost.to_bits()) {
        "training cost"
    } else {
        "score"
    }
}

/// The panel of one case: one series per trial, candidates in increasing η.
fn case_panel(src: &Source, c: &Comparison, case: usize) -> TuningPanel {
    let mut title = format!("C{case} {}", src.label(case));
    if title.chars().count() > 30 {
        title = title.chars().take(29).collect::<String>() + "…";
    }
    let series = c
        .trials
        .iter()
        .enumerate()
        .map(|(k, t)| {
            let mut rows: Vec<&TuningRow> = c
                .tuning
                .iter()
                .filter(|r| r.trial == t.trial() as usize && r.case == case)
                .collect();
            rows.sort_by(|a, b| a.learning_rate.total_cmp(&b.learning_rate));
            let bad = |r: &TuningRow| r.diverged > 0 || !r.score.is_finite();
            let point = |r: &TuningRow| (r.learning_rate, if bad(r) { f64::NAN } else { r.score });
            TuningSeries {
                colour: TRIAL_COLOURS[k % TRIAL_COLOURS.len()],
                points: rows.iter().map(|r| point(r)).collect(),
                diverged: rows.iter().filter(|r| bad(r)).map(|r| r.learning_rate).collect(),
                selected: rows.iter().find(|r| r.selected == 1).map(|r| point(r)),
                default: rows.iter().find(|r| r.factor == 1.0).map(|r| point(r)),
            }
        })
        .collect();
    TuningPanel { title, series }
}

/// The tuning-curve chart of group `g`: one panel per case of the group, one line per trial.
fn tuning_chart(src: &Source, c: &Comparison, g: Group, cases: &[usize]) -> Chart {
    let score = score_name(&c.tuning);
    let n = cases.len();
    let cols = if n <= 4 { n } else { n.div_ceil(2).min(5) };
    let rows = n.div_ceil(cols.max(1)) as u32;
    let mut legend = vec![LegendEntry::heading("Trials (one line each)")];
    for (k, t) in c.trials.iter().enumerate() {
        let info = &t.tuned.info;
        legend.push(LegendEntry {
            colour: TRIAL_COLOURS[k % TRIAL_COLOURS.len()],
            text: format!(
                "trial {} (η = {}, H = {})",
                info.trial,
                param(info.learning_rate),
                info.hidden
            ),
            diverged: false,
            swatch: Swatch::Line { dashed: false },
        });
    }
    let grey = (0x55, 0x55, 0x55);
    legend.push(LegendEntry::heading("Marks"));
    legend.push(LegendEntry {
        colour: grey,
        text: "selected η (the tuned run's)".into(),
        diverged: false,
        swatch: Swatch::Marker { square: false },
    });
    legend.push(LegendEntry {
        colour: grey,
        text: "default η (factor 1)".into(),
        diverged: false,
        swatch: Swatch::Ring,
    });
    legend.push(LegendEntry {
        colour: grey,
        text: "diverged candidate (at the bottom)".into(),
        diverged: false,
        swatch: Swatch::Cross,
    });
    Chart {
        title: format!("Tuning sweep, {}: {score} per candidate η", group_heading(g, cases)),
        x_desc: "η (log scale)".into(),
        y_desc: score.into(),
        plot: Plot::Tuning { panels: cases.iter().map(|&k| case_panel(src, c, k)).collect(), cols },
        legend,
        size: (PANELS_SIZE.0, 150 + 300 * rows),
    }
}

/// The whole section; charts are drawn through `image(name, chart)`.
pub(crate) fn section(
    src: &Source,
    c: &Comparison,
    image: &mut dyn FnMut(&str, &Chart) -> Result<Block, ReportError>,
) -> Result<Vec<Block>, ReportError> {
    let data = src.data;
    let swept = !c.tuning.is_empty();
    let mut b = vec![Block::Heading(2, "Default η vs tuned η".into())];
    b.push(Block::Para(format!(
        "This run trained every case at the η its tuning sweep chose on the validation split{}; the baseline {} ran the same trials, experiments and seeds at the default η, so each (trial, experiment) starts from the same initial weights in both runs: a paired comparison. A criterion's winner is the case with the most wins (ties to the lowest case number); a case's rank is its place by mean final test accuracy (1 = highest, ties share the average place, a case with no usable cell last), and the change is default rank − tuned rank (↑ moved up, ↓ moved down). comparison.csv holds every number below.",
        c.tuning_dir.as_ref().map_or(String::new(), |d| format!(" ({})", d.display())),
        c.baseline_dir.display()
    )));
    b.push(Block::Heading(3, "Are the default-η winners still the winners?".into()));
    b.push(Block::List(c.trials.iter().map(|t| trial_verdict(data, t)).collect()));
    if !c.warnings.is_empty() {
        b.push(Block::List(c.warnings.iter().map(|w| format!("Warning: {w}.")).collect()));
    }
    for t in &c.trials {
        b.extend(trial_tables(src, t));
    }
    if swept {
        b.push(Block::Heading(3, "Tuning curves".into()));
        b.push(Block::Para(format!(
            "Per case, the sweep's {} (mean over its tuning experiments) at every candidate η, one line per trial, on a log η axis shared by all panels; the filled circle marks the selected η (the one the tuned run used), the ring the default η; a × at the bottom of a panel marks a candidate that diverged in at least one tuning experiment (never selected). A (trial, case) without a selected candidate kept its default η.",
            score_name(&c.tuning)
        )));
        for g in Group::ALL {
            let cases: Vec<usize> =
                data.cases.values().filter(|i| i.group == g).map(|i| i.case).collect();
            if !cases.is_empty() {
                let chart = tuning_chart(src, c, g, &cases);
                b.push(image(&format!("tuning-{}", g.name()), &chart)?);
            }
        }
    }
    Ok(b)
}
