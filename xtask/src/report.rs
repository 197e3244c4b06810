//! `cargo xtask report` (not built yet).

/// Arguments of `cargo xtask report`.
#[derive(clap::Args)]
pub struct Args {}

/// Runs the task.
pub fn run(_args: Args) -> anyhow::Result<()> {
    anyhow::bail!("`cargo xtask report` is not built yet")
}
