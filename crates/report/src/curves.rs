//! The charts of a trial, built from the loaded results: the one-glance interval chart, the
//! study's win-frequency bars, the learning curves as small multiples (hand-made | TF1), and the
//! study's per-experiment line charts.

use std::collections::BTreeMap;

use crate::analysis::TrialAnalysis;
use crate::answer::short_group;
use crate::charts::{self, Chart, Interval, LegendEntry, Line, Panel, Plot, Swatch};
use crate::data::{Group, Metric, ResultsData, Rgb};
use crate::fmt::param;

/// What the chart builders need besides the trial.
pub(crate) struct Source<'a> {
    pub data: &'a ResultsData,
    pub max_points: usize,
}

impl Source<'_> {
    pub fn label(&self, case: usize) -> &str {
        self.data.cases.get(&case).map_or("", |c| c.label.as_str())
    }

    pub fn colour(&self, case: usize) -> Rgb {
        self.data.cases.get(&case).map_or((68, 68, 68), |c| c.colour)
    }

    pub fn group(&self, case: usize) -> Group {
        self.data.cases.get(&case).map_or(Group::Tf1, |c| c.group)
    }
}

/// The trial's cases of group `g`, in case order.
pub(crate) fn cases_of(src: &Source, t: &TrialAnalysis, g: Group) -> Vec<usize> {
    t.cases.iter().copied().filter(|&c| src.group(c) == g).collect()
}

/// Whether case `c` coincides with a lower case (drawn dashed over it, so both colours show).
pub(crate) fn is_duplicate(t: &TrialAnalysis, c: usize) -> bool {
    t.coincide.iter().any(|(d, _)| *d == c)
}

/// "C14 ProximalGradientDescent (≡ C7: identical, dashed over it) (diverged in 1/3)".
fn entry_text(
    src: &Source,
    t: &TrialAnalysis,
    c: usize,
    diverged_note: bool,
    lines: bool,
) -> String {
    let mut text = format!("C{c} {}", src.label(c));
    if let Some((_, same)) = t.coincide.iter().find(|(d, _)| *d == c) {
        if lines {
            text.push_str(&format!(" (≡ C{same}: identical, dashed over it)"));
        } else {
            text.push_str(&format!(" (≡ C{same}: identical, ties go to C{same})"));
        }
    }
    let k = t.diverged_count(c);
    if diverged_note && k > 0 {
        text.push_str(&format!(" (diverged in {k}/{})", t.experiments.len()));
    }
    text
}

/// A legend of every case, grouped under a heading per group.
pub(crate) fn grouped_legend(src: &Source, t: &TrialAnalysis, swatch: Swatch) -> Vec<LegendEntry> {
    let mut out = Vec::new();
    for g in Group::ALL {
        let cases = cases_of(src, t, g);
        if cases.is_empty() {
            continue;
        }
        out.push(LegendEntry::heading(group_heading(g, &cases)));
        for c in cases {
            out.push(LegendEntry {
                colour: src.colour(c),
                text: entry_text(src, t, c, true, matches!(swatch, Swatch::Line { .. })),
                diverged: t.diverged_count(c) > 0,
                swatch,
            });
        }
    }
    out
}

/// "Hand-made back-prop (C0–C6)".
pub(crate) fn group_heading(g: Group, cases: &[usize]) -> String {
    let name = match g {
        Group::HandMade => "Hand-made back-prop",
        Group::Tf1 => "TF1 optimizers, exact gradient",
    };
    match (cases.first(), cases.last()) {
        (Some(a), Some(b)) if a != b => format!("{name} (C{a}–C{b})"),
        (Some(a), _) => format!("{name} (C{a})"),
        _ => name.to_string(),
    }
}

/// The one-glance chart: final test accuracy per case, mean ± 95 % CI, best first.
pub(crate) fn overview_chart(src: &Source, t: &TrialAnalysis) -> Chart {
    let m = Metric::TestAcc;
    let ms = &t.metrics[m.index()];
    let mut stats: Vec<_> = ms.cases.iter().collect();
    // Highest mean first; cases with no usable value last; ties to the lower case.
    stats.sort_by(|a, b| {
        let key = |v: f64| if v.is_nan() { f64::NEG_INFINITY } else { v };
        key(b.ci.mean).total_cmp(&key(a.ci.mean)).then(a.case.cmp(&b.case))
    });
    let rows = stats
        .iter()
        .map(|s| Interval {
            label: format!(
                "C{} {} [{}]",
                s.case,
                src.label(s.case),
                short_group(src.group(s.case))
            ),
            colour: src.colour(s.case),
            mean: s.ci.mean,
            low: s.ci.low(),
            high: s.ci.high(),
            square: src.group(s.case) == Group::Tf1,
        })
        .collect();
    let mut legend = vec![
        LegendEntry {
            colour: (0x55, 0x55, 0x55),
            text: "hand-made back-prop".into(),
            diverged: false,
            swatch: Swatch::Marker { square: false },
        },
        LegendEntry {
            colour: (0x55, 0x55, 0x55),
            text: "TF1 optimizer, exact gradient".into(),
            diverged: false,
            swatch: Swatch::Marker { square: true },
        },
        LegendEntry::heading("bar: 95 % CI of the mean (Student t)"),
    ];
    for (dup, same) in &t.coincide {
        legend.push(LegendEntry::heading(format!("C{dup} ≡ C{same}: identical results")));
    }
    Chart {
        title: format!(
            "Trial {}: final test accuracy per case, mean and 95 % CI over {} experiment(s), best first",
            t.info.trial,
            t.experiments.len()
        ),
        x_desc: "final test accuracy".into(),
        y_desc: String::new(),
        plot: Plot::Intervals { rows, domain: (0.0, 1.0) },
        legend,
        size: (1400, 140 + 34 * ms.cases.len() as u32),
    }
}

/// The study's bar chart of one criterion, legend grouped.
pub(crate) fn wins_chart(src: &Source, t: &TrialAnalysis, m: Metric) -> Chart {
    Chart {
        title: m.study_title(t.experiments.len()),
        x_desc: format!(
            "case (trial {}: η = {}, H = {})",
            t.info.trial,
            param(t.info.learning_rate),
            t.info.hidden
        ),
        y_desc: "wins (experiments)".into(),
        plot: Plot::Bars {
            bars: t
                .cases
                .iter()
                .enumerate()
                .map(|(i, &c)| (c, t.wins[m.index()][i] as f64, src.colour(c)))
                .collect(),
            top: t.experiments.len() as f64,
            spans: spans(src, t),
        },
        legend: grouped_legend(src, t, Swatch::Bar),
        size: charts::SIZE,
    }
}

/// The groups as labelled spans of consecutive cases (a group split by the other, which the
/// study's numbering never does, gives one span per run of cases).
fn spans(src: &Source, t: &TrialAnalysis) -> Vec<(String, usize, usize)> {
    let mut out: Vec<(Group, usize, usize)> = Vec::new();
    for &c in &t.cases {
        let g = src.group(c);
        match out.last_mut() {
            Some((lg, _, last)) if *lg == g => *last = c,
            _ => out.push((g, c, c)),
        }
    }
    out.into_iter()
        .map(|(g, a, b)| {
            let name = match g {
                Group::HandMade => "hand-made",
                Group::Tf1 => "TF1, exact gradient",
            };
            (format!(" {name}"), a, b)
        })
        .collect()
}

/// Per epoch, the mean, minimum and maximum over the experiments with a finite value.
fn mean_band(src: &Source, t: &TrialAnalysis, c: usize, m: Metric) -> Vec<(f64, f64, f64, f64)> {
    let mut by_epoch: BTreeMap<u32, Vec<f64>> = BTreeMap::new();
    for &e in &t.experiments {
        if let Some(s) = src.data.series.get(&(t.info.trial, e, c)) {
            for &(ep, v) in &s[m.index()] {
                if v.is_finite() {
                    by_epoch.entry(ep).or_default().push(v);
                }
            }
        }
    }
    let stats: Vec<_> = by_epoch
        .iter()
        .map(|(ep, vs)| {
            let mean = vs.iter().sum::<f64>() / vs.len() as f64;
            let lo = vs.iter().copied().fold(f64::INFINITY, f64::min);
            let hi = vs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            (*ep as f64, mean, lo, hi)
        })
        .collect();
    charts::decimate(&stats, src.max_points)
}

/// The best case of group `g` under metric `m`: lowest mean rank, ties to the lower case.
pub(crate) fn best_of(src: &Source, t: &TrialAnalysis, g: Group, m: Metric) -> Option<usize> {
    t.metrics[m.index()]
        .cases
        .iter()
        .filter(|s| src.group(s.case) == g)
        .min_by(|a, b| a.mean_rank.total_cmp(&b.mean_rank).then(a.case.cmp(&b.case)))
        .map(|s| s.case)
}

/// Learning curves of one metric as small multiples: one panel per group with its cases' mean
/// curves, the other group's best case as a dashed reference, and a min–max band for the panel's
/// own best case only (17 bands in one panel were unreadable). Cost on a log axis.
pub(crate) fn curves_chart(src: &Source, t: &TrialAnalysis, m: Metric) -> Chart {
    let n = t.experiments.len();
    let mut panels = Vec::new();
    let mut legend = Vec::new();
    let present: Vec<Group> =
        Group::ALL.into_iter().filter(|&g| !cases_of(src, t, g).is_empty()).collect();
    for &g in &present {
        let cases = cases_of(src, t, g);
        let best = best_of(src, t, g, m);
        let other = present.iter().find(|&&o| o != g).and_then(|&o| best_of(src, t, o, m));
        let mut lines = Vec::new();
        if let Some(r) = other {
            let st = mean_band(src, t, r, m);
            lines.push(Line {
                colour: src.colour(r),
                points: st.iter().map(|s| (s.0, s.1)).collect(),
                reference: true,
                ..Line::default()
            });
        }
        for &c in &cases {
            let st = mean_band(src, t, c, m);
            lines.push(Line {
                colour: src.colour(c),
                points: st.iter().map(|s| (s.0, s.1)).collect(),
                band: if Some(c) == best && n > 1 {
                    st.iter().map(|s| (s.0, s.2, s.3)).collect()
                } else {
                    Vec::new()
                },
                dashed: is_duplicate(t, c),
                ..Line::default()
            });
        }
        let side = if panels.is_empty() { "left" } else { "right" };
        legend.push(LegendEntry::heading(format!("{} ({side})", group_heading(g, &cases))));
        for &c in &cases {
            let mut text = entry_text(src, t, c, true, true);
            if Some(c) == best && n > 1 {
                text.push_str(" ▒ min–max");
            }
            legend.push(LegendEntry {
                colour: src.colour(c),
                text,
                diverged: t.diverged_count(c) > 0,
                swatch: Swatch::Line { dashed: is_duplicate(t, c) },
            });
        }
        panels.push(group_panel(g, &cases, other, lines));
    }
    legend.push(reference_entry());
    Chart {
        title: format!(
            "Trial {}: {} per epoch, mean over {n} experiment(s){}",
            t.info.trial,
            m.title(),
            if m == Metric::Cost { " (log scale)" } else { "" }
        ),
        x_desc: "epoch".into(),
        y_desc: m.title().into(),
        plot: Plot::Panels { panels, log_y: m == Metric::Cost },
        legend,
        size: charts::PANELS_SIZE,
    }
}

/// The study's line chart of one experiment: every case in one panel, legend grouped.
pub(crate) fn experiment_chart(src: &Source, t: &TrialAnalysis, e: u32, m: Metric) -> Chart {
    let tr = t.info.trial;
    let mut lines = Vec::new();
    let mut legend = Vec::new();
    for g in Group::ALL {
        let cases = cases_of(src, t, g);
        if cases.is_empty() {
            continue;
        }
        legend.push(LegendEntry::heading(group_heading(g, &cases)));
        for c in cases {
            let cell =
                src.data.finals.iter().find(|r| r.trial == tr && r.experiment == e && r.case == c);
            let diverged = t.diverged.iter().any(|d| d.0 == e && d.1 == c);
            let pts: Vec<(f64, f64)> = src
                .data
                .series
                .get(&(tr, e, c))
                .map(|s| {
                    s[m.index()]
                        .iter()
                        .filter(|p| p.1.is_finite())
                        .map(|&(ep, v)| (ep as f64, v))
                        .collect()
                })
                .unwrap_or_default();
            let mut text = entry_text(src, t, c, false, true);
            if diverged {
                match cell {
                    Some(r) => text.push_str(&format!(
                        " (diverged at epoch {})",
                        r.epochs_run.saturating_sub(1)
                    )),
                    None => text.push_str(" (missing)"),
                }
            }
            legend.push(LegendEntry {
                colour: src.colour(c),
                text,
                diverged,
                swatch: Swatch::Line { dashed: is_duplicate(t, c) },
            });
            lines.push(Line {
                colour: src.colour(c),
                diverged_at: if diverged { pts.last().copied() } else { None },
                points: charts::decimate(&pts, src.max_points),
                dashed: is_duplicate(t, c),
                ..Line::default()
            });
        }
    }
    Chart {
        title: format!(
            "Trial {tr}, experiment {e}: {} per epoch{}",
            m.title(),
            if m == Metric::Cost { " (log scale)" } else { "" }
        ),
        x_desc: "epoch".into(),
        y_desc: m.title().into(),
        plot: Plot::Panels {
            panels: vec![Panel { title: String::new(), lines }],
            log_y: m == Metric::Cost,
        },
        legend,
        size: charts::SIZE,
    }
}

/// A group's panel of lines, titled with the group and, when there is one, the other group's best
/// case that the panel shows dashed as a reference.
pub(crate) fn group_panel(
    g: Group,
    cases: &[usize],
    other: Option<usize>,
    lines: Vec<Line>,
) -> Panel {
    Panel {
        title: match other {
            Some(o) => {
                format!("{} (dashed: C{o}, best of the other group)", group_heading(g, cases))
            }
            None => group_heading(g, cases),
        },
        lines,
    }
}

/// The legend entry that explains the dashed reference lines.
pub(crate) fn reference_entry() -> LegendEntry {
    LegendEntry {
        colour: (0x55, 0x55, 0x55),
        text: "dashed: the other group's best case".into(),
        diverged: false,
        swatch: Swatch::Line { dashed: true },
    }
}
