//! Building the workspace's binaries from xtask.

use std::path::PathBuf;
use std::process::Command;

use anyhow::Context;

use crate::project_root;

/// Builds the `handprop` runner in release mode (long runs use release builds) and returns its path.
pub fn build_runner() -> anyhow::Result<PathBuf> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let root = project_root();
    // The first release build takes minutes; say so instead of sitting silent.
    eprintln!("building the handprop runner (release)…");
    let status = Command::new(cargo)
        .current_dir(&root)
        .args(["build", "--release", "--quiet", "-p", "handprop-runner", "--bin", "handprop"])
        .status()
        .context("cannot run cargo")?;
    anyhow::ensure!(status.success(), "building the runner failed ({status})");
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    Ok(target.join("release").join(format!("handprop{}", std::env::consts::EXE_SUFFIX)))
}
