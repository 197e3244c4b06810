//! Temp files in the cache directory: created exclusively and locked while a download writes
//! them, deleted on failure, and — when a killed process left one behind — removed on a later
//! run once no process holds it.
//!
//! A download writes into `.<name>.XXXXXX.tmp` next to the cache entry (so the final rename is
//! atomic), created with `O_EXCL` by `tempfile` under a random name, and holds an exclusive
//! advisory lock on it (`flock` on Unix, `LockFileEx` on Windows) until it is renamed or
//! deleted. A failed attempt deletes its file (the handle's drop), but `kill -9` cannot be
//! caught: its file stays. The kernel releases the dead process's lock, though, so a later run
//! can tell an orphan from a live download in another process: it deletes a temp file only if
//! it can take the lock **and** the file has not been written for [`STALE_AFTER`]. The age
//! check closes the window between a writer creating its file and locking it, and protects
//! writers that cannot lock (an older handprop, or a file system without locks) as long as they
//! keep writing.

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use tempfile::NamedTempFile;

/// How long an unlocked temp file must have gone unmodified before it counts as an orphan.
pub const STALE_AFTER: Duration = Duration::from_secs(60);

/// Creates and locks a fresh temp file for `name` in `dir`: `.<name>.XXXXXX.tmp`.
pub(crate) fn create(dir: &Path, name: &str) -> io::Result<NamedTempFile> {
    let prefix = format!(".{name}.");
    let mut builder = tempfile::Builder::new();
    builder.prefix(&prefix).suffix(".tmp");
    // Temp files are private (0600) by default; the cache entry should be an ordinary file
    // readable like any other (0666 minus the umask).
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666));
    let temp = builder.tempfile_in(dir)?;
    match temp.as_file().lock() {
        Ok(()) => Ok(temp),
        // No locks here: the writer stays protected by the age rule while it writes.
        Err(err) if err.kind() == io::ErrorKind::Unsupported => Ok(temp),
        Err(err) => Err(err),
    }
}

/// True when `file_name` is one of our temp files for `name`: `.<name>.<random>.tmp`.
pub(crate) fn is_temp_for(file_name: &str, name: &str) -> bool {
    file_name
        .strip_prefix('.')
        .and_then(|rest| rest.strip_prefix(name))
        .and_then(|rest| rest.strip_prefix('.'))
        .and_then(|rest| rest.strip_suffix(".tmp"))
        .is_some_and(|random| !random.is_empty() && !random.contains(['/', '\\']))
}

/// Deletes the orphaned temp files of `names` in `dir` (see the module docs): those no process
/// holds locked and that have not been modified for `min_age`. Where the platform has no file
/// locks, only files older than `unlocked_min_age` go (a live writer cannot outlive its
/// deadline). Best effort: a file that cannot be inspected or deleted is left alone. Returns
/// the files deleted.
pub(crate) fn clean_orphans(
    dir: &Path,
    names: &[&str],
    min_age: Duration,
    unlocked_min_age: Duration,
) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut removed = Vec::new();
    for entry in entries.flatten() {
        let file_name = entry.file_name();
        let Some(file_name) = file_name.to_str() else { continue };
        if !names.iter().any(|name| is_temp_for(file_name, name)) {
            continue;
        }
        let path = entry.path();
        if remove_if_orphan(&path, min_age, unlocked_min_age) {
            removed.push(path);
        }
    }
    removed.sort();
    removed
}

/// Deletes `path` if it is an orphan; true if it was deleted.
fn remove_if_orphan(path: &Path, min_age: Duration, unlocked_min_age: Duration) -> bool {
    // Age first: a fresh file is never even locked by us, so a writer that has just created
    // its file can always take its own lock.
    let Some(age) = age(path) else { return false };
    if age < min_age {
        return false;
    }
    let Ok(file) = File::open(path) else { return false };
    match file.try_lock() {
        // Nobody holds it: its writer is gone. Delete while holding the lock so no other
        // cleaner races us, then release it by dropping the handle.
        Ok(()) => std::fs::remove_file(path).is_ok(),
        Err(std::fs::TryLockError::WouldBlock) => false,
        Err(std::fs::TryLockError::Error(err)) if err.kind() == io::ErrorKind::Unsupported => {
            age >= unlocked_min_age && std::fs::remove_file(path).is_ok()
        }
        Err(std::fs::TryLockError::Error(_)) => false,
    }
}

/// Time since the file was last modified (zero if its clock is in the future).
fn age(path: &Path) -> Option<Duration> {
    let meta = std::fs::symlink_metadata(path).ok()?;
    if !meta.is_file() {
        return None;
    }
    let modified = meta.modified().ok()?;
    Some(SystemTime::now().duration_since(modified).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temp_names_match_only_their_own_file() {
        let name = "train-images-idx3-ubyte.gz";
        assert!(is_temp_for(".train-images-idx3-ubyte.gz.a1B2c3.tmp", name));
        for other in [
            "train-images-idx3-ubyte.gz",
            ".train-images-idx3-ubyte.gz..tmp",
            ".train-images-idx3-ubyte.gz.a1B2c3",
            ".train-labels-idx1-ubyte.gz.a1B2c3.tmp",
            "x.train-images-idx3-ubyte.gz.a1B2c3.tmp",
        ] {
            assert!(!is_temp_for(other, name), "{other}");
        }
    }

    #[test]
    fn created_files_follow_the_pattern_and_are_locked() {
        let dir = tempfile::tempdir().unwrap();
        let temp = create(dir.path(), "f.gz").unwrap();
        let file_name = temp.path().file_name().unwrap().to_str().unwrap().to_string();
        assert!(is_temp_for(&file_name, "f.gz"), "{file_name}");
        let other = File::open(temp.path()).unwrap();
        assert!(matches!(other.try_lock(), Err(std::fs::TryLockError::WouldBlock)));
        // Not an orphan, however old it looks.
        let gone = clean_orphans(dir.path(), &["f.gz"], Duration::ZERO, Duration::ZERO);
        assert!(gone.is_empty());
        assert!(temp.path().exists());
    }
}
