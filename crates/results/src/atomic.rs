//! Atomic writes: a file is either the old complete one or the new complete one, never a mix, and a
//! staging directory for swapping a whole set of tables.
//!
//! Temp files are created exclusively under unique random names (`tempfile`), so two writers never
//! collide — not even shards that are all PID 1 in their own containers. A write killed by
//! `kill -9` leaves its temp file behind; [`clean_stale_temps`] removes such litter once it is
//! older than any live write could be.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::error::ResultsError;

/// The suffix of every temp file and staging directory this crate creates (they also start with a
/// dot, so `ls` and globs over `*.csv` skip them).
pub const TEMP_SUFFIX: &str = ".tmp";

/// Writes `bytes` to `path` atomically: an exclusively created temp file in the same directory,
/// flushed to disk, then renamed over `path`. On any error the temp file is removed.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), ResultsError> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    fs::create_dir_all(dir).map_err(ResultsError::io(dir))?;
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let mut tmp = tempfile::Builder::new()
        .prefix(&format!(".{name}."))
        .suffix(TEMP_SUFFIX)
        .tempfile_in(dir)
        .map_err(ResultsError::io(dir))?;
    tmp.write_all(bytes).map_err(ResultsError::io(tmp.path()))?;
    tmp.as_file().sync_all().map_err(ResultsError::io(tmp.path()))?;
    // On error `persist` hands the temp file back; dropping it removes it.
    tmp.persist(path).map_err(|e| ResultsError::Io { path: path.to_owned(), error: e.error })?;
    Ok(())
}

/// Removes this crate's temp files and staging directories in `dir` (not recursively) whose last
/// change is older than `age`: the litter of writers killed mid-write. A live write takes
/// milliseconds, so any `age` of minutes never touches one. Returns what was removed.
pub fn clean_stale_temps(dir: &Path, age: Duration) -> Vec<PathBuf> {
    let mut removed = Vec::new();
    let Ok(entries) = fs::read_dir(dir) else { return removed };
    let now = SystemTime::now();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !(name.starts_with('.') && name.ends_with(TEMP_SUFFIX)) {
            continue;
        }
        let Ok(meta) = entry.metadata() else { continue };
        let old = meta
            .modified()
            .ok()
            .and_then(|m| now.duration_since(m).ok())
            .is_some_and(|elapsed| elapsed >= age);
        if !old {
            continue;
        }
        let path = entry.path();
        let gone = if meta.is_dir() { fs::remove_dir_all(&path) } else { fs::remove_file(&path) };
        if gone.is_ok() {
            removed.push(path);
        }
    }
    removed
}

/// A staging directory inside a results directory: every new file is written here first (so a full
/// disk fails before anything visible changes), then [`Staging::commit`] renames them into place,
/// `last` at the very end.
#[derive(Debug)]
pub struct Staging {
    dir: tempfile::TempDir,
    target: PathBuf,
    files: Vec<String>,
}

impl Staging {
    /// A new, exclusively created staging directory in `target`.
    pub fn new(target: &Path) -> Result<Staging, ResultsError> {
        fs::create_dir_all(target).map_err(ResultsError::io(target))?;
        let dir = tempfile::Builder::new()
            .prefix(".staging.")
            .suffix(TEMP_SUFFIX)
            .tempdir_in(target)
            .map_err(ResultsError::io(target))?;
        Ok(Staging { dir, target: target.to_owned(), files: Vec::new() })
    }

    /// Writes `name` into the staging directory, flushed to disk.
    pub fn write(&mut self, name: &str, bytes: &[u8]) -> Result<(), ResultsError> {
        let path = self.dir.path().join(name);
        let mut f = fs::File::create(&path).map_err(ResultsError::io(&path))?;
        f.write_all(bytes).map_err(ResultsError::io(&path))?;
        f.sync_all().map_err(ResultsError::io(&path))?;
        self.files.push(name.to_owned());
        Ok(())
    }

    /// Renames every staged file into the target directory, `last` (already staged) after all the
    /// others, then removes the staging directory. Each rename is atomic; a crash between two
    /// leaves a set that `last`'s manifest ([`crate::RunInfo::tables`]) no longer matches, which
    /// readers detect.
    pub fn commit(self, last: &str) -> Result<(), ResultsError> {
        let mut order: Vec<&String> = self.files.iter().filter(|f| *f != last).collect();
        if let Some(l) = self.files.iter().find(|f| *f == last) {
            order.push(l);
        }
        for name in order {
            let from = self.dir.path().join(name);
            let to = self.target.join(name);
            fs::rename(&from, &to).map_err(ResultsError::io(&to))?;
        }
        if let Ok(d) = fs::File::open(&self.target) {
            let _ = d.sync_all();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn atomic_write_replaces_whole_files_and_leaves_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/a.csv");
        write_atomic(&path, b"one").unwrap();
        write_atomic(&path, b"two").unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "two");
        assert_eq!(names(&dir.path().join("sub")), vec!["a.csv"]);
    }

    #[test]
    fn a_failed_write_leaves_the_old_file_and_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.csv");
        write_atomic(&path, b"old").unwrap();
        // Renaming a file over a non-empty directory fails after the temp file was written.
        let blocked = dir.path().join("b");
        fs::create_dir_all(blocked.join("x")).unwrap();
        assert!(write_atomic(&blocked, b"new").is_err());
        assert_eq!(fs::read_to_string(&path).unwrap(), "old");
        assert_eq!(names(dir.path()), vec!["a.csv", "b"]);
    }

    #[test]
    fn stale_temps_are_removed_fresh_ones_kept() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join(".a.csv.XyZ12.tmp"), b"litter").unwrap();
        fs::create_dir(dir.path().join(".staging.abc.tmp")).unwrap();
        fs::write(dir.path().join("keep.csv"), b"data").unwrap();
        assert!(clean_stale_temps(dir.path(), Duration::from_secs(3600)).is_empty());
        let removed = clean_stale_temps(dir.path(), Duration::ZERO);
        assert_eq!(removed.len(), 2);
        assert_eq!(names(dir.path()), vec!["keep.csv"]);
    }

    #[test]
    fn staging_commits_last_file_last_and_cleans_up() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Staging::new(dir.path()).unwrap();
        s.write("run.json", b"{}").unwrap();
        s.write("a.csv", b"a").unwrap();
        s.commit("run.json").unwrap();
        assert_eq!(names(dir.path()), vec!["a.csv", "run.json"]);
    }

    #[test]
    fn a_dropped_staging_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("a.csv"), b"old").unwrap();
        let mut s = Staging::new(dir.path()).unwrap();
        s.write("a.csv", b"new").unwrap();
        drop(s); // e.g. a later table failed to write: the disk is full
        assert_eq!(names(dir.path()), vec!["a.csv"]);
        assert_eq!(fs::read_to_string(dir.path().join("a.csv")).unwrap(), "old");
    }
}
