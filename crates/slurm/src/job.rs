//! Generation (the frozen config, the script and the job record) and submission.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use handprop_results::{sha256_hex, write_atomic};
use serde::{Deserialize, Serialize};

use crate::plan::{auto_shards, estimate, Calibration, Plan};
use crate::script::ScriptSpec;
use crate::time::{format_slurm_time, parse_slurm_time};
use crate::{SlurmError, SLURM_DIR, TARGET_SHARD_SECONDS, TIME_MARGIN_SECONDS, TIME_SAFETY_FACTOR};

/// A resolved, self-contained config as the Slurm tasks will run it. The caller resolves and
/// validates its config and describes it here; this crate never parses configs.
#[derive(Debug, Clone, PartialEq)]
pub struct ResolvedConfig {
    /// The run's name.
    pub name: String,
    /// The resolved TOML, loadable again as the same config from any directory (it is frozen
    /// into the results directory, where a relative include would no longer resolve).
    pub toml: String,
    /// The runner's hash of the config, naming `<out>/cells/<hash>/`.
    pub config_hash: String,
    /// The cells.
    pub plan: Plan,
}

impl ResolvedConfig {
    /// SHA-256 of [`ResolvedConfig::toml`], the pin every task checks.
    pub fn sha256(&self) -> String {
        sha256_hex(self.toml.as_bytes())
    }
}

/// How to generate a job array: the results directory, the sizing and Slurm's options.
#[derive(Debug, Clone, PartialEq)]
pub struct GenerateOptions {
    /// The config file the user named (only quoted in the script's header).
    pub source_config: PathBuf,
    /// The results directory (created if missing).
    pub out: PathBuf,
    /// Shards = array tasks; `None` picks shards of about [`TARGET_SHARD_SECONDS`].
    pub shards: Option<usize>,
    /// Slurm partition; `None` for the cluster's default.
    pub partition: Option<String>,
    /// Time limit per task in a Slurm format; `None` for the estimate ×
    /// [`TIME_SAFETY_FACTOR`] + [`TIME_MARGIN_SECONDS`].
    pub time: Option<String>,
    /// CPUs per task (the runner's threads).
    pub cpus_per_task: u32,
    /// Memory per task, Slurm syntax.
    pub mem: String,
    /// The measured speed for the estimates.
    pub calibration: Calibration,
    /// The dataset cache directory the tasks read (made absolute).
    pub data_dir: PathBuf,
    /// Extra `#SBATCH` options.
    pub sbatch_args: Vec<String>,
    /// The `handprop` binary the tasks run (must exist; made absolute).
    pub handprop: PathBuf,
    /// Replace a frozen config of an earlier generation that differs from this one.
    pub force: bool,
}

/// The job record `<out>/slurm/job.json`: what [`crate::status`] needs without the config.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobRecord {
    /// The handprop version that generated the script.
    pub handprop_version: String,
    /// The run's name.
    pub name: String,
    /// The frozen config.
    pub config: PathBuf,
    /// Its SHA-256.
    pub config_sha256: String,
    /// The runner's config hash: the cells live in `<out>/cells/<config_hash>/`.
    pub config_hash: String,
    /// Shards = array tasks.
    pub shards: usize,
    /// The sbatch script.
    pub script: PathBuf,
    /// The `handprop` binary.
    pub handprop: PathBuf,
    /// The cells.
    pub plan: Plan,
    /// Job ids of every submission (the array itself, then requeues), oldest first.
    #[serde(default)]
    pub job_ids: Vec<String>,
}

impl JobRecord {
    /// The record's path inside a results directory.
    pub fn path(out: &Path) -> PathBuf {
        out.join(SLURM_DIR).join("job.json")
    }

    /// Reads the record of a results directory.
    pub fn load(out: &Path) -> Result<JobRecord, SlurmError> {
        let path = Self::path(out);
        let text = match fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(SlurmError::NoJobRecord(out.to_owned()))
            }
            Err(e) => return Err(SlurmError::Io { path, error: e }),
        };
        serde_json::from_str(&text)
            .map_err(|e| SlurmError::Malformed { path, message: e.to_string() })
    }

    /// Writes the record atomically.
    pub fn save(&self, out: &Path) -> Result<(), SlurmError> {
        let mut json = serde_json::to_string_pretty(self).expect("a job record always serialises");
        json.push('\n');
        Ok(write_atomic(&Self::path(out), json.as_bytes())?)
    }
}

/// What [`generate`] wrote.
#[derive(Debug, Clone)]
pub struct Generated {
    /// The script's contents and parameters.
    pub spec: ScriptSpec,
    /// The job record.
    pub record: JobRecord,
}

/// The number of shards: the one asked for, checked, or the automatic choice.
fn choose_shards(config: &ResolvedConfig, opts: &GenerateOptions) -> Result<usize, SlurmError> {
    let cells = config.plan.cells().len();
    match opts.shards {
        _ if cells == 0 => Err(SlurmError::NoCells),
        Some(0) => Err(SlurmError::NoShards),
        Some(n) if n > cells => Err(SlurmError::TooManyShards { shards: n, cells }),
        Some(n) => Ok(n),
        None => Ok(auto_shards(
            &config.plan,
            opts.cpus_per_task,
            &opts.calibration,
            TARGET_SHARD_SECONDS,
        )),
    }
}

/// The time limit: the one asked for, checked, or the estimate with a margin.
fn choose_time(
    config: &ResolvedConfig,
    opts: &GenerateOptions,
    shards: usize,
) -> Result<String, SlurmError> {
    match &opts.time {
        Some(t) => parse_slurm_time(t).map(|_| t.clone()),
        None => {
            let est = estimate(&config.plan, shards, opts.cpus_per_task, &opts.calibration);
            let secs = est.max_shard_wall_seconds * TIME_SAFETY_FACTOR + TIME_MARGIN_SECONDS;
            Ok(format_slurm_time(secs))
        }
    }
}

/// Writes the frozen config `<out>/slurm/config.toml` unless another pin is there (then only
/// with `force`); returns its path.
fn freeze(config: &ResolvedConfig, slurm_dir: &Path, force: bool) -> Result<PathBuf, SlurmError> {
    let path = slurm_dir.join("config.toml");
    let expected = config.sha256();
    match fs::read(&path) {
        Ok(existing) => {
            let found = sha256_hex(&existing);
            if found != expected && !force {
                return Err(SlurmError::PinnedElsewhere { path, found, expected });
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(SlurmError::Io { path, error: e }),
    }
    write_atomic(&path, config.toml.as_bytes())?;
    Ok(path)
}

/// Writes the frozen config, the sbatch script and the job record into `<out>/slurm/`, and
/// creates the log directory. Runs no work and submits nothing. Job ids recorded by an earlier
/// generation of the same pin and sharding are kept (the status still needs them).
pub fn generate(config: &ResolvedConfig, opts: &GenerateOptions) -> Result<Generated, SlurmError> {
    let shards = choose_shards(config, opts)?;
    let time = choose_time(config, opts, shards)?;
    let handprop = fs::canonicalize(&opts.handprop)
        .map_err(|error| SlurmError::NoHandprop { path: opts.handprop.clone(), error })?;
    let data_dir = std::path::absolute(&opts.data_dir).map_err(SlurmError::io(&opts.data_dir))?;
    let logs = opts.out.join(SLURM_DIR).join("logs");
    fs::create_dir_all(&logs).map_err(SlurmError::io(&logs))?;
    // Absolute paths: the tasks start in whatever directory sbatch was called from.
    let out = fs::canonicalize(&opts.out).map_err(SlurmError::io(&opts.out))?;
    let frozen = freeze(config, &out.join(SLURM_DIR), opts.force)?;
    let sha = config.sha256();
    let spec = ScriptSpec {
        name: config.name.clone(),
        source_config: opts.source_config.clone(),
        config: frozen.clone(),
        config_sha256: sha.clone(),
        out: out.clone(),
        handprop: handprop.clone(),
        data_dir,
        shards,
        partition: opts.partition.clone(),
        time,
        cpus_per_task: opts.cpus_per_task,
        mem: opts.mem.clone(),
        sbatch_args: opts.sbatch_args.clone(),
        plan: config.plan.clone(),
        calibration: opts.calibration,
    };
    let script = spec.script_path();
    write_atomic(&script, spec.render().as_bytes())?;
    let job_ids = match JobRecord::load(&out) {
        Ok(r) if r.config_sha256 == sha && r.shards == shards => r.job_ids,
        _ => Vec::new(),
    };
    let record = JobRecord {
        handprop_version: env!("CARGO_PKG_VERSION").to_owned(),
        name: config.name.clone(),
        config: frozen,
        config_sha256: sha,
        config_hash: config.config_hash.clone(),
        shards,
        script,
        handprop,
        plan: config.plan.clone(),
        job_ids,
    };
    record.save(&out)?;
    Ok(Generated { spec, record })
}

/// Parses `sbatch --parsable` output (`JOBID` or `JOBID;CLUSTER`).
pub fn parse_sbatch_parsable(stdout: &str) -> Result<String, SlurmError> {
    let line = stdout.lines().map(str::trim).rfind(|l| !l.is_empty()).unwrap_or("");
    let id = line.split(';').next().unwrap_or("");
    if !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()) {
        Ok(id.to_owned())
    } else {
        Err(SlurmError::BadJobId(stdout.to_owned()))
    }
}

/// Runs `sbatch --parsable [extra...] SCRIPT` and returns the job id.
pub fn sbatch(script: &Path, extra: &[String]) -> Result<String, SlurmError> {
    let output = Command::new("sbatch")
        .arg("--parsable")
        .args(extra)
        .arg(script)
        .output()
        .map_err(|error| SlurmError::Spawn { program: "sbatch", error })?;
    if !output.status.success() {
        return Err(SlurmError::Sbatch {
            script: script.to_owned(),
            status: output.status.to_string(),
            stderr: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
        });
    }
    parse_sbatch_parsable(&String::from_utf8_lossy(&output.stdout))
}

/// Submits the whole array of a results directory and records the job id. `extra` options go to
/// sbatch before the script (they override the script's `#SBATCH` lines), e.g.
/// `--export=ALL,VAR=value`.
pub fn submit(out: &Path, extra: &[String]) -> Result<String, SlurmError> {
    let mut record = JobRecord::load(out)?;
    let id = sbatch(&record.script, extra)?;
    record.job_ids.push(id.clone());
    record.save(out)?;
    Ok(id)
}

/// Submits the listed shards again (`sbatch --array=LIST SCRIPT`) and records the job id. The
/// runner skips the shards' existing cells, so only the missing ones run.
pub fn requeue(out: &Path, shards: &[usize]) -> Result<String, SlurmError> {
    if shards.is_empty() {
        return Err(SlurmError::NothingToRequeue);
    }
    let mut record = JobRecord::load(out)?;
    let id = sbatch(&record.script, &[format!("--array={}", join_ids(shards))])?;
    record.job_ids.push(id.clone());
    record.save(out)?;
    Ok(id)
}

/// `1,3,5`: a Slurm task-id list.
pub fn join_ids(ids: &[usize]) -> String {
    ids.iter().map(|i| i.to_string()).collect::<Vec<_>>().join(",")
}
