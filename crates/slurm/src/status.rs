//! The state of a job array: per shard, the cells done (from the result files) and the latest
//! Slurm task (from `scontrol -o show job`, which needs no accounting database).

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use handprop_results::{CellId, ResultsDir, RunInfo};

use crate::job::{join_ids, JobRecord};
use crate::script::shell_quote;
use crate::SlurmError;

/// One array task (or a pending range of tasks) as `scontrol -o show job` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskRecord {
    /// The array's job id (`ArrayJobId`).
    pub array_job_id: String,
    /// The task ids this line covers (one, or a pending range).
    pub tasks: Vec<usize>,
    /// `JobState`, e.g. `RUNNING`, `FAILED`.
    pub state: String,
    /// `ExitCode`, e.g. `3:0`.
    pub exit_code: String,
    /// `Restarts`.
    pub restarts: u32,
}

/// Parses Slurm's task-id lists: `3`, `0-3`, `1,3,5-7`, `0-15%4` (the `%` throttle is ignored),
/// `0-7:2` (a step). `None` for anything else.
pub fn parse_task_ids(text: &str) -> Option<Vec<usize>> {
    let text = text.split('%').next()?;
    let mut ids = Vec::new();
    for part in text.split(',').filter(|p| !p.is_empty()) {
        let (range, step) = match part.split_once(':') {
            Some((r, s)) => (r, s.parse::<usize>().ok().filter(|&s| s > 0)?),
            None => (part, 1),
        };
        match range.split_once('-') {
            Some((a, b)) => {
                let (a, b) = (a.parse::<usize>().ok()?, b.parse::<usize>().ok()?);
                ids.extend((a..=b).step_by(step));
            }
            None => ids.push(range.parse().ok()?),
        }
    }
    Some(ids)
}

/// Parses `scontrol -o show job ID` (one line per task or pending range) into task records.
/// Lines of jobs that are not array tasks are skipped.
pub fn parse_scontrol(text: &str) -> Vec<TaskRecord> {
    let mut out = Vec::new();
    for line in text.lines() {
        let mut fields = BTreeMap::new();
        for word in line.split_whitespace() {
            if let Some((k, v)) = word.split_once('=') {
                fields.entry(k).or_insert(v);
            }
        }
        let (Some(job), Some(tasks), Some(state)) =
            (fields.get("ArrayJobId"), fields.get("ArrayTaskId"), fields.get("JobState"))
        else {
            continue;
        };
        let Some(tasks) = parse_task_ids(tasks) else { continue };
        out.push(TaskRecord {
            array_job_id: (*job).to_owned(),
            tasks,
            state: (*state).to_owned(),
            exit_code: fields.get("ExitCode").map(|s| (*s).to_owned()).unwrap_or_default(),
            restarts: fields.get("Restarts").and_then(|r| r.parse().ok()).unwrap_or(0),
        });
    }
    out
}

/// A shard's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ShardState {
    /// Every cell has its result file.
    Done,
    /// A task of it runs (or is completing, configuring, suspended).
    Running,
    /// A task of it waits in the queue.
    Pending,
    /// Its last task ended (failed, cancelled, timed out, out of memory, …) with cells missing,
    /// or it has cells missing and Slurm no longer knows its task: requeue it.
    Failed,
    /// Never submitted.
    NotSubmitted,
}

impl fmt::Display for ShardState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ShardState::Done => "done",
            ShardState::Running => "running",
            ShardState::Pending => "pending",
            ShardState::Failed => "failed",
            ShardState::NotSubmitted => "not submitted",
        })
    }
}

/// One shard in a [`StatusReport`].
#[derive(Debug, Clone, PartialEq)]
pub struct ShardStatus {
    /// K.
    pub shard: usize,
    /// Its cells.
    pub cells: usize,
    /// Its cells with a result file.
    pub done: usize,
    /// The latest Slurm task running it (`JOB_K STATE (exit)`), if Slurm still knows it.
    pub slurm: Option<String>,
    /// The verdict.
    pub state: ShardState,
}

/// The status of a job array's results directory. Its `Display` is the table `handprop slurm
/// status` prints.
#[derive(Debug, Clone, PartialEq)]
pub struct StatusReport {
    /// The results directory.
    pub out: PathBuf,
    /// The job record.
    pub record: JobRecord,
    /// The cells directory that was read: `<out>/cells/<config_hash>/`.
    pub cells_dir: PathBuf,
    /// Every shard.
    pub shards: Vec<ShardStatus>,
    /// Remarks: why Slurm's view is missing, a `run.json` of another config.
    pub notes: Vec<String>,
}

impl StatusReport {
    /// The shards in a state.
    pub fn in_state(&self, state: ShardState) -> Vec<usize> {
        self.shards.iter().filter(|s| s.state == state).map(|s| s.shard).collect()
    }

    /// Whether every cell has its file.
    pub fn complete(&self) -> bool {
        self.shards.iter().all(|s| s.state == ShardState::Done)
    }

    /// The command that submits the failed shards again, if any failed.
    pub fn requeue_command(&self) -> Option<String> {
        let failed = self.in_state(ShardState::Failed);
        (!failed.is_empty()).then(|| {
            format!(
                "sbatch --array={} {}",
                join_ids(&failed),
                shell_quote(&self.record.script.to_string_lossy())
            )
        })
    }

    /// The command that merges the tables once every cell exists (idempotent).
    pub fn merge_command(&self) -> String {
        format!(
            "{} merge --config {} --out {}",
            shell_quote(&self.record.handprop.to_string_lossy()),
            shell_quote(&self.record.config.to_string_lossy()),
            shell_quote(&self.out.to_string_lossy())
        )
    }
}

impl fmt::Display for StatusReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let cells: usize = self.shards.iter().map(|s| s.cells).sum();
        let done: usize = self.shards.iter().map(|s| s.done).sum();
        let jobs = if self.record.job_ids.is_empty() {
            "none".into()
        } else {
            self.record.job_ids.join(", ")
        };
        writeln!(
            f,
            "{}: study {:?}, {} shards, {done}/{cells} cells done; jobs: {jobs}",
            self.out.display(),
            self.record.name,
            self.record.shards,
        )?;
        for note in &self.notes {
            writeln!(f, "note: {note}")?;
        }
        writeln!(f, "{:>5}  {:>11}  {:<28}  state", "shard", "cells done", "slurm task")?;
        for s in &self.shards {
            writeln!(
                f,
                "{:>5}  {:>11}  {:<28}  {}",
                s.shard,
                format!("{}/{}", s.done, s.cells),
                s.slurm.as_deref().unwrap_or("-"),
                s.state
            )?;
        }
        let count = |st| self.in_state(st).len();
        writeln!(
            f,
            "summary: {} done, {} running, {} pending, {} failed, {} not submitted",
            count(ShardState::Done),
            count(ShardState::Running),
            count(ShardState::Pending),
            count(ShardState::Failed),
            count(ShardState::NotSubmitted)
        )?;
        if let Some(cmd) = self.requeue_command() {
            writeln!(f, "requeue the failed shards (only their missing cells run again):")?;
            writeln!(f, "  {cmd}")?;
        }
        if self.complete() {
            writeln!(
                f,
                "all cells done; merge (idempotent; the last shard normally did it already):"
            )?;
            writeln!(f, "  {}", self.merge_command())?;
        }
        Ok(())
    }
}

/// Judges a shard from its cells, the latest Slurm record of its task, and whether the array was
/// ever submitted.
pub fn classify(
    cells: usize,
    done: usize,
    task: Option<&TaskRecord>,
    submitted: bool,
) -> ShardState {
    if done >= cells {
        return ShardState::Done;
    }
    match task.map(|t| t.state.as_str()) {
        Some("PENDING" | "REQUEUED" | "REQUEUE_HOLD" | "REQUEUE_FED" | "RESV_DEL_HOLD") => {
            ShardState::Pending
        }
        Some(
            "RUNNING" | "CONFIGURING" | "COMPLETING" | "SUSPENDED" | "STOPPED" | "RESIZING"
            | "SIGNALING" | "STAGE_OUT",
        ) => ShardState::Running,
        // Ended (any state, COMPLETED included: a task that exited 0 with cells missing did not do
        // its work) or forgotten by Slurm with cells missing.
        Some(_) => ShardState::Failed,
        None if submitted => ShardState::Failed,
        None => ShardState::NotSubmitted,
    }
}

/// Checks `run.json` (written by the runner) against the job record: the same config hash and
/// cell count. A mismatch means another config's run shares the directory.
fn check_run_json(dir: &ResultsDir, record: &JobRecord) -> Result<Option<String>, SlurmError> {
    let path = dir.run_json_path();
    let Some(info) = RunInfo::load(&path)? else { return Ok(None) };
    let cells = record.plan.cells().len();
    Ok(if info.config_hash != record.config_hash {
        Some(format!(
            "{} is of config hash {}, the job array's is {}",
            path.display(),
            info.config_hash,
            record.config_hash
        ))
    } else if info.cells_total != cells {
        Some(format!(
            "{} counts {} cells, the job record {cells}",
            path.display(),
            info.cells_total
        ))
    } else {
        None
    })
}

/// Asks `scontrol -o show job` about each job id; records of later submissions win.
fn slurm_tasks(job_ids: &[String]) -> (BTreeMap<usize, TaskRecord>, Option<String>) {
    let mut latest = BTreeMap::new();
    let mut notes = Vec::new();
    for id in job_ids {
        match Command::new("scontrol").args(["-o", "show", "job", id]).output() {
            Ok(o) if o.status.success() => {
                for rec in parse_scontrol(&String::from_utf8_lossy(&o.stdout)) {
                    for &t in &rec.tasks {
                        latest.insert(t, rec.clone());
                    }
                }
            }
            Ok(o) => notes.push(format!(
                "scontrol knows no job {id} ({}); judged by the result files",
                String::from_utf8_lossy(&o.stderr).trim()
            )),
            Err(e) => {
                notes.push(format!("scontrol unavailable ({e}); judged by the result files only"));
                break;
            }
        }
    }
    (latest, (!notes.is_empty()).then(|| notes.join("; ")))
}

/// The cells with a result file in `dir` (temp files and anything else are ignored); an absent
/// directory has none.
fn present_cells(dir: &Path) -> Result<HashSet<CellId>, SlurmError> {
    let entries = match fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(HashSet::new()),
        Err(e) => return Err(SlurmError::Io { path: dir.to_owned(), error: e }),
    };
    Ok(entries
        .filter_map(|e| e.ok())
        .filter_map(|e| CellId::parse_file_name(&e.file_name().to_string_lossy()))
        .collect())
}

/// `JOB_K STATE (exit)` for the status table; the exit code only once the task has ended badly.
fn describe_task(task: &TaskRecord, shard: usize) -> String {
    let mut d = format!("{}_{} {}", task.array_job_id, shard, task.state);
    let ended = task.state != "PENDING" && task.state != "RUNNING";
    if ended && !task.exit_code.is_empty() && task.exit_code != "0:0" {
        d.push_str(&format!(" ({})", task.exit_code));
    }
    d
}

/// The status of a results directory: per shard, the cells done (from the files) and the latest
/// Slurm task (from `scontrol`, asked only when the array was submitted).
pub fn status(out: &Path) -> Result<StatusReport, SlurmError> {
    let record = JobRecord::load(out)?;
    let dir = ResultsDir::new(out, record.config_hash.clone());
    let run_note = check_run_json(&dir, &record)?;
    let cells_dir = dir.cells_dir();
    let present = present_cells(&cells_dir)?;
    let (tasks, slurm_note) = if record.job_ids.is_empty() {
        (BTreeMap::new(), None)
    } else {
        slurm_tasks(&record.job_ids)
    };
    let n = record.shards.max(1);
    let mut shards: Vec<ShardStatus> = (0..n)
        .map(|k| ShardStatus { shard: k, cells: 0, done: 0, slurm: None, state: ShardState::Done })
        .collect();
    for (i, cell) in record.plan.cells().iter().enumerate() {
        let s = &mut shards[i % n];
        s.cells += 1;
        s.done += usize::from(present.contains(cell));
    }
    for s in &mut shards {
        let task = tasks.get(&s.shard);
        s.state = classify(s.cells, s.done, task, !record.job_ids.is_empty());
        s.slurm = task.map(|t| describe_task(t, s.shard));
    }
    let notes = run_note.into_iter().chain(slurm_note).collect();
    Ok(StatusReport { out: out.to_owned(), record, cells_dir, shards, notes })
}
