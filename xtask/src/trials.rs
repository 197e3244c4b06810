//! `cargo xtask trials` (not built yet).

/// Arguments of `cargo xtask trials`.
#[derive(clap::Args)]
pub struct Args {}

/// Runs the task.
pub fn run(_args: Args) -> anyhow::Result<()> {
    anyhow::bail!("`cargo xtask trials` is not built yet")
}
