//! The tuning sweep's outcome (`tuning.csv` in the sweep's results directory): one row per base
//! trial, case and candidate learning rate, with the validation score the selection used.
//!
//! The sweep itself is an ordinary run (its own results directory `<name>-tuning/` with the usual
//! tables, the test columns holding validation accuracies); this table adds the per-candidate view
//! and the choice. The rule that chooses lives in the runner (`handprop_runner::tune`).

use serde::{Deserialize, Serialize};

use crate::num::ser_f64;
use crate::tables::Table;

/// The name of the resolved config the sweep writes next to `tuning.csv`: the base config with
/// every case's chosen η per trial, loadable by `handprop run`.
pub const TUNED_CONFIG_FILE: &str = "tuned.toml";

/// `tuning.csv`: one row per (base trial, case, candidate).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TuningRow {
    /// The base config's trial, from 1.
    pub trial: usize,
    /// Case, from 0 (the base config's numbering).
    pub case: usize,
    /// The case's label.
    pub label: String,
    /// Candidate, from 0, in increasing η.
    pub candidate: usize,
    /// The candidate's η as a multiple of the case's default η for the trial.
    #[serde(serialize_with = "ser_f64")]
    pub factor: f64,
    /// The candidate's η (the value the study's rules see as η).
    #[serde(serialize_with = "ser_f64")]
    pub learning_rate: f64,
    /// Tuning experiments run for the candidate.
    pub experiments: usize,
    /// Of those, how many diverged (a candidate with any is never selected).
    pub diverged: usize,
    /// Mean final validation accuracy over the experiments (NaN when one diverged).
    #[serde(serialize_with = "ser_f64")]
    pub val_acc: f64,
    /// Mean final training cost over the experiments (NaN when one diverged).
    #[serde(serialize_with = "ser_f64")]
    pub cost: f64,
    /// The selection metric's value (`val_acc` or `cost`, as the config's `[tuning] metric`).
    #[serde(serialize_with = "ser_f64")]
    pub score: f64,
    /// 1 for the chosen candidate of the (trial, case), 0 otherwise. A (trial, case) has no
    /// selected row when every candidate diverged or the case's rule does not use η; it then
    /// keeps its default η.
    pub selected: u8,
}

impl Table for TuningRow {
    const FILE: &'static str = "tuning.csv";
    const COLUMNS: &'static [&'static str] = &[
        "trial",
        "case",
        "label",
        "candidate",
        "factor",
        "learning_rate",
        "experiments",
        "diverged",
        "val_acc",
        "cost",
        "score",
        "selected",
    ];
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tables::{read_table, write_table};

    #[test]
    fn tuning_rows_round_trip_with_nan_scores() {
        let dir = tempfile::tempdir().unwrap();
        let rows = vec![
            TuningRow {
                trial: 1,
                case: 0,
                label: "Adam, β".into(),
                candidate: 0,
                factor: 0.1,
                learning_rate: 0.0001,
                experiments: 1,
                diverged: 0,
                val_acc: 0.5,
                cost: 1.25,
                score: 0.5,
                selected: 1,
            },
            TuningRow {
                trial: 1,
                case: 0,
                label: "Adam, β".into(),
                candidate: 1,
                factor: 10.0,
                learning_rate: 0.01,
                experiments: 1,
                diverged: 1,
                val_acc: f64::NAN,
                cost: f64::NAN,
                score: f64::NAN,
                selected: 0,
            },
        ];
        let path = dir.path().join(TuningRow::FILE);
        std::fs::write(&path, write_table(&rows)).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with(&TuningRow::COLUMNS.join(",")), "{text}");
        let back: Vec<TuningRow> = read_table(&path).unwrap();
        assert_eq!(back[0], rows[0]);
        assert!(back[1].score.is_nan() && back[1].diverged == 1);
    }
}
