//! Fault injection: what a 1,000-core-hour run meets in the wild — two runs in one directory, a
//! `--force` killed half way, a full disk during the merge, damaged cell files, temp-name
//! collisions between containers, absurd configs — each ends in a clear error or a correct
//! recovery.

mod common;

use std::fs;
use std::path::Path;
use std::sync::Mutex;

use common::{opts, read, synthetic_data, tiny_config};
use handprop_results::{verify_dir, DirLock, LockKind, ResultsDir};
use handprop_runner::output::MERGE_FAULT_ENV;
use handprop_runner::run::RunError;
use handprop_runner::{run, Config, Shard};

/// Some tests set the fault-injection environment variables, which every run reads: the tests of
/// this file run one at a time.
static ENV: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    ENV.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn with_epochs(config: &Config, epochs: usize) -> Config {
    let mut c = config.clone();
    c.training.epochs = epochs;
    c
}

fn small(config: &Config) -> Config {
    let mut c = config.clone();
    c.cases.truncate(3);
    c
}

/// A temp dir, a 3-case tiny config, synthetic data and an output directory in the temp dir.
fn setup() -> (tempfile::TempDir, Config, handprop_runner::train::Data, std::path::PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let config = small(&tiny_config(tmp.path()));
    let out = tmp.path().join("out");
    (tmp, config, synthetic_data(100, 40), out)
}

#[test]
fn two_configs_racing_into_one_directory_never_both_proceed() {
    let _serial = serial();
    let tmp = tempfile::tempdir().unwrap();
    let base = small(&tiny_config(tmp.path()));
    let data = synthetic_data(100, 40);
    for round in 0..4 {
        let out = tmp.path().join(format!("race{round}"));
        let (a, b) = (with_epochs(&base, 2), with_epochs(&base, 3));
        let (ra, rb) = std::thread::scope(|s| {
            let ha = s.spawn(|| run(&a, &data, &opts(&out, 1, Shard::ALL)));
            let hb = s.spawn(|| run(&b, &data, &opts(&out, 1, Shard::ALL)));
            (ha.join().unwrap(), hb.join().unwrap())
        });
        assert!(ra.is_ok() != rb.is_ok(), "exactly one run may proceed");
        let (winner, loser) = if ra.is_ok() { (&a, rb) } else { (&b, ra) };
        let err = loser.unwrap_err().to_string();
        assert!(err.contains("another config") || err.contains("using"), "{err}");
        // The directory is one consistent set: the winner's config and the winner's epochs.
        let verified = verify_dir(&out).unwrap();
        assert_eq!(verified.run.config_hash, winner.hash());
        let trials = read(&out.join("trials.csv"));
        assert!(trials
            .lines()
            .nth(1)
            .unwrap()
            .ends_with(&format!(",{},50", winner.training.epochs)));
    }
}

#[test]
fn a_differing_config_is_refused_naming_what_changed_and_labels_do_not_matter() {
    let _serial = serial();
    let (_tmp, config, data, out) = setup();
    run(&config, &data, &opts(&out, 1, Shard::ALL)).unwrap();
    let before = read(&out.join("final.csv"));

    let err = run(&with_epochs(&config, 4), &data, &opts(&out, 1, Shard::ALL)).unwrap_err();
    assert!(err.to_string().contains("[training]"), "{err}");

    // A fixed label or colour keeps the hash: nothing is recomputed, the tables show the new label.
    let mut relabelled = config.clone();
    relabelled.cases[1].label = "Dilated ADAM, sparse (fixed typo)".into();
    relabelled.cases[1].colour = "#123456".into();
    assert_eq!(relabelled.hash(), config.hash());
    let s = run(&relabelled, &data, &opts(&out, 1, Shard::ALL)).unwrap();
    assert_eq!(s.computed, 0);
    let after = read(&out.join("final.csv"));
    assert!(after.contains("(fixed typo)") && !before.contains("(fixed typo)"));
    verify_dir(&out).unwrap();
}

#[test]
fn the_same_shard_never_runs_twice_and_force_needs_the_directory_alone() {
    let _serial = serial();
    let (_tmp, config, data, out) = setup();
    let dir = ResultsDir::new(&out, config.hash());
    // Another process runs shard 1/2 (its lock) and holds the run lock shared.
    let _shard =
        DirLock::try_acquire(&dir.shard_lock_path(1, 2), LockKind::Exclusive, "x").unwrap();
    let _run = DirLock::try_acquire(&dir.lock_path(), LockKind::Shared, "x").unwrap();
    let err = run(&config, &data, &opts(&out, 1, Shard { index: 1, count: 2 })).unwrap_err();
    assert!(err.to_string().contains("shard 1/2"), "{err}");
    // Shard 0/2 runs beside it.
    run(&config, &data, &opts(&out, 1, Shard { index: 0, count: 2 })).unwrap();
    let mut force = opts(&out, 1, Shard::ALL);
    force.force = true;
    let err = run(&config, &data, &force).unwrap_err();
    assert!(err.to_string().contains("--force needs it alone"), "{err}");
}

#[test]
fn a_forced_run_killed_early_leaves_no_stale_tables_and_a_full_disk_keeps_the_old_set() {
    let _serial = serial();
    let (_tmp, config, data, out) = setup();
    run(&config, &data, &opts(&out, 1, Shard::ALL)).unwrap();
    let old = read(&out.join("final.csv"));

    // The disk fills while the merge stages its tables: the previous complete set stays.
    let other = with_epochs(&config, 2);
    let mut force = opts(&out, 1, Shard::ALL);
    force.force = true;
    std::env::set_var(MERGE_FAULT_ENV, "4");
    let mut merge_only = opts(&out, 1, Shard::ALL);
    merge_only.force = false;
    let err = run(&config, &data, &merge_only).unwrap_err();
    std::env::remove_var(MERGE_FAULT_ENV);
    assert!(err.to_string().contains("no space left"), "{err}");
    assert_eq!(read(&out.join("final.csv")), old);
    verify_dir(&out).unwrap();
    assert!(
        fs::read_dir(&out).unwrap().all(|e| !e
            .unwrap()
            .file_name()
            .to_string_lossy()
            .starts_with(".staging")),
        "no staging litter"
    );

    // `--force` with another config, killed after its first cell (the injected crash): the old
    // tables are gone before anything else, so nothing can mix them with the new config.
    std::env::set_var(handprop_runner::run::FAULT_ENV, "0");
    let err = run(&other, &data, &force).unwrap_err();
    std::env::remove_var(handprop_runner::run::FAULT_ENV);
    assert!(matches!(err, RunError::Injected(0)), "{err}");
    for t in ["final.csv", "metrics.csv", "trials.csv"] {
        assert!(!out.join(t).exists(), "{t} of the old config survived --force");
    }
    let err = verify_dir(&out).unwrap_err().to_string();
    assert!(err.contains("run.json") && err.contains("merge"), "{err}");
    // Re-running the same command completes it.
    run(&other, &data, &force).unwrap();
    assert_eq!(verify_dir(&out).unwrap().run.config_hash, other.hash());
}

#[test]
fn an_interrupted_swap_or_an_edited_table_is_detected() {
    let _serial = serial();
    let (_tmp, config, data, out) = setup();
    run(&config, &data, &opts(&out, 1, Shard::ALL)).unwrap();
    let good = read(&out.join("metrics.csv"));
    // As if a merge of other cells had renamed metrics.csv in and died before run.json.
    let cut: String = good.lines().take(5).map(|l| format!("{l}\n")).collect();
    fs::write(out.join("metrics.csv"), cut).unwrap();
    let err = verify_dir(&out).unwrap_err().to_string();
    assert!(err.contains("metrics.csv") && err.contains("manifest"), "{err}");
    // A re-run merges again and the set is whole.
    run(&config, &data, &opts(&out, 1, Shard::ALL)).unwrap();
    assert_eq!(read(&out.join("metrics.csv")), good);
    verify_dir(&out).unwrap();
}

fn damage(path: &Path, how: usize) {
    let text = read(path);
    let lines: Vec<&str> = text.lines().collect();
    let damaged = match how {
        0 => text[..text.len() - 3].to_string(), // cut mid-row
        1 => format!("{}\n", lines[..lines.len() - 1].join("\n")), // cut at a row boundary
        _ => format!("{text}{}\n", lines.last().unwrap()), // a row appended
    };
    fs::write(path, damaged).unwrap();
}

#[test]
fn damaged_cells_are_moved_aside_and_recomputed_to_the_same_bits() {
    let _serial = serial();
    let (_tmp, config, data, out) = setup();
    run(&config, &data, &opts(&out, 1, Shard::ALL)).unwrap();
    let tables: Vec<String> =
        ["final.csv", "metrics.csv", "winners.csv"].iter().map(|t| read(&out.join(t))).collect();
    let dir = ResultsDir::new(&out, config.hash());
    let cells: Vec<_> = (0..4)
        .map(|case| handprop_runner::Cell { trial: 1, experiment: case / 3, case: case % 3 })
        .collect();
    for (how, cell) in cells.iter().take(3).enumerate() {
        damage(&dir.cell_path(cell), how);
    }
    // An accuracy above 1 in a row, written by hand.
    let p = dir.cell_path(&cells[3]);
    let text = read(&p);
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    let mut fields: Vec<String> = lines[1].split(',').map(String::from).collect();
    fields[2] = "1.5".into();
    lines[1] = fields.join(",");
    fs::write(&p, format!("{}\n", lines.join("\n"))).unwrap();

    let s = run(&config, &data, &opts(&out, 1, Shard::ALL)).unwrap();
    assert_eq!(s.computed, 4, "every damaged cell is recomputed");
    let damaged = fs::read_dir(dir.damaged_dir()).unwrap().count();
    assert_eq!(damaged, 4, "kept for inspection");
    let again: Vec<String> =
        ["final.csv", "metrics.csv", "winners.csv"].iter().map(|t| read(&out.join(t))).collect();
    assert_eq!(tables, again);
}

#[test]
fn concurrent_writers_of_one_file_never_collide() {
    let _serial = serial();
    // Shards that are all PID 1 in their own containers once collided on PID-named temp files.
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("config.toml");
    std::thread::scope(|s| {
        for t in 0..8 {
            let path = &path;
            s.spawn(move || {
                for i in 0..50 {
                    handprop_results::write_atomic(path, format!("writer {t} {i}\n").as_bytes())
                        .unwrap();
                }
            });
        }
    });
    assert!(read(&path).starts_with("writer "));
    assert_eq!(fs::read_dir(tmp.path()).unwrap().count(), 1, "no temp litter");
}

fn load_err(dir: &Path, body: &str) -> String {
    let path = dir.join("absurd.toml");
    fs::write(&path, body).unwrap();
    match Config::load(&path) {
        Ok(_) => panic!("accepted:\n{body}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn absurd_configs_are_clear_errors_not_aborts() {
    let _serial = serial();
    let tmp = tempfile::tempdir().unwrap();
    tiny_config(tmp.path()); // writes cases/study.toml
    let base = |training: &str, trial: &str, extra: &str| {
        format!(
            "{extra}case_table = \"cases/study.toml\"\n[data]\nsplit = \"tf1\"\n[training]\n{training}\n\
             seed = 1\n[[trials]]\nlearning_rate = 0.001\n{trial}\n"
        )
    };
    let cases = [
        (
            base("batch = 50\nepochs = 3", "hidden = 2000000000\nexperiments = 1", ""),
            "trials[1].hidden",
        ),
        (base("batch = 50\nepochs = 3", "hidden = 40000\nexperiments = 1", ""), "GiB"),
        (
            base("batch = 50\nepochs = 3", "hidden = 8\nexperiments = 1000000000000000", ""),
            "trials[1].experiments",
        ),
        (
            base("batch = 50\nepochs = 1000000000000000", "hidden = 8\nexperiments = 1", ""),
            "training.epochs",
        ),
        (
            base(
                "batch = 50\nepochs = 3",
                "hidden = 8\nexperiments = 1",
                "only_cases = [12, 12, 3]\n",
            ),
            "listed twice",
        ),
        (base("batch = 50\nepochs = 3", "hidden = 8\nexperiments = 1", "name = \"..\"\n"), "name"),
        (base("batch = 50\nepochs = 3", "hidden = 8\nexperiments = 1", "name = \"a/b\"\n"), "name"),
        (
            base(
                "batch = 50\nepochs = 3\nhidden_layers = 100000",
                "hidden = 8\nexperiments = 1",
                "",
            ),
            "hidden_layers",
        ),
    ];
    for (body, expected) in cases {
        let err = load_err(tmp.path(), &body);
        assert!(err.contains("absurd.toml") && err.contains(expected), "{expected}: {err}");
    }
}

#[test]
fn threads_are_capped_at_the_cells_to_run() {
    let _serial = serial();
    let tmp = tempfile::tempdir().unwrap();
    let mut config = small(&tiny_config(tmp.path()));
    config.trials.truncate(1);
    config.trials[0].experiments = 1;
    let data = synthetic_data(100, 40);
    let out = tmp.path().join("out");
    let s = run(&config, &data, &opts(&out, 1000, Shard::ALL)).unwrap();
    assert_eq!(s.computed, 3);
    let info = verify_dir(&out).unwrap().run;
    assert_eq!(info.invocations[0].threads, 3);
    let err = run(&config, &data, &opts(&out, 100_000, Shard::ALL)).unwrap_err();
    assert!(matches!(err, RunError::Usage(_)), "{err}");
}
