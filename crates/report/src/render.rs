//! Building the charts, `summary.csv` and the report document from the loaded results.

use std::collections::BTreeMap;

use crate::analysis::{self, TrialAnalysis};
use crate::charts::{self, Chart, LegendEntry, Line, Plot};
use crate::data::{Metric, ResultsData};
use crate::doc::{self, Block};
use crate::error::ReportError;
use crate::published;
use crate::{ReportOptions, ReportSummary};

/// Formats a number for tables: 4 significant-ish digits, scientific for very large or small
/// magnitudes, "–" for NaN.
pub(crate) fn num(v: f64) -> String {
    if v.is_nan() {
        "–".into()
    } else if v.is_infinite() {
        if v > 0.0 { "inf" } else { "-inf" }.into()
    } else if v != 0.0 && (v.abs() >= 1e5 || v.abs() < 1e-3) {
        format!("{v:.3e}")
    } else {
        format!("{v:.4}")
    }
}

/// Like [`num`] but an empty string for NaN (CSV cells).
fn csv_num(v: f64) -> String {
    if v.is_nan() {
        String::new()
    } else {
        format!("{v}")
    }
}

fn pct(wins: usize, n: usize) -> String {
    if n == 0 {
        "–".into()
    } else {
        format!("{:.0} %", 100.0 * wins as f64 / n as f64)
    }
}

/// A chart drawn and ready to be placed in the document.
struct Drawn {
    title: String,
    rel: String,
    svg: String,
}

struct Ctx<'a> {
    data: &'a ResultsData,
    opts: &'a ReportOptions,
    files: Vec<std::path::PathBuf>,
}

impl Ctx<'_> {
    fn draw(&mut self, name: &str, chart: &Chart) -> Result<Drawn, ReportError> {
        let dir = self.data.dir.join("report");
        let (files, svg) = charts::render(&dir.join(name), chart, self.opts.png)?;
        self.files.extend(files);
        Ok(Drawn { title: chart.title.clone(), rel: format!("report/{name}.svg"), svg })
    }

    fn label(&self, case: usize) -> &str {
        self.data.cases.get(&case).map_or("", |c| c.label.as_str())
    }

    fn colour(&self, case: usize) -> (u8, u8, u8) {
        self.data.cases.get(&case).map_or((68, 68, 68), |c| c.colour)
    }
}

fn image(d: Drawn) -> Block {
    Block::Image(d.title, d.rel, d.svg)
}

fn trial_heading(t: &TrialAnalysis) -> String {
    format!(
        "Trial {}: η = {}, H = {}, {} experiment(s), {} epoch(s), batch {}",
        t.info.trial,
        t.info.learning_rate,
        t.info.hidden,
        t.experiments.len(),
        t.info.epochs,
        t.info.batch
    )
}

/// Writes everything; see [`crate::generate`].
pub(crate) fn write_report(
    data: &ResultsData,
    opts: &ReportOptions,
) -> Result<ReportSummary, ReportError> {
    let report_dir = data.dir.join("report");
    std::fs::create_dir_all(&report_dir).map_err(|e| ReportError::io(&report_dir, e))?;
    let mut warnings = Vec::new();
    let mut trials = Vec::new();
    for info in data.trials.values() {
        match analysis::analyse_trial(data, info) {
            Some(t) => trials.push(t),
            None => warnings.push(format!("trial {} has no cells in final.csv", info.trial)),
        }
    }
    check_consistency(data, &trials, &mut warnings);

    let mut ctx = Ctx { data, opts, files: Vec::new() };
    let mut blocks = vec![Block::Heading(1, "handprop report".into())];
    blocks.extend(overview(data, &trials, &warnings));
    for t in &trials {
        blocks.extend(trial_section(&mut ctx, t)?);
    }
    blocks.push(Block::Heading(2, "Sources".into()));
    blocks.push(Block::Para(format!("Published shares: {}.", published::SOURCE)));
    blocks.push(Block::Para(
        "Statistics: see docs/report.md for the definitions (Student-t intervals, ranks with ties averaged, exact Wilcoxon signed-rank with zero differences dropped).".into(),
    ));

    let summary_csv = data.dir.join("summary.csv");
    charts::write_atomic(&summary_csv, summary_table(data, &trials)?.as_bytes())?;
    let report_md = data.dir.join("report.md");
    charts::write_atomic(&report_md, doc::to_markdown(&blocks).as_bytes())?;
    let report_html = data.dir.join("report.html");
    let title = match data.run.as_ref().and_then(|r| r.config_name.clone()) {
        Some(name) => format!("handprop report: {name}"),
        None => "handprop report".into(),
    };
    charts::write_atomic(&report_html, doc::to_html(&title, &blocks).as_bytes())?;
    Ok(ReportSummary { report_md, report_html, summary_csv, charts: ctx.files, trials, warnings })
}

/// Cross-checks the recomputed winners against `frequency.csv` and the cell counts against
/// `trials.csv`; disagreements become warnings shown in the report.
fn check_consistency(data: &ResultsData, trials: &[TrialAnalysis], warnings: &mut Vec<String>) {
    for t in trials {
        let n_exp = t.experiments.len();
        if n_exp != t.info.experiments as usize {
            warnings.push(format!(
                "trial {}: {} experiment(s) in final.csv but trials.csv configures {}",
                t.info.trial, n_exp, t.info.experiments
            ));
        }
        let missing = t
            .diverged
            .iter()
            .filter(|d| d.2 == 0 && !has_cell(data, t.info.trial, d.0, d.1))
            .count();
        if missing > 0 {
            warnings.push(format!(
                "trial {}: {missing} cell(s) missing from final.csv (counted as diverged: they never win and rank last)",
                t.info.trial
            ));
        }
        if let Some(freq) = &data.frequency {
            for m in Metric::ALL {
                for (i, &c) in t.cases.iter().enumerate() {
                    let ours = t.wins[m.index()][i] as u64;
                    let theirs = freq.get(&(t.info.trial, m, c)).copied().unwrap_or(0);
                    if ours != theirs {
                        warnings.push(format!(
                            "trial {}, {}: case {c} has {ours} win(s) recomputed from final.csv but {theirs} in frequency.csv",
                            t.info.trial,
                            m.criterion()
                        ));
                    }
                }
            }
        }
    }
}

fn has_cell(data: &ResultsData, trial: u32, experiment: u32, case: usize) -> bool {
    data.finals.iter().any(|r| r.trial == trial && r.experiment == experiment && r.case == case)
}

fn overview(data: &ResultsData, trials: &[TrialAnalysis], warnings: &[String]) -> Vec<Block> {
    let mut b = vec![Block::Heading(2, "The run".into())];
    let run = data.run.clone().unwrap_or_default();
    let mut facts = vec![vec!["results directory".to_string(), data.dir.display().to_string()]];
    let opt = |v: Option<String>| v.unwrap_or_else(|| "– (no run.json)".into());
    facts.push(vec!["config".into(), opt(run.config_name.clone())]);
    facts.push(vec!["config hash".into(), opt(run.config_hash.clone())]);
    facts.push(vec!["handprop version".into(), opt(run.handprop_version.clone())]);
    let cells = data.finals.len();
    facts.push(vec![
        "cells".into(),
        match run.cells_total {
            Some(total) => format!("{cells} of {total}"),
            None => cells.to_string(),
        },
    ]);
    let epochs_run: u64 = data.finals.iter().map(|r| r.epochs_run as u64).sum();
    facts.push(vec!["epochs run (all cells)".into(), epochs_run.to_string()]);
    facts.push(vec![
        "wall time of the invocation that merged".into(),
        run.wall_seconds.map_or("– (no run.json)".into(), |s| format!("{s:.1} s")),
    ]);
    facts.push(vec![
        "compute: sum of the cells' epoch wall times (run.json)".into(),
        run.cpu_seconds.map_or("–".into(), |s| format!("{s:.1} s")),
    ]);
    facts.push(vec!["threads".into(), run.threads.map_or("–".into(), |t| t.to_string())]);
    let timed: Vec<f64> = data.finals.iter().map(|r| r.wall_s).filter(|v| v.is_finite()).collect();
    facts.push(vec![
        "sum of cell wall times (final.csv or timing.csv)".into(),
        if timed.is_empty() {
            "– (no wall times in final.csv or timing.csv)".into()
        } else {
            format!("{:.1} s over {} cell(s)", timed.iter().sum::<f64>(), timed.len())
        },
    ]);
    let diverged: usize = trials.iter().map(|t| t.diverged.len()).sum();
    facts.push(vec!["diverged or missing cells".into(), diverged.to_string()]);
    b.push(Block::Table(vec!["what".into(), "value".into()], facts));

    b.push(Block::Heading(3, "Trials".into()));
    b.push(Block::Table(
        ["trial", "learning rate η", "hidden H", "experiments", "epochs", "batch"]
            .map(String::from)
            .to_vec(),
        data.trials
            .values()
            .map(|t| {
                vec![
                    t.trial.to_string(),
                    t.learning_rate.to_string(),
                    t.hidden.to_string(),
                    t.experiments.to_string(),
                    t.epochs.to_string(),
                    t.batch.to_string(),
                ]
            })
            .collect(),
    ));
    b.push(Block::Heading(3, "Cases".into()));
    b.push(Block::Table(
        ["case", "label", "colour"].map(String::from).to_vec(),
        data.cases
            .values()
            .map(|c| {
                vec![
                    c.case.to_string(),
                    c.label.clone(),
                    format!("#{:02x}{:02x}{:02x}", c.colour.0, c.colour.1, c.colour.2),
                ]
            })
            .collect(),
    ));
    match &data.config_toml {
        Some(text) => b.push(Block::Details(
            "config.toml (the resolved config that ran)".into(),
            vec![Block::Pre(text.clone())],
        )),
        None => b.push(Block::Para("No config.toml in the results directory.".into())),
    }
    if !warnings.is_empty() {
        b.push(Block::Heading(3, "Warnings".into()));
        for w in warnings {
            b.push(Block::Para(format!("Warning: {w}.")));
        }
    }
    b
}

fn legend(ctx: &Ctx, t: &TrialAnalysis) -> Vec<LegendEntry> {
    let n = t.experiments.len();
    t.cases
        .iter()
        .map(|&c| {
            let k = t.diverged_count(c);
            let mut text = format!("C{c} {}", ctx.label(c));
            if k > 0 {
                text.push_str(&format!(" (diverged in {k}/{n})"));
            }
            LegendEntry { colour: ctx.colour(c), text, diverged: k > 0 }
        })
        .collect()
}

fn trial_section(ctx: &mut Ctx, t: &TrialAnalysis) -> Result<Vec<Block>, ReportError> {
    let tr = t.info.trial;
    let n = t.experiments.len();
    let mut b = vec![Block::Heading(2, trial_heading(t))];

    // Frequency table beside the study's published shares.
    b.push(Block::Heading(
        3,
        "Wins per case (this run) beside the study's published shares".into(),
    ));
    let pubd = published::published(tr);
    let mut rows = Vec::new();
    for (i, &c) in t.cases.iter().enumerate() {
        let mut row = vec![format!("C{c}"), ctx.label(c).to_string()];
        for m in Metric::ALL {
            let w = t.wins[m.index()][i];
            row.push(format!("{w} ({})", pct(w, n)));
            row.push(pubd.map_or("–".into(), |p| match p.share(m.index(), c) {
                0 => "0 %".into(),
                s => format!("{s} %"),
            }));
        }
        row.push(t.diverged_count(c).to_string());
        rows.push(row);
    }
    b.push(Block::Table(
        [
            "case",
            "label",
            "lowest cost: wins",
            "study",
            "highest train acc: wins",
            "study",
            "highest test acc: wins",
            "study",
            "diverged",
        ]
        .map(String::from)
        .to_vec(),
        rows,
    ));
    b.push(Block::Para(match pubd {
        Some(p) => format!(
            "Study column: the shares the 2018 study published for its trial {} (η = {}, H = {}, 10 experiments of 801 epochs){}. This run's trial {tr} uses η = {}, H = {}, {} epoch(s), so the comparison is only meaningful when the settings match.",
            p.trial,
            p.learning_rate,
            p.hidden,
            if p.remark.is_empty() { String::new() } else { format!("; {}", p.remark) },
            t.info.learning_rate,
            t.info.hidden,
            t.info.epochs
        ),
        None => format!("The study published no shares for a trial {tr}."),
    }));

    // Winners per experiment.
    let win_rows = t
        .experiments
        .iter()
        .zip(&t.winners)
        .map(|(e, w)| {
            let mut r = vec![e.to_string()];
            r.extend(w.iter().map(|c| c.map_or("none (all diverged)".into(), |c| format!("C{c}"))));
            r
        })
        .collect();
    b.push(Block::Details(
        format!("Winner of each experiment (trial {tr})"),
        vec![Block::Table(
            ["experiment", "lowest cost", "highest train acc", "highest test acc"]
                .map(String::from)
                .to_vec(),
            win_rows,
        )],
    ));

    // The study's bar charts.
    let legend = legend(ctx, t);
    b.push(Block::Heading(3, "Win frequencies (the study's charts)".into()));
    for m in Metric::ALL {
        let chart = Chart {
            title: m.study_title(n),
            x_desc: format!(
                "case (trial {tr}: η = {}, H = {})",
                t.info.learning_rate, t.info.hidden
            ),
            y_desc: "wins (experiments)".into(),
            plot: Plot::Bars(
                t.cases
                    .iter()
                    .enumerate()
                    .map(|(i, &c)| (c, t.wins[m.index()][i] as f64, ctx.colour(c)))
                    .collect(),
                n as f64,
            ),
            legend: legend.clone(),
        };
        let d = ctx.draw(&format!("trial{tr}-wins-{}", m.criterion()), &chart)?;
        b.push(image(d));
    }

    // Learning curves: mean over experiments with a min–max band.
    b.push(Block::Heading(3, "Learning curves (mean over experiments, band = min–max)".into()));
    for m in Metric::ALL {
        let lines = t.cases.iter().map(|&c| mean_band_line(ctx, t, c, m)).collect();
        let chart = Chart {
            title: format!(
                "Trial {tr}: {} per epoch, mean over {n} experiment(s), band min–max",
                m.title()
            ),
            x_desc: "epoch".into(),
            y_desc: m.title().into(),
            plot: Plot::Lines(lines),
            legend: legend.clone(),
        };
        let d = ctx.draw(&format!("trial{tr}-curve-{}", m.name()), &chart)?;
        b.push(image(d));
    }

    // Statistics.
    b.push(Block::Heading(3, "Statistics of the final values".into()));
    for ms in &t.metrics {
        let m = ms.metric;
        b.push(Block::Heading(
            4,
            format!(
                "{} ({} is better); best by mean rank: C{}",
                m.title(),
                if m.higher_is_better() { "higher" } else { "lower" },
                ms.best
            ),
        ));
        let rows = ms
            .cases
            .iter()
            .map(|s| {
                let (w, p) = match &s.vs_best {
                    None => ("best".to_string(), "–".to_string()),
                    Some(w) => (
                        format!("{} / {} (n = {})", w.w_plus, w.w_minus, w.n),
                        format!("{:.4}", w.p_two_sided),
                    ),
                };
                vec![
                    format!("C{}", s.case),
                    ctx.label(s.case).to_string(),
                    s.ci.n.to_string(),
                    s.diverged.to_string(),
                    if s.ci.half_width.is_nan() {
                        num(s.ci.mean)
                    } else {
                        format!("{} ± {}", num(s.ci.mean), num(s.ci.half_width))
                    },
                    format!("{:.2}", s.mean_rank),
                    s.wins.to_string(),
                    w,
                    p,
                    s.note.clone(),
                ]
            })
            .collect();
        b.push(Block::Table(
            [
                "case",
                "label",
                "n",
                "diverged",
                "mean ± 95 % CI",
                "mean rank",
                "wins",
                "W⁺ / W⁻ vs best",
                "p (exact, two-sided)",
                "note",
            ]
            .map(String::from)
            .to_vec(),
            rows,
        ));
        b.push(Block::Para(ms.note.clone()));
    }

    // The study's per-experiment line charts.
    if ctx.opts.experiment_charts {
        let mut inner = Vec::new();
        for &e in &t.experiments {
            for m in Metric::ALL {
                let chart = experiment_chart(ctx, t, e, m);
                let d = ctx.draw(&format!("trial{tr}-exp{e:02}-{}", m.name()), &chart)?;
                inner.push(image(d));
            }
        }
        b.push(Block::Details(
            format!("Per-experiment learning curves (trial {tr}, the study's line charts)"),
            inner,
        ));
    }
    Ok(b)
}

/// The mean over experiments (and min and max) of case `c`'s metric at each epoch, over the
/// experiments with a finite value at that epoch.
fn mean_band_line(ctx: &Ctx, t: &TrialAnalysis, c: usize, m: Metric) -> Line {
    let mut by_epoch: BTreeMap<u32, Vec<f64>> = BTreeMap::new();
    for &e in &t.experiments {
        if let Some(s) = ctx.data.series.get(&(t.info.trial, e, c)) {
            for &(ep, v) in &s[m.index()] {
                if v.is_finite() {
                    by_epoch.entry(ep).or_default().push(v);
                }
            }
        }
    }
    let stats: Vec<(f64, f64, f64, f64)> = by_epoch
        .iter()
        .map(|(ep, vs)| {
            let mean = vs.iter().sum::<f64>() / vs.len() as f64;
            let lo = vs.iter().copied().fold(f64::INFINITY, f64::min);
            let hi = vs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            (*ep as f64, mean, lo, hi)
        })
        .collect();
    let stats = charts::decimate(&stats, ctx.opts.max_points);
    Line {
        colour: ctx.colour(c),
        points: stats.iter().map(|s| (s.0, s.1)).collect(),
        band: stats.iter().map(|s| (s.0, s.2, s.3)).collect(),
        diverged_at: None,
    }
}

fn experiment_chart(ctx: &Ctx, t: &TrialAnalysis, e: u32, m: Metric) -> Chart {
    let tr = t.info.trial;
    let mut lines = Vec::new();
    let mut legend = Vec::new();
    for &c in &t.cases {
        let cell =
            ctx.data.finals.iter().find(|r| r.trial == tr && r.experiment == e && r.case == c);
        let diverged = t.diverged.iter().any(|d| d.0 == e && d.1 == c);
        let pts: Vec<(f64, f64)> = ctx
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
        let mut text = format!("C{c} {}", ctx.label(c));
        if diverged {
            match cell {
                Some(r) => text
                    .push_str(&format!(" (diverged at epoch {})", r.epochs_run.saturating_sub(1))),
                None => text.push_str(" (missing)"),
            }
        }
        legend.push(LegendEntry { colour: ctx.colour(c), text, diverged });
        lines.push(Line {
            colour: ctx.colour(c),
            diverged_at: if diverged { pts.last().copied() } else { None },
            points: charts::decimate(&pts, ctx.opts.max_points),
            band: Vec::new(),
        });
    }
    Chart {
        title: format!("Trial {tr}, experiment {e}: {} per epoch", m.title()),
        x_desc: "epoch".into(),
        y_desc: m.title().into(),
        plot: Plot::Lines(lines),
        legend,
    }
}

/// `summary.csv`: one row per trial, metric and case.
fn summary_table(data: &ResultsData, trials: &[TrialAnalysis]) -> Result<String, ReportError> {
    let path = data.dir.join("summary.csv");
    let e = |err: csv::Error| ReportError::Csv {
        path: path.clone(),
        line: 0,
        message: err.to_string(),
    };
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "trial",
        "metric",
        "case",
        "label",
        "n",
        "diverged",
        "mean",
        "sd",
        "ci95_low",
        "ci95_high",
        "mean_rank",
        "wins",
        "best_case",
        "wilcoxon_n",
        "wilcoxon_zeros",
        "wilcoxon_w_plus",
        "wilcoxon_w_minus",
        "wilcoxon_p",
        "note",
    ])
    .map_err(e)?;
    for t in trials {
        for ms in &t.metrics {
            for s in &ms.cases {
                let wc = s.vs_best.as_ref();
                w.write_record([
                    t.info.trial.to_string(),
                    ms.metric.name().to_string(),
                    s.case.to_string(),
                    data.cases.get(&s.case).map_or(String::new(), |c| c.label.clone()),
                    s.ci.n.to_string(),
                    s.diverged.to_string(),
                    csv_num(s.ci.mean),
                    csv_num(s.ci.sd),
                    csv_num(s.ci.low()),
                    csv_num(s.ci.high()),
                    csv_num(s.mean_rank),
                    s.wins.to_string(),
                    ms.best.to_string(),
                    wc.map_or(String::new(), |w| w.n.to_string()),
                    wc.map_or(String::new(), |w| w.zeros.to_string()),
                    wc.map_or(String::new(), |w| csv_num(w.w_plus)),
                    wc.map_or(String::new(), |w| csv_num(w.w_minus)),
                    wc.map_or(String::new(), |w| csv_num(w.p_two_sided)),
                    s.note.clone(),
                ])
                .map_err(e)?;
            }
        }
    }
    let bytes = w.into_inner().map_err(|err| ReportError::Io {
        path: path.clone(),
        error: std::io::Error::other(err.to_string()),
    })?;
    String::from_utf8(bytes).map_err(|err| ReportError::Io {
        path: path.clone(),
        error: std::io::Error::other(err.to_string()),
    })
}
