//! `cargo xtask bench`: every benchmark in release mode, measured honestly on this CPU.
//!
//! First the layers bench measures this CPU's FMA peak (a 24-accumulator FMA loop on 1 and 2
//! threads, in thread CPU time), then reports the training step as a percentage of it, a whole
//! epoch (55 steps + evaluation of 65,000 rows) at H = 1024 and 824, and two cells on two threads
//! (with the FMA rate of two threads at once, which says whether they had a core each);
//! the tensor bench reports every product of a step (and the element-wise kernels) against the same
//! kind of peak; the optimizer bench times the updates. All timings are thread CPU time, repeated,
//! with min and median, because the machine may be shared (see docs/performance.md).

use std::process::Command;

use anyhow::Context;

use crate::project_root;

/// Arguments of `cargo xtask bench`.
#[derive(clap::Args)]
pub struct Args {
    /// Only these packages (default: layers with --epoch, tensor, optim).
    #[arg(long = "package", short = 'p')]
    packages: Vec<String>,
    /// Skip the whole-epoch and two-cell measurements (a minute or two).
    #[arg(long)]
    no_epoch: bool,
    /// MNIST directory for the zero-pixel step table (default: $HANDPROP_MNIST_DIR; none: skipped).
    #[arg(long)]
    mnist: Option<std::path::PathBuf>,
}

/// Runs the task.
pub fn run(args: Args) -> anyhow::Result<()> {
    let packages = if args.packages.is_empty() {
        vec!["handprop-layers".into(), "handprop-tensor".into(), "handprop-optim".into()]
    } else {
        args.packages
    };
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    for p in packages {
        let mut cmd = Command::new(&cargo);
        cmd.current_dir(project_root()).args(["bench", "-p", &p]);
        if p == "handprop-layers" && !args.no_epoch {
            cmd.args(["--bench", "step", "--", "--epoch"]);
        }
        let status = cmd.status().context("cannot run cargo")?;
        anyhow::ensure!(status.success(), "benchmarks of {p} failed ({status})");
    }
    let mnist = args.mnist.or_else(|| std::env::var_os("HANDPROP_MNIST_DIR").map(Into::into));
    if let Some(dir) = mnist {
        let status = Command::new(&cargo)
            .current_dir(project_root())
            .args(["bench", "-p", "handprop-layers", "--bench", "step", "--", "--zero-skip-steps"])
            .arg(dir)
            .status()
            .context("cannot run cargo")?;
        anyhow::ensure!(status.success(), "the zero-pixel step table failed ({status})");
    }
    Ok(())
}
