//! Reading the merged tables of a results directory into the report's types, one function per
//! file; every error names the file, the line and the field.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use handprop_results::Table as _;
use serde::de::DeserializeOwned;
use serde::Deserialize;

use crate::data::*;
use crate::error::ReportError;
/// Reads a CSV file with a header into typed rows, each with its 1-based line number.
/// Missing columns are reported against line 1; a bad row against its own line.
fn read_table<T: DeserializeOwned>(
    path: &Path,
    required: &[&str],
    what: &str,
) -> Result<Vec<(u64, T)>, ReportError> {
    read_table_with_header(path, required, what).map(|(_, rows)| rows)
}

/// A table's header and its rows, each with its 1-based line number.
type Table<T> = (Vec<String>, Vec<(u64, T)>);

/// [`read_table`], also returning the header.
fn read_table_with_header<T: DeserializeOwned>(
    path: &Path,
    required: &[&str],
    what: &str,
) -> Result<Table<T>, ReportError> {
    if !path.exists() {
        return Err(ReportError::MissingFile { path: path.to_path_buf(), what: what.to_string() });
    }
    let csv_err = |line: u64, e: &dyn std::fmt::Display| ReportError::Csv {
        path: path.to_path_buf(),
        line,
        message: e.to_string(),
    };
    let mut rdr =
        csv::ReaderBuilder::new().has_headers(true).trim(csv::Trim::All).from_path(path).map_err(
            |e| match e.into_kind() {
                csv::ErrorKind::Io(io) => ReportError::io(path, io),
                other => csv_err(1, &format!("{other:?}")),
            },
        )?;
    let headers = rdr.headers().map_err(|e| csv_err(1, &e))?.clone();
    for col in required {
        if !headers.iter().any(|h| h == *col) {
            return Err(csv_err(
                1,
                &format!(
                    "missing column `{col}` (header is `{}`)",
                    headers.iter().collect::<Vec<_>>().join(",")
                ),
            ));
        }
    }
    let mut rows = Vec::new();
    for rec in rdr.records() {
        let rec = rec.map_err(|e| {
            let line = e.position().map_or(0, |p| p.line());
            csv_err(line, &e)
        })?;
        let line = rec.position().map_or(0, |p| p.line());
        let row: T = rec.deserialize(Some(&headers)).map_err(|e| csv_err(line, &e))?;
        rows.push((line, row));
    }
    Ok((headers.iter().map(String::from).collect(), rows))
}

/// Columns of `cases.csv` that are not parameters.
const CASE_COLUMNS: [&str; 5] = ["case", "label", "colour", "group", "gradient"];

/// Reads `cases.csv` by header name: `case`, `label`, optional `colour`, `group` (or, when absent,
/// derived from `gradient`), and every further column as a parameter.
pub(crate) fn read_cases(path: &Path) -> Result<BTreeMap<usize, CaseInfo>, ReportError> {
    let invalid =
        |line: u64, field: &'static str, value: &str, reason: &str| ReportError::Invalid {
            path: path.to_path_buf(),
            line,
            field,
            value: value.to_string(),
            reason: reason.to_string(),
        };
    let (header, rows) = read_table_with_header::<HashMap<String, String>>(
        path,
        &["case", "label"],
        "the case labels, groups and colours",
    )?;
    if !header.iter().any(|h| h == "group" || h == "gradient") {
        return Err(ReportError::Csv {
            path: path.to_path_buf(),
            line: 1,
            message: format!(
                "needs a `group` (hand-made/tf1) or a `gradient` (manual/exact) column (header is `{}`)",
                header.join(",")
            ),
        });
    }
    let mut cases = BTreeMap::new();
    for (line, r) in rows {
        let get = |k: &str| r.get(k).map(|v| v.trim()).unwrap_or("");
        let case: usize = get("case")
            .parse()
            .map_err(|_| invalid(line, "case", get("case"), "expected a case number"))?;
        let colour_text = get("colour");
        let colour = if colour_text.is_empty() {
            NO_COLOUR
        } else {
            parse_colour(colour_text).ok_or_else(|| {
                invalid(line, "colour", colour_text, "expected #rrggbb or a matplotlib colour name")
            })?
        };
        let gradient = get("gradient").to_string();
        let group = match get("group") {
            "" => Group::from_gradient(&gradient).ok_or_else(|| {
                invalid(line, "gradient", &gradient, "expected manual or exact (no group column)")
            })?,
            g => Group::from_name(g)
                .ok_or_else(|| invalid(line, "group", g, "expected hand-made or tf1"))?,
        };
        let params = header
            .iter()
            .filter(|h| !CASE_COLUMNS.contains(&h.as_str()))
            .filter_map(|h| {
                let v = get(h);
                (!v.is_empty()).then(|| (h.clone(), param_text(v)))
            })
            .collect();
        if cases.contains_key(&case) {
            return Err(invalid(line, "case", &case.to_string(), "listed twice"));
        }
        let label = get("label").to_string();
        cases.insert(case, CaseInfo { case, label, colour, group, gradient, params });
    }
    if cases.is_empty() {
        return Err(ReportError::Empty {
            path: path.to_path_buf(),
            what: "no cases listed".into(),
        });
    }
    Ok(cases)
}

/// A parameter cell as shown: a float in its shortest f32 form, anything else as written.
fn param_text(v: &str) -> String {
    match v.parse::<f64>() {
        Ok(x) if v.contains(['.', 'e', 'E']) => crate::fmt::param(x),
        _ => v.to_string(),
    }
}

fn de_flag<'de, D: serde::Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    let s = String::deserialize(d)?;
    match s.trim() {
        "0" | "false" | "False" => Ok(false),
        "1" | "true" | "True" => Ok(true),
        other => Err(serde::de::Error::custom(format!("expected 0/1 for a flag, got {other:?}"))),
    }
}

#[derive(Deserialize)]
struct FinalCsv {
    trial: u32,
    experiment: u32,
    case: usize,
    epochs_run: u32,
    #[serde(deserialize_with = "de_flag")]
    diverged: bool,
    cost: f64,
    train_acc: f64,
    test_acc: f64,
    // The contract lists wall_s here; the runner keeps wall times in timing.csv instead.
    #[serde(default)]
    wall_s: Option<f64>,
}

#[derive(Deserialize)]
struct MetricCsv {
    trial: u32,
    experiment: u32,
    case: usize,
    epoch: u32,
    metric: String,
    value: f64,
}

#[derive(Deserialize)]
struct TimingCsv {
    trial: u32,
    experiment: u32,
    case: usize,
    epoch: u32,
    wall_s: f64,
}

#[derive(Deserialize)]
struct FrequencyCsv {
    trial: u32,
    criterion: String,
    case: usize,
    wins: u64,
}

/// A cell's key: (trial, experiment, case).
type CellKey = (u32, u32, usize);

/// Win counts by (trial, metric, case).
type WinCounts = HashMap<(u32, Metric, usize), u64>;

fn invalid(
    path: &Path,
    line: u64,
    field: &'static str,
    value: String,
    reason: &str,
) -> ReportError {
    ReportError::Invalid {
        path: path.to_path_buf(),
        line,
        field,
        value,
        reason: reason.to_string(),
    }
}

/// `trials.csv`, by trial.
pub(crate) fn read_trials(dir: &Path) -> Result<BTreeMap<u32, TrialInfo>, ReportError> {
    let path = dir.join("trials.csv");
    let mut trials = BTreeMap::new();
    for (line, t) in
        read_table::<TrialInfo>(&path, handprop_results::TrialRow::COLUMNS, "the trial settings")?
    {
        if trials.contains_key(&t.trial) {
            return Err(invalid(&path, line, "trial", t.trial.to_string(), "listed twice"));
        }
        trials.insert(t.trial, t);
    }

    Ok(trials)
}

/// `final.csv`: every cell's final row, and the line each cell is on.
pub(crate) fn read_finals(
    dir: &Path,
    trials: &BTreeMap<u32, TrialInfo>,
    cases: &BTreeMap<usize, CaseInfo>,
) -> Result<(Vec<FinalRow>, HashMap<CellKey, u64>), ReportError> {
    let path = dir.join("final.csv");
    let mut finals = Vec::new();
    let mut seen = HashMap::new();
    for (line, r) in read_table::<FinalCsv>(
        &path,
        &["trial", "experiment", "case", "epochs_run", "diverged", "cost", "train_acc", "test_acc"],
        "the final values of every cell (written by the runner's merge step)",
    )? {
        if !trials.contains_key(&r.trial) {
            return Err(invalid(&path, line, "trial", r.trial.to_string(), "not in trials.csv"));
        }
        if !cases.contains_key(&r.case) {
            return Err(invalid(&path, line, "case", r.case.to_string(), "not in cases.csv"));
        }
        if let Some(prev) = seen.insert((r.trial, r.experiment, r.case), line) {
            return Err(invalid(
                &path,
                line,
                "case",
                r.case.to_string(),
                &format!(
                    "cell (trial {}, experiment {}) already on line {prev}",
                    r.trial, r.experiment
                ),
            ));
        }
        finals.push(FinalRow {
            trial: r.trial,
            experiment: r.experiment,
            case: r.case,
            epochs_run: r.epochs_run,
            diverged: r.diverged,
            values: [r.cost, r.train_acc, r.test_acc],
            wall_s: r.wall_s.unwrap_or(f64::NAN),
        });
    }
    if finals.is_empty() {
        return Err(ReportError::Empty {
            path,
            what: "no cells: the run has not been merged yet".into(),
        });
    }

    Ok((finals, seen))
}

/// `metrics.csv`: every cell's curves, each complete (epochs `0..epochs_run`).
pub(crate) fn read_series(
    dir: &Path,
    seen: &HashMap<CellKey, u64>,
    finals: &[FinalRow],
) -> Result<HashMap<CellKey, CellSeries>, ReportError> {
    let path = dir.join("metrics.csv");
    let mut series: HashMap<(u32, u32, usize), CellSeries> = HashMap::new();
    for (line, r) in read_table::<MetricCsv>(
        &path,
        handprop_results::MetricRow::COLUMNS,
        "the per-epoch learning curves",
    )? {
        if r.metric == "wall_s" {
            continue;
        }
        let Some(m) = Metric::from_name(&r.metric) else {
            return Err(invalid(
                &path,
                line,
                "metric",
                r.metric,
                "expected cost, train_acc, test_acc or wall_s",
            ));
        };
        if !seen.contains_key(&(r.trial, r.experiment, r.case)) {
            return Err(invalid(
                &path,
                line,
                "case",
                r.case.to_string(),
                &format!(
                    "no cell (trial {}, experiment {}, case {}) in final.csv",
                    r.trial, r.experiment, r.case
                ),
            ));
        }
        series.entry((r.trial, r.experiment, r.case)).or_default()[m.index()]
            .push((r.epoch, r.value));
    }
    for s in series.values_mut() {
        for v in s.iter_mut() {
            v.sort_by_key(|(e, _)| *e);
        }
    }
    // Every cell the report plots needs its whole curve: epochs 0..epochs_run of each metric.
    for f in finals {
        let curve = series.get(&(f.trial, f.experiment, f.case));
        for m in Metric::ALL {
            let epochs: Vec<u32> =
                curve.map(|c| c[m.index()].iter().map(|(e, _)| *e).collect()).unwrap_or_default();
            if epochs.len() != f.epochs_run as usize
                || epochs.iter().enumerate().any(|(i, e)| *e != i as u32)
            {
                return Err(ReportError::Empty {
                    path: path.clone(),
                    what: format!(
                        "the {} curve of cell (trial {}, experiment {}, case {}) has {} of its {} epochs",
                        m.name(),
                        f.trial,
                        f.experiment,
                        f.case,
                        epochs.len(),
                        f.epochs_run
                    ),
                });
            }
        }
    }

    Ok(series)
}

/// `timing.csv` (optional): per-epoch wall times by cell; fills in `finals`' missing wall times.
pub(crate) fn read_timing(
    dir: &Path,
    finals: &mut [FinalRow],
) -> Result<HashMap<CellKey, Vec<(u32, f64)>>, ReportError> {
    let path = dir.join("timing.csv");
    let mut epoch_wall: HashMap<(u32, u32, usize), Vec<(u32, f64)>> = HashMap::new();
    if path.exists() {
        let mut sums: HashMap<(u32, u32, usize), f64> = HashMap::new();
        for (line, r) in read_table::<TimingCsv>(
            &path,
            handprop_results::TimingRow::COLUMNS,
            "per-epoch wall times",
        )? {
            if !(r.wall_s.is_finite() && r.wall_s >= 0.0) {
                return Err(invalid(
                    &path,
                    line,
                    "wall_s",
                    r.wall_s.to_string(),
                    "expected a finite, non-negative number of seconds",
                ));
            }
            *sums.entry((r.trial, r.experiment, r.case)).or_default() += r.wall_s;
            epoch_wall
                .entry((r.trial, r.experiment, r.case))
                .or_default()
                .push((r.epoch, r.wall_s));
        }
        for v in epoch_wall.values_mut() {
            v.sort_by_key(|(e, _)| *e);
        }
        for f in finals.iter_mut().filter(|f| f.wall_s.is_nan()) {
            if let Some(s) = sums.get(&(f.trial, f.experiment, f.case)) {
                f.wall_s = *s;
            }
        }
    }

    Ok(epoch_wall)
}

/// `config.toml` (optional): its text, parsed table, or the parse error to show.
/// What [`read_config`] found: the text, the parsed table, the parse error.
type ConfigParts = (Option<String>, Option<toml::Table>, Option<String>);

pub(crate) fn read_config(dir: &Path) -> Result<ConfigParts, ReportError> {
    let path = dir.join("config.toml");
    let config_toml = if path.exists() {
        Some(std::fs::read_to_string(&path).map_err(|e| ReportError::io(&path, e))?)
    } else {
        None
    };
    let (config, config_error) = match config_toml.as_deref().map(str::parse::<toml::Table>) {
        None => (None, None),
        Some(Ok(t)) => (Some(t), None),
        Some(Err(e)) => (None, Some(format!("{}: {}", path.display(), e.message().trim_end()))),
    };

    Ok((config_toml, config, config_error))
}

/// `frequency.csv` (optional): win counts by (trial, metric, case).
pub(crate) fn read_frequency(dir: &Path) -> Result<Option<WinCounts>, ReportError> {
    let path = dir.join("frequency.csv");
    let frequency = if path.exists() {
        let mut map = HashMap::new();
        for (line, r) in read_table::<FrequencyCsv>(
            &path,
            &["trial", "criterion", "case", "wins"],
            "win counts",
        )? {
            let m = Metric::from_criterion(&r.criterion).ok_or_else(|| {
                invalid(
                    &path,
                    line,
                    "criterion",
                    r.criterion.clone(),
                    "expected lowest_cost, highest_train_acc or highest_test_acc",
                )
            })?;
            map.insert((r.trial, m, r.case), r.wins);
        }
        Some(map)
    } else {
        None
    };

    Ok(frequency)
}
