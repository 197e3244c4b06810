//! Generation: the frozen config, the script, the job record, and the checks before anything is
//! written; sbatch's output.

mod common;

use std::fs;

use common::{calibration, options, plan, tiny};
use handprop_results::sha256_hex;
use handprop_slurm::{
    estimate, generate, parse_sbatch_parsable, parse_slurm_time, shell_quote, JobRecord, Plan,
    ScriptSpec, SlurmError, TIME_MARGIN_SECONDS, TIME_SAFETY_FACTOR,
};

#[test]
fn the_script_runs_one_shard_per_task_with_the_pinned_config() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("results dir");
    let mut o = options(&out, 2);
    o.partition = Some("short".into());
    o.time = Some("0-01:00:00".into());
    o.sbatch_args = vec!["--account=proj".into()];
    let g = generate(&tiny(), &o).unwrap();
    let out = fs::canonicalize(&out).unwrap();
    assert_eq!(g.spec.out, out);
    let script = fs::read_to_string(out.join("slurm/tiny.sbatch")).unwrap();
    assert_eq!(script, g.spec.render());
    let frozen = fs::read(out.join("slurm/config.toml")).unwrap();
    assert_eq!(frozen, tiny().toml.as_bytes());
    let sha = sha256_hex(&frozen);
    for line in [
        "#SBATCH --array=0-1".to_string(),
        "#SBATCH --job-name=handprop-tiny".into(),
        format!("#SBATCH --output={}/slurm/logs/%A_%a.log", out.display()),
        "#SBATCH --open-mode=append".into(),
        "#SBATCH --cpus-per-task=1".into(),
        "#SBATCH --mem=512M".into(),
        "#SBATCH --time=0-01:00:00".into(),
        "#SBATCH --partition=short".into(),
        "#SBATCH --account=proj".into(),
        format!("CONFIG_SHA256={sha}"),
        "SHARDS=2".into(),
        "# cells:   6 = 3 experiments in 2 trial(s) x 2 case(s), 2 epochs each".into(),
        "# shards:  2 (array 0-1), 3 cells per shard".into(),
        "#          at 8 core-seconds per epoch of one cell at H=1024 (--seconds-per-epoch)".into(),
    ] {
        assert!(script.lines().any(|l| l == line), "missing {line:?} in\n{script}");
    }
    // The path with a space is quoted for bash.
    assert!(script.contains(&format!("OUT='{}'", out.display())), "{script}");
    assert!(script.contains(
        r#"exec "$HANDPROP" run --config "$CONFIG" --shard "$K/$SHARDS" --out "$OUT" --data-dir "$DATA_DIR" --threads "${SLURM_CPUS_PER_TASK:-1}""#
    ), "{script}");
    assert!(script.contains("(sha256 $actual, expected $CONFIG_SHA256); refusing to run"));
    // The data directory is absolute: tasks start wherever sbatch was called.
    let data_dir = std::env::current_dir().unwrap().join("data/mnist");
    assert!(script
        .lines()
        .any(|l| l == format!("DATA_DIR={}", shell_quote(&data_dir.to_string_lossy()))));
    // Tiny cells: the sizing warning is in the header, before the first directive.
    let warn = script.lines().position(|l| l.starts_with("# WARNING: shards are short")).unwrap();
    let first_sbatch = script.lines().position(|l| l.starts_with("#SBATCH")).unwrap();
    assert!(warn < first_sbatch);
    // Directives end before the first shell line, or sbatch ignores them.
    let set = script.lines().position(|l| l == "set -euo pipefail").unwrap();
    assert!(script.lines().skip(set).all(|l| !l.starts_with("#SBATCH")));
    assert!(out.join("slurm/logs").is_dir());
    let rec = JobRecord::load(&out).unwrap();
    assert_eq!(rec, g.record);
    assert_eq!((rec.shards, rec.config_sha256.as_str(), rec.job_ids.len()), (2, sha.as_str(), 0));
    assert_eq!(rec.config_hash, "0123abcd");
}

#[test]
fn long_shards_do_not_warn_and_a_short_time_limit_does() {
    let spec = ScriptSpec {
        name: "paper".into(),
        source_config: "configs/paper.toml".into(),
        config: "/r/slurm/config.toml".into(),
        config_sha256: "00".into(),
        out: "/r".into(),
        handprop: "/bin/handprop".into(),
        data_dir: "/data/mnist".into(),
        shards: 4,
        partition: None,
        time: "3-00:00:00".into(),
        cpus_per_task: 1,
        mem: "1G".into(),
        sbatch_args: vec![],
        plan: Plan { epochs: 801, ..plan() },
        calibration: calibration(45.0),
    };
    assert!(spec.warnings().is_empty(), "{:?}", spec.warnings());
    let script = spec.render();
    assert!(!script.contains("WARNING") && !script.contains("--partition"));
    // A newline in a value cannot end a directive and start a shell line.
    let sneaky = ScriptSpec { mem: "1G\nrm -rf /".into(), ..spec.clone() };
    assert!(sneaky.render().lines().any(|l| l == "#SBATCH --mem=1G rm -rf /"));
    let short = ScriptSpec { time: "10".into(), ..spec };
    let w = short.warnings();
    assert_eq!(w.len(), 1);
    assert!(w[0].starts_with("--time 10 is below the estimated"), "{w:?}");
}

#[test]
fn default_time_covers_the_estimate_with_a_margin() {
    let dir = tempfile::tempdir().unwrap();
    let mut o = options(&dir.path().join("out"), 3);
    o.calibration = calibration(1.0e6);
    let g = generate(&tiny(), &o).unwrap();
    let est = estimate(&g.spec.plan, 3, 1, &o.calibration);
    let limit = parse_slurm_time(&g.spec.time).unwrap() as f64;
    let want = est.max_shard_wall_seconds * TIME_SAFETY_FACTOR + TIME_MARGIN_SECONDS;
    assert!(limit >= want && limit < want + 60.0, "{limit} for {want}");
}

#[test]
fn generation_rejects_bad_input_before_writing() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let err = generate(&tiny(), &options(&out, 0)).unwrap_err();
    assert!(matches!(err, SlurmError::NoShards) && err.is_usage(), "{err}");
    let err = generate(&tiny(), &options(&out, 7)).unwrap_err();
    assert!(matches!(err, SlurmError::TooManyShards { shards: 7, cells: 6 }), "{err}");
    let mut o = options(&out, 2);
    o.time = Some("1h".into());
    assert!(matches!(generate(&tiny(), &o), Err(SlurmError::BadTime(t)) if t == "1h"));
    let mut o = options(&out, 2);
    o.handprop = dir.path().join("no-such-handprop");
    let err = generate(&tiny(), &o).unwrap_err();
    assert!(matches!(err, SlurmError::NoHandprop { .. }), "{err}");
    assert!(err.to_string().contains("no-such-handprop"), "{err}");
    let mut empty = tiny();
    empty.plan.cases = 0;
    assert!(matches!(generate(&empty, &options(&out, 1)), Err(SlurmError::NoCells)));
    assert!(!out.exists(), "nothing is written for bad input");
}

#[test]
fn a_different_pin_needs_force_and_job_ids_of_the_same_pin_survive() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    generate(&tiny(), &options(&out, 2)).unwrap();
    // A recorded submission survives regenerating the same pin.
    let mut rec = JobRecord::load(&out).unwrap();
    rec.job_ids.push("41".into());
    rec.save(&out).unwrap();
    generate(&tiny(), &options(&out, 2)).unwrap();
    assert_eq!(JobRecord::load(&out).unwrap().job_ids, ["41"]);
    // An edited config cannot replace the pin of a possibly running array.
    let mut edited = tiny();
    edited.toml = edited.toml.replace("epochs = 2", "epochs = 3");
    edited.plan.epochs = 3;
    let err = generate(&edited, &options(&out, 2)).unwrap_err();
    match &err {
        SlurmError::PinnedElsewhere { path, found, expected } => {
            assert!(path.ends_with("slurm/config.toml"));
            assert_eq!((found, expected), (&tiny().sha256(), &edited.sha256()));
        }
        other => panic!("{other}"),
    }
    assert_eq!(fs::read_to_string(out.join("slurm/config.toml")).unwrap(), tiny().toml);
    let mut forced = options(&out, 2);
    forced.force = true;
    let g = generate(&edited, &forced).unwrap();
    assert_eq!(g.record.plan.epochs, 3);
    assert!(g.record.job_ids.is_empty(), "job ids of another pin are dropped");
}

#[test]
fn job_records_name_their_file_when_missing_or_malformed() {
    let dir = tempfile::tempdir().unwrap();
    let err = JobRecord::load(dir.path()).unwrap_err();
    assert!(matches!(err, SlurmError::NoJobRecord(_)) && err.is_usage(), "{err}");
    fs::create_dir_all(dir.path().join("slurm")).unwrap();
    fs::write(dir.path().join("slurm/job.json"), "{").unwrap();
    let err = JobRecord::load(dir.path()).unwrap_err();
    assert!(matches!(err, SlurmError::Malformed { .. }), "{err}");
    assert!(err.to_string().contains("job.json"), "{err}");
}

#[test]
fn sbatch_parsable_output() {
    assert_eq!(parse_sbatch_parsable("123\n").unwrap(), "123");
    assert_eq!(parse_sbatch_parsable("123;cluster\n").unwrap(), "123");
    assert!(matches!(
        parse_sbatch_parsable("Submitted batch job 12"),
        Err(SlurmError::BadJobId(_))
    ));
    assert!(parse_sbatch_parsable("").is_err());
}

#[test]
fn shell_quoting() {
    assert_eq!(shell_quote("/a/b-c_d.e"), "/a/b-c_d.e");
    assert_eq!(shell_quote("a b"), "'a b'");
    assert_eq!(shell_quote("it's"), r"'it'\''s'");
    assert_eq!(shell_quote(""), "''");
}
