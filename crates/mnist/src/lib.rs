//! `handprop-mnist`: loads, verifies and fetches MNIST and Fashion-MNIST ([`DatasetKind`]).
//!
//! - [`idx`]: the IDX parser (gzip detected by its `0x1f 0x8b` magic, or raw), with typed
//!   errors and no panics on bad bytes.
//! - [`FileSpec`]/[`FileSet`]: each file's name and the SHA-256 and size of its **decompressed**
//!   bytes; [`FileSet::canonical`] is MNIST.
//! - [`load`]/[`load_dataset`]: read and verify the four files and return a [`Split`] as
//!   contiguous f32 rows (train, the validation set of the `tf1` split, test).
//! - [`ensure`]/[`ensure_dataset`]/[`fetch_with`]: fill a cache directory from an ordered mirror
//!   list, each file within a deadline ([`FetchOptions`], `HANDPROP_DOWNLOAD_TIMEOUT`), with
//!   progress on a terminal or as log lines, verifying each file before it is renamed into
//!   place, and cleaning up temp files that killed downloads left behind.
//!
//! ```no_run
//! use std::path::Path;
//! use handprop_mnist::{ensure, load, Split, DEFAULT_DIR};
//!
//! let dir = Path::new(DEFAULT_DIR);
//! ensure(dir, &[])?; // fetches only what is missing or bad
//! let mnist = load(dir, Split::Tf1)?;
//! assert_eq!(mnist.train.len, 55_000);
//! for batch in mnist.train.batches(1_000) {
//!     let _x: &[f32] = batch.images; // 1000 × 784, row-major, no copy
//! }
//! # Ok::<(), handprop_mnist::MnistError>(())
//! ```
//!
//! Fashion-MNIST, with an explicit deadline and log-line progress:
//!
//! ```no_run
//! use std::path::Path;
//! use std::time::Duration;
//! use handprop_mnist::{ensure_dataset, load_dataset, DatasetKind, FetchOptions, Progress, Split};
//!
//! let kind: DatasetKind = "fashion-mnist".parse()?;
//! let dir = Path::new(kind.default_dir()); // data/fashion-mnist
//! let options = FetchOptions::new(Duration::from_secs(600), Progress::lines(Duration::from_secs(5)));
//! ensure_dataset(kind, dir, &[], &options)?;
//! let fashion = load_dataset(kind, dir, Split::Tf1)?;
//! let validation = fashion.validation.expect("tf1 has a validation set"); // 5,000 images
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! See `docs/data.md` for the splits, the mirror order, the cache and verification.

mod dataset;
mod error;
mod fetch;
mod files;
pub mod idx;
mod kind;
mod options;
mod progress;
mod temp;

pub use dataset::{
    load, load_dataset, load_with, Batch, Dataset, Mnist, Split, UnknownSplit, PIXEL_SCALE,
    TF1_VALIDATION,
};
pub use error::{MirrorFailure, MnistError};
pub use fetch::{
    ensure, ensure_dataset, fetch, fetch_with, mirror_list, mirror_list_for, mirror_order,
    mirror_order_for, FetchReport, FileOutcome, Mirror, Origin, DEFAULT_DIR, DEFAULT_MIRRORS,
    MIRROR_ENV,
};
pub use files::{FileSet, FileSpec};
pub use idx::{CLASSES, PIXELS};
pub use kind::{DatasetKind, UnknownDataset, DEBIAN_FASHION_MNIST_DIR, FASHION_MNIST_MIRRORS};
pub use options::{parse_timeout, timeout_from, FetchOptions, DEFAULT_TIMEOUT, TIMEOUT_ENV};
pub use progress::{LineSink, Progress, DEFAULT_LINE_INTERVAL};
pub use temp::STALE_AFTER;
