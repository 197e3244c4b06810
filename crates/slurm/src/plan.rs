//! What a run costs: its cells in the runner's stable order, the FLOP of an epoch, and the
//! estimate of a sharding from one measured figure.

use handprop_results::CellId;
use serde::{Deserialize, Serialize};

/// The cells of a run as far as scheduling is concerned: trials (with H and experiments), the
/// number of cases and epochs, and the shape of an epoch. Cells are enumerated exactly as the
/// runner does. The caller builds it from its config and its dataset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// Epochs per cell (an upper bound: a diverged cell stops early).
    pub epochs: usize,
    /// Hidden layers of width H.
    pub hidden_layers: usize,
    /// The trials, numbered from 1 in this order.
    pub trials: Vec<TrialPlan>,
    /// Cases per experiment.
    pub cases: usize,
    /// Training images per epoch.
    pub train_images: usize,
    /// Test images evaluated per epoch.
    pub test_images: usize,
    /// Input width (pixels per image).
    pub input: usize,
    /// Output width (classes).
    pub classes: usize,
}

/// One trial of a [`Plan`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrialPlan {
    /// Hidden width H.
    pub hidden: usize,
    /// Experiments.
    pub experiments: usize,
}

/// The measured speed every estimate scales from: core-seconds of one epoch of one reference cell
/// on one core, and that epoch's FLOP.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Calibration {
    /// Measured core-seconds of one epoch of the reference cell.
    pub seconds_per_epoch: f64,
    /// Hidden width H of the reference cell (named in the script's header).
    pub hidden: usize,
    /// FLOP of the reference epoch, [`Plan::flop_per_epoch`] of the reference.
    pub flop_per_epoch: f64,
}

impl Calibration {
    /// The calibration of `seconds_per_epoch` measured for one epoch of a cell of width `hidden`
    /// in the shape of `reference` (its layers, images and widths; its trials are not used).
    pub fn new(seconds_per_epoch: f64, reference: &Plan, hidden: usize) -> Calibration {
        Calibration { seconds_per_epoch, hidden, flop_per_epoch: reference.flop_per_epoch(hidden) }
    }
}

impl Plan {
    /// Every cell in the stable order (trial, experiment, case), as the runner enumerates them.
    pub fn cells(&self) -> Vec<CellId> {
        let mut cells = Vec::new();
        for (t, trial) in self.trials.iter().enumerate() {
            for experiment in 0..trial.experiments {
                for case in 0..self.cases {
                    cells.push(CellId { trial: t + 1, experiment, case });
                }
            }
        }
        cells
    }

    /// The cells of shard `k` of `n`: position i belongs to shard i mod n.
    pub fn shard_cells(&self, k: usize, n: usize) -> Vec<CellId> {
        self.cells().into_iter().enumerate().filter(|(i, _)| i % n == k).map(|(_, c)| c).collect()
    }

    /// Weight count `w(H) = I·H + (L−1)·H² + C·H` of a network with input width I,
    /// `hidden_layers` = L layers of width H and C classes (no biases).
    pub fn weights(&self, hidden: usize) -> f64 {
        let h = hidden as f64;
        let inner = self.hidden_layers.saturating_sub(1) as f64;
        self.input as f64 * h + inner * h * h + self.classes as f64 * h
    }

    /// Passes over the weights per epoch, in image units: `6·n_train` for training (forward
    /// 2·w, backward 4·w FLOP per image) plus `2·(n_train + n_test)` for evaluating both splits,
    /// so `8·n_train + 2·n_test`.
    pub fn image_passes(&self) -> f64 {
        8.0 * self.train_images as f64 + 2.0 * self.test_images as f64
    }

    /// FLOP of one epoch of a cell of width `hidden`: `image_passes · w(H)` (the update's few
    /// operations per weight and batch are negligible). Every FLOP of an epoch is a matrix
    /// product over the weights, so time scales with this figure.
    pub fn flop_per_epoch(&self, hidden: usize) -> f64 {
        self.image_passes() * self.weights(hidden)
    }

    /// Core-seconds of one epoch of a cell of width `hidden`:
    /// `s(H) = s_ref · flop(H) / flop_ref`.
    pub fn seconds_per_epoch(&self, hidden: usize, calibration: &Calibration) -> f64 {
        calibration.seconds_per_epoch * self.flop_per_epoch(hidden) / calibration.flop_per_epoch
    }
}

/// The estimated cost of a sharding of a [`Plan`].
#[derive(Debug, Clone, PartialEq)]
pub struct Estimate {
    /// Cells of the run.
    pub cells: usize,
    /// Shards.
    pub shards: usize,
    /// Fewest cells in a shard.
    pub min_cells_per_shard: usize,
    /// Most cells in a shard.
    pub max_cells_per_shard: usize,
    /// Core-hours of the whole run (upper bound: diverged cells stop early).
    pub core_hours: f64,
    /// Wall seconds of the longest shard at the given CPUs per task.
    pub max_shard_wall_seconds: f64,
}

/// Estimates the cost of `plan` in `shards` shards at `cpus` CPUs per task.
///
/// A shard's wall time is its cells' total core-seconds divided by the CPUs it uses (the runner
/// trains cells in parallel, one per thread, so at most one CPU per cell), but never less than
/// its longest cell.
pub fn estimate(plan: &Plan, shards: usize, cpus: u32, calibration: &Calibration) -> Estimate {
    let cells = plan.cells();
    let n = shards.max(1);
    // (cells, core-seconds, longest cell) per shard.
    let mut per_shard = vec![(0usize, 0.0f64, 0.0f64); n];
    for (i, cell) in cells.iter().enumerate() {
        let hidden = plan.trials[cell.trial - 1].hidden;
        let secs = plan.epochs as f64 * plan.seconds_per_epoch(hidden, calibration);
        let s = &mut per_shard[i % n];
        s.0 += 1;
        s.1 += secs;
        s.2 = s.2.max(secs);
    }
    let wall = |&(count, total, longest): &(usize, f64, f64)| {
        let parallel = (cpus.max(1) as usize).min(count.max(1)) as f64;
        (total / parallel).max(longest)
    };
    Estimate {
        cells: cells.len(),
        shards,
        min_cells_per_shard: per_shard.iter().map(|s| s.0).min().unwrap_or(0),
        max_cells_per_shard: per_shard.iter().map(|s| s.0).max().unwrap_or(0),
        core_hours: per_shard.iter().map(|s| s.1).sum::<f64>() / 3600.0,
        max_shard_wall_seconds: per_shard.iter().map(wall).fold(0.0, f64::max),
    }
}

/// The number of shards for a target wall time per shard: enough that no shard takes much longer
/// than `target_seconds`, at most one per cell.
pub fn auto_shards(
    plan: &Plan,
    cpus: u32,
    calibration: &Calibration,
    target_seconds: f64,
) -> usize {
    let cells = plan.cells().len().max(1);
    let one = estimate(plan, 1, cpus, calibration);
    let total_wall = one.core_hours * 3600.0 / cpus.max(1) as f64;
    let n = (total_wall / target_seconds).ceil().max(1.0) as usize;
    n.min(cells)
}
