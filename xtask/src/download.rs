//! `cargo xtask download [--dataset fashion-mnist] [--mirror URL]… [--dir DIR]`: fetch and verify a
//! dataset into its cache
//! (`handprop download`). Mirror order: each `--mirror` as given, then `HANDPROP_MNIST_MIRROR`,
//! then the public mirrors (docs/data.md). Files already in the cache that verify are kept.

use std::path::PathBuf;

use crate::cargo::{absolute, build_release, command, mirror_arg, run_tied};

/// Arguments of `cargo xtask download`.
#[derive(clap::Args)]
pub struct Args {
    /// A mirror to try first: an http(s) URL, a file:// URL or a local directory holding the four
    /// .gz files. Repeatable; tried in order.
    #[arg(long = "mirror", value_name = "URL")]
    pub mirrors: Vec<String>,
    /// The cache directory [default: data/mnist or data/fashion-mnist in the workspace root].
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// `mnist` or `fashion-mnist`.
    #[arg(long, default_value = "mnist")]
    pub dataset: String,
}

/// Runs the task.
pub fn run(args: Args) -> anyhow::Result<()> {
    let bins = build_release()?;
    let mut cmd = command(&bins.handprop);
    cmd.arg("download").arg("--dataset").arg(&args.dataset);
    if let Some(d) = &args.dir {
        cmd.arg("--dir").arg(absolute(d));
    }
    for m in &args.mirrors {
        cmd.arg("--mirror").arg(mirror_arg(m));
    }
    let status = run_tied(&mut cmd)?;
    anyhow::ensure!(status.success(), "the download failed ({status})");
    Ok(())
}
