//! The Slurm job array against a real Slurm (`.ci/slurm/start.sh` starts one on 127.0.0.1):
//! a 4-shard array of `configs/smoke.toml` gives tables bit-identical to one machine; a crashed
//! shard is reported, requeued and completed; `scancel` leaves no partial cell file.
//!
//! Skipped, with a message, unless `SLURM_CONF` is set, `sbatch` is on PATH and
//! `HANDPROP_MNIST_MIRROR` points at a local MNIST copy (CI sets all three; tests never fetch from
//! the internet). The tasks inherit the environment through sbatch's default `--export=ALL`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use handprop_runner::slurm::{self, JobRecord, ShardState, SlurmArgs};

const HANDPROP: &str = env!("CARGO_BIN_EXE_handprop");

/// The merged tables that must not depend on sharding (timing.csv and run.json hold wall times).
const TABLES: [&str; 6] =
    ["metrics.csv", "final.csv", "winners.csv", "frequency.csv", "trials.csv", "cases.csv"];

/// How long one array may take before the test gives up (the whole file takes well under a
/// minute on 2 cores).
const JOB_TIMEOUT: Duration = Duration::from_secs(120);

/// The tests share one small cluster: run them one at a time.
static CLUSTER: Mutex<()> = Mutex::new(());

fn lock() -> std::sync::MutexGuard<'static, ()> {
    CLUSTER.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Why the Slurm tests cannot run here, if they cannot.
fn skip_reason() -> Option<String> {
    if std::env::var_os("SLURM_CONF").is_none() {
        return Some("SLURM_CONF is unset (start a cluster with `bash .ci/slurm/start.sh`)".into());
    }
    if Command::new("sbatch").arg("--version").output().is_err() {
        return Some("sbatch is not on PATH".into());
    }
    match std::env::var_os("HANDPROP_MNIST_MIRROR") {
        Some(m) if Path::new(&m).is_dir() => None,
        _ => Some("HANDPROP_MNIST_MIRROR does not name a local MNIST directory".into()),
    }
}

macro_rules! require_slurm {
    () => {
        if let Some(why) = skip_reason() {
            eprintln!("skipping the Slurm test: {why}");
            return;
        }
    };
}

fn smoke() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs/smoke.toml")
}

/// The MNIST cache and the single-machine reference run of the smoke config, made once.
struct Reference {
    _dir: tempfile::TempDir,
    data: PathBuf,
    out: PathBuf,
}

fn reference() -> &'static Reference {
    static REF: OnceLock<Reference> = OnceLock::new();
    REF.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("mnist");
        let out = dir.path().join("single");
        let o = Command::new(HANDPROP)
            .arg("run")
            .arg("--config")
            .arg(smoke())
            .arg("--out")
            .arg(&out)
            .arg("--data-dir")
            .arg(&data)
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "single-machine run failed ({}): {}",
            o.status,
            String::from_utf8_lossy(&o.stderr)
        );
        Reference { _dir: dir, data, out }
    })
}

fn slurm_args(config: &Path, out: &Path) -> SlurmArgs {
    SlurmArgs {
        config: config.to_owned(),
        shards: Some(4),
        out: Some(out.to_owned()),
        partition: None,
        time: Some("10".into()),
        cpus_per_task: 1,
        mem: "256M".into(),
        seconds_per_epoch: slurm::SECONDS_PER_EPOCH_AT_H1024,
        data_dir: reference().data.clone(),
        sbatch_args: vec![],
        handprop: Some(HANDPROP.into()),
        submit: false,
        force: false,
    }
}

/// Cancels a job when dropped, so a failing test leaves nothing in the queue.
struct Job(String);

impl Drop for Job {
    fn drop(&mut self) {
        let _ = Command::new("scancel").arg(&self.0).status();
    }
}

fn in_queue(job: &str) -> bool {
    let out = Command::new("squeue").args(["-h", "-j", job]).output().unwrap();
    !String::from_utf8_lossy(&out.stdout).trim().is_empty()
}

/// Polls `squeue` every 0.25 s (`sbatch --wait` backs off to 32 s) until the job has left the
/// queue.
fn wait_gone(job: &str) {
    let start = Instant::now();
    while in_queue(job) {
        assert!(start.elapsed() < JOB_TIMEOUT, "job {job} still queued after {JOB_TIMEOUT:?}");
        std::thread::sleep(Duration::from_millis(250));
    }
}

fn merge(out: &Path) {
    let config = out.join("slurm/config.toml");
    let o = Command::new(HANDPROP)
        .arg("merge")
        .arg("--config")
        .arg(&config)
        .arg("--out")
        .arg(out)
        .output()
        .unwrap();
    assert!(o.status.success(), "merge failed: {}", String::from_utf8_lossy(&o.stderr));
}

fn assert_tables_identical(out: &Path) {
    for table in TABLES {
        let ours = std::fs::read(out.join(table)).unwrap();
        let single = std::fs::read(reference().out.join(table)).unwrap();
        assert!(ours == single, "{table} differs between the job array and one machine");
    }
}

fn logs(out: &Path) -> String {
    let mut text = String::new();
    if let Ok(rd) = std::fs::read_dir(out.join("slurm/logs")) {
        for e in rd.flatten() {
            text += &format!(
                "== {}\n{}\n",
                e.path().display(),
                std::fs::read_to_string(e.path()).unwrap_or_default()
            );
        }
    }
    text
}

#[test]
fn a_four_shard_array_gives_the_single_machine_tables() {
    require_slurm!();
    let _cluster = lock();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("array");
    let g = slurm::generate(&slurm_args(&smoke(), &out)).unwrap();
    let out = g.spec.out.clone();
    let job = Job(slurm::submit(&out, &[]).unwrap());
    wait_gone(&job.0);
    let st = slurm::status(&out).unwrap();
    assert!(st.complete(), "{st}\n{}", logs(&out));
    for shard in &st.shards {
        let slurm = shard.slurm.as_deref().unwrap_or("");
        assert!(slurm.ends_with("COMPLETED"), "shard {}: {slurm:?}\n{st}", shard.shard);
    }
    assert_eq!(st.requeue_command(), None);
    merge(&out);
    assert_tables_identical(&out);
    // The runner's hash names the same cells directory the job record predicted.
    let run: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("run.json")).unwrap()).unwrap();
    assert_eq!(run["config_hash"].as_str(), Some(g.record.config_hash.as_str()));
}

#[test]
fn a_crashed_shard_is_reported_requeued_and_completed() {
    require_slurm!();
    let _cluster = lock();
    let dir = tempfile::tempdir().unwrap();
    let g = slurm::generate(&slurm_args(&smoke(), &dir.path().join("fault"))).unwrap();
    let out = g.spec.out.clone();
    // Only this submission carries the fault; the requeue below inherits a clean environment.
    let first =
        Job(slurm::submit(&out, &["--export=ALL,HANDPROP_FAULT_SHARD=1".to_string()]).unwrap());
    wait_gone(&first.0);
    let st = slurm::status(&out).unwrap();
    assert_eq!(st.in_state(ShardState::Failed), [1], "{st}\n{}", logs(&out));
    assert_eq!(st.in_state(ShardState::Done), [0, 2, 3], "{st}");
    let (in_shard, before) = (st.shards[1].cells, st.shards[1].done);
    assert!(before <= 1, "the fault writes at most one cell: {st}");
    let slurm_view = st.shards[1].slurm.as_deref().unwrap_or("");
    assert!(slurm_view.contains("FAILED") && slurm_view.contains("(3:0)"), "{st}");
    let cmd = st.requeue_command().unwrap();
    assert!(cmd.starts_with("sbatch --array=1 "), "{cmd}");
    assert!(!out.join("final.csv").exists(), "no merge while cells are missing");

    let again = Job(slurm::requeue(&out, &[1]).unwrap());
    wait_gone(&again.0);
    let st = slurm::status(&out).unwrap();
    assert!(st.complete(), "{st}\n{}", logs(&out));
    assert_eq!(JobRecord::load(&out).unwrap().job_ids, [first.0.clone(), again.0.clone()]);
    // The requeued shard ran only its missing cells.
    let log = std::fs::read_to_string(out.join(format!("slurm/logs/{}_1.log", again.0))).unwrap();
    let ran = format!("{} cells computed", in_shard - before);
    assert!(log.contains(&ran) && log.contains(&format!("{before} already there")), "{log}");
    merge(&out);
    assert_tables_identical(&out);
}

/// Every cell file parses as the contract's CSV with one row per epoch, or stops at a row with
/// diverged = 1.
fn assert_complete_cell(path: &Path, epochs: usize) {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some("epoch,cost,train_acc,test_acc,wall_s,diverged"),
        "{}",
        path.display()
    );
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    for (t, row) in rows.iter().enumerate() {
        assert_eq!(row.len(), 6, "{}: row {t}", path.display());
        assert_eq!(row[0].parse::<usize>().unwrap(), t, "{}", path.display());
        for v in &row[1..5] {
            v.parse::<f64>().unwrap_or_else(|e| panic!("{}: {v:?}: {e}", path.display()));
        }
    }
    let diverged = rows.last().is_some_and(|r| r[5] == "1");
    assert!(
        rows.len() == epochs || diverged,
        "{}: {} of {epochs} rows",
        path.display(),
        rows.len()
    );
}

#[test]
fn scancel_leaves_no_partial_cell_file() {
    require_slurm!();
    let _cluster = lock();
    let dir = tempfile::tempdir().unwrap();
    // The smoke config with many more epochs, so the tasks are still running when cancelled.
    let epochs = 300;
    let mut table: toml::Table = slurm::resolve_config(&smoke()).unwrap().toml.parse().unwrap();
    table["training"]["epochs"] = toml::Value::Integer(epochs as i64);
    let long = dir.path().join("long.toml");
    std::fs::write(&long, toml::to_string(&table).unwrap()).unwrap();
    let g = slurm::generate(&slurm_args(&long, &dir.path().join("cancel"))).unwrap();
    let out = g.spec.out.clone();
    let cells = out.join("cells").join(&g.record.config_hash);
    let job = Job(slurm::submit(&out, &[]).unwrap());
    // Cancel once a few cells are finished, i.e. in the middle of the shards' work.
    let start = Instant::now();
    let count = || std::fs::read_dir(&cells).map(|rd| rd.count()).unwrap_or(0);
    while count() < 2 {
        assert!(start.elapsed() < JOB_TIMEOUT, "no cell finished\n{}", logs(&out));
        std::thread::sleep(Duration::from_millis(100));
    }
    let status = Command::new("scancel").arg(&job.0).status().unwrap();
    assert!(status.success());
    wait_gone(&job.0);
    let st = slurm::status(&out).unwrap();
    let cancelled = st
        .shards
        .iter()
        .filter(|s| s.slurm.as_deref().is_some_and(|v| v.contains("CANCELLED")))
        .count();
    assert!(cancelled > 0 && !st.complete(), "the cancel came too late to test anything: {st}");
    assert!(!st.in_state(ShardState::Failed).is_empty(), "cancelled shards need a requeue: {st}");
    let mut complete = 0;
    for e in std::fs::read_dir(&cells).unwrap().flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if slurm::CellKey::parse_file_name(&name).is_some() {
            assert_complete_cell(&e.path(), epochs);
            complete += 1;
        } else {
            // Only a temp file of a write interrupted between create and rename may remain,
            // and nothing reads it.
            assert!(name.starts_with('.') && name.ends_with(".tmp"), "unexpected file {name}");
        }
    }
    let done: usize = st.shards.iter().map(|s| s.done).sum();
    assert_eq!(complete, done);
    assert!(complete >= 2);
}
