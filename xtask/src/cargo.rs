//! Building the product binaries in release mode and running them as children that die with
//! xtask.
//!
//! xtask links none of the product crates: it builds `handprop` (the runner) and `handprop-report`
//! in one release build — each crate compiled once, with cargo's own progress shown — and runs
//! them. Paths the user gave are made absolute against the directory `cargo xtask` was started in,
//! and the binaries run in the workspace root, so the command works from any directory.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus};

use anyhow::Context;

use crate::project_root;

/// The release binaries xtask runs.
#[derive(Debug, Clone)]
pub struct Bins {
    /// The runner: `handprop run | merge | check | download | slurm`.
    pub handprop: PathBuf,
    /// The report renderer.
    pub report: PathBuf,
}

/// Builds `handprop` and `handprop-report` in release mode (one cargo invocation, cargo's progress
/// on the terminal) and returns their paths.
pub fn build_release() -> anyhow::Result<Bins> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let root = project_root();
    eprintln!("building handprop and handprop-report (release; minutes the first time)");
    let status = Command::new(cargo)
        .current_dir(&root)
        .args(["build", "--release", "-p", "handprop-runner", "--bin", "handprop"])
        .args(["-p", "handprop-report", "--bin", "handprop-report"])
        .status()
        .context("cannot run cargo")?;
    anyhow::ensure!(status.success(), "the release build failed ({status})");
    let bin = |name: &str| release_dir().join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    Ok(Bins { handprop: bin("handprop"), report: bin("handprop-report") })
}

/// Builds one binary of one package in release mode and returns its path.
pub fn build_release_bin(package: &str, bin: &str) -> anyhow::Result<PathBuf> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let root = project_root();
    eprintln!("building {bin} (release)");
    let status = Command::new(cargo)
        .current_dir(&root)
        .args(["build", "--release", "-p", package, "--bin", bin])
        .status()
        .context("cannot run cargo")?;
    anyhow::ensure!(status.success(), "the release build of {bin} failed ({status})");
    Ok(release_dir().join(format!("{bin}{}", std::env::consts::EXE_SUFFIX)))
}

fn release_dir() -> PathBuf {
    let root = project_root();
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    let target = if target.is_absolute() { target } else { root.join(target) };
    target.join("release")
}

/// `path` made absolute against the directory xtask was started in (before it moved to the
/// workspace root).
pub fn absolute(path: &Path) -> PathBuf {
    if path.is_absolute() {
        return path.to_owned();
    }
    std::env::current_dir().map(|d| d.join(path)).unwrap_or_else(|_| path.to_owned())
}

/// A mirror argument: a local path is made absolute, a URL is kept.
pub fn mirror_arg(m: &str) -> OsString {
    if m.contains("://") {
        m.into()
    } else {
        absolute(Path::new(m)).into_os_string()
    }
}

/// A command for `program`, run in the workspace root.
pub fn command(program: &Path) -> Command {
    let mut cmd = Command::new(program);
    cmd.current_dir(project_root());
    cmd
}

/// Runs `cmd` as a child that the kernel kills if xtask dies (even by `kill -9`), so a killed
/// `cargo xtask trials` never leaves an orphaned runner computing and merging.
pub fn run_tied(cmd: &mut Command) -> anyhow::Result<ExitStatus> {
    tie_to_parent(cmd);
    let program = cmd.get_program().to_owned();
    cmd.status().with_context(|| format!("cannot start {}", Path::new(&program).display()))
}

/// Arranges for the child of `cmd` to receive SIGKILL when this process ends (Linux's parent-death
/// signal; elsewhere nothing).
pub fn tie_to_parent(cmd: &mut Command) {
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::process::CommandExt;
        // SAFETY: between fork and exec only async-signal-safe calls (prctl, getppid, _exit).
        let parent = std::process::id() as libc::pid_t;
        unsafe {
            cmd.pre_exec(move || {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                // The parent may have died before prctl took effect.
                if libc::getppid() != parent {
                    libc::_exit(1);
                }
                Ok(())
            });
        }
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    const PIDFILE: &str = "XTASK_TIED_TEST_PIDFILE";

    fn alive(pid: i32) -> bool {
        // A zombie is dead for our purposes; /proc/PID/stat's third field is the state.
        match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
            Ok(stat) => !stat.rsplit(')').next().unwrap_or("").trim_start().starts_with('Z'),
            Err(_) => false,
        }
    }

    /// Plays the parent when re-executed by the test below: starts a tied `sleep`, writes its PID
    /// to the file named by `PIDFILE`, then waits to be killed.
    #[test]
    fn tied_child_role() {
        let Some(pidfile) = std::env::var_os(PIDFILE) else { return };
        let mut cmd = Command::new("sleep");
        cmd.arg("60");
        tie_to_parent(&mut cmd);
        let mut child = cmd.spawn().unwrap();
        std::fs::write(&pidfile, child.id().to_string()).unwrap();
        // Killed before this returns; the wait also reaps the child if the test is run by hand.
        let _ = child.wait();
    }

    #[test]
    fn a_tied_child_dies_with_its_parent() {
        let dir = std::env::temp_dir().join(format!("xtask-tied-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let pidfile = dir.join("child.pid");
        let _ = std::fs::remove_file(&pidfile);
        let exe = std::env::current_exe().unwrap();
        let mut parent = Command::new(exe)
            .args(["--exact", "cargo::tests::tied_child_role", "--test-threads=1"])
            .env(PIDFILE, &pidfile)
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        let child: i32 = loop {
            if let Some(pid) =
                std::fs::read_to_string(&pidfile).ok().and_then(|s| s.trim().parse().ok())
            {
                break pid;
            }
            assert!(Instant::now() < deadline, "the parent never started its child");
            std::thread::sleep(Duration::from_millis(20));
        };
        assert!(alive(child));
        parent.kill().unwrap(); // SIGKILL: no chance to clean up
        parent.wait().unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while alive(child) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        let orphan = alive(child);
        if orphan {
            // SAFETY: killing the PID this test's own child started.
            unsafe { libc::kill(child, libc::SIGKILL) };
        }
        let _ = std::fs::remove_dir_all(&dir);
        assert!(!orphan, "the child outlived its killed parent");
    }
}
