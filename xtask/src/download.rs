//! `cargo xtask download [--mirror URL]… [--dir DIR]`: fetch and verify MNIST into the cache.
//!
//! Mirror order: each `--mirror` in the order given, then `HANDPROP_MNIST_MIRROR`, then the public
//! mirrors (see `handprop_mnist::mirror_order` and `docs/data.md`). Files already in the cache that
//! verify are not fetched again.

use std::path::{Path, PathBuf};

use anyhow::Context;
use handprop_mnist::{Mirror, Origin, DEFAULT_DIR, MIRROR_ENV};

/// Arguments of `cargo xtask download`.
#[derive(clap::Args)]
pub struct Args {
    /// A mirror to try before `HANDPROP_MNIST_MIRROR` and the public mirrors: an http(s) URL,
    /// a file:// URL or a local directory holding the four .gz files. Repeatable; tried in order.
    #[arg(long = "mirror", value_name = "URL")]
    pub mirrors: Vec<Mirror>,
    /// The cache directory [default: data/mnist in the workspace root].
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

/// Runs the task: fetches what is missing or bad, then says what came from where.
pub fn run(args: Args) -> anyhow::Result<()> {
    // The default is anchored at the workspace root so the cache is the same wherever the
    // command is run from; an explicit --dir is taken as given (relative to the current dir).
    let dir = args.dir.unwrap_or_else(|| {
        let xtask = Path::new(env!("CARGO_MANIFEST_DIR"));
        xtask.parent().unwrap_or(xtask).join(DEFAULT_DIR)
    });
    let order = handprop_mnist::mirror_list(&args.mirrors)?;
    println!("cache: {}", dir.display());
    println!("mirrors, in order:");
    for mirror in &order {
        let note = match std::env::var(MIRROR_ENV) {
            Ok(value) if Mirror::parse(&value).ok().as_ref() == Some(mirror) => {
                format!("  (from {MIRROR_ENV})")
            }
            _ => String::new(),
        };
        println!("  {mirror}{note}");
    }
    let report = handprop_mnist::ensure(&dir, &args.mirrors)
        .with_context(|| format!("downloading MNIST into {}", dir.display()))?;
    for file in &report.files {
        if let Some(reason) = &file.replaced {
            println!("replaced {}: the cached copy was bad: {reason}", file.name);
        }
        for failure in &file.failures {
            println!("skipped  {} from {failure}", file.name);
        }
        match &file.origin {
            Origin::Cached => println!("cached   {} (verified)", file.name),
            Origin::Fetched { mirror } => {
                println!("fetched  {} from {mirror} (verified)", file.name)
            }
        }
    }
    let fetched = report.fetched();
    println!(
        "{fetched} fetched, {} already cached; all {} files verified in {}",
        report.files.len() - fetched,
        report.files.len(),
        dir.display()
    );
    Ok(())
}
