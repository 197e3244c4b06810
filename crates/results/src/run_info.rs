//! `run.json`: what produced the tables (versions, config hash, the kernel), the history of every
//! invocation that worked on the directory, and the manifest that ties the tables together.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::ResultsError;

/// One invocation of the runner on a results directory (a shard's run, a no-op re-run, a merge).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Invocation {
    /// `run` or `merge`.
    pub command: String,
    /// When it started, RFC 3339 UTC (`2026-12-02T04:05:06Z`).
    pub started: String,
    /// The shard it ran (`K/N`), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<String>,
    /// Worker threads.
    pub threads: usize,
    /// Cells it computed (0 for a merge or a re-run that found everything done).
    pub cells_computed: usize,
    /// Its wall time in seconds.
    pub wall_seconds: f64,
    /// Its CPU time (user + system, every thread) in seconds.
    pub cpu_seconds: f64,
}

impl Invocation {
    /// The RFC 3339 form of `t`, for [`Invocation::started`].
    pub fn timestamp(t: SystemTime) -> String {
        humantime::format_rfc3339_seconds(t).to_string()
    }
}

/// `run.json`. Fields added after the first format are optional when read, so older files load.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunInfo {
    /// [`crate::RESULTS_VERSION`] of the code that merged.
    #[serde(default)]
    pub results_version: u32,
    /// handprop's version.
    pub handprop_version: String,
    /// The config's name.
    pub config_name: String,
    /// The resolved config's hash (names `cells/<hash>/`).
    pub config_hash: String,
    /// Cells in the run.
    pub cells_total: usize,
    /// Cells with results.
    pub cells_done: usize,
    /// Epochs per cell.
    pub epochs: usize,
    /// The sum of every cell's epoch wall times: the run's compute in core-seconds, whatever the
    /// sharding, and whichever invocations computed the cells.
    #[serde(default, alias = "cpu_seconds")]
    pub cell_seconds: f64,
    /// The compute kernel that ran (its name and parameters), as the runner reported it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kernel: Option<serde_json::Value>,
    /// Every invocation on this directory since it was created (or last `--force`d), oldest first.
    #[serde(default)]
    pub invocations: Vec<Invocation>,
    /// The manifest: SHA-256 of `config.toml` and of every merged table, as merged. A file that no
    /// longer matches was changed after the merge, or the merge was interrupted.
    #[serde(default)]
    pub tables: BTreeMap<String, String>,
}

impl RunInfo {
    /// Reads `run.json`; `Ok(None)` when there is none.
    pub fn load(path: &Path) -> Result<Option<RunInfo>, ResultsError> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(ResultsError::Io { path: path.to_owned(), error: e }),
        };
        serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| ResultsError::malformed(path, e.to_string()))
    }

    /// The JSON text.
    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).expect("plain data serialises");
        s.push('\n');
        s
    }

    /// Total wall and CPU seconds over every invocation.
    pub fn totals(&self) -> (f64, f64) {
        self.invocations
            .iter()
            .fold((0.0, 0.0), |(w, c), i| (w + i.wall_seconds, c + i.cpu_seconds))
    }
}

/// The SHA-256 of `bytes` in hex, as [`RunInfo::tables`] records it.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_format_files_still_load() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run.json");
        std::fs::write(
            &path,
            r#"{"handprop_version":"0.1.0","config_name":"q","config_hash":"ab","cells_total":2,
               "cells_done":2,"epochs":3,"wall_seconds":1.5,"cpu_seconds":9.0,"threads":2}"#,
        )
        .unwrap();
        let info = RunInfo::load(&path).unwrap().unwrap();
        assert_eq!(info.cell_seconds, 9.0);
        assert!(info.invocations.is_empty() && info.tables.is_empty());
        assert_eq!(RunInfo::load(&dir.path().join("none.json")).unwrap(), None);
        std::fs::write(&path, "{").unwrap();
        assert!(RunInfo::load(&path).unwrap_err().to_string().contains("run.json"));
    }

    #[test]
    fn timestamps_are_rfc3339() {
        let t = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(86_400 + 61);
        assert_eq!(Invocation::timestamp(t), "1970-01-02T00:01:01Z");
    }
}
