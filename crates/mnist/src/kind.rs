//! Which dataset: MNIST or Fashion-MNIST, two datasets in the same IDX format.
//!
//! Both hold 60,000 training and 10,000 test images of 28×28 bytes with labels 0–9, under the
//! same four file names; they differ in contents (so in digests), in their public mirrors, in
//! the environment variable naming a local copy, and in their cache directory.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::files::{FileSet, FileSpec};

/// A dataset in MNIST's IDX format that the crate knows how to verify and fetch.
///
/// Serde and [`FromStr`] use the names `"mnist"` and `"fashion-mnist"` ([`DatasetKind::name`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum DatasetKind {
    /// LeCun, Cortes and Burges' handwritten digits (the study's dataset).
    #[default]
    #[serde(rename = "mnist")]
    Mnist,
    /// Zalando Research's Fashion-MNIST (Xiao, Rasul and Vollgraf 2017): ten clothing classes,
    /// a drop-in replacement for MNIST.
    #[serde(rename = "fashion-mnist")]
    FashionMnist,
}

/// Where Debian's `dataset-fashion-mnist` package installs the four files (gzip, standard names).
pub const DEBIAN_FASHION_MNIST_DIR: &str = "/usr/share/datasets/fashion-mnist";

impl DatasetKind {
    /// Every dataset, MNIST first.
    pub const ALL: [DatasetKind; 2] = [DatasetKind::Mnist, DatasetKind::FashionMnist];

    /// The name in configs and on the command line: `mnist` or `fashion-mnist`.
    pub fn name(self) -> &'static str {
        match self {
            DatasetKind::Mnist => "mnist",
            DatasetKind::FashionMnist => "fashion-mnist",
        }
    }

    /// The four files with the size and SHA-256 of their **decompressed** IDX bytes.
    pub fn files(self) -> FileSet {
        match self {
            DatasetKind::Mnist => FileSet::canonical(),
            DatasetKind::FashionMnist => fashion_mnist_files(),
        }
    }

    /// The default cache directory, relative to the workspace root: `data/<name>`.
    pub fn default_dir(self) -> &'static str {
        match self {
            DatasetKind::Mnist => "data/mnist",
            DatasetKind::FashionMnist => "data/fashion-mnist",
        }
    }

    /// The environment variable naming one extra mirror (URL or local directory), tried after
    /// the caller's mirrors and before the defaults.
    pub fn mirror_env(self) -> &'static str {
        match self {
            DatasetKind::Mnist => "HANDPROP_MNIST_MIRROR",
            DatasetKind::FashionMnist => "HANDPROP_FASHION_MNIST_MIRROR",
        }
    }

    /// Local directories where a system package may have installed the files, tried after the
    /// environment's mirror and before the public ones, and only when they exist
    /// (see [`crate::mirror_list_for`]). Fashion-MNIST: Debian's `dataset-fashion-mnist`.
    pub fn system_dirs(self) -> &'static [&'static str] {
        match self {
            DatasetKind::Mnist => &[],
            DatasetKind::FashionMnist => &[DEBIAN_FASHION_MNIST_DIR],
        }
    }

    /// The public mirrors, tried last and in this order.
    ///
    /// MNIST: the copy TF1's tutorials, TFDS and burn use, then torchvision's fallback (the
    /// original yann.lecun.com host answers 403). Fashion-MNIST: Zalando Research's GitHub
    /// repository (`data/fashion`), then its S3 website bucket (HTTP only), the two sources its
    /// README links.
    pub fn default_mirrors(self) -> &'static [&'static str] {
        match self {
            DatasetKind::Mnist => &crate::DEFAULT_MIRRORS,
            DatasetKind::FashionMnist => &FASHION_MNIST_MIRRORS,
        }
    }
}

/// Fashion-MNIST's public mirrors, in the order tried.
pub const FASHION_MNIST_MIRRORS: [&str; 2] = [
    "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
    "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
];

/// Fashion-MNIST's four files. The digests are of the decompressed IDX bytes, computed from
/// Debian's copy (whose `.gz` files are recompressed, so their MD5s differ from Zalando's) and
/// equal to the digests others list for files decompressed from archives matching Zalando's
/// published MD5s (`docs/data.md`).
fn fashion_mnist_files() -> FileSet {
    FileSet {
        train_images: FileSpec::new(
            "train-images-idx3-ubyte.gz",
            "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
            47_040_016,
        ),
        train_labels: FileSpec::new(
            "train-labels-idx1-ubyte.gz",
            "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
            60_008,
        ),
        test_images: FileSpec::new(
            "t10k-images-idx3-ubyte.gz",
            "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
            7_840_016,
        ),
        test_labels: FileSpec::new(
            "t10k-labels-idx1-ubyte.gz",
            "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
            10_008,
        ),
    }
}

impl fmt::Display for DatasetKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A dataset name that is neither `mnist` nor `fashion-mnist`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown dataset {0:?}; expected \"mnist\" or \"fashion-mnist\"")]
pub struct UnknownDataset(pub String);

impl FromStr for DatasetKind {
    type Err = UnknownDataset;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        DatasetKind::ALL
            .into_iter()
            .find(|kind| kind.name() == s)
            .ok_or_else(|| UnknownDataset(s.to_string()))
    }
}
