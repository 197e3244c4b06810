//! The crate's typed errors. Every variant names the file (or mirror) and the fault.

use std::fmt;
use std::path::PathBuf;

use crate::DatasetKind;

/// Everything that can go wrong while reading, verifying or fetching MNIST.
#[derive(Debug, thiserror::Error)]
pub enum MnistError {
    /// A dataset file is not where it should be.
    #[error(
        "{file}: not found; fetch the dataset first (`cargo xtask download` for MNIST, or \
         `handprop_mnist::ensure_dataset`; a local copy works as a mirror, see docs/data.md)"
    )]
    NotFound {
        /// The missing file.
        file: PathBuf,
    },
    /// Reading or writing a file failed.
    #[error("{file}: {error}")]
    Io {
        /// The file being read or written.
        file: PathBuf,
        /// The underlying error (in the message, so not also exposed as `source()`:
        /// reporters that print the chain would repeat it)
        error: std::io::Error,
    },
    /// The file starts with the gzip magic (0x1f 0x8b) but does not decompress.
    #[error("{file}: bad gzip stream: {error}")]
    Gzip {
        /// The file being decompressed.
        file: PathBuf,
        /// The decoder's error (in the message, so not also exposed as `source()`:
        /// reporters that print the chain would repeat it)
        error: std::io::Error,
    },
    /// The IDX magic number is not the one expected for this kind of file.
    #[error(
        "{file}: wrong IDX magic number {found} (0x{found:08x}); expected {expected} for {kind}"
    )]
    WrongMagic {
        /// The file.
        file: PathBuf,
        /// The magic number found in the first four bytes.
        found: u32,
        /// The magic number expected (2051 for images, 2049 for labels).
        expected: u32,
        /// `"images"` or `"labels"`.
        kind: &'static str,
    },
    /// The (decompressed) file is shorter than its header says.
    #[error("{file}: truncated: {what} needs {expected} bytes, the file has {found}")]
    Truncated {
        /// The file.
        file: PathBuf,
        /// What was being read (`"header"` or `"data"`).
        what: &'static str,
        /// Bytes needed.
        expected: u64,
        /// Bytes present.
        found: u64,
    },
    /// The (decompressed) file is longer than its header says.
    #[error("{file}: {extra} unexpected bytes after the {expected} bytes its header describes")]
    TrailingBytes {
        /// The file.
        file: PathBuf,
        /// Bytes the header describes.
        expected: u64,
        /// Bytes beyond that.
        extra: u64,
    },
    /// The image file does not hold 28×28 images.
    #[error("{file}: images are {rows}×{cols}, expected 28×28")]
    NotMnistShape {
        /// The file.
        file: PathBuf,
        /// Rows in the header.
        rows: u32,
        /// Columns in the header.
        cols: u32,
    },
    /// A label is not a digit.
    #[error("{file}: label {label} at index {index} is not a digit 0–9")]
    BadLabel {
        /// The file.
        file: PathBuf,
        /// The position of the label.
        index: usize,
        /// The value found.
        label: u8,
    },
    /// Images and labels disagree in count.
    #[error("{images} holds {n_images} images but {labels} holds {n_labels} labels")]
    CountMismatch {
        /// The image file.
        images: PathBuf,
        /// Its image count.
        n_images: usize,
        /// The label file.
        labels: PathBuf,
        /// Its label count.
        n_labels: usize,
    },
    /// The decompressed size differs from the expected one (checked before hashing, and used to
    /// stop decompressing a file that is too long).
    #[error("{file}: decompressed size is {found} bytes, expected {expected}")]
    SizeMismatch {
        /// The file.
        file: PathBuf,
        /// The expected decompressed size.
        expected: u64,
        /// The size found (for an over-long file, the point at which reading stopped).
        found: u64,
    },
    /// The SHA-256 of the decompressed bytes differs from the expected one.
    #[error("{file}: SHA-256 of the decompressed bytes is {found}, expected {expected}")]
    ChecksumMismatch {
        /// The file.
        file: PathBuf,
        /// The expected digest (lowercase hex).
        expected: String,
        /// The digest found (lowercase hex).
        found: String,
    },
    /// The training file is too small for the requested split.
    #[error("{file}: {found} training images are too few for the tf1 split ({needed} needed)")]
    SplitTooSmall {
        /// The training-image file.
        file: PathBuf,
        /// Images present.
        found: usize,
        /// Images needed (more than the 5,000 validation images).
        needed: usize,
    },
    /// A mirror string could not be understood.
    #[error("mirror {mirror:?}: {reason}")]
    BadMirror {
        /// The string given.
        mirror: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// No mirror delivered a file that verifies.
    #[error("{}", AllMirrorsDisplay { file, failures, dataset: *dataset })]
    AllMirrorsFailed {
        /// The file name that could not be fetched.
        file: String,
        /// Each mirror tried, in order, with why it failed.
        failures: Vec<MirrorFailure>,
        /// The dataset being fetched, when known (it picks the hint about local copies;
        /// `None`, from [`crate::fetch`], gives MNIST's).
        dataset: Option<DatasetKind>,
    },
    /// A download deadline could not be understood.
    #[error(
        "download timeout {}{value:?}: {reason}; expected seconds such as 300, 90s, 2.5m or 1h",
        .variable.map(|name| format!("{name}=")).unwrap_or_default()
    )]
    BadTimeout {
        /// The environment variable it came from, if any.
        variable: Option<&'static str>,
        /// The value given.
        value: String,
        /// What is wrong with it.
        reason: &'static str,
    },
}

/// Why one mirror could not deliver one file.
#[derive(Debug, Clone)]
pub struct MirrorFailure {
    /// The mirror as displayed (URL or directory).
    pub mirror: String,
    /// The reason, as a sentence (HTTP status, transport error, short body, checksum mismatch,
    /// deadline…).
    pub reason: String,
    /// True when the attempt was abandoned at its deadline ([`crate::FetchOptions::timeout`]).
    pub timed_out: bool,
}

impl fmt::Display for MirrorFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.mirror, self.reason)
    }
}

/// Formats the all-mirrors-failed message: one line per mirror, then how to use a local copy.
struct AllMirrorsDisplay<'a> {
    file: &'a str,
    failures: &'a [MirrorFailure],
    dataset: Option<DatasetKind>,
}

impl fmt::Display for AllMirrorsDisplay<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.failures.is_empty() {
            write!(f, "could not fetch {}: no mirrors were given", self.file)?;
        } else {
            write!(f, "could not fetch {} from any mirror:", self.file)?;
            for failure in self.failures {
                write!(f, "\n  - {failure}")?;
            }
        }
        let kind = self.dataset.unwrap_or_default();
        let (what, dir) = match kind {
            DatasetKind::Mnist => ("MNIST", "mnist"),
            DatasetKind::FashionMnist => ("Fashion-MNIST", "fashion-mnist"),
        };
        write!(
            f,
            "\nTo use a local copy of the four {what} files, set {}=/path/to/{dir} \
             or pass `--mirror /path/to/{dir}` (a directory or file:// URL works like a mirror).",
            kind.mirror_env()
        )?;
        if self.failures.iter().any(|failure| failure.timed_out) {
            write!(
                f,
                "\nFor a slow link, raise the per-file deadline, e.g. {}=30m.",
                crate::TIMEOUT_ENV
            )?;
        }
        Ok(())
    }
}
