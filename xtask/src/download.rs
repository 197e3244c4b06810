//! `cargo xtask download` (not built yet).

/// Arguments of `cargo xtask download`.
#[derive(clap::Args)]
pub struct Args {}

/// Runs the task.
pub fn run(_args: Args) -> anyhow::Result<()> {
    anyhow::bail!("`cargo xtask download` is not built yet")
}
