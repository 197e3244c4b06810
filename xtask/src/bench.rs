//! `cargo xtask bench` (not built yet).

/// Arguments of `cargo xtask bench`.
#[derive(clap::Args)]
pub struct Args {}

/// Runs the task.
pub fn run(_args: Args) -> anyhow::Result<()> {
    anyhow::bail!("`cargo xtask bench` is not built yet")
}
