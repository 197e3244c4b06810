//! Building the report document and `summary.csv` from the loaded results: the answer first,
//! then the run, then one section per trial.

use crate::analysis::{self, TrialAnalysis, ALPHA};
use crate::answer::{self, criterion_title, short_group};
use crate::charts::{self, Chart};
use crate::compare::{self, Comparison};
use crate::compare_report;
use crate::curves::{self, Source};
use crate::data::{Metric, ResultsData};
use crate::doc::{self, Block, Inline};
use crate::error::ReportError;
use crate::fmt::{csv_num, num, param, shorten_toml_floats};
use crate::published;
use crate::ttt::{self, TargetResult};
use crate::{stats, ttt_report, ReportOptions, ReportSummary};

fn pct(wins: usize, n: usize) -> String {
    if n == 0 {
        "–".into()
    } else {
        format!("{:.0} %", 100.0 * wins as f64 / n as f64)
    }
}

fn secs(s: f64) -> String {
    if s >= 3600.0 {
        format!("{s:.0} s ({:.1} h)", s / 3600.0)
    } else {
        format!("{s:.1} s")
    }
}

struct Ctx<'a> {
    src: Source<'a>,
    opts: &'a ReportOptions,
    files: Vec<std::path::PathBuf>,
}

impl Ctx<'_> {
    fn data(&self) -> &ResultsData {
        self.src.data
    }

    /// Draws `chart` as `report/<name>.svg` (and `.png`) and returns it as an image block.
    fn image(&mut self, name: &str, chart: &Chart) -> Result<Block, ReportError> {
        let dir = self.data().dir.join("report");
        let (files, svg) = charts::render(&dir.join(name), chart, self.opts.png)?;
        self.files.extend(files);
        Ok(Block::Image(chart.title.clone(), format!("report/{name}.svg"), svg))
    }

    /// The trial's cases grouped (hand-made first), each with its index in `t.cases`.
    fn grouped(&self, t: &TrialAnalysis) -> Vec<(usize, usize)> {
        let mut v: Vec<(usize, usize)> = t.cases.iter().copied().enumerate().collect();
        v.sort_by_key(|&(_, c)| (self.src.group(c), c));
        v
    }
}

/// Writes everything; see [`crate::generate`].
pub(crate) fn write_report(
    data: &ResultsData,
    opts: &ReportOptions,
    comparison: Option<Comparison>,
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
    if let Some(e) = &data.config_error {
        warnings.push(format!("config.toml is shown as written but does not parse ({e})"));
    }

    let mut ctx =
        Ctx { src: Source { data, max_points: opts.max_points }, opts, files: Vec::new() };
    let title = match &data.run {
        Some(r) => format!("handprop report: {}", r.config_name),
        None => "handprop report".into(),
    };
    let scale = answer::scale_check(data);
    let ttt_results: Vec<TargetResult> = trials
        .iter()
        .flat_map(|t| {
            let targets = if opts.targets.is_empty() {
                ttt::default_targets(t, !scale.is_scaled())
            } else {
                opts.targets.clone()
            };
            targets.into_iter().map(move |g| ttt::analyse(data, t, g))
        })
        .collect();
    let mut blocks = vec![Block::Heading(1, title.clone()), Block::Banner(answer::banner(&scale))];
    blocks.push(Block::Heading(2, "The answer".into()));
    blocks.push(Block::Rich(vec![
        Inline::Text("The question, from the 2018 post ".into()),
        Inline::Link(format!("“{}”", published::TITLE), published::URL.into()),
        Inline::Text(format!(
            " by {}: can hand-made back-propagation (cases C0–C6: the manual gradient seed with gradient noise, dilated routing and per-layer Adam) beat TensorFlow 1's ten optimizers on the exact gradient (C7–C16)? Each experiment has three winners, lowest final cost, highest final train accuracy and highest final test accuracy; docs/study.md describes the study as this project runs it.",
            published::AUTHOR_DATE
        )),
    ]));
    blocks.push(Block::List(trials.iter().map(|t| answer::trial_answer(data, t)).collect()));
    if !warnings.is_empty() {
        blocks.push(Block::Heading(3, "Warnings".into()));
        blocks.push(Block::List(warnings.iter().map(|w| format!("{w}.")).collect()));
    }
    if let Some(c) = &comparison {
        // Listed in the comparison's own section (and returned to the caller), not twice.
        warnings.extend(c.warnings.iter().cloned());
        let src = Source { data, max_points: opts.max_points };
        blocks.extend(compare_report::section(&src, c, &mut |n, ch| ctx.image(n, ch))?);
    }
    blocks.extend(overview(data));
    for t in &trials {
        let mine: Vec<&TargetResult> =
            ttt_results.iter().filter(|r| r.trial == t.info.trial).collect();
        blocks.extend(trial_section(&mut ctx, t, &mine)?);
    }
    blocks.push(Block::Heading(2, "Sources".into()));
    blocks.push(Block::Rich(vec![
        Inline::Text("The study: ".into()),
        Inline::Link(format!("“{}”", published::TITLE), published::URL.into()),
        Inline::Text(format!(", {}; the author's scripts: ", published::AUTHOR_DATE)),
        Inline::Link(
            "JaeDukSeo/Personal_Daily_NeuralNetwork_Practice".into(),
            published::SCRIPTS.into(),
        ),
        Inline::Text(", folder J_tensor_flow/. Published shares: the post's win-frequency charts, transcribed in docs/study.md. Statistics: docs/report.md (Student-t intervals, ranks with ties averaged, exact Wilcoxon signed-rank with zero differences dropped).".into()),
    ]));

    let summary_csv = data.dir.join("summary.csv");
    charts::write_atomic(&summary_csv, summary_table(data, &trials)?.as_bytes())?;
    let time_to_target_csvs = [
        data.dir.join("time_to_target.csv"),
        data.dir.join("time_to_target_summary.csv"),
        data.dir.join("profiles.csv"),
    ];
    let texts = [
        ttt::time_to_target_csv(data, &ttt_results),
        ttt::summary_csv(data, &ttt_results),
        ttt::profiles_csv(data, &ttt_results),
    ];
    for (path, text) in time_to_target_csvs.iter().zip(&texts) {
        charts::write_atomic(path, text.as_bytes())?;
    }
    let comparison_csv = match &comparison {
        Some(c) => {
            let path = data.dir.join(compare::COMPARISON_FILE);
            charts::write_atomic(&path, compare::comparison_csv(data, c)?.as_bytes())?;
            Some(path)
        }
        None => None,
    };
    let report_md = data.dir.join("report.md");
    charts::write_atomic(&report_md, doc::to_markdown(&blocks).as_bytes())?;
    let report_html = data.dir.join("report.html");
    charts::write_atomic(&report_html, doc::to_html(&title, &blocks).as_bytes())?;
    Ok(ReportSummary {
        report_md,
        report_html,
        summary_csv,
        time_to_target_csvs,
        time_to_target: ttt_results,
        charts: ctx.files,
        trials,
        warnings,
        comparison_csv,
        comparison,
    })
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

/// The compute of the run, stated once: wall and CPU time summed over the runner's invocations
/// (`run.json`), and the cells' summed epoch times (`cell_seconds`, else `final.csv`'s `wall_s` or
/// `timing.csv`).
fn compute_text(data: &ResultsData) -> String {
    let timed: Vec<f64> = data.finals.iter().map(|r| r.wall_s).filter(|v| v.is_finite()).collect();
    let timed_sum = (!timed.is_empty()).then(|| timed.iter().sum::<f64>());
    let mut parts = Vec::new();
    let cells = match &data.run {
        Some(run) if !run.invocations.is_empty() => {
            let (wall, cpu) = run.totals();
            parts.push(format!(
                "{} wall, {} CPU over {} invocation(s)",
                secs(wall),
                secs(cpu),
                run.invocations.len()
            ));
            // A run.json always has cell_seconds; 0 with cells done means an older runner.
            if run.cell_seconds > 0.0 {
                Some(run.cell_seconds)
            } else {
                timed_sum
            }
        }
        Some(run) => {
            parts.push("no invocation history in run.json".into());
            if run.cell_seconds > 0.0 {
                Some(run.cell_seconds)
            } else {
                timed_sum
            }
        }
        None => {
            parts.push("no run.json".into());
            timed_sum
        }
    };
    match cells {
        Some(s) => parts.push(format!("the cells' epochs took {} in total", secs(s))),
        None => parts.push("no per-cell times (no timing.csv or wall_s)".into()),
    }
    parts.join("; ")
}

fn overview(data: &ResultsData) -> Vec<Block> {
    let mut b = vec![Block::Heading(2, "The run".into())];
    let none = || "– (no run.json)".to_string();
    let run = data.run.as_ref();
    let cells = data.finals.len();
    let epochs_run: u64 = data.finals.iter().map(|r| r.epochs_run as u64).sum();
    let diverged = data.finals.iter().filter(|r| r.diverged).count();
    let facts = vec![
        vec!["results directory".to_string(), data.dir.display().to_string()],
        vec!["config".into(), run.map_or_else(none, |r| r.config_name.clone())],
        vec!["config hash".into(), run.map_or_else(none, |r| r.config_hash.clone())],
        vec!["handprop version".into(), run.map_or_else(none, |r| r.handprop_version.clone())],
        vec![
            "cells".into(),
            match run {
                Some(r) => format!("{cells} of {}", r.cells_total),
                None => cells.to_string(),
            },
        ],
        vec!["epochs run (all cells)".into(), epochs_run.to_string()],
        vec!["compute".into(), compute_text(data)],
        vec!["diverged cells".into(), diverged.to_string()],
    ];
    b.push(Block::Table(vec!["what".into(), "value".into()], facts));
    if let Some(run) = run.filter(|r| !r.invocations.is_empty()) {
        b.push(Block::Details(
            format!("Invocations ({}), oldest first", run.invocations.len()),
            vec![Block::Table(
                ["command", "started", "shard", "threads", "cells computed", "wall", "CPU"]
                    .map(String::from)
                    .to_vec(),
                run.invocations
                    .iter()
                    .map(|i| {
                        vec![
                            i.command.clone(),
                            i.started.clone(),
                            i.shard.clone().unwrap_or_else(|| "–".into()),
                            i.threads.to_string(),
                            i.cells_computed.to_string(),
                            secs(i.wall_seconds),
                            secs(i.cpu_seconds),
                        ]
                    })
                    .collect(),
            )],
        ));
    }

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
                    param(t.learning_rate),
                    t.hidden.to_string(),
                    t.experiments.to_string(),
                    t.epochs.to_string(),
                    t.batch.to_string(),
                ]
            })
            .collect(),
    ));
    b.push(Block::Heading(3, "Cases".into()));
    let mut cases: Vec<_> = data.cases.values().collect();
    cases.sort_by_key(|c| (c.group, c.case));
    b.push(Block::Table(
        ["case", "group", "label", "gradient", "parameters", "colour"].map(String::from).to_vec(),
        cases
            .iter()
            .map(|c| {
                let hex = |c: (u8, u8, u8)| format!("#{:02x}{:02x}{:02x}", c.0, c.1, c.2);
                let drawn = charts::stroke(c.colour);
                vec![
                    format!("C{}", c.case),
                    short_group(c.group).to_string(),
                    c.label.clone(),
                    if c.gradient.is_empty() { "–".into() } else { c.gradient.clone() },
                    c.params
                        .iter()
                        .map(|(k, v)| format!("{k} = {v}"))
                        .collect::<Vec<_>>()
                        .join("; "),
                    if drawn == c.colour {
                        hex(c.colour)
                    } else {
                        format!("{} (pale: lines and edges drawn {})", hex(c.colour), hex(drawn))
                    },
                ]
            })
            .collect(),
    ));
    match &data.config_toml {
        Some(text) => b.push(Block::Details(
            "config.toml (the resolved config that ran; f32 parameters in their shortest form)"
                .into(),
            vec![Block::Pre(shorten_toml_floats(text))],
        )),
        None => b.push(Block::Para("No config.toml in the results directory.".into())),
    }
    b
}

fn trial_heading(t: &TrialAnalysis) -> String {
    format!(
        "Trial {}: η = {}, H = {}, {} experiment(s), {} epoch(s), batch {}",
        t.info.trial,
        param(t.info.learning_rate),
        t.info.hidden,
        t.experiments.len(),
        t.info.epochs,
        t.info.batch
    )
}

fn trial_section(
    ctx: &mut Ctx,
    t: &TrialAnalysis,
    ttt_results: &[&TargetResult],
) -> Result<Vec<Block>, ReportError> {
    let tr = t.info.trial;
    let n = t.experiments.len();
    let mut b = vec![Block::Heading(2, trial_heading(t))];
    b.push(
        ctx.image(&format!("trial{tr}-overview-test_acc"), &curves::overview_chart(&ctx.src, t))?,
    );
    for (dup, same) in &t.coincide {
        b.push(Block::Para(format!(
            "Note: C{dup} ({}) and C{same} ({}) give bit-identical results in every experiment of this trial (final values and every per-epoch value), so their curves coincide: C{dup} is drawn dashed over C{same}, and the two always tie (ties go to C{same}).",
            ctx.src.label(*dup),
            ctx.src.label(*same)
        )));
    }

    // Frequency table beside the study's published shares.
    b.push(Block::Heading(
        3,
        "Wins per case (this run) beside the study's published shares".into(),
    ));
    let pubd = published::published(tr);
    let mut rows = Vec::new();
    for (i, c) in ctx.grouped(t) {
        let mut row =
            vec![format!("C{c}"), short_group(ctx.src.group(c)).into(), ctx.src.label(c).into()];
        for m in Metric::ALL {
            let w = t.wins[m.index()][i];
            row.push(format!("{w} ({})", pct(w, n)));
            row.push(pubd.map_or("–".into(), |p| format!("{} %", p.share(m.index(), c))));
        }
        row.push(t.diverged_count(c).to_string());
        rows.push(row);
    }
    let mut header = vec!["case".to_string(), "group".into(), "label".into()];
    for m in Metric::ALL {
        header.push(format!("{}: wins", criterion_title(m)));
        header.push("study".into());
    }
    header.push("diverged".into());
    b.push(Block::Table(header, rows));
    b.push(Block::Para(match pubd {
        Some(p) => format!(
            "Study column: the shares the 2018 study published for its trial {} (η = {}, H = {}, 10 experiments of 801 epochs){}. This run's trial {tr} uses η = {}, H = {}, {} epoch(s), so the comparison is only meaningful when the settings match.",
            p.trial,
            param(p.learning_rate),
            p.hidden,
            if p.remark.is_empty() { String::new() } else { format!("; {}", p.remark) },
            param(t.info.learning_rate),
            t.info.hidden,
            t.info.epochs
        ),
        None => format!("The study published no shares for a trial {tr}."),
    }));

    // Winners per experiment.
    let label_of = |c: usize| format!("C{c} [{}]", short_group(ctx.src.group(c)));
    let win_rows = t
        .experiments
        .iter()
        .zip(&t.winners)
        .map(|(e, w)| {
            let mut r = vec![e.to_string()];
            r.extend(w.iter().map(|c| c.map_or("none (all diverged)".into(), label_of)));
            r
        })
        .collect();
    b.push(Block::Details(
        format!("Winner of each experiment (trial {tr})"),
        vec![Block::Table(
            std::iter::once("experiment".to_string())
                .chain(Metric::ALL.map(|m| criterion_title(m).to_string()))
                .collect(),
            win_rows,
        )],
    ));

    b.push(Block::Heading(3, "Win frequencies (the study's charts)".into()));
    for m in Metric::ALL {
        let chart = curves::wins_chart(&ctx.src, t, m);
        b.push(ctx.image(&format!("trial{tr}-wins-{}", m.criterion()), &chart)?);
    }

    b.push(Block::Heading(
        3,
        "Learning curves: hand-made (left) and TF1 (right), mean over experiments".into(),
    ));
    b.push(Block::Para("Each panel shows its group's mean curves, the other group's best case (by mean rank of the final value) dashed for reference, and the min–max band over experiments of the panel's own best case. Cost is on a log scale.".into()));
    for m in Metric::ALL {
        let chart = curves::curves_chart(&ctx.src, t, m);
        b.push(ctx.image(&format!("trial{tr}-curve-{}", m.name()), &chart)?);
    }

    b.extend(statistics(ctx, t));

    let src = Source { data: ctx.src.data, max_points: ctx.src.max_points };
    b.extend(ttt_report::section(&src, t, ttt_results, &mut |name, chart| ctx.image(name, chart))?);

    if ctx.opts.experiment_charts {
        let mut inner = Vec::new();
        for &e in &t.experiments {
            for m in Metric::ALL {
                let chart = curves::experiment_chart(&ctx.src, t, e, m);
                inner.push(ctx.image(&format!("trial{tr}-exp{e:02}-{}", m.name()), &chart)?);
            }
        }
        b.push(Block::Details(
            format!("Per-experiment learning curves (trial {tr}, the study's line charts)"),
            inner,
        ));
    }
    Ok(b)
}

/// The statistics tables of a trial: one per metric, cases grouped, with one footnote.
fn statistics(ctx: &Ctx, t: &TrialAnalysis) -> Vec<Block> {
    let n = t.experiments.len();
    let mut b = vec![Block::Heading(3, "Statistics of the final values".into())];
    // Stated once per trial: what the number of experiments allows.
    if n < 6 {
        b.push(Block::Para(t.metrics[0].note.clone()));
    }
    let mut any_dagger = false;
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
        let mut order: Vec<&analysis::CaseStat> = ms.cases.iter().collect();
        order.sort_by_key(|s| (ctx.src.group(s.case), s.case));
        let rows = order
            .iter()
            .map(|s| {
                let (w, p) = match &s.vs_best {
                    None => ("best".to_string(), "–".to_string()),
                    Some(w) => {
                        let dagger = w.n == 0 || stats::wilcoxon_min_p(w.n) > ALPHA;
                        any_dagger |= dagger;
                        (
                            format!("{} / {} (n = {})", csv_num(w.w_plus), csv_num(w.w_minus), w.n),
                            format!("{}{}", num(w.p_two_sided), if dagger { " †" } else { "" }),
                        )
                    }
                };
                vec![
                    format!("C{}", s.case),
                    short_group(ctx.src.group(s.case)).into(),
                    ctx.src.label(s.case).to_string(),
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
                ]
            })
            .collect();
        b.push(Block::Table(
            [
                "case",
                "group",
                "label",
                "n",
                "diverged",
                "mean ± 95 % CI",
                "mean rank",
                &format!("{} wins", criterion_title(m)),
                "W⁺ / W⁻ vs best",
                "p (exact, two-sided)",
            ]
            .map(String::from)
            .to_vec(),
            rows,
        ));
        if n >= 6 {
            b.push(Block::Para(ms.note.clone()));
        }
    }
    if any_dagger {
        b.push(Block::Para(format!(
            "† Too few paired differences for the test to reach p < {ALPHA} whatever the data: with n pairs (zeros and diverged cells left out; n is in the W⁺ / W⁻ column) the smallest two-sided p is 2/2ⁿ, so such a case cannot be separated from the best one."
        )));
    }
    b
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
        "group",
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
        "wilcoxon_min_p",
    ])
    .map_err(e)?;
    for t in trials {
        for ms in &t.metrics {
            for s in &ms.cases {
                let wc = s.vs_best.as_ref();
                let info = data.cases.get(&s.case);
                w.write_record([
                    t.info.trial.to_string(),
                    ms.metric.name().to_string(),
                    s.case.to_string(),
                    info.map_or(String::new(), |c| c.label.clone()),
                    info.map_or(String::new(), |c| c.group.name().to_string()),
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
                    wc.map_or(String::new(), |w| csv_num(stats::wilcoxon_min_p(w.n))),
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
