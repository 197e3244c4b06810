//! Cells: the run's unit of work (trial, experiment, case), its id and file name, and its result
//! file of one row per epoch — written atomically, read back only after validation.

use std::fmt;
use std::fs;
use std::path::PathBuf;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::atomic::write_atomic;
use crate::error::ResultsError;
use crate::layout::ResultsDir;

/// One (trial, experiment, case) training run. Trials count from 1 as in the study; experiments and
/// cases from 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct CellId {
    /// Trial, from 1.
    pub trial: usize,
    /// Experiment within the trial, from 0.
    pub experiment: usize,
    /// Case, from 0.
    pub case: usize,
}

impl CellId {
    /// The stable id, also the stem of the cell's file: `t1-e03-c05`.
    pub fn id(&self) -> String {
        self.to_string()
    }

    /// The cell's file name: `t1-e03-c05.csv`.
    pub fn file_name(&self) -> String {
        format!("{self}.csv")
    }

    /// Parses a name written by [`CellId::file_name`]; `None` for anything else (temp files, the
    /// `damaged/` directory).
    pub fn parse_file_name(name: &str) -> Option<CellId> {
        let cell: CellId = name.strip_suffix(".csv")?.parse().ok()?;
        (cell.file_name() == name).then_some(cell)
    }
}

impl fmt::Display for CellId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "t{}-e{:02}-c{:02}", self.trial, self.experiment, self.case)
    }
}

impl FromStr for CellId {
    type Err = String;

    /// Parses an id written by [`CellId::id`].
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || format!("{s:?} is not a cell id like t1-e03-c05");
        let mut parts = s.split('-');
        let mut field = |prefix: char| -> Result<usize, String> {
            parts
                .next()
                .and_then(|p| p.strip_prefix(prefix))
                .filter(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|n| n.parse().ok())
                .ok_or_else(err)
        };
        let cell = CellId { trial: field('t')?, experiment: field('e')?, case: field('c')? };
        if parts.next().is_some() || cell.trial == 0 {
            return Err(err());
        }
        Ok(cell)
    }
}

/// One epoch of one cell: a row of a cell file (`epoch,cost,train_acc,test_acc,wall_s,diverged`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct EpochRow {
    /// Epoch t, from 0.
    pub epoch: usize,
    /// Sum of the epoch's batch costs / number of training images.
    pub cost: f64,
    /// Argmax accuracy on the whole training split after the epoch.
    pub train_acc: f64,
    /// Argmax accuracy on the test split after the epoch.
    pub test_acc: f64,
    /// Wall seconds of the epoch, evaluation included.
    pub wall_s: f64,
    /// 1 when the cost or the weights became NaN or infinite in this epoch (the cell stops).
    pub diverged: u8,
}

/// The header of a cell file.
const CELL_HEADER: &str = "epoch,cost,train_acc,test_acc,wall_s,diverged";

/// Why a cell file cannot be trusted.
#[derive(Debug, Clone, PartialEq)]
pub struct CellProblem(pub String);

impl fmt::Display for CellProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Checks a cell's rows against a run of `epochs` epochs: epochs `0..n` in order with `n = epochs`,
/// or fewer only when the last row (and only it) diverged; accuracies in [0, 1] and finite,
/// non-negative cost and times unless the row diverged.
///
/// Runs that evaluate every `k`-th epoch (the runner's `eval_every = k`) record both accuracies
/// as NaN on the others. Such rows are valid when they follow the pattern, read from the rows
/// themselves: epoch 0 and the final epoch of a complete run are evaluated, and `k` is the first
/// other evaluated epoch; then epoch `t` is evaluated exactly when `t mod k = 0` (or it is the
/// final one). With every epoch evaluated (`k = 1`, the study) nothing changes; a single NaN
/// accuracy, or NaNs off the pattern, is still an error.
pub fn validate_rows(rows: &[EpochRow], epochs: usize) -> Result<(), CellProblem> {
    let bad = |m: String| Err(CellProblem(m));
    if rows.is_empty() {
        return bad("no epochs".into());
    }
    let skipped = |r: &EpochRow| r.diverged == 0 && r.train_acc.is_nan() && r.test_acc.is_nan();
    let diverged = rows.last().is_some_and(|r| r.diverged == 1);
    let complete_final = |i: usize| i + 1 == rows.len() && !diverged;
    // The evaluation period: the first evaluated epoch after 0 other than the final one.
    let period = rows
        .iter()
        .enumerate()
        .skip(1)
        .find(|(i, r)| r.diverged == 0 && !skipped(r) && !complete_final(*i))
        .map(|(i, _)| i);
    for (i, r) in rows.iter().enumerate() {
        if r.epoch != i {
            return bad(format!("row {} is epoch {}, expected {i}", i + 1, r.epoch));
        }
        if r.diverged > 1 {
            return bad(format!("epoch {i}: diverged = {}, expected 0 or 1", r.diverged));
        }
        let last = i + 1 == rows.len();
        if r.diverged == 1 && !last {
            return bad(format!("epoch {i} diverged but later epochs follow"));
        }
        if !(r.wall_s.is_finite() && r.wall_s >= 0.0) {
            return bad(format!("epoch {i}: wall_s = {} is not a time", r.wall_s));
        }
        if r.diverged == 0 {
            if !(r.cost.is_finite() && r.cost >= 0.0) {
                return bad(format!("epoch {i}: cost = {} but the epoch did not diverge", r.cost));
            }
            let expected = complete_final(i) || period.map_or(i == 0, |k| i.is_multiple_of(k));
            if skipped(r) {
                if expected {
                    return bad(format!(
                        "epoch {i}: accuracies are NaN but the epoch is evaluated"
                    ));
                }
                continue;
            }
            if !expected {
                return bad(format!(
                    "epoch {i}: evaluated, but the other rows evaluate every {} epochs",
                    period.unwrap_or(0)
                ));
            }
            for (name, v) in [("train_acc", r.train_acc), ("test_acc", r.test_acc)] {
                if !(0.0..=1.0).contains(&v) {
                    return bad(format!("epoch {i}: {name} = {v} is not in [0, 1]"));
                }
            }
        }
    }
    if rows.len() > epochs || (rows.len() < epochs && !diverged) {
        return bad(format!("{} epochs, the config runs {epochs}", rows.len()));
    }
    Ok(())
}

impl ResultsDir {
    /// Whether a cell's file exists (validity is checked when it is read).
    pub fn has_cell(&self, cell: &CellId) -> bool {
        self.cell_path(cell).is_file()
    }

    /// Writes a completed cell atomically, after checking its rows (a bug never writes a cell that
    /// a later read would refuse).
    pub fn write_cell(
        &self,
        cell: &CellId,
        rows: &[EpochRow],
        epochs: usize,
    ) -> Result<(), ResultsError> {
        let path = self.cell_path(cell);
        validate_rows(rows, epochs).map_err(|p| ResultsError::malformed(&path, p.0))?;
        let mut w = csv::Writer::from_writer(Vec::new());
        for row in rows {
            w.serialize(row).map_err(|e| ResultsError::malformed(&path, e.to_string()))?;
        }
        let bytes = w.into_inner().map_err(|e| ResultsError::malformed(&path, e.to_string()))?;
        write_atomic(&path, &bytes)
    }

    /// Reads a cell of a run of `epochs` epochs. `Ok(None)`: no file yet. `Err(Malformed)`: the file
    /// is damaged (cut, extended, out of range); see [`ResultsDir::quarantine`].
    pub fn read_cell(
        &self,
        cell: &CellId,
        epochs: usize,
    ) -> Result<Option<Vec<EpochRow>>, ResultsError> {
        let path = self.cell_path(cell);
        let bytes = match fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(ResultsError::Io { path, error: e }),
        };
        parse_cell(&bytes, epochs).map(Some).map_err(|p| ResultsError::malformed(path, p.0))
    }

    /// Moves a damaged cell file into `damaged/` (kept for inspection, under a unique name), so the
    /// next run recomputes the cell. Returns where it went.
    pub fn quarantine(&self, cell: &CellId) -> Result<PathBuf, ResultsError> {
        let from = self.cell_path(cell);
        let dir = self.damaged_dir();
        fs::create_dir_all(&dir).map_err(ResultsError::io(&dir))?;
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let to = dir.join(format!("{}.{stamp}.csv", cell.id()));
        fs::rename(&from, &to).map_err(ResultsError::io(&from))?;
        Ok(to)
    }
}

fn parse_cell(bytes: &[u8], epochs: usize) -> Result<Vec<EpochRow>, CellProblem> {
    // Every file this crate writes ends in a newline: without one, the last row was cut, perhaps
    // mid-number, which no parser could tell from a shorter number.
    if !bytes.ends_with(b"\n") {
        return Err(CellProblem("cut off: the last row has no line end".into()));
    }
    let mut r = csv::ReaderBuilder::new().from_reader(bytes);
    let header = r.headers().map_err(|e| CellProblem(e.to_string()))?;
    let header: Vec<&str> = header.iter().collect();
    if header.join(",") != CELL_HEADER {
        return Err(CellProblem(format!(
            "header {:?}, expected {CELL_HEADER:?}",
            header.join(",")
        )));
    }
    let rows = r
        .deserialize()
        .collect::<Result<Vec<EpochRow>, _>>()
        .map_err(|e| CellProblem(e.to_string()))?;
    validate_rows(&rows, epochs)?;
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(epoch: usize) -> EpochRow {
        EpochRow { epoch, cost: 1.0, train_acc: 0.5, test_acc: 0.5, wall_s: 0.1, diverged: 0 }
    }

    #[test]
    fn ids_round_trip() {
        let c = CellId { trial: 3, experiment: 7, case: 16 };
        assert_eq!(c.id(), "t3-e07-c16");
        assert_eq!("t3-e07-c16".parse::<CellId>().unwrap(), c);
        assert_eq!(CellId::parse_file_name("t3-e07-c16.csv"), Some(c));
        for bad in ["t0-e00-c00", "t1-e00", "t1-e00-c00-x", "t1-e+1-c00", "t1-e1-c00"] {
            assert!(CellId::parse_file_name(&format!("{bad}.csv")).is_none(), "{bad}");
        }
        assert!(CellId::parse_file_name(".t1-e00-c00.csv.x.tmp").is_none());
    }

    #[test]
    fn rows_are_validated() {
        let ok: Vec<EpochRow> = (0..3).map(row).collect();
        assert!(validate_rows(&ok, 3).is_ok());
        assert!(validate_rows(&ok[..2], 3).unwrap_err().0.contains("2 epochs"));
        let mut extra = ok.clone();
        extra.push(row(3));
        assert!(validate_rows(&extra, 3).is_err());
        let mut acc = ok.clone();
        acc[1].train_acc = 1.5;
        assert!(validate_rows(&acc, 3).unwrap_err().0.contains("train_acc = 1.5"));
        let mut gap = ok.clone();
        gap[2].epoch = 5;
        assert!(validate_rows(&gap, 3).is_err());
        let mut div = ok[..2].to_vec();
        div[1] = EpochRow {
            cost: f64::NAN,
            train_acc: f64::NAN,
            test_acc: f64::NAN,
            diverged: 1,
            ..div[1]
        };
        assert!(validate_rows(&div, 3).is_ok(), "a diverged cell stops early");
        let mut nan = ok.clone();
        nan[0].cost = f64::NAN;
        assert!(validate_rows(&nan, 3).is_err());
    }

    #[test]
    fn rows_of_runs_that_evaluate_every_k_epochs_are_validated() {
        // eval_every = 4 over 11 epochs: 0, 4, 8 and the final 10 are evaluated.
        let skip = |mut r: EpochRow| {
            r.train_acc = f64::NAN;
            r.test_acc = f64::NAN;
            r
        };
        let every4: Vec<EpochRow> =
            (0..11).map(|i| if i % 4 == 0 || i == 10 { row(i) } else { skip(row(i)) }).collect();
        assert!(validate_rows(&every4, 11).is_ok());
        // Only epoch 0 and the final one (eval_every above the epochs).
        let ends: Vec<EpochRow> =
            (0..5).map(|i| if i == 0 || i == 4 { row(i) } else { skip(row(i)) }).collect();
        assert!(validate_rows(&ends, 5).is_ok());
        // The final epoch of a complete run must be evaluated, and so must epoch 0.
        let mut no_final = every4.clone();
        no_final[10] = skip(row(10));
        assert!(validate_rows(&no_final, 11).unwrap_err().0.contains("epoch 10"));
        let mut no_first = every4.clone();
        no_first[0] = skip(row(0));
        assert!(validate_rows(&no_first, 11).is_err());
        // A hole in the pattern, an extra evaluation, or one NaN accuracy alone are damage.
        let mut hole = every4.clone();
        hole[8] = skip(row(8));
        assert!(validate_rows(&hole, 11).unwrap_err().0.contains("epoch 8"));
        let mut extra = every4.clone();
        extra[6] = row(6);
        assert!(validate_rows(&extra, 11).unwrap_err().0.contains("epoch 6"));
        let mut half = every4.clone();
        half[4].test_acc = f64::NAN;
        assert!(validate_rows(&half, 11).unwrap_err().0.contains("test_acc"));
        // Where the rows show every epoch evaluated (the study), a NaN pair is still an error.
        let mut study: Vec<EpochRow> = (0..6).map(row).collect();
        study[3] = skip(row(3));
        assert!(validate_rows(&study, 6).unwrap_err().0.contains("epoch 3"));
    }

    #[test]
    fn damaged_files_are_refused_and_quarantined() {
        let dir = tempfile::tempdir().unwrap();
        let out = ResultsDir::new(dir.path(), "abc");
        let cell = CellId { trial: 1, experiment: 0, case: 2 };
        let rows: Vec<EpochRow> = (0..3).map(row).collect();
        out.write_cell(&cell, &rows, 3).unwrap();
        assert_eq!(out.read_cell(&cell, 3).unwrap().unwrap(), rows);
        let good = fs::read(out.cell_path(&cell)).unwrap();
        // Cut mid-row, cut at a row boundary, one row appended.
        let cut_mid = &good[..good.len() - 4];
        let cut_row = &good[..good.iter().rposition(|&b| b == b'\n').map_or(0, |i| i)];
        let cut_row_nl = {
            let s = String::from_utf8(good.clone()).unwrap();
            let mut lines: Vec<&str> = s.lines().collect();
            lines.pop();
            format!("{}\n", lines.join("\n"))
        };
        let appended = [good.clone(), b"3,1,0.5,0.5,0.1,0\n".to_vec()].concat();
        for damaged in [cut_mid.to_vec(), cut_row.to_vec(), cut_row_nl.into_bytes(), appended] {
            fs::write(out.cell_path(&cell), &damaged).unwrap();
            let err = out.read_cell(&cell, 3).unwrap_err();
            assert!(err.to_string().contains("t1-e00-c02.csv"), "{err}");
        }
        let moved = out.quarantine(&cell).unwrap();
        assert!(moved.starts_with(out.damaged_dir()));
        assert!(!out.has_cell(&cell));
        assert_eq!(out.read_cell(&cell, 3).unwrap(), None);
    }
}
