//! The study's winner rule, defined once for the runner (which writes `winners.csv` and
//! `frequency.csv`) and the report (which recomputes and cross-checks them).

use serde::{Deserialize, Serialize};

/// A criterion that picks an experiment's winner from its cells' final-epoch values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Criterion {
    /// Lowest final cost.
    LowestCost,
    /// Highest final train accuracy.
    HighestTrainAcc,
    /// Highest final test accuracy.
    HighestTestAcc,
}

/// The final-epoch values of one cell, as the winner rule sees them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FinalValues {
    /// The case.
    pub case: usize,
    /// Whether the cell diverged (it then never wins).
    pub diverged: bool,
    /// Final cost.
    pub cost: f64,
    /// Final train accuracy.
    pub train_acc: f64,
    /// Final test accuracy.
    pub test_acc: f64,
}

impl Criterion {
    /// All three, in the study's order.
    pub const ALL: [Criterion; 3] =
        [Criterion::LowestCost, Criterion::HighestTrainAcc, Criterion::HighestTestAcc];

    /// The name in the tables (`criterion` columns).
    pub fn name(self) -> &'static str {
        match self {
            Criterion::LowestCost => "lowest_cost",
            Criterion::HighestTrainAcc => "highest_train_acc",
            Criterion::HighestTestAcc => "highest_test_acc",
        }
    }

    /// The metric the criterion reads (the `metric` column of `metrics.csv`).
    pub fn metric(self) -> &'static str {
        match self {
            Criterion::LowestCost => "cost",
            Criterion::HighestTrainAcc => "train_acc",
            Criterion::HighestTestAcc => "test_acc",
        }
    }

    /// Parses [`Criterion::name`].
    pub fn from_name(name: &str) -> Option<Criterion> {
        Criterion::ALL.into_iter().find(|c| c.name() == name)
    }

    /// Whether larger values win.
    pub fn higher_is_better(self) -> bool {
        !matches!(self, Criterion::LowestCost)
    }

    /// The value this criterion reads from a cell.
    pub fn value(self, v: &FinalValues) -> f64 {
        match self {
            Criterion::LowestCost => v.cost,
            Criterion::HighestTrainAcc => v.train_acc,
            Criterion::HighestTestAcc => v.test_acc,
        }
    }

    /// Whether `a` beats `b` strictly.
    pub fn better(self, a: f64, b: f64) -> bool {
        if self.higher_is_better() {
            a > b
        } else {
            a < b
        }
    }

    /// The winner among `(case, value)` pairs given in case order: the best value; ties go to the
    /// first (lowest) case; `None` values (a diverged or missing cell) and non-finite values never
    /// win; `None` when nothing can win.
    pub fn pick(
        self,
        values: impl IntoIterator<Item = (usize, Option<f64>)>,
    ) -> Option<(usize, f64)> {
        let mut best: Option<(usize, f64)> = None;
        for (case, v) in values {
            let Some(v) = v.filter(|v| v.is_finite()) else { continue };
            match best {
                Some((_, b)) if !self.better(v, b) => {}
                _ => best = Some((case, v)),
            }
        }
        best
    }
}

/// The winning case of one experiment under `criterion`, with its value: see [`Criterion::pick`];
/// cells must be given in case order, and diverged cells never win.
pub fn winner(cells: &[FinalValues], criterion: Criterion) -> Option<(usize, f64)> {
    criterion.pick(cells.iter().map(|c| (c.case, (!c.diverged).then(|| criterion.value(c)))))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cell(case: usize, cost: f64, train: f64, test: f64, diverged: bool) -> FinalValues {
        FinalValues { case, diverged, cost, train_acc: train, test_acc: test }
    }

    #[test]
    fn ties_go_to_the_lowest_case() {
        let cells = [
            cell(0, 0.5, 0.8, 0.7, false),
            cell(1, 0.4, 0.9, 0.7, false),
            cell(2, 0.4, 0.9, 0.9, false),
        ];
        assert_eq!(winner(&cells, Criterion::LowestCost), Some((1, 0.4)));
        assert_eq!(winner(&cells, Criterion::HighestTrainAcc), Some((1, 0.9)));
        assert_eq!(winner(&cells, Criterion::HighestTestAcc), Some((2, 0.9)));
    }

    #[test]
    fn diverged_and_nan_cells_never_win() {
        let cells = [
            cell(0, f64::NAN, f64::NAN, f64::NAN, true),
            cell(1, 0.0, 1.0, 1.0, true),
            cell(2, 0.6, f64::NAN, 0.5, false),
            cell(3, 0.7, 0.5, 0.4, false),
        ];
        assert_eq!(winner(&cells, Criterion::LowestCost), Some((2, 0.6)));
        assert_eq!(winner(&cells, Criterion::HighestTrainAcc), Some((3, 0.5)));
        assert_eq!(winner(&cells, Criterion::HighestTestAcc), Some((2, 0.5)));
        assert_eq!(winner(&cells[..2], Criterion::LowestCost), None);
    }

    #[test]
    fn names_round_trip() {
        for c in Criterion::ALL {
            assert_eq!(Criterion::from_name(c.name()), Some(c));
        }
    }
}
