//! Checking a merged results directory before anyone reads it: the tables, `config.toml` and
//! `run.json` must be one consistent set.

use std::path::Path;

use crate::error::ResultsError;
use crate::layout::{ResultsDir, TABLES};
use crate::run_info::{sha256_hex, RunInfo};
use crate::RESULTS_VERSION;

/// A results directory whose tables match its `run.json`.
#[derive(Debug, Clone)]
pub struct Verified {
    /// Its `run.json`.
    pub run: RunInfo,
}

/// Checks that `root` holds one complete, consistent set of tables: `run.json` exists, was written
/// by a format this code reads, lists every table and `config.toml` in its manifest, every cell is
/// done, and every file still has the checksum it had when merged. The error names the first file
/// that disagrees and says why.
pub fn verify_dir(root: &Path) -> Result<Verified, ResultsError> {
    let dir = ResultsDir::new(root, "");
    let run_path = dir.run_json_path();
    let run = RunInfo::load(&run_path)?.ok_or_else(|| {
        ResultsError::malformed(
            &run_path,
            "missing: the run was never merged, or a merge was interrupted; run `handprop merge` \
             (or re-run the same command) once every cell exists",
        )
    })?;
    if run.results_version > RESULTS_VERSION {
        return Err(ResultsError::malformed(
            &run_path,
            format!(
                "results format {} is newer than this handprop's {RESULTS_VERSION}; update handprop",
                run.results_version
            ),
        ));
    }
    if run.tables.is_empty() {
        return Err(ResultsError::malformed(
            &run_path,
            format!(
                "no table manifest (results format {}; this handprop writes {RESULTS_VERSION}): \
                 merge again with this version (`handprop merge`)",
                run.results_version
            ),
        ));
    }
    if run.cells_done != run.cells_total {
        return Err(ResultsError::malformed(
            &run_path,
            format!("only {} of {} cells were merged", run.cells_done, run.cells_total),
        ));
    }
    for name in TABLES.iter().copied().chain([ResultsDir::CONFIG]) {
        let path = root.join(name);
        let Some(expected) = run.tables.get(name) else {
            return Err(ResultsError::malformed(&run_path, format!("the manifest lacks {name}")));
        };
        let bytes = std::fs::read(&path).map_err(ResultsError::io(&path))?;
        if &sha256_hex(&bytes) != expected {
            return Err(ResultsError::malformed(
                &path,
                format!(
                    "does not match run.json's manifest (config hash {}): it was changed after the \
                     merge, or a run or merge was interrupted; re-run the run's command or \
                     `handprop merge` to rebuild the tables",
                    run.config_hash
                ),
            ));
        }
    }
    Ok(Verified { run })
}
