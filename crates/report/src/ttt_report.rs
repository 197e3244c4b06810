//! The report's "Time to target" part of a trial: a table per target (solved problems and median
//! epochs to target per case) and the performance-profile chart (hand-made | TF1, log τ).

use crate::analysis::TrialAnalysis;
use crate::answer::short_group;
use crate::charts::{self, Chart, LegendEntry, Line, Plot, Swatch};
use crate::curves::{cases_of, group_heading, group_panel, is_duplicate, reference_entry, Source};
use crate::data::Group;
use crate::doc::Block;
use crate::error::ReportError;
use crate::ttt::{rho, Measure, TargetResult};

/// "3", "2.5", or "∞" (a median of epochs).
fn time_text(v: f64) -> String {
    if v.is_infinite() {
        "∞".into()
    } else {
        // Medians of whole epochs: whole or halves, shown exactly.
        crate::fmt::csv_num(v)
    }
}

/// The best case of group `g` on the profile: most problems solved, then most problems on which it
/// was the fastest (ρ(1)), then the lowest median epochs, then the lowest case number.
fn best_of(src: &Source, t: &TrialAnalysis, r: &TargetResult, g: Group) -> Option<usize> {
    let idx = |c: usize| r.cases.iter().position(|&x| x == c);
    cases_of(src, t, g)
        .into_iter()
        .filter_map(|c| idx(c).map(|i| (c, i)))
        .min_by(|a, b| {
            let key = |&(c, i): &(usize, usize)| {
                (r.solved(i), rho(&r.epochs.ratios[i], 1.0), r.median(i, Measure::Epochs), c)
            };
            let (ka, kb) = (key(a), key(b));
            kb.0.cmp(&ka.0)
                .then(kb.1.total_cmp(&ka.1))
                .then(ka.2.total_cmp(&kb.2))
                .then(ka.3.cmp(&kb.3))
        })
        .map(|(c, _)| c)
}

/// The step line of case index `i`: corners (τ, ρ) from τ = 1 to `x_max`.
fn steps(r: &TargetResult, i: usize, x_max: f64) -> Vec<(f64, f64)> {
    let ratios = &r.epochs.ratios[i];
    let mut pts = vec![(1.0, rho(ratios, 1.0))];
    for &tau in r.epochs.taus.iter().filter(|&&t| t > 1.0) {
        let prev = pts.last().map_or(0.0, |p| p.1);
        let now = rho(ratios, tau);
        if now != prev {
            pts.push((tau, prev));
            pts.push((tau, now));
        }
    }
    let last = pts.last().map_or(0.0, |p| p.1);
    pts.push((x_max, last));
    pts
}

/// The right end of the τ axis: 1.1 × the largest finite ratio, or 2 if every ratio is 1.
pub(crate) fn x_max(r: &TargetResult) -> f64 {
    let top = r.epochs.taus.iter().copied().fold(1.0, f64::max);
    if top > 1.0 {
        top * 1.1
    } else {
        2.0
    }
}

/// The performance-profile chart of one trial and target, in epochs.
pub(crate) fn profile_chart(src: &Source, t: &TrialAnalysis, r: &TargetResult) -> Chart {
    let n = r.experiments.len();
    let xm = x_max(r);
    let mut panels = Vec::new();
    let mut legend = Vec::new();
    let present: Vec<Group> =
        Group::ALL.into_iter().filter(|&g| !cases_of(src, t, g).is_empty()).collect();
    for &g in &present {
        let cases = cases_of(src, t, g);
        let other = present.iter().find(|&&o| o != g).and_then(|&o| best_of(src, t, r, o));
        let mut lines = Vec::new();
        if let Some(o) = other.and_then(|o| r.cases.iter().position(|&x| x == o)) {
            lines.push(Line {
                colour: src.colour(r.cases[o]),
                points: steps(r, o, xm),
                reference: true,
                ..Line::default()
            });
        }
        let side = if panels.is_empty() { "left" } else { "right" };
        legend.push(LegendEntry::heading(format!("{} ({side})", group_heading(g, &cases))));
        for &c in &cases {
            let Some(i) = r.cases.iter().position(|&x| x == c) else { continue };
            lines.push(Line {
                colour: src.colour(c),
                points: steps(r, i, xm),
                dashed: is_duplicate(t, c),
                ..Line::default()
            });
            legend.push(LegendEntry {
                colour: src.colour(c),
                text: format!(
                    "C{c} {}: solved {}/{n}, median {} epochs",
                    src.label(c),
                    r.solved(i),
                    time_text(r.median(i, Measure::Epochs))
                ),
                diverged: t.diverged_count(c) > 0,
                swatch: Swatch::Line { dashed: is_duplicate(t, c) },
            });
        }
        panels.push(group_panel(g, &cases, other, lines));
    }
    legend.push(reference_entry());
    Chart {
        title: format!(
            "Trial {}: performance profile, {} in epochs over {n} experiment(s)",
            r.trial, r.target
        ),
        x_desc: "τ (epochs to target ÷ the fastest case's, log scale)".into(),
        y_desc: "ρ(τ): share of experiments".into(),
        plot: Plot::Profile { panels, x_max: xm },
        legend,
        size: charts::PANELS_SIZE,
    }
}

/// The "Time to target" blocks of one trial: per target a table and the profile chart (drawn
/// through `image(name, chart)`).
pub(crate) fn section(
    src: &Source,
    t: &TrialAnalysis,
    results: &[&TargetResult],
    image: &mut dyn FnMut(&str, &Chart) -> Result<Block, ReportError>,
) -> Result<Vec<Block>, ReportError> {
    if results.is_empty() {
        return Ok(Vec::new());
    }
    let tr = t.info.trial;
    let mut b = vec![Block::Heading(3, "Time to target".into())];
    b.push(Block::Para(format!(
        "Per cell the first epoch at which the metric reaches the target and the compute seconds up to and including it (time_to_target.csv); a cell that never reaches it, diverged or is missing counts as ∞. The performance profile treats each of the trial's {} experiment(s) as a problem: ρ(τ) is the share of experiments on which a case reached the target within τ times the epochs of the fastest case; ρ(1) is the share on which it was (one of) the fastest, ρ at the right edge the share it solved at all. Epochs are the primary measure because they do not depend on the machine or its load; profiles in seconds are in profiles.csv. Lines at the same ρ are drawn a hair apart so each colour shows.",
        t.experiments.len()
    )));
    let mut grouped: Vec<usize> = t.cases.clone();
    grouped.sort_by_key(|&c| (src.group(c), c));
    for r in results {
        let n = r.experiments.len();
        b.push(Block::Heading(4, format!("{}", r.target)));
        let unsolved = r.times.iter().filter(|row| row.iter().all(|x| x.epoch.is_none())).count();
        let rows = grouped
            .iter()
            .filter_map(|&c| r.cases.iter().position(|&x| x == c).map(|i| (c, i)))
            .map(|(c, i)| {
                vec![
                    format!("C{c}"),
                    short_group(src.group(c)).into(),
                    src.label(c).to_string(),
                    format!("{}/{n}", r.solved(i)),
                    time_text(r.median(i, Measure::Epochs)),
                    if r.seconds.is_some() {
                        let s = r.median(i, Measure::Seconds);
                        if s.is_infinite() {
                            "∞".into()
                        } else {
                            charts::tick(s)
                        }
                    } else {
                        "–".into()
                    },
                    // ρ(1) × |P|: the problems on which the case was (one of) the fastest.
                    format!("{}/{n}", (rho(&r.epochs.ratios[i], 1.0) * n as f64).round()),
                ]
            })
            .collect();
        b.push(Block::Table(
            [
                "case",
                "group",
                "label",
                "solved",
                "median epochs to target",
                "median seconds",
                "fastest (ρ(1) × experiments)",
            ]
            .map(String::from)
            .to_vec(),
            rows,
        ));
        if unsolved > 0 {
            b.push(Block::Para(format!(
                "{unsolved} of {n} experiment(s) were solved by no case; they count against every case (no ρ reaches 1)."
            )));
        }
        let chart = profile_chart(src, t, r);
        b.push(image(&format!("trial{tr}-profile-{}", r.target.key()), &chart)?);
    }
    Ok(b)
}
