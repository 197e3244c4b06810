//! Status: shards judged by the result files first, then by `scontrol`; the requeue command.

mod common;

use std::fs;

use common::{options, tiny};
use handprop_results::{ResultsDir, RunInfo};
use handprop_slurm::{
    classify, generate, parse_scontrol, parse_task_ids, shell_quote, status, JobRecord, ShardState,
    SlurmError, TaskRecord,
};

#[test]
fn task_id_lists() {
    assert_eq!(parse_task_ids("3"), Some(vec![3]));
    assert_eq!(parse_task_ids("0-3"), Some(vec![0, 1, 2, 3]));
    assert_eq!(parse_task_ids("1,3,5-6"), Some(vec![1, 3, 5, 6]));
    assert_eq!(parse_task_ids("0-15%4").map(|v| v.len()), Some(16));
    assert_eq!(parse_task_ids("0-6:3"), Some(vec![0, 3, 6]));
    assert_eq!(parse_task_ids("x"), None);
    assert_eq!(parse_task_ids("0-6:0"), None);
}

/// Abridged `scontrol -o show job 7` of Slurm 22.05 for a 4-task array: task 1 failed, task 0
/// completed, tasks 2-3 pending in one record; plus a line of an ordinary job.
const SCONTROL: &str = "\
JobId=8 ArrayJobId=7 ArrayTaskId=1 JobName=handprop-smoke UserId=root(0) Priority=1 JobState=FAILED Reason=NonZeroExitCode Dependency=(null) Requeue=1 Restarts=0 BatchFlag=1 Reboot=0 ExitCode=3:0 RunTime=00:00:02
JobId=7 ArrayJobId=7 ArrayTaskId=0 JobName=handprop-smoke UserId=root(0) JobState=COMPLETED Reason=None Restarts=1 ExitCode=0:0
JobId=7 ArrayJobId=7 ArrayTaskId=2-3%1 JobName=handprop-smoke JobState=PENDING Reason=JobArrayTaskLimit ExitCode=0:0
JobId=9 JobName=wrap UserId=root(0) JobState=RUNNING Reason=None ExitCode=0:0
";

#[test]
fn scontrol_lines_become_task_records() {
    let recs = parse_scontrol(SCONTROL);
    assert_eq!(recs.len(), 3);
    assert_eq!(
        recs[0],
        TaskRecord {
            array_job_id: "7".into(),
            tasks: vec![1],
            state: "FAILED".into(),
            exit_code: "3:0".into(),
            restarts: 0,
        }
    );
    assert_eq!((recs[1].tasks.as_slice(), recs[1].restarts), (&[0][..], 1));
    assert_eq!((recs[2].tasks.as_slice(), recs[2].state.as_str()), (&[2, 3][..], "PENDING"));
}

#[test]
fn shards_are_judged_by_files_first_then_by_slurm() {
    let rec = |state: &str| TaskRecord {
        array_job_id: "7".into(),
        tasks: vec![0],
        state: state.into(),
        exit_code: "0:0".into(),
        restarts: 0,
    };
    assert_eq!(classify(3, 3, Some(&rec("FAILED")), true), ShardState::Done);
    assert_eq!(classify(3, 3, None, false), ShardState::Done);
    assert_eq!(classify(3, 1, Some(&rec("RUNNING")), true), ShardState::Running);
    assert_eq!(classify(3, 0, Some(&rec("PENDING")), true), ShardState::Pending);
    for ended in ["FAILED", "CANCELLED", "TIMEOUT", "OUT_OF_MEMORY", "NODE_FAIL", "COMPLETED"] {
        assert_eq!(classify(3, 2, Some(&rec(ended)), true), ShardState::Failed, "{ended}");
    }
    assert_eq!(classify(3, 2, None, true), ShardState::Failed);
    assert_eq!(classify(3, 0, None, false), ShardState::NotSubmitted);
}

fn run_info(hash: &str, cells: usize) -> String {
    RunInfo {
        results_version: handprop_results::RESULTS_VERSION,
        handprop_version: "0.1.0".into(),
        config_name: "tiny".into(),
        config_hash: hash.into(),
        cells_total: cells,
        cells_done: 0,
        epochs: 2,
        cell_seconds: 0.0,
        kernel: None,
        invocations: vec![],
        tables: Default::default(),
    }
    .to_json()
}

#[test]
fn status_reads_the_cell_files_of_the_runs_hash() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    generate(&tiny(), &options(&out, 2)).unwrap();
    let out = fs::canonicalize(&out).unwrap();
    let st = status(&out).unwrap();
    assert_eq!(st.in_state(ShardState::NotSubmitted), [0, 1]);
    assert_eq!(st.requeue_command(), None);
    // The runner's files: shard 0 (positions 0, 2, 4) is complete, shard 1 has one of its cells
    // plus a temp file, and a stale directory of another hash holds the rest (it must not count).
    let layout = ResultsDir::new(&out, "0123abcd");
    fs::write(layout.run_json_path(), run_info("0123abcd", 6)).unwrap();
    fs::create_dir_all(layout.cells_dir()).unwrap();
    let stale = ResultsDir::new(&out, "ffff");
    fs::create_dir_all(stale.cells_dir()).unwrap();
    let all = JobRecord::load(&out).unwrap().plan.cells();
    for i in [0, 2, 4, 1] {
        fs::write(layout.cell_path(&all[i]), "epoch\n").unwrap();
    }
    fs::write(layout.cells_dir().join(format!(".{}.x.tmp", all[3].file_name())), "").unwrap();
    for c in &all {
        fs::write(stale.cell_path(c), "").unwrap();
    }
    let mut rec = JobRecord::load(&out).unwrap();
    // A job id no Slurm knows (or no Slurm at all): judged by the files.
    rec.job_ids.push("999999999".into());
    rec.save(&out).unwrap();
    let st = status(&out).unwrap();
    assert_eq!(st.cells_dir, layout.cells_dir());
    let s0 = &st.shards[0];
    assert_eq!((s0.done, s0.cells, s0.state), (3, 3, ShardState::Done));
    let s1 = &st.shards[1];
    assert_eq!((s1.done, s1.cells, s1.state), (1, 3, ShardState::Failed));
    assert_eq!(st.notes.len(), 1, "only the unknown job: {:?}", st.notes);
    let cmd = st.requeue_command().unwrap();
    let script = shell_quote(&out.join("slurm/tiny.sbatch").to_string_lossy());
    assert_eq!(cmd, format!("sbatch --array=1 {script}"));
    let text = st.to_string();
    assert!(text.contains("4/6 cells done") && text.contains(&cmd), "{text}");
    assert!(!text.contains("all cells done"));
    // A run.json of another config, or of another cell count, is pointed out.
    fs::write(layout.run_json_path(), run_info("ffff", 6)).unwrap();
    let st = status(&out).unwrap();
    assert!(st.notes.iter().any(|n| n.contains("ffff")), "{:?}", st.notes);
    fs::write(layout.run_json_path(), run_info("0123abcd", 9)).unwrap();
    let st = status(&out).unwrap();
    assert!(st.notes.iter().any(|n| n.contains("counts 9 cells")), "{:?}", st.notes);
    // A damaged run.json is an error naming it.
    fs::write(layout.run_json_path(), "{").unwrap();
    let err = status(&out).unwrap_err();
    assert!(matches!(err, SlurmError::Results(_)) && err.to_string().contains("run.json"), "{err}");
}

#[test]
fn a_complete_array_says_how_to_merge() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let g = generate(&tiny(), &options(&out, 3)).unwrap();
    let layout = ResultsDir::new(&g.spec.out, "0123abcd");
    fs::create_dir_all(layout.cells_dir()).unwrap();
    for c in g.record.plan.cells() {
        fs::write(layout.cell_path(&c), "epoch\n").unwrap();
    }
    let st = status(&g.spec.out).unwrap();
    assert!(st.complete() && st.requeue_command().is_none());
    let merge = st.merge_command();
    assert!(merge.contains(" merge --config ") && merge.contains("slurm/config.toml"), "{merge}");
    assert!(st.to_string().contains(&merge));
}

#[test]
fn status_without_a_job_record_says_how_to_make_one() {
    let dir = tempfile::tempdir().unwrap();
    let err = status(dir.path()).unwrap_err();
    assert!(matches!(err, SlurmError::NoJobRecord(_)), "{err}");
    assert!(err.to_string().contains("generate the job array into it first"), "{err}");
}
