//! The run's unit of work: a cell (trial, experiment, case), its stable id, its shard and its
//! random streams.

use std::fmt;
use std::str::FromStr;

use crate::config::Config;

/// One (trial, experiment, case) training run. Trials count from 1 as in the study; experiments
/// and cases from 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Cell {
    /// Trial, from 1.
    pub trial: usize,
    /// Experiment within the trial, from 0.
    pub experiment: usize,
    /// Case, from 0.
    pub case: usize,
}

impl Cell {
    /// The stable id, also the stem of the cell's result file: `t1-e03-c05`.
    pub fn id(&self) -> String {
        self.to_string()
    }
}

impl fmt::Display for Cell {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "t{}-e{:02}-c{:02}", self.trial, self.experiment, self.case)
    }
}

impl FromStr for Cell {
    type Err = String;

    /// Parses an id written by [`Cell::id`].
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || format!("{s:?} is not a cell id like t1-e03-c05");
        let mut parts = s.split('-');
        let mut field = |prefix: char| -> Result<usize, String> {
            parts
                .next()
                .and_then(|p| p.strip_prefix(prefix))
                .and_then(|n| n.parse().ok())
                .ok_or_else(err)
        };
        let cell = Cell { trial: field('t')?, experiment: field('e')?, case: field('c')? };
        if parts.next().is_some() || cell.trial == 0 {
            return Err(err());
        }
        Ok(cell)
    }
}

/// Every cell of a run in the stable order (trial, experiment, case).
pub fn all_cells(config: &Config) -> Vec<Cell> {
    let mut cells = Vec::with_capacity(config.cell_count());
    for (t, trial) in config.trials.iter().enumerate() {
        for experiment in 0..trial.experiments {
            for case in 0..config.cases.len() {
                cells.push(Cell { trial: t + 1, experiment, case });
            }
        }
    }
    cells
}

/// A deterministic subset of the cells: shard `index` of `count` holds the cells whose position in
/// the stable order is `index` modulo `count`. Round-robin (rather than contiguous blocks) spreads
/// the expensive H = 1024 trials evenly over the shards.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// K, from 0.
    pub index: usize,
    /// N ≥ 1.
    pub count: usize,
}

impl Shard {
    /// The whole run as one shard.
    pub const ALL: Shard = Shard { index: 0, count: 1 };

    /// Whether the cell at `position` in the stable order belongs to this shard.
    pub fn contains(&self, position: usize) -> bool {
        position % self.count == self.index
    }
}

impl FromStr for Shard {
    type Err = String;

    /// Parses `K/N` with 0 ≤ K < N.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (k, n) = s.split_once('/').ok_or_else(|| format!("shard {s:?} is not K/N"))?;
        let index: usize =
            k.trim().parse().map_err(|_| format!("shard {s:?}: K is not a number"))?;
        let count: usize =
            n.trim().parse().map_err(|_| format!("shard {s:?}: N is not a number"))?;
        if count == 0 || index >= count {
            return Err(format!("shard {s:?}: need 0 ≤ K < N"));
        }
        Ok(Shard { index, count })
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// What a random stream is for; part of its stream id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u64)]
pub enum Purpose {
    /// The initial weights of an experiment (shared by all its cases).
    Init = 1,
    /// A case's gradient-noise draws.
    Noise = 2,
}

/// The ChaCha8 stream id of `(trial, experiment, case, purpose)`:
/// `trial << 48 | experiment << 24 | case << 8 | purpose`. Together with the config's base seed
/// (the ChaCha key) it fixes every random number of a cell, independent of threads and order.
/// Initial weights use `case = 0` so that every case of an experiment starts from the same weights.
pub fn stream_id(trial: usize, experiment: usize, case: usize, purpose: Purpose) -> u64 {
    debug_assert!(trial < 1 << 16 && experiment < 1 << 24 && case < 1 << 16);
    ((trial as u64) << 48) | ((experiment as u64) << 24) | ((case as u64) << 8) | purpose as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip() {
        let c = Cell { trial: 3, experiment: 7, case: 16 };
        assert_eq!(c.id(), "t3-e07-c16");
        assert_eq!("t3-e07-c16".parse::<Cell>().unwrap(), c);
        assert!("t0-e00-c00".parse::<Cell>().is_err());
        assert!("t1-e00".parse::<Cell>().is_err());
        assert!("t1-e00-c00-x".parse::<Cell>().is_err());
    }

    #[test]
    fn shards_parse_and_partition() {
        assert_eq!("2/4".parse::<Shard>().unwrap(), Shard { index: 2, count: 4 });
        for bad in ["4/4", "1/0", "x/2", "3"] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
        let shards: Vec<Shard> = (0..3).map(|index| Shard { index, count: 3 }).collect();
        for pos in 0..20 {
            assert_eq!(shards.iter().filter(|s| s.contains(pos)).count(), 1);
        }
    }

    #[test]
    fn stream_ids_are_distinct() {
        let mut seen = std::collections::HashSet::new();
        for t in 1..5 {
            for e in 0..10 {
                for c in 0..17 {
                    for p in [Purpose::Init, Purpose::Noise] {
                        assert!(seen.insert(stream_id(t, e, c, p)));
                    }
                }
            }
        }
    }
}
