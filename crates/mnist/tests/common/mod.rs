//! Synthetic MNIST-format files for the tests.

#![allow(dead_code)] // Each test binary uses a different part of this module.

use std::io::Write;
use std::path::Path;

use flate2::write::GzEncoder;
use flate2::Compression;
use handprop_mnist::{FileSet, FileSpec};

/// An IDX image file with the given header fields and pixel bytes.
pub fn images_idx(magic: u32, count: u32, rows: u32, cols: u32, pixels: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for field in [magic, count, rows, cols] {
        out.extend_from_slice(&field.to_be_bytes());
    }
    out.extend_from_slice(pixels);
    out
}

/// An IDX label file with the given header fields and label bytes.
pub fn labels_idx(magic: u32, count: u32, labels: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for field in [magic, count] {
        out.extend_from_slice(&field.to_be_bytes());
    }
    out.extend_from_slice(labels);
    out
}

/// Deterministic pixels for `n` images: every byte value occurs, and image `i` differs from
/// image `j`.
pub fn pixels(n: usize) -> Vec<u8> {
    (0..n * 784).map(|k| ((k * 7 + k / 784 * 13) % 256) as u8).collect()
}

/// Deterministic labels for `n` images, not simply `i % 10` so that offsets are visible.
pub fn labels(n: usize) -> Vec<u8> {
    (0..n).map(|i| ((i * 3 + i / 10) % 10) as u8).collect()
}

/// A well-formed image file of `n` synthetic images.
pub fn good_images(n: usize) -> Vec<u8> {
    images_idx(2051, n as u32, 28, 28, &pixels(n))
}

/// A well-formed label file of `n` synthetic labels.
pub fn good_labels(n: usize) -> Vec<u8> {
    labels_idx(2049, n as u32, &labels(n))
}

/// Gzip-compresses `bytes` at `level`.
pub fn gzip(bytes: &[u8], level: u32) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::new(level));
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

/// A synthetic dataset: the decompressed contents of the four files and the specs they meet
/// (named like the canonical files).
pub struct Synthetic {
    /// Decompressed contents in `FileSet::all` order.
    pub contents: [Vec<u8>; 4],
    /// Specs matching `contents`.
    pub files: FileSet,
}

impl Synthetic {
    /// `train` training images and `test` test images; the test set uses offset patterns so it
    /// differs from the training set.
    pub fn new(train: usize, test: usize) -> Self {
        let canonical = FileSet::canonical();
        let test_pixels: Vec<u8> = pixels(test).iter().map(|p| p.wrapping_add(101)).collect();
        let test_labels: Vec<u8> = labels(test).iter().map(|l| (l + 5) % 10).collect();
        let contents = [
            good_images(train),
            good_labels(train),
            images_idx(2051, test as u32, 28, 28, &test_pixels),
            labels_idx(2049, test as u32, &test_labels),
        ];
        let spec = |i: usize, name: &str| FileSpec::for_contents(name, &contents[i]);
        let files = FileSet {
            train_images: spec(0, &canonical.train_images.name),
            train_labels: spec(1, &canonical.train_labels.name),
            test_images: spec(2, &canonical.test_images.name),
            test_labels: spec(3, &canonical.test_labels.name),
        };
        Self { contents, files }
    }

    /// The four file names in `FileSet::all` order.
    pub fn names(&self) -> [String; 4] {
        self.files.all().map(|spec| spec.name.clone())
    }

    /// Writes the four files gzip-compressed into `dir`.
    pub fn write_gz(&self, dir: &Path) {
        for (name, contents) in self.names().iter().zip(&self.contents) {
            std::fs::write(dir.join(name), gzip(contents, 6)).unwrap();
        }
    }
}
