//! Advisory OS locks (`flock`-style, via `std::fs::File::lock`) on a results directory.
//!
//! Locks, unlike check-then-write, cannot be won by two processes at once, and the OS releases them
//! when a process dies, even by `kill -9`: a crashed run never leaves a stale lock.

use std::fs::{self, File, OpenOptions};
use std::path::{Path, PathBuf};

use crate::error::ResultsError;

/// Shared (many holders, e.g. the shards of one run) or exclusive (one holder).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockKind {
    /// Any number of shared holders, no exclusive one.
    Shared,
    /// One holder, nobody else.
    Exclusive,
}

/// A held lock; released when dropped (or when the process ends, however it ends).
#[derive(Debug)]
pub struct DirLock {
    _file: File,
    path: PathBuf,
}

impl DirLock {
    fn open(path: &Path) -> Result<File, ResultsError> {
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir).map_err(ResultsError::io(dir))?;
        }
        OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(path)
            .map_err(ResultsError::io(path))
    }

    /// Takes the lock at `path` (creating the file) without waiting; [`ResultsError::Busy`] naming
    /// `holder` (what the other process is doing) when another process holds it incompatibly.
    pub fn try_acquire(path: &Path, kind: LockKind, holder: &str) -> Result<DirLock, ResultsError> {
        let file = Self::open(path)?;
        let got = match kind {
            LockKind::Shared => file.try_lock_shared(),
            LockKind::Exclusive => file.try_lock(),
        };
        match got {
            Ok(()) => Ok(DirLock { _file: file, path: path.to_owned() }),
            Err(fs::TryLockError::WouldBlock) => Err(ResultsError::Busy {
                path: path.to_owned(),
                message: format!("{holder}; wait for it to finish, or use another --out"),
            }),
            Err(fs::TryLockError::Error(error)) => {
                Err(ResultsError::Io { path: path.to_owned(), error })
            }
        }
    }

    /// Takes the lock at `path`, waiting as long as another process holds it incompatibly.
    pub fn acquire(path: &Path, kind: LockKind) -> Result<DirLock, ResultsError> {
        let file = Self::open(path)?;
        match kind {
            LockKind::Shared => file.lock_shared(),
            LockKind::Exclusive => file.lock(),
        }
        .map_err(ResultsError::io(path))?;
        Ok(DirLock { _file: file, path: path.to_owned() })
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shared_locks_coexist_and_exclude_an_exclusive_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".lock");
        let a = DirLock::try_acquire(&path, LockKind::Shared, "a").unwrap();
        let _b = DirLock::try_acquire(&path, LockKind::Shared, "b").unwrap();
        let err = DirLock::try_acquire(&path, LockKind::Exclusive, "shard 0/2 runs").unwrap_err();
        assert!(err.to_string().contains("shard 0/2 runs"), "{err}");
        drop(a);
        drop(_b);
        let ex = DirLock::try_acquire(&path, LockKind::Exclusive, "x").unwrap();
        assert!(DirLock::try_acquire(&path, LockKind::Shared, "y").is_err());
        drop(ex);
        DirLock::acquire(&path, LockKind::Exclusive).unwrap();
    }
}
