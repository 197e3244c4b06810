//! The IDX format (LeCun's MNIST container) and its optional gzip wrapper.
//!
//! An IDX file is a big-endian header followed by unsigned bytes:
//!
//! | file | header (each field a big-endian u32) | data |
//! |---|---|---|
//! | images | magic 2051 (`0x00000803`), count n, rows, cols | n·rows·cols pixel bytes |
//! | labels | magic 2049 (`0x00000801`), count n | n label bytes |
//!
//! A file is gzip-compressed exactly when it starts with the gzip magic `0x1f 0x8b` (an IDX file
//! starts with two zero bytes, so the two cannot be confused); otherwise it is read as raw IDX.
//! The parsers check the magic, the header and the **exact** byte count, and never panic on bad
//! bytes: every fault is a typed [`MnistError`] naming the file.

use std::io::Read;
use std::path::Path;

use flate2::read::MultiGzDecoder;

use crate::MnistError;

/// The first two bytes of every gzip stream.
pub const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
/// The IDX magic number of an image file (unsigned bytes, three dimensions).
pub const IMAGES_MAGIC: u32 = 2051;
/// The IDX magic number of a label file (unsigned bytes, one dimension).
pub const LABELS_MAGIC: u32 = 2049;
/// Rows of an MNIST image.
pub const ROWS: usize = 28;
/// Columns of an MNIST image.
pub const COLS: usize = 28;
/// Pixels of an MNIST image, 28·28 = 784: the length of one input row.
pub const PIXELS: usize = ROWS * COLS;
/// Classes (the digits 0–9): the length of one one-hot row.
pub const CLASSES: usize = 10;
/// Upper bound on the decompressed size accepted when no expected size is known (the largest
/// MNIST file is 47,040,016 bytes), so a corrupt or hostile gzip stream cannot exhaust memory.
pub const MAX_DECOMPRESSED: u64 = 256 << 20;

const IMAGES_HEADER: usize = 16;
const LABELS_HEADER: usize = 8;

/// True when `bytes` start with the gzip magic.
pub fn is_gzip(bytes: &[u8]) -> bool {
    bytes.starts_with(&GZIP_MAGIC)
}

/// Returns the IDX bytes of a file's contents: decompressed if they start with the gzip magic,
/// borrowed unchanged otherwise.
///
/// At most `limit` decompressed bytes are kept; if the stream holds more, reading stops at
/// `limit + 1` bytes and the result has that length, so the caller sees that it is too long
/// without the whole stream being inflated. `file` only names the file in errors.
pub fn decompress<'a>(
    bytes: &'a [u8],
    file: &Path,
    limit: u64,
) -> Result<std::borrow::Cow<'a, [u8]>, MnistError> {
    if !is_gzip(bytes) {
        return Ok(std::borrow::Cow::Borrowed(bytes));
    }
    let mut out = Vec::new();
    // Reserve what the gzip trailer promises (ISIZE, the size mod 2³²) when it is plausible,
    // so the 47 MB training images are inflated without repeated reallocation.
    if let Some(tail) = bytes.len().checked_sub(4).and_then(|start| bytes.get(start..)) {
        let isize = u32::from_le_bytes([tail[0], tail[1], tail[2], tail[3]]) as u64;
        out.reserve(isize.min(limit.saturating_add(1)) as usize);
    }
    MultiGzDecoder::new(bytes)
        .take(limit.saturating_add(1))
        .read_to_end(&mut out)
        .map_err(|source| MnistError::Gzip { file: file.to_path_buf(), error: source })?;
    Ok(std::borrow::Cow::Owned(out))
}

/// Reads a whole file and returns its IDX bytes (decompressed when gzip), keeping at most
/// [`MAX_DECOMPRESSED`] bytes.
pub fn read_idx_file(path: &Path) -> Result<Vec<u8>, MnistError> {
    let raw = read_file(path)?;
    let idx = decompress(&raw, path, MAX_DECOMPRESSED)?;
    if idx.len() as u64 > MAX_DECOMPRESSED {
        return Err(MnistError::SizeMismatch {
            file: path.to_path_buf(),
            expected: MAX_DECOMPRESSED,
            found: idx.len() as u64,
        });
    }
    Ok(idx.into_owned())
}

/// Reads a file's bytes, mapping "not found" to [`MnistError::NotFound`].
pub(crate) fn read_file(path: &Path) -> Result<Vec<u8>, MnistError> {
    std::fs::read(path).map_err(|source| {
        if source.kind() == std::io::ErrorKind::NotFound {
            MnistError::NotFound { file: path.to_path_buf() }
        } else {
            MnistError::Io { file: path.to_path_buf(), error: source }
        }
    })
}

/// A parsed image file, borrowing the pixel bytes.
#[derive(Debug, Clone, Copy)]
pub struct Images<'a> {
    /// Number of images.
    pub count: usize,
    /// `count · 784` pixel bytes, image after image, each row-major.
    pub pixels: &'a [u8],
}

/// Parses an IDX image file (already decompressed): magic 2051, 28×28 images, and exactly
/// `16 + n·784` bytes. `file` names the file in errors.
pub fn parse_images<'a>(bytes: &'a [u8], file: &Path) -> Result<Images<'a>, MnistError> {
    let header = header(bytes, file, IMAGES_HEADER, IMAGES_MAGIC, "images")?;
    let (count, rows, cols) = (header[1], header[2], header[3]);
    if rows as usize != ROWS || cols as usize != COLS {
        return Err(MnistError::NotMnistShape { file: file.to_path_buf(), rows, cols });
    }
    let data = exact_data(bytes, file, IMAGES_HEADER, count as u64 * PIXELS as u64)?;
    Ok(Images { count: count as usize, pixels: data })
}

/// Parses an IDX label file (already decompressed): magic 2049, exactly `8 + n` bytes, every
/// label a digit 0–9. Returns the labels. `file` names the file in errors.
pub fn parse_labels<'a>(bytes: &'a [u8], file: &Path) -> Result<&'a [u8], MnistError> {
    let header = header(bytes, file, LABELS_HEADER, LABELS_MAGIC, "labels")?;
    let labels = exact_data(bytes, file, LABELS_HEADER, header[1] as u64)?;
    if let Some(index) = labels.iter().position(|&label| label as usize >= CLASSES) {
        return Err(MnistError::BadLabel { file: file.to_path_buf(), index, label: labels[index] });
    }
    Ok(labels)
}

/// Reads the big-endian u32 header fields after checking the length and the magic number.
fn header(
    bytes: &[u8],
    file: &Path,
    len: usize,
    magic: u32,
    kind: &'static str,
) -> Result<[u32; 4], MnistError> {
    let Some(head) = bytes.get(..len) else {
        return Err(MnistError::Truncated {
            file: file.to_path_buf(),
            what: "header",
            expected: len as u64,
            found: bytes.len() as u64,
        });
    };
    let mut fields = [0u32; 4];
    for (field, chunk) in fields.iter_mut().zip(head.chunks_exact(4)) {
        *field = u32::from_be_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
    }
    if fields[0] != magic {
        return Err(MnistError::WrongMagic {
            file: file.to_path_buf(),
            found: fields[0],
            expected: magic,
            kind,
        });
    }
    Ok(fields)
}

/// Returns the `data_len` bytes after a header of `header_len`, requiring the file to end there.
fn exact_data<'a>(
    bytes: &'a [u8],
    file: &Path,
    header_len: usize,
    data_len: u64,
) -> Result<&'a [u8], MnistError> {
    // u64 cannot overflow here: the count is a u32 and the per-item size is at most 784.
    let expected = header_len as u64 + data_len;
    let found = bytes.len() as u64;
    if found < expected {
        return Err(MnistError::Truncated {
            file: file.to_path_buf(),
            what: "data",
            expected,
            found,
        });
    }
    if found > expected {
        return Err(MnistError::TrailingBytes {
            file: file.to_path_buf(),
            expected,
            extra: found - expected,
        });
    }
    Ok(&bytes[header_len..])
}
