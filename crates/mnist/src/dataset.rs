//! In-memory datasets and the two splits.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::fetch::locate;
use crate::files::{FileSet, FileSpec};
use crate::idx::{self, CLASSES, PIXELS};
use crate::{DatasetKind, MnistError};

/// Size of TF1's validation split: the **first** 5,000 images of the training file.
pub const TF1_VALIDATION: usize = 5_000;

/// The factor pixels are scaled by, `fl32(1/255)`.
///
/// TF1's `read_data_sets` computed `numpy.multiply(images.astype(float32), 1.0 / 255.0)`, which
/// NumPy evaluates in f32 with the scalar rounded to f32: each pixel is `fl32(x · fl32(1/255))`.
/// That is not always the correctly rounded `x / 255` (126 of the 256 byte values differ by one
/// ulp), so the loader multiplies, as TF1 did, to give bit-identical inputs.
pub const PIXEL_SCALE: f32 = (1.0f64 / 255.0) as f32;

/// Which examples go where.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Split {
    /// TF1's `read_data_sets`: train = the **last** 55,000 images of the training file,
    /// validation = its **first** 5,000, test = the 10,000 test images. The study's split.
    #[default]
    Tf1,
    /// All 60,000 training images for training, the 10,000 test images for test, no validation.
    Full,
}

impl Split {
    /// The name used in configs and on the command line (`tf1` or `full`).
    pub fn as_str(self) -> &'static str {
        match self {
            Split::Tf1 => "tf1",
            Split::Full => "full",
        }
    }
}

impl fmt::Display for Split {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A split name that is neither `tf1` nor `full`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown split {0:?}; expected \"tf1\" or \"full\"")]
pub struct UnknownSplit(pub String);

impl FromStr for Split {
    type Err = UnknownSplit;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "tf1" => Ok(Split::Tf1),
            "full" => Ok(Split::Full),
            other => Err(UnknownSplit(other.to_string())),
        }
    }
}

/// `len` examples held contiguously, row-major, so a batch is a zero-copy slice of each field.
///
/// Invariants: `images.len() == len · 784`, `labels.len() == len`, `one_hot.len() == len · 10`.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    /// Pixels as f32 in [0, 1] (`byte · fl32(1/255)`, see [`PIXEL_SCALE`]), one row of 784 per
    /// image.
    pub images: Vec<f32>,
    /// Labels, digits 0–9.
    pub labels: Vec<u8>,
    /// One-hot labels, one row of 10 per image: `one_hot[i·10 + labels[i]] = 1`, the rest 0.
    pub one_hot: Vec<f32>,
    /// Number of examples.
    pub len: usize,
}

/// A contiguous run of examples, borrowed from a [`Dataset`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Batch<'a> {
    /// `len · 784` pixels, row-major.
    pub images: &'a [f32],
    /// `len` labels.
    pub labels: &'a [u8],
    /// `len · 10` one-hot values, row-major.
    pub one_hot: &'a [f32],
    /// Number of examples.
    pub len: usize,
}

impl Dataset {
    /// Builds a dataset from IDX pixel bytes (`labels.len() · 784` of them) and labels, which
    /// the parsers have already checked.
    fn from_bytes(pixels: &[u8], labels: &[u8]) -> Self {
        debug_assert_eq!(pixels.len(), labels.len() * PIXELS);
        let images = pixels.iter().map(|&p| p as f32 * PIXEL_SCALE).collect();
        let mut one_hot = vec![0.0f32; labels.len() * CLASSES];
        for (row, &label) in one_hot.chunks_exact_mut(CLASSES).zip(labels) {
            row[label as usize] = 1.0;
        }
        Self { images, labels: labels.to_vec(), one_hot, len: labels.len() }
    }

    /// True when the dataset holds no examples.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The 784 pixels of example `i`.
    ///
    /// # Panics
    /// If `i >= len`, like slice indexing.
    pub fn image(&self, i: usize) -> &[f32] {
        &self.images[i * PIXELS..(i + 1) * PIXELS]
    }

    /// Examples `start .. start + len` as zero-copy slices.
    ///
    /// # Panics
    /// If the range exceeds the dataset, like slice indexing.
    pub fn batch(&self, start: usize, len: usize) -> Batch<'_> {
        let end = start + len;
        Batch {
            images: &self.images[start * PIXELS..end * PIXELS],
            labels: &self.labels[start..end],
            one_hot: &self.one_hot[start * CLASSES..end * CLASSES],
            len,
        }
    }

    /// Consecutive batches of `size` examples in order (the last one shorter if `size` does not
    /// divide `len`). The study uses 55 batches of 1,000 with no shuffling.
    ///
    /// # Panics
    /// If `size` is 0.
    pub fn batches(&self, size: usize) -> impl Iterator<Item = Batch<'_>> + '_ {
        assert!(size > 0, "batch size must be positive");
        (0..self.len).step_by(size).map(move |start| self.batch(start, size.min(self.len - start)))
    }

    /// Keeps only the first `n` examples (all of them if `n >= len`): the subset used by
    /// scaled-down configs. Frees nothing; call `shrink_to_fit` on the fields if memory matters.
    pub fn truncate(&mut self, n: usize) {
        let n = n.min(self.len);
        self.images.truncate(n * PIXELS);
        self.labels.truncate(n);
        self.one_hot.truncate(n * CLASSES);
        self.len = n;
    }

    /// Examples per label: `counts[d]` = number of labels equal to `d`.
    pub fn label_counts(&self) -> [usize; CLASSES] {
        let mut counts = [0; CLASSES];
        for &label in &self.labels {
            counts[label as usize] += 1;
        }
        counts
    }
}

/// A loaded split (of MNIST or of any dataset in its format, e.g. Fashion-MNIST).
#[derive(Debug, Clone, PartialEq)]
pub struct Mnist {
    /// Training examples (55,000 for `tf1`, 60,000 for `full`).
    pub train: Dataset,
    /// Validation examples: the first 5,000 of the training file for `tf1`, `None` for `full`.
    /// Never trained on; the place to select hyper-parameters (e.g. learning rates) without
    /// touching the test set.
    pub validation: Option<Dataset>,
    /// The 10,000 test examples.
    pub test: Dataset,
}

/// Loads canonical MNIST from `dir`: [`load_dataset`] of [`DatasetKind::Mnist`].
pub fn load(dir: &Path, split: Split) -> Result<Mnist, MnistError> {
    load_with(dir, split, &FileSet::canonical())
}

/// Loads dataset `kind` from `dir` (the four names of [`DatasetKind::files`], gzip or raw
/// contents; a `.gz` name may also be present without its `.gz`, as in an unpacked copy),
/// verifying each file's decompressed size and SHA-256, and splits it. `dir` may be a cache
/// filled by [`crate::ensure_dataset`] or any local copy, e.g. Debian's
/// [`DEBIAN_FASHION_MNIST_DIR`](crate::DEBIAN_FASHION_MNIST_DIR).
///
/// Errors: [`MnistError::NotFound`] for a missing file (fetch first with
/// [`crate::ensure_dataset`]), a parse error naming the file and fault, or a size/checksum
/// mismatch.
pub fn load_dataset(kind: DatasetKind, dir: &Path, split: Split) -> Result<Mnist, MnistError> {
    load_with(dir, split, &kind.files())
}

/// [`load`] for any set of MNIST-format files: each is parsed, then checked against its spec.
pub fn load_with(dir: &Path, split: Split, files: &FileSet) -> Result<Mnist, MnistError> {
    let train = RawPair::read(dir, &files.train_images, &files.train_labels)?;
    let test = RawPair::read(dir, &files.test_images, &files.test_labels)?;
    let (train_pixels, train_labels) = train.parse()?;
    let (test_pixels, test_labels) = test.parse()?;
    let test = Dataset::from_bytes(test_pixels, test_labels);
    let (train, validation) = match split {
        Split::Full => (Dataset::from_bytes(train_pixels, train_labels), None),
        Split::Tf1 => {
            let n = train_labels.len();
            if n <= TF1_VALIDATION {
                return Err(MnistError::SplitTooSmall {
                    file: dir.join(&files.train_images.name),
                    found: n,
                    needed: TF1_VALIDATION + 1,
                });
            }
            let (val_pixels, train_pixels) = train_pixels.split_at(TF1_VALIDATION * PIXELS);
            let (val_labels, train_labels) = train_labels.split_at(TF1_VALIDATION);
            let validation = Dataset::from_bytes(val_pixels, val_labels);
            (Dataset::from_bytes(train_pixels, train_labels), Some(validation))
        }
    };
    Ok(Mnist { train, validation, test })
}

/// The verified IDX bytes of an image file and its label file.
struct RawPair {
    images_path: PathBuf,
    images: Vec<u8>,
    labels_path: PathBuf,
    labels: Vec<u8>,
}

impl RawPair {
    /// Reads and verifies both files.
    fn read(dir: &Path, images: &FileSpec, labels: &FileSpec) -> Result<Self, MnistError> {
        let find = |name: &str| locate(dir, name).unwrap_or_else(|| dir.join(name));
        let images_path = find(&images.name);
        let labels_path = find(&labels.name);
        let images = read_verified(&images_path, images, |b, f| idx::parse_images(b, f).map(drop))?;
        let labels = read_verified(&labels_path, labels, |b, f| idx::parse_labels(b, f).map(drop))?;
        Ok(Self { images_path, images, labels_path, labels })
    }

    /// Borrows the pixel bytes and labels, requiring one label per image.
    fn parse(&self) -> Result<(&[u8], &[u8]), MnistError> {
        // Both files parsed in `read`; parsing again only re-reads the headers and the labels.
        let images = idx::parse_images(&self.images, &self.images_path)?;
        let labels = idx::parse_labels(&self.labels, &self.labels_path)?;
        if images.count != labels.len() {
            return Err(MnistError::CountMismatch {
                images: self.images_path.clone(),
                n_images: images.count,
                labels: self.labels_path.clone(),
                n_labels: labels.len(),
            });
        }
        Ok((images.pixels, labels))
    }
}

/// Reads a file, decompresses it (stopping just past the expected size), parses it with `parse`
/// so a structural fault gets its own message, then checks size and SHA-256.
fn read_verified(
    path: &Path,
    spec: &FileSpec,
    parse: impl Fn(&[u8], &Path) -> Result<(), MnistError>,
) -> Result<Vec<u8>, MnistError> {
    let raw = idx::read_file(path)?;
    let idx = idx::decompress(&raw, path, spec.bytes)?;
    // A stream longer than expected was cut at `bytes + 1`: report the size, not a parse error
    // about the one byte that happened to be kept.
    if idx.len() as u64 <= spec.bytes {
        parse(&idx, path)?;
    }
    spec.check_idx(&idx, path)?;
    Ok(idx.into_owned())
}
