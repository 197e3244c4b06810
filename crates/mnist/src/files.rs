//! The four MNIST files, their expected digests, and verification.
//!
//! Integrity is checked on the **decompressed** IDX bytes (size, then SHA-256), never on the
//! `.gz` bytes: the canonical `.gz` from a public mirror, a re-compressed `.gz` and a raw IDX file
//! with the same contents all pass, and anything else fails.

use std::io::Read;
use std::path::Path;

use flate2::read::MultiGzDecoder;
use sha2::{Digest, Sha256};

use crate::idx::is_gzip;
use crate::MnistError;

/// One dataset file: its name (in the cache and on every mirror) and what its decompressed
/// contents must be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileSpec {
    /// File name, e.g. `train-images-idx3-ubyte.gz`; a mirror serves it at `<mirror>/<name>`.
    pub name: String,
    /// SHA-256 of the decompressed IDX bytes, lowercase hex (compared case-insensitively).
    pub sha256: String,
    /// Size of the decompressed IDX bytes.
    pub bytes: u64,
}

impl FileSpec {
    /// A spec from its three fields.
    pub fn new(name: impl Into<String>, sha256: impl Into<String>, bytes: u64) -> Self {
        Self { name: name.into(), sha256: sha256.into(), bytes }
    }

    /// The spec that exactly `idx` (decompressed IDX bytes) satisfies: for synthetic data in
    /// tests, or for a private dataset in MNIST's format.
    pub fn for_contents(name: impl Into<String>, idx: &[u8]) -> Self {
        Self::new(name, hex::encode(Sha256::digest(idx)), idx.len() as u64)
    }

    /// Checks decompressed IDX bytes against this spec: size first, then SHA-256.
    /// `file` names the file in errors.
    pub fn check_idx(&self, idx: &[u8], file: &Path) -> Result<(), MnistError> {
        if idx.len() as u64 != self.bytes {
            return Err(MnistError::SizeMismatch {
                file: file.to_path_buf(),
                expected: self.bytes,
                found: idx.len() as u64,
            });
        }
        self.check_digest(Sha256::digest(idx).as_slice(), file)
    }

    /// Checks a file's contents as stored (gzip or raw IDX) against this spec, decompressing in
    /// a stream so the 47 MB training images are never held decompressed. Reading stops as soon
    /// as the stream exceeds the expected size.
    pub fn check_contents(&self, contents: &[u8], file: &Path) -> Result<(), MnistError> {
        if !is_gzip(contents) {
            return self.check_idx(contents, file);
        }
        let mut decoder = MultiGzDecoder::new(contents).take(self.bytes.saturating_add(1));
        let mut hasher = Sha256::new();
        let mut buf = vec![0u8; 1 << 16];
        let mut total = 0u64;
        loop {
            let n = match decoder.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(err) if err.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(source) => {
                    return Err(MnistError::Gzip { file: file.to_path_buf(), error: source })
                }
            };
            hasher.update(&buf[..n]);
            total += n as u64;
        }
        if total != self.bytes {
            return Err(MnistError::SizeMismatch {
                file: file.to_path_buf(),
                expected: self.bytes,
                found: total,
            });
        }
        self.check_digest(hasher.finalize().as_slice(), file)
    }

    /// Reads the file at `path` and checks it with [`FileSpec::check_contents`].
    pub fn verify_file(&self, path: &Path) -> Result<(), MnistError> {
        self.check_contents(&crate::idx::read_file(path)?, path)
    }

    fn check_digest(&self, digest: &[u8], file: &Path) -> Result<(), MnistError> {
        let found = hex::encode(digest);
        if !found.eq_ignore_ascii_case(self.sha256.trim()) {
            return Err(MnistError::ChecksumMismatch {
                file: file.to_path_buf(),
                expected: self.sha256.clone(),
                found,
            });
        }
        Ok(())
    }
}

/// The four files of an MNIST-format dataset. [`FileSet::canonical`] (also the `Default`) is
/// MNIST itself; tests and private datasets build their own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileSet {
    /// The 60,000 training images (`train-images-idx3-ubyte.gz`).
    pub train_images: FileSpec,
    /// The 60,000 training labels (`train-labels-idx1-ubyte.gz`).
    pub train_labels: FileSpec,
    /// The 10,000 test images (`t10k-images-idx3-ubyte.gz`).
    pub test_images: FileSpec,
    /// The 10,000 test labels (`t10k-labels-idx1-ubyte.gz`).
    pub test_labels: FileSpec,
}

impl FileSet {
    /// MNIST's four files with the SHA-256 and size of their decompressed canonical IDX bytes
    /// (`docs/data.md` lists them).
    pub fn canonical() -> Self {
        Self {
            train_images: FileSpec::new(
                "train-images-idx3-ubyte.gz",
                "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
                47_040_016,
            ),
            train_labels: FileSpec::new(
                "train-labels-idx1-ubyte.gz",
                "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
                60_008,
            ),
            test_images: FileSpec::new(
                "t10k-images-idx3-ubyte.gz",
                "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
                7_840_016,
            ),
            test_labels: FileSpec::new(
                "t10k-labels-idx1-ubyte.gz",
                "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
                10_008,
            ),
        }
    }

    /// The four specs in a fixed order: train images, train labels, test images, test labels.
    pub fn all(&self) -> [&FileSpec; 4] {
        [&self.train_images, &self.train_labels, &self.test_images, &self.test_labels]
    }
}

impl Default for FileSet {
    fn default() -> Self {
        Self::canonical()
    }
}
