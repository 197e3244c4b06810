//! The run's unit of work: a cell (trial, experiment, case), its stable id, its shard and its
//! random streams.

use std::fmt;
use std::str::FromStr;

use crate::config::Config;

/// One (trial, experiment, case) training run: the results format's cell id.
pub use handprop_results::CellId as Cell;

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
    /// The shift of a tuning sweep's quasirandom candidates (one per config).
    Tuning = 3,
}

/// The ChaCha8 stream id of `(trial, experiment, case, purpose)`:
/// `trial << 48 | experiment << 24 | case << 8 | purpose`. Together with the config's base seed
/// (the ChaCha key) it fixes every random number of a cell, independent of threads and order.
/// Initial weights use `case = 0` so that every case of an experiment starts from the same weights.
pub fn stream_id(trial: usize, experiment: usize, case: usize, purpose: Purpose) -> u64 {
    // Config validation keeps every field far inside its bits (see `config::limits`); this check
    // stays in release builds because overlapping fields would silently share random streams.
    assert!(
        trial < 1 << 16 && experiment < 1 << 24 && case < 1 << 16,
        "stream id fields out of range: trial {trial}, experiment {experiment}, case {case}"
    );
    ((trial as u64) << 48) | ((experiment as u64) << 24) | ((case as u64) << 8) | purpose as u64
}

#[cfg(test)]
mod tests {
    use super::*;

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
