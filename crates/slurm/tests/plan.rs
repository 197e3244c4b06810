//! Cells, shards, the cost model and Slurm's time formats.

mod common;

use common::{calibration, plan};
use handprop_results::CellId;
use handprop_slurm::{
    auto_shards, estimate, format_slurm_time, human_seconds, parse_slurm_time, Plan, SlurmError,
};

#[test]
fn cells_follow_the_stable_order_and_shards_partition_them() {
    let p = plan();
    let cells = p.cells();
    assert_eq!(cells.len(), (2 + 1) * 3);
    assert_eq!(cells[0], CellId { trial: 1, experiment: 0, case: 0 });
    assert_eq!(cells[4], CellId { trial: 1, experiment: 1, case: 1 });
    assert_eq!(cells[8], CellId { trial: 2, experiment: 0, case: 2 });
    let mut sorted = cells.clone();
    sorted.sort();
    assert_eq!(sorted, cells, "the stable order is (trial, experiment, case)");
    let n = 4;
    let mut union: Vec<CellId> = (0..n).flat_map(|k| p.shard_cells(k, n)).collect();
    union.sort();
    assert_eq!(union, cells, "every cell in exactly one shard");
    assert_eq!(p.shard_cells(1, n), vec![cells[1], cells[5]]);
}

#[test]
fn cost_scales_with_weights_and_images() {
    let p = plan();
    assert_eq!(p.seconds_per_epoch(1024, &calibration(45.0)), 45.0);
    // H = 824 has (784·824 + 3·824² + 10·824) / (784·1024 + 3·1024² + 10·1024) of the weights.
    let ratio = p.seconds_per_epoch(824, &calibration(1.0));
    assert!((ratio - 0.68).abs() < 0.005, "H = 824 costs about 0.68x, got {ratio}");
    // ≈1.3 TFLOP of training plus ≈0.5 TFLOP of evaluation per epoch at H = 1024.
    let tflop = p.flop_per_epoch(1024) / 1e12;
    assert!((tflop - 1.82).abs() < 0.01, "{tflop}");
    // A subset costs in proportion to its image passes.
    let small = Plan { train_images: 5_000, test_images: 1_000, ..plan() };
    let expected = (8.0 * 5_000.0 + 2.0 * 1_000.0) / (8.0 * 55_000.0 + 2.0 * 10_000.0);
    assert!((small.seconds_per_epoch(1024, &calibration(1.0)) - expected).abs() < 1e-12);
    // The input and output widths enter the weight count.
    let wide = Plan { input: 2 * 784, classes: 20, ..plan() };
    assert_eq!(wide.weights(100) - p.weights(100), (784.0 + 10.0) * 100.0);
}

#[test]
fn estimate_counts_cells_core_hours_and_parallel_wall() {
    let p = plan();
    let cal = calibration(36.0);
    let s1024 = 3.0 * 36.0;
    let s824 = 3.0 * p.seconds_per_epoch(824, &cal);
    let e = estimate(&p, 4, 1, &cal);
    assert_eq!((e.cells, e.min_cells_per_shard, e.max_cells_per_shard), (9, 2, 3));
    let total = 6.0 * s1024 + 3.0 * s824;
    assert!((e.core_hours - total / 3600.0).abs() < 1e-9);
    // Shard 0 holds positions 0, 4, 8: two H=1024 cells and one H=824 cell.
    assert!((e.max_shard_wall_seconds - (2.0 * s1024 + s824)).abs() < 1e-9);
    // With 8 CPUs, a shard is never faster than its longest cell.
    let wide = estimate(&p, 1, 8, &cal);
    assert!((wide.max_shard_wall_seconds - total / 8.0).abs() < 1e-9);
    let wider = estimate(&p, 4, 8, &cal);
    assert!((wider.max_shard_wall_seconds - s1024).abs() < 1e-9);
}

#[test]
fn auto_shards_targets_the_wall_time_and_never_exceeds_the_cells() {
    let p = plan();
    let cal = calibration(36.0);
    let total = estimate(&p, 1, 1, &cal).core_hours * 3600.0;
    assert_eq!(auto_shards(&p, 1, &cal, total * 2.0), 1);
    assert_eq!(auto_shards(&p, 1, &cal, total / 3.0 + 1.0), 3);
    assert_eq!(auto_shards(&p, 1, &cal, 1.0), 9);
}

#[test]
fn slurm_times_parse_and_format() {
    assert_eq!(parse_slurm_time("30").unwrap(), 1800);
    assert_eq!(parse_slurm_time("5:30").unwrap(), 330);
    assert_eq!(parse_slurm_time("02:00:01").unwrap(), 7201);
    assert_eq!(parse_slurm_time("1-2").unwrap(), 93600);
    assert_eq!(parse_slurm_time("1-02:30").unwrap(), 86400 + 9000);
    assert_eq!(parse_slurm_time("2-00:00:00").unwrap(), 172800);
    for bad in ["", "1:2:3:4", "x", "1-", "-5", "1-2:3:4:5", "1h"] {
        let err = parse_slurm_time(bad).unwrap_err();
        assert!(matches!(&err, SlurmError::BadTime(t) if t == bad), "{bad}: {err}");
        assert!(err.is_usage() && err.to_string().contains("--time"), "{err}");
    }
    assert_eq!(format_slurm_time(1.0), "0-00:01:00");
    assert_eq!(format_slurm_time(3601.0), "0-01:01:00");
    assert_eq!(format_slurm_time(90000.0), "1-01:00:00");
    assert_eq!(parse_slurm_time(&format_slurm_time(7000.0)).unwrap(), 7020);
    assert_eq!(
        [human_seconds(4.31), human_seconds(42.0), human_seconds(600.0), human_seconds(36000.0)],
        ["4.3 s", "42 s", "10.0 min", "10.0 h"]
    );
}
