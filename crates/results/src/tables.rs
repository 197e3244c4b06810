//! The merged tables: one serde struct per row type, with its file name and columns. Every float
//! is written in its shortest round-trip form without `-0`; readers check the header.

use std::collections::BTreeSet;
use std::path::Path;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::error::ResultsError;
use crate::num::ser_f64;

/// A merged table's row type: its file and its columns, in order.
pub trait Table: Serialize + DeserializeOwned {
    /// The file name in the results directory.
    const FILE: &'static str;
    /// The columns, in order (checked against the struct by this crate's tests and against
    /// `docs/results.md` by the runner's).
    const COLUMNS: &'static [&'static str];
}

macro_rules! table {
    ($ty:ident, $file:literal, [$($col:literal),* $(,)?]) => {
        impl Table for $ty {
            const FILE: &'static str = $file;
            const COLUMNS: &'static [&'static str] = &[$($col),*];
        }
    };
}

/// `trials.csv`: one row per trial.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrialRow {
    /// Trial, from 1.
    pub trial: usize,
    /// η shared by the trial's cases.
    #[serde(serialize_with = "ser_f64")]
    pub learning_rate: f64,
    /// Hidden width H.
    pub hidden: usize,
    /// Experiments of the trial.
    pub experiments: usize,
    /// Epochs per cell.
    pub epochs: usize,
    /// Images per batch.
    pub batch: usize,
}
table!(
    TrialRow,
    "trials.csv",
    ["trial", "learning_rate", "hidden", "experiments", "epochs", "batch"]
);

/// `metrics.csv`: long format, one row per cell, epoch and metric (`cost`, `train_acc`, `test_acc`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricRow {
    /// Trial, from 1.
    pub trial: usize,
    /// Experiment, from 0.
    pub experiment: usize,
    /// Case, from 0.
    pub case: usize,
    /// Epoch, from 0.
    pub epoch: usize,
    /// `cost`, `train_acc` or `test_acc`.
    pub metric: String,
    /// The value.
    #[serde(serialize_with = "ser_f64")]
    pub value: f64,
}
table!(MetricRow, "metrics.csv", ["trial", "experiment", "case", "epoch", "metric", "value"]);

/// `timing.csv`: wall seconds of every cell's epochs (the only table that differs between runs).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimingRow {
    /// Trial, from 1.
    pub trial: usize,
    /// Experiment, from 0.
    pub experiment: usize,
    /// Case, from 0.
    pub case: usize,
    /// Epoch, from 0.
    pub epoch: usize,
    /// Wall seconds of the epoch, evaluation included.
    #[serde(serialize_with = "ser_f64")]
    pub wall_s: f64,
}
table!(TimingRow, "timing.csv", ["trial", "experiment", "case", "epoch", "wall_s"]);

/// `final.csv`: the last epoch of every cell.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FinalRow {
    /// Trial, from 1.
    pub trial: usize,
    /// Experiment, from 0.
    pub experiment: usize,
    /// Case, from 0.
    pub case: usize,
    /// The case's label.
    pub label: String,
    /// Epochs run (fewer than configured only when the cell diverged).
    pub epochs_run: usize,
    /// 1 when the cell diverged.
    pub diverged: u8,
    /// Final cost.
    #[serde(serialize_with = "ser_f64")]
    pub cost: f64,
    /// Final train accuracy.
    #[serde(serialize_with = "ser_f64")]
    pub train_acc: f64,
    /// Final test accuracy.
    #[serde(serialize_with = "ser_f64")]
    pub test_acc: f64,
}
table!(
    FinalRow,
    "final.csv",
    [
        "trial",
        "experiment",
        "case",
        "label",
        "epochs_run",
        "diverged",
        "cost",
        "train_acc",
        "test_acc"
    ]
);

/// `winners.csv`: the winning case of every experiment under every criterion.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WinnerRow {
    /// Trial, from 1.
    pub trial: usize,
    /// Experiment, from 0.
    pub experiment: usize,
    /// `lowest_cost`, `highest_train_acc` or `highest_test_acc`.
    pub criterion: String,
    /// The winning case.
    pub case: usize,
    /// Its label.
    pub label: String,
    /// Its final value of the criterion's metric.
    #[serde(serialize_with = "ser_f64")]
    pub value: f64,
}
table!(WinnerRow, "winners.csv", ["trial", "experiment", "criterion", "case", "label", "value"]);

/// `frequency.csv`: per trial, criterion and case, the experiments won.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FrequencyRow {
    /// Trial, from 1.
    pub trial: usize,
    /// The criterion's name.
    pub criterion: String,
    /// Case.
    pub case: usize,
    /// Its label.
    pub label: String,
    /// Experiments won.
    pub wins: usize,
    /// Experiments in the trial.
    pub experiments: usize,
    /// wins / experiments.
    #[serde(serialize_with = "ser_f64")]
    pub share: f64,
}
table!(
    FrequencyRow,
    "frequency.csv",
    ["trial", "criterion", "case", "label", "wins", "experiments", "share"]
);

/// `cases.csv` as readers need it: the leading columns every case has. The file has more: one
/// column per routing, noise and rule parameter ([`CasesTable`]); readers by name ignore them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseRow {
    /// Case, from 0.
    pub case: usize,
    /// Label.
    pub label: String,
    /// `hand-made` (the study's manual gradient, C0–C6) or `tf1` (exact gradients, C7–C16).
    pub group: String,
    /// `manual` or `exact`.
    pub gradient: String,
    /// `#rrggbb`.
    pub colour: String,
    /// `standard`, `sparse`, `dense_add`, `dense_mul` or `hybrid`.
    pub routing: String,
    /// The update rule's name.
    pub rule: String,
}

/// The columns `cases.csv` always starts with, then `routing_*`, `noise`, `noise_*`, then
/// `eta_params`, for tuned configs `eta_trialN` (the case's own η in trial N), and one column per
/// rule hyperparameter (sorted), empty where a case has none.
pub const CASE_COLUMNS: [&str; 7] =
    ["case", "label", "group", "gradient", "colour", "routing", "rule"];

/// `cases.csv` for writing: one row per case, one column per parameter, no JSON in a cell.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CasesTable {
    rows: Vec<Vec<(String, String)>>,
}

impl CasesTable {
    /// The file name.
    pub const FILE: &'static str = "cases.csv";

    /// Adds a case: its leading columns, then its parameters as `(column, value)` pairs.
    pub fn push(&mut self, row: &CaseRow, params: Vec<(String, String)>) {
        let mut cells = vec![
            ("case".to_string(), row.case.to_string()),
            ("label".into(), row.label.clone()),
            ("group".into(), row.group.clone()),
            ("gradient".into(), row.gradient.clone()),
            ("colour".into(), row.colour.clone()),
            ("routing".into(), row.routing.clone()),
            ("rule".into(), row.rule.clone()),
        ];
        cells.extend(params);
        self.rows.push(cells);
    }

    /// The header: [`CASE_COLUMNS`], then the union of parameter columns in a stable order
    /// (`routing_*`, `noise*`, `eta_params`, `eta_trial1`, `eta_trial2`, …, then the rest
    /// alphabetically).
    pub fn columns(&self) -> Vec<String> {
        let extra: BTreeSet<&str> = self
            .rows
            .iter()
            .flat_map(|r| r.iter().map(|(k, _)| k.as_str()))
            .filter(|k| !CASE_COLUMNS.contains(k))
            .collect();
        let rank = |k: &str| {
            if k.starts_with("routing_") {
                0
            } else if k.starts_with("noise") {
                1
            } else if k == "eta_params" {
                2
            } else if k.starts_with("eta_trial") {
                3
            } else {
                4
            }
        };
        // `eta_trialN` (a tuned case's η per trial) in trial order, not text order.
        let trial_no = |k: &str| k.strip_prefix("eta_trial").and_then(|n| n.parse::<usize>().ok());
        let mut extra: Vec<&str> = extra.into_iter().collect();
        extra.sort_by_key(|k| (rank(k), trial_no(k), *k));
        CASE_COLUMNS.iter().copied().chain(extra).map(String::from).collect()
    }

    /// The CSV bytes.
    pub fn to_csv(&self) -> Vec<u8> {
        let columns = self.columns();
        let mut w = csv::Writer::from_writer(Vec::new());
        w.write_record(&columns).expect("writing to memory cannot fail");
        for row in &self.rows {
            let record = columns
                .iter()
                .map(|c| row.iter().find(|(k, _)| k == c).map(|(_, v)| v.as_str()).unwrap_or(""));
            w.write_record(record).expect("writing to memory cannot fail");
        }
        w.into_inner().expect("flushing to memory cannot fail")
    }
}

/// Serialises rows of a table (header included) into CSV bytes.
pub fn write_table<T: Table>(rows: &[T]) -> Vec<u8> {
    let mut w = csv::Writer::from_writer(Vec::new());
    if rows.is_empty() {
        w.write_record(T::COLUMNS).expect("writing to memory cannot fail");
    }
    for row in rows {
        w.serialize(row).expect("plain rows serialise to memory");
    }
    w.into_inner().expect("flushing to memory cannot fail")
}

/// Reads a table, requiring its columns (extra columns, from a newer format, are ignored).
pub fn read_table<T: Table>(path: &Path) -> Result<Vec<T>, ResultsError> {
    read_columns(path, T::COLUMNS)
}

/// Reads rows of type `T` from `path`, requiring the named columns.
pub fn read_columns<T: DeserializeOwned>(
    path: &Path,
    required: &[&str],
) -> Result<Vec<T>, ResultsError> {
    let bytes = std::fs::read(path).map_err(ResultsError::io(path))?;
    let mut r = csv::Reader::from_reader(bytes.as_slice());
    let header = r.headers().map_err(|e| ResultsError::malformed(path, e.to_string()))?.clone();
    let missing: Vec<&str> =
        required.iter().copied().filter(|c| !header.iter().any(|h| h == *c)).collect();
    if !missing.is_empty() {
        return Err(ResultsError::malformed(
            path,
            format!("missing columns: {}", missing.join(", ")),
        ));
    }
    r.deserialize()
        .enumerate()
        .map(|(i, row)| {
            row.map_err(|e| ResultsError::malformed(path, format!("row {}: {e}", i + 2)))
        })
        .collect()
}

impl CaseRow {
    /// Reads `cases.csv`.
    pub fn read(path: &Path) -> Result<Vec<CaseRow>, ResultsError> {
        read_columns(path, &CASE_COLUMNS)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header_of<T: Table>(row: T) -> String {
        let bytes = write_table(&[row]);
        String::from_utf8(bytes).unwrap().lines().next().unwrap().to_string()
    }

    #[test]
    fn every_struct_writes_its_declared_columns() {
        assert_eq!(
            header_of(TrialRow {
                trial: 1,
                learning_rate: 0.001,
                hidden: 8,
                experiments: 1,
                epochs: 1,
                batch: 1
            }),
            TrialRow::COLUMNS.join(",")
        );
        let m = MetricRow {
            trial: 1,
            experiment: 0,
            case: 0,
            epoch: 0,
            metric: "cost".into(),
            value: -0.0,
        };
        assert_eq!(header_of(m.clone()), MetricRow::COLUMNS.join(","));
        let t = TimingRow { trial: 1, experiment: 0, case: 0, epoch: 0, wall_s: 0.5 };
        assert_eq!(header_of(t), TimingRow::COLUMNS.join(","));
        let f = FinalRow {
            trial: 1,
            experiment: 0,
            case: 0,
            label: "a, b".into(),
            epochs_run: 1,
            diverged: 0,
            cost: 1e-7,
            train_acc: 0.5,
            test_acc: 0.5,
        };
        assert_eq!(header_of(f.clone()), FinalRow::COLUMNS.join(","));
        let w = WinnerRow {
            trial: 1,
            experiment: 0,
            criterion: "lowest_cost".into(),
            case: 0,
            label: "x".into(),
            value: 1.0,
        };
        assert_eq!(header_of(w), WinnerRow::COLUMNS.join(","));
        let q = FrequencyRow {
            trial: 1,
            criterion: "lowest_cost".into(),
            case: 0,
            label: "x".into(),
            wins: 1,
            experiments: 2,
            share: 0.5,
        };
        assert_eq!(header_of(q), FrequencyRow::COLUMNS.join(","));
        // Floats in Rust's shortest form, no `-0`, labels quoted when needed.
        let text = String::from_utf8(write_table(&[f])).unwrap();
        assert!(text.ends_with("1,0,0,\"a, b\",1,0,0.0000001,0.5,0.5\n"), "{text}");
        assert!(String::from_utf8(write_table(&[m])).unwrap().ends_with(",cost,0\n"));
    }

    #[test]
    fn tables_round_trip_and_readers_name_missing_columns() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("final.csv");
        let rows = vec![FinalRow {
            trial: 2,
            experiment: 1,
            case: 3,
            label: "L".into(),
            epochs_run: 2,
            diverged: 1,
            cost: f64::NAN,
            train_acc: f64::NAN,
            test_acc: f64::INFINITY,
        }];
        std::fs::write(&path, write_table(&rows)).unwrap();
        let back: Vec<FinalRow> = read_table(&path).unwrap();
        assert_eq!(back[0].trial, 2);
        assert!(back[0].cost.is_nan() && back[0].test_acc.is_infinite());
        std::fs::write(&path, "trial,case\n1,2\n").unwrap();
        let err = read_table::<FinalRow>(&path).unwrap_err().to_string();
        assert!(err.contains("final.csv") && err.contains("missing columns: experiment"), "{err}");
    }

    #[test]
    fn cases_table_is_flat_with_a_stable_header() {
        let mut t = CasesTable::default();
        let row = |case: usize, rule: &str| CaseRow {
            case,
            label: format!("C{case}"),
            group: "tf1".into(),
            gradient: "exact".into(),
            colour: "#000000".into(),
            routing: "standard".into(),
            rule: rule.into(),
        };
        t.push(
            &row(0, "adam"),
            vec![("beta1".into(), "0.9".into()), ("routing_p".into(), "1000".into())],
        );
        t.push(
            &row(1, "momentum"),
            vec![("momentum".into(), "0.9".into()), ("noise".into(), "scalar".into())],
        );
        let text = String::from_utf8(t.to_csv()).unwrap();
        let mut lines = text.lines();
        assert_eq!(
            lines.next().unwrap(),
            "case,label,group,gradient,colour,routing,rule,routing_p,noise,beta1,momentum"
        );
        assert_eq!(lines.next().unwrap(), "0,C0,tf1,exact,#000000,standard,adam,1000,,0.9,");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cases.csv");
        std::fs::write(&path, &text).unwrap();
        assert_eq!(CaseRow::read(&path).unwrap()[1], row(1, "momentum"));
    }
}
