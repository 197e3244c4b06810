//! `handprop slurm` as a user meets it: the command line (generation from a real config, exit
//! codes, `--help`), and the job array against a real Slurm (`.ci/slurm/start.sh` starts one on
//! 127.0.0.1): a 4-shard array of `configs/smoke.toml` gives tables bit-identical to one machine;
//! a crashed shard is reported, requeued and completed; `scancel` leaves no partial cell file.
//!
//! The cluster tests are `#[ignore]`d and FAIL when the cluster is missing: they need
//! `SLURM_CONF`, `sbatch` on PATH and `HANDPROP_MNIST_MIRROR` naming a local MNIST copy (CI sets all
//! three and runs them with `--include-ignored`; tests never fetch from the internet). The tasks
//! inherit the environment through sbatch's default `--export=ALL`. The library's own tests are in
//! `crates/slurm/tests`.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use handprop_results::{CellId, ResultsDir};
use handprop_slurm::{JobRecord, ShardState};

const HANDPROP: &str = env!("CARGO_BIN_EXE_handprop");
/// The merged tables that must not depend on sharding (timing.csv and run.json hold wall times).
const TABLES: [&str; 6] =
    ["metrics.csv", "final.csv", "winners.csv", "frequency.csv", "trials.csv", "cases.csv"];

/// How long one array may take before the test gives up (the whole file takes well under a
/// minute on 2 cores).
const JOB_TIMEOUT: Duration = Duration::from_secs(120);

fn handprop(args: &[&std::ffi::OsStr]) -> Output {
    Command::new(HANDPROP).args(args).output().unwrap()
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

const CONFIG: &str = r#"
case_table = "cases/t.toml"
only_cases = [2, 0]

[data]
split = "tf1"
train_subset = 1000

[training]
batch = 100
epochs = 2
seed = 7

[[trials]]
learning_rate = 0.001
hidden = 16
experiments = 2

[[trials]]
learning_rate = 0.0025
hidden = 8
experiments = 1
"#;

/// A config directory with a case table, like `configs/`.
fn config_dir(config: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir_all(dir.path().join("cases")).unwrap();
    let study = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs/cases/study.toml");
    fs::copy(study, dir.path().join("cases/t.toml")).unwrap();
    let path = dir.path().join("tiny.toml");
    fs::write(&path, config).unwrap();
    (dir, path)
}

/// `handprop slurm --config CONFIG --out OUT --shards N` plus `extra`.
fn slurm_generate(config: &Path, out: &Path, shards: usize, extra: &[&str]) -> Output {
    let mut cmd = Command::new(HANDPROP);
    cmd.arg("slurm").arg("--config").arg(config).arg("--out").arg(out);
    cmd.arg("--shards").arg(shards.to_string()).args(extra);
    cmd.output().unwrap()
}

#[test]
fn generation_freezes_the_resolved_config_and_plans_from_the_runner_and_mnist() {
    let (dir, path) = config_dir(CONFIG);
    let out = dir.path().join("out");
    let o = slurm_generate(&path, &out, 2, &["--mem", "512M", "--partition", "short"]);
    assert!(o.status.success(), "{}", text(&o));
    let stdout = String::from_utf8_lossy(&o.stdout);
    let out = fs::canonicalize(&out).unwrap();
    assert!(stdout.contains(&format!("wrote {}", out.join("slurm/tiny.sbatch").display())));
    assert!(stdout.contains("6 cells in 2 shards (3 per shard)"), "{stdout}");
    assert!(stdout.contains("submit: sbatch "), "{stdout}");
    assert!(String::from_utf8_lossy(&o.stderr).contains("warning: shards are short"));
    let rec = JobRecord::load(&out).unwrap();
    // The plan: the config's cells, the subset of the TF1 split, MNIST's test set and widths.
    let p = &rec.plan;
    assert_eq!((p.epochs, p.hidden_layers, p.cases, rec.shards), (2, 4, 2, 2));
    assert_eq!((p.train_images, p.test_images, p.input, p.classes), (1000, 10_000, 784, 10));
    assert_eq!(
        p.trials.iter().map(|t| (t.hidden, t.experiments)).collect::<Vec<_>>(),
        [(16, 2), (8, 1)]
    );
    // This executable is the default binary of the tasks.
    assert_eq!(rec.handprop, fs::canonicalize(HANDPROP).unwrap());
    // The frozen copy is the resolved config: the case table is inlined, and it loads again from
    // another directory with the same hash, the one that names the cells directory.
    let frozen = out.join("slurm/config.toml");
    let table: toml::Table = fs::read_to_string(&frozen).unwrap().parse().unwrap();
    assert!(table.get("case_table").is_none() && table.get("only_cases").is_none());
    let labels: Vec<&str> =
        table["cases"].as_array().unwrap().iter().map(|c| c["label"].as_str().unwrap()).collect();
    assert_eq!(labels, ["Dilated, sparse + noise", "Google Brain noise + standard BP"]);
    for config in [&path, &frozen] {
        let o = handprop(&["check".as_ref(), "--config".as_ref(), config.as_os_str()]);
        assert!(o.status.success(), "{}", text(&o));
        assert!(text(&o).contains(&format!("config hash {}", rec.config_hash)), "{}", text(&o));
    }
    // Without --shards the tiny run fits in one shard of the default 12 hours.
    let o = Command::new(HANDPROP)
        .args(["slurm", "--config"])
        .arg(&path)
        .arg("--out")
        .arg(dir.path().join("auto"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("6 cells in 1 shards"), "{}", text(&o));
}

#[test]
fn bad_input_exits_2_naming_the_file_field_or_value() {
    let (dir, path) = config_dir(&CONFIG.replace("hidden = 8\n", ""));
    let out = dir.path().join("out");
    let o = slurm_generate(&path, &out, 2, &[]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("tiny.toml") && text(&o).contains("hidden"), "{}", text(&o));
    fs::write(&path, CONFIG).unwrap();
    for (shards, extra, says) in [
        (0, &[][..], "--shards must be at least 1"),
        (7, &[][..], "--shards 7 exceeds the 6 cells"),
        (2, &["--time", "1h"][..], "--time \"1h\""),
        (2, &["--handprop", "/no/such/handprop"][..], "/no/such/handprop"),
    ] {
        let o = slurm_generate(&path, &out, shards, extra);
        assert_eq!(o.status.code(), Some(2), "{}", text(&o));
        assert!(text(&o).contains(says), "{says}: {}", text(&o));
    }
    assert!(!out.exists(), "nothing is written for bad input");
    let o = slurm_generate(&path, &out, 2, &[]);
    assert!(o.status.success(), "{}", text(&o));
    // An edited config cannot replace the pin; --force can.
    fs::write(&path, CONFIG.replace("epochs = 2", "epochs = 3")).unwrap();
    let o = slurm_generate(&path, &out, 2, &[]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("already pins another config"), "{}", text(&o));
    assert!(slurm_generate(&path, &out, 2, &["--force"]).status.success());
    // No job record: status says how to make one.
    let o = handprop(&["slurm".as_ref(), "status".as_ref(), dir.path().as_os_str()]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("no Slurm job record"), "{}", text(&o));
}

#[test]
fn status_of_an_unsubmitted_array_and_the_command_line() {
    let (dir, path) = config_dir(CONFIG);
    let out = dir.path().join("out");
    assert!(slurm_generate(&path, &out, 3, &[]).status.success());
    let o = handprop(&["slurm".as_ref(), "status".as_ref(), out.as_os_str()]);
    assert!(o.status.success(), "{}", text(&o));
    let s = String::from_utf8_lossy(&o.stdout);
    assert!(s.contains("0/6 cells done; jobs: none"), "{s}");
    assert!(s.contains("summary: 0 done, 0 running, 0 pending, 0 failed, 3 not submitted"), "{s}");
    // Generation options and the status subcommand do not mix.
    let o = handprop(&["slurm", "--shards", "2", "status", "r"].map(std::ffi::OsStr::new));
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    // --help covers every option `cargo xtask slurm` offered.
    let o = handprop(&["slurm".as_ref(), "--help".as_ref()]);
    let help = String::from_utf8_lossy(&o.stdout);
    for opt in [
        "--config",
        "--shards",
        "--out",
        "--partition",
        "--time",
        "--cpus-per-task",
        "--mem",
        "--seconds-per-epoch",
        "--data-dir",
        "--sbatch-arg",
        "--handprop",
        "--submit",
        "--force",
        "status",
    ] {
        assert!(help.contains(opt), "{opt} missing from\n{help}");
    }
    let o = handprop(&["slurm".as_ref(), "status".as_ref(), "--help".as_ref()]);
    assert!(String::from_utf8_lossy(&o.stdout).contains("--requeue"));
}

/// The tests share one small cluster: run them one at a time.
static CLUSTER: Mutex<()> = Mutex::new(());

/// Takes the cluster, or fails the test saying what is missing.
fn cluster() -> std::sync::MutexGuard<'static, ()> {
    assert!(
        std::env::var_os("SLURM_CONF").is_some(),
        "SLURM_CONF is unset: start a cluster with `bash .ci/slurm/start.sh` and source its env file"
    );
    assert!(Command::new("sbatch").arg("--version").output().is_ok(), "sbatch is not on PATH");
    let mirror = std::env::var_os("HANDPROP_MNIST_MIRROR");
    assert!(
        mirror.as_ref().is_some_and(|m| Path::new(m).is_dir()),
        "HANDPROP_MNIST_MIRROR does not name a local MNIST directory"
    );
    CLUSTER.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
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
        assert!(o.status.success(), "single-machine run failed: {}", text(&o));
        Reference { _dir: dir, data, out }
    })
}

/// Generates a 4-shard array of `config` into `out` with `handprop slurm`; returns its record and
/// the absolute results directory.
fn generate(config: &Path, out: &Path) -> (JobRecord, PathBuf) {
    let data = reference().data.clone();
    let extra = ["--time", "10", "--mem", "256M", "--data-dir", data.to_str().unwrap()];
    let o = slurm_generate(config, out, 4, &extra);
    assert!(o.status.success(), "{}", text(&o));
    let out = fs::canonicalize(out).unwrap();
    (JobRecord::load(&out).unwrap(), out)
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
#[ignore = "needs a Slurm cluster (SLURM_CONF); .ci/run starts one"]
fn a_four_shard_array_gives_the_single_machine_tables() {
    let _cluster = cluster();
    let dir = tempfile::tempdir().unwrap();
    let (record, out) = generate(&smoke(), &dir.path().join("array"));
    let job = Job(handprop_slurm::submit(&out, &[]).unwrap());
    wait_gone(&job.0);
    let st = handprop_slurm::status(&out).unwrap();
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
    assert_eq!(run["config_hash"].as_str(), Some(record.config_hash.as_str()));
}

#[test]
#[ignore = "needs a Slurm cluster (SLURM_CONF); .ci/run starts one"]
fn a_crashed_shard_is_reported_requeued_and_completed() {
    let _cluster = cluster();
    let dir = tempfile::tempdir().unwrap();
    let (_, out) = generate(&smoke(), &dir.path().join("fault"));
    // Only this submission carries the fault; the requeue below inherits a clean environment.
    let first =
        Job(handprop_slurm::submit(&out, &["--export=ALL,HANDPROP_FAULT_SHARD=1".to_string()])
            .unwrap());
    wait_gone(&first.0);
    let st = handprop_slurm::status(&out).unwrap();
    assert_eq!(st.in_state(ShardState::Failed), [1], "{st}\n{}", logs(&out));
    assert_eq!(st.in_state(ShardState::Done), [0, 2, 3], "{st}");
    let (in_shard, before) = (st.shards[1].cells, st.shards[1].done);
    assert!(before <= 1, "the fault writes at most one cell: {st}");
    let slurm_view = st.shards[1].slurm.as_deref().unwrap_or("");
    assert!(slurm_view.contains("FAILED") && slurm_view.contains("(3:0)"), "{st}");
    let cmd = st.requeue_command().unwrap();
    assert!(cmd.starts_with("sbatch --array=1 "), "{cmd}");
    assert!(!out.join("final.csv").exists(), "no merge while cells are missing");

    let again = Job(handprop_slurm::requeue(&out, &[1]).unwrap());
    wait_gone(&again.0);
    let st = handprop_slurm::status(&out).unwrap();
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
#[ignore = "needs a Slurm cluster (SLURM_CONF); .ci/run starts one"]
fn scancel_leaves_no_partial_cell_file() {
    let _cluster = cluster();
    let dir = tempfile::tempdir().unwrap();
    // The smoke config with many more epochs, so the tasks are still running when cancelled; the
    // resolved copy of a first generation needs no case table beside it.
    let epochs = 300;
    let (_, resolved) = generate(&smoke(), &dir.path().join("resolved"));
    let frozen = fs::read_to_string(resolved.join("slurm/config.toml")).unwrap();
    let mut table: toml::Table = frozen.parse().unwrap();
    table["training"]["epochs"] = toml::Value::Integer(epochs as i64);
    let long = dir.path().join("long.toml");
    fs::write(&long, toml::to_string(&table).unwrap()).unwrap();
    let (record, out) = generate(&long, &dir.path().join("cancel"));
    let cells = ResultsDir::new(&out, record.config_hash.clone()).cells_dir();
    let job = Job(handprop_slurm::submit(&out, &[]).unwrap());
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
    let st = handprop_slurm::status(&out).unwrap();
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
        if CellId::parse_file_name(&name).is_some() {
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
