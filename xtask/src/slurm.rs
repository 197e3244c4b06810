//! `cargo xtask slurm` (not built yet).

/// Arguments of `cargo xtask slurm`.
#[derive(clap::Args)]
pub struct Args {}

/// Runs the task.
pub fn run(_args: Args) -> anyhow::Result<()> {
    anyhow::bail!("`cargo xtask slurm` is not built yet")
}
