//! `cargo xtask slurm`: the runner's Slurm tooling (`handprop_runner::slurm`), plus building the
//! `handprop` binary the job array runs.
//!
//! All the logic lives in the runner library, shared with `handprop slurm`; this module only
//! supplies the binary: `--handprop PATH` if given, else `target/release/handprop`, built here.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::Context as _;
use handprop_runner::slurm::{self, SlurmCommand};

/// Arguments of `cargo xtask slurm` (the same as `handprop slurm`).
pub type Args = SlurmCommand;

/// Runs the task.
pub fn run(mut args: Args) -> anyhow::Result<()> {
    if args.action.is_none() && args.args.handprop.is_none() {
        args.args.handprop = Some(build_handprop()?);
    }
    slurm::run(args)
}

/// Builds `handprop` in release mode and returns its path. The compute nodes must see this path
/// (a shared file system); otherwise install the binary where they do and pass `--handprop`.
fn build_handprop() -> anyhow::Result<PathBuf> {
    let root =
        Path::new(env!("CARGO_MANIFEST_DIR")).parent().context("xtask has no parent directory")?;
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    eprintln!("building handprop (cargo build --release -p handprop-runner --bin handprop)");
    let status = Command::new(cargo)
        .current_dir(root)
        .args(["build", "--release", "-p", "handprop-runner", "--bin", "handprop"])
        .status()
        .context("running cargo build")?;
    anyhow::ensure!(status.success(), "cargo build of handprop failed ({status})");
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    let target = if target.is_absolute() { target } else { root.join(target) };
    Ok(target.join("release").join(format!("handprop{}", std::env::consts::EXE_SUFFIX)))
}
