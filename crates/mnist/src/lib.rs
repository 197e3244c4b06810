//! `handprop-mnist`: loads, verifies and fetches MNIST.
//!
//! - [`idx`]: the IDX parser (gzip detected by its `0x1f 0x8b` magic, or raw), with typed
//!   errors and no panics on bad bytes.
//! - [`FileSpec`]/[`FileSet`]: each file's name and the SHA-256 and size of its **decompressed**
//!   bytes; [`FileSet::canonical`] is MNIST.
//! - [`load`]: reads and verifies the four files and returns a [`Split`] as contiguous f32 rows.
//! - [`ensure`]/[`fetch`]: fill a cache directory from an ordered mirror list, verifying each
//!   file before it is renamed into place.
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
//! See `docs/data.md` for the splits, the mirror order, the cache and verification.

mod dataset;
mod error;
mod fetch;
mod files;
pub mod idx;

pub use dataset::{
    load, load_with, Batch, Dataset, Mnist, Split, UnknownSplit, PIXEL_SCALE, TF1_VALIDATION,
};
pub use error::{MirrorFailure, MnistError};
pub use fetch::{
    ensure, fetch, mirror_list, mirror_order, FetchReport, FileOutcome, Mirror, Origin,
    DEFAULT_DIR, DEFAULT_MIRRORS, MIRROR_ENV,
};
pub use files::{FileSet, FileSpec};
pub use idx::{CLASSES, PIXELS};
