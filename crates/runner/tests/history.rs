//! `run.json` keeps the history of invocations: a re-run that computes nothing adds a line and
//! never overwrites the times of the run that did the work.

mod common;

use common::{opts, synthetic_data, tiny_config};
use handprop_results::verify_dir;
use handprop_runner::{run, Shard};

#[test]
fn a_no_op_rerun_keeps_the_computing_runs_times() {
    let tmp = tempfile::tempdir().unwrap();
    let mut config = tiny_config(tmp.path());
    config.cases.truncate(4);
    let data = synthetic_data(100, 40);
    let out = tmp.path().join("out");
    run(&config, &data, &opts(&out, 2, Shard::ALL)).unwrap();
    let first = verify_dir(&out).unwrap().run;
    assert_eq!(first.invocations.len(), 1);
    let work = first.invocations[0].clone();
    assert_eq!(work.cells_computed, config.cell_count());
    assert!(work.wall_seconds > 0.0 && work.cpu_seconds > 0.0, "{work:?}");

    let s = run(&config, &data, &opts(&out, 2, Shard::ALL)).unwrap();
    assert_eq!(s.computed, 0);
    let again = verify_dir(&out).unwrap().run;
    assert_eq!(again.invocations.len(), 2);
    assert_eq!(again.invocations[0], work, "the computing run's record is kept as it was");
    assert_eq!(again.invocations[1].cells_computed, 0);
    assert_eq!(again.cell_seconds, first.cell_seconds, "the cells' compute is the same cells'");
    let (wall, cpu) = again.totals();
    assert!(wall >= work.wall_seconds && cpu >= work.cpu_seconds);
}
