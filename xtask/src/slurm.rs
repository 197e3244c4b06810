//! `cargo xtask slurm …`: builds `handprop` in release mode and runs `handprop slurm …` with the
//! same arguments (see `handprop slurm --help` and docs/scaling.md). The job array runs that
//! binary, so the compute nodes must see its path (a shared file system).

use std::ffi::OsString;

use crate::cargo::{build_release, command, run_tied};

/// Arguments of `cargo xtask slurm`: everything is passed to `handprop slurm`.
#[derive(clap::Args)]
pub struct Args {
    /// The arguments of `handprop slurm` (e.g. `--config configs/paper.toml --shards 64`).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub args: Vec<OsString>,
}

/// Runs the task.
pub fn run(args: Args) -> anyhow::Result<()> {
    let bins = build_release()?;
    let mut cmd = command(&bins.handprop);
    cmd.arg("slurm").args(&args.args);
    let status = run_tied(&mut cmd)?;
    anyhow::ensure!(status.success(), "handprop slurm failed ({status})");
    Ok(())
}
