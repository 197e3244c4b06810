//! `cargo xtask bench`: every benchmark in release mode (GEMM and element-wise kernels, the
//! training step, the optimizer updates), each printing its own table.

use std::process::Command;

use anyhow::Context;

use crate::project_root;

/// Arguments of `cargo xtask bench`.
#[derive(clap::Args)]
pub struct Args {
    /// Only these packages (default: tensor, layers, optim).
    #[arg(long = "package", short = 'p')]
    packages: Vec<String>,
}

/// Runs the task.
pub fn run(args: Args) -> anyhow::Result<()> {
    let packages = if args.packages.is_empty() {
        vec!["handprop-tensor".into(), "handprop-layers".into(), "handprop-optim".into()]
    } else {
        args.packages
    };
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    for p in packages {
        let status = Command::new(&cargo)
            .current_dir(project_root())
            .args(["bench", "-p", &p])
            .status()
            .context("cannot run cargo")?;
        anyhow::ensure!(status.success(), "benchmarks of {p} failed ({status})");
    }
    Ok(())
}
