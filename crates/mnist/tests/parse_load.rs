//! The IDX parser, verification and the splits, on synthetic files built here.

mod common;

use std::path::Path;

use common::{gzip, images_idx, labels_idx, Synthetic};
use handprop_mnist::idx::{self, parse_images, parse_labels, read_idx_file};
use handprop_mnist::{load_with, FileSpec, MnistError, Split, PIXEL_SCALE, TF1_VALIDATION};

fn file() -> &'static Path {
    Path::new("some/dir/train-images-idx3-ubyte.gz")
}

#[test]
fn good_files_parse_raw_and_gzip() {
    let images = common::good_images(3);
    let labels = common::good_labels(3);
    let parsed = parse_images(&images, file()).unwrap();
    assert_eq!(parsed.count, 3);
    assert_eq!(parsed.pixels, &common::pixels(3)[..]);
    assert_eq!(parse_labels(&labels, file()).unwrap(), &common::labels(3)[..]);

    let dir = tempfile::tempdir().unwrap();
    for (name, bytes) in [("raw", images.clone()), ("gz", gzip(&images, 9))] {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        assert_eq!(read_idx_file(&path).unwrap(), images, "{name}");
    }
    // An empty image file (zero images) is well formed.
    assert_eq!(parse_images(&images_idx(2051, 0, 28, 28, &[]), file()).unwrap().count, 0);
}

#[test]
fn each_structural_fault_has_its_own_error_naming_the_file() {
    let pixels = common::pixels(2);
    let check = |result: Result<(), MnistError>, want: &str| {
        let err = result.expect_err(want);
        let message = err.to_string();
        assert!(message.contains("some/dir/train-images-idx3-ubyte.gz"), "{message}");
        assert!(format!("{err:?}").starts_with(want), "{want}: {err:?}");
    };
    let images = |bytes: &[u8]| parse_images(bytes, file()).map(drop);
    let labels = |bytes: &[u8]| parse_labels(bytes, file()).map(drop);

    // Label magic on an image file and image magic on a label file.
    check(images(&images_idx(2049, 2, 28, 28, &pixels)), "WrongMagic");
    check(labels(&labels_idx(2051, 2, &[1, 2])), "WrongMagic");
    // Header cut short, data cut short, and bytes after the data.
    check(images(&common::good_images(2)[..15]), "Truncated");
    check(labels(&[0, 0, 8]), "Truncated");
    check(images(&images_idx(2051, 3, 28, 28, &pixels)), "Truncated");
    check(labels(&labels_idx(2049, 3, &[1, 2])), "Truncated");
    check(images(&images_idx(2051, 1, 28, 28, &pixels)), "TrailingBytes");
    check(labels(&labels_idx(2049, 1, &[1, 2])), "TrailingBytes");
    // Not 28×28 (even when the byte count matches the header).
    check(images(&images_idx(2051, 2, 27, 28, &pixels[..2 * 27 * 28])), "NotMnistShape");
    check(images(&images_idx(2051, 2, 28 * 28, 1, &pixels)), "NotMnistShape");
    // A label that is not a digit, with its index.
    match labels(&labels_idx(2049, 4, &[0, 9, 10, 3])) {
        Err(MnistError::BadLabel { index: 2, label: 10, .. }) => {}
        other => panic!("expected BadLabel at 2, got {other:?}"),
    }
    // A huge count cannot overflow or allocate: it is just truncated.
    check(images(&images_idx(2051, u32::MAX, 28, 28, &pixels)), "Truncated");
}

#[test]
fn bad_gzip_is_reported_as_such() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t10k-labels-idx1-ubyte.gz");
    let mut gz = gzip(&common::good_labels(50), 6);
    // The gzip magic followed by garbage, and a valid stream with a corrupted CRC trailer.
    for bytes in [vec![0x1f, 0x8b, 0xff, 0x00, 0x13], {
        let n = gz.len();
        gz[n - 6] ^= 0x55;
        gz.clone()
    }] {
        std::fs::write(&path, bytes).unwrap();
        let err = read_idx_file(&path).unwrap_err();
        assert!(matches!(err, MnistError::Gzip { .. }), "{err:?}");
        assert!(err.to_string().contains("t10k-labels-idx1-ubyte.gz: bad gzip"), "{err}");
    }
}

#[test]
fn verification_is_on_decompressed_bytes() {
    let contents = common::good_images(5);
    let spec = FileSpec::for_contents("x.gz", &contents);
    // Raw, two compression levels (different .gz bytes), and a two-member gzip stream all pass.
    let (fast, best) = (gzip(&contents, 1), gzip(&contents, 9));
    assert_ne!(fast, best);
    let mut multi = gzip(&contents[..100], 6);
    multi.extend(gzip(&contents[100..], 6));
    for stored in [&contents, &fast, &best, &multi] {
        spec.check_contents(stored, file()).unwrap();
    }
    // One changed pixel: same size, different digest.
    let mut changed = contents.clone();
    changed[500] ^= 1;
    for stored in [changed.clone(), gzip(&changed, 6)] {
        let err = spec.check_contents(&stored, file()).unwrap_err();
        assert!(matches!(err, MnistError::ChecksumMismatch { .. }), "{err:?}");
    }
    // Longer or shorter: a size error.
    let mut longer = contents.clone();
    longer.push(0);
    for stored in [longer.clone(), gzip(&longer, 6), contents[..9].to_vec()] {
        let err = spec.check_contents(&stored, file()).unwrap_err();
        assert!(matches!(err, MnistError::SizeMismatch { .. }), "{err:?}");
    }
    // The digest is compared case-insensitively.
    let upper = FileSpec::new("x.gz", spec.sha256.to_uppercase(), spec.bytes);
    upper.check_contents(&contents, file()).unwrap();
}

#[test]
fn full_split_converts_pixels_labels_and_one_hot() {
    let data = Synthetic::new(7, 3);
    let dir = tempfile::tempdir().unwrap();
    data.write_gz(dir.path());
    let mnist = load_with(dir.path(), Split::Full, &data.files).unwrap();
    assert!(mnist.validation.is_none());
    assert_eq!((mnist.train.len, mnist.test.len), (7, 3));

    let pixels = common::pixels(7);
    assert_eq!(mnist.train.images.len(), 7 * 784);
    for (value, &byte) in mnist.train.images.iter().zip(&pixels) {
        assert_eq!(*value, byte as f32 * PIXEL_SCALE);
    }
    assert!(pixels.contains(&255) && pixels.contains(&0));
    assert_eq!(mnist.train.images.iter().cloned().fold(f32::MIN, f32::max), 1.0);
    assert_eq!(mnist.train.labels, common::labels(7));
    for (row, &label) in mnist.train.one_hot.chunks_exact(10).zip(&mnist.train.labels) {
        for (class, &value) in row.iter().enumerate() {
            assert_eq!(value, if class == label as usize { 1.0 } else { 0.0 });
        }
    }
    assert_eq!(
        mnist.test.labels,
        common::labels(3).iter().map(|l| (l + 5) % 10).collect::<Vec<_>>()
    );
    assert_eq!(mnist.test.image(2)[0], pixels[2 * 784].wrapping_add(101) as f32 * PIXEL_SCALE);
}

#[test]
fn pixel_scale_is_tf1s_f32_reciprocal() {
    // TF1 multiplied by 1/255 in f32; it differs from correctly rounded division for some bytes,
    // which is why the loader multiplies.
    assert_eq!(PIXEL_SCALE, 1.0f32 / 255.0);
    assert_eq!(255.0 * PIXEL_SCALE, 1.0);
    assert!((0..=255u8).any(|x| x as f32 * PIXEL_SCALE != x as f32 / 255.0));
}

#[test]
fn tf1_split_takes_validation_from_the_front() {
    let n = TF1_VALIDATION + 3;
    let data = Synthetic::new(n, 2);
    let dir = tempfile::tempdir().unwrap();
    data.write_gz(dir.path());
    let mnist = load_with(dir.path(), Split::Tf1, &data.files).unwrap();
    let validation = mnist.validation.as_ref().unwrap();
    assert_eq!((mnist.train.len, validation.len, mnist.test.len), (3, TF1_VALIDATION, 2));
    let labels = common::labels(n);
    assert_eq!(validation.labels, labels[..TF1_VALIDATION]);
    assert_eq!(mnist.train.labels, labels[TF1_VALIDATION..]);
    let full = load_with(dir.path(), Split::Full, &data.files).unwrap();
    assert_eq!(mnist.train.images, full.train.images[TF1_VALIDATION * 784..]);
    assert_eq!(mnist.train.one_hot, full.train.one_hot[TF1_VALIDATION * 10..]);
    assert_eq!(validation.images, full.train.images[..TF1_VALIDATION * 784]);

    // Too few training images for tf1.
    let small = Synthetic::new(TF1_VALIDATION, 1);
    small.write_gz(dir.path());
    let err = load_with(dir.path(), Split::Tf1, &small.files).unwrap_err();
    assert!(matches!(err, MnistError::SplitTooSmall { found: 5000, needed: 5001, .. }), "{err}");
}

#[test]
fn batches_are_zero_copy_views_and_truncate_keeps_the_first() {
    let data = Synthetic::new(10, 1);
    let dir = tempfile::tempdir().unwrap();
    data.write_gz(dir.path());
    let mut mnist = load_with(dir.path(), Split::Full, &data.files).unwrap();
    let train = &mnist.train;
    let batches: Vec<_> = train.batches(4).collect();
    assert_eq!(batches.iter().map(|b| b.len).collect::<Vec<_>>(), [4, 4, 2]);
    assert!(std::ptr::eq(batches[1].images.as_ptr(), train.images[4 * 784..].as_ptr()));
    assert_eq!(batches[2].images, &train.images[8 * 784..]);
    assert_eq!(batches[2].one_hot, &train.one_hot[80..]);
    assert_eq!(batches[1].labels, &train.labels[4..8]);

    let before = mnist.train.clone();
    mnist.train.truncate(3);
    assert_eq!(mnist.train.len, 3);
    assert_eq!(mnist.train.images, before.images[..3 * 784]);
    assert_eq!(mnist.train.labels, before.labels[..3]);
    assert_eq!(mnist.train.one_hot, before.one_hot[..30]);
    mnist.train.truncate(100);
    assert_eq!(mnist.train.len, 3);
    assert_eq!(mnist.train.label_counts().iter().sum::<usize>(), 3);
}

#[test]
fn load_reports_missing_files_count_mismatch_and_bad_checksums() {
    let data = Synthetic::new(4, 2);
    let dir = tempfile::tempdir().unwrap();
    let err = load_with(dir.path(), Split::Full, &data.files).unwrap_err();
    assert!(matches!(err, MnistError::NotFound { .. }), "{err:?}");
    assert!(err.to_string().contains("cargo xtask download"), "{err}");

    // Labels for 3 images next to 4 images: each file is valid alone.
    data.write_gz(dir.path());
    let mut files = data.files.clone();
    let three = common::good_labels(3);
    std::fs::write(dir.path().join(&files.train_labels.name), gzip(&three, 6)).unwrap();
    files.train_labels = FileSpec::for_contents(files.train_labels.name.clone(), &three);
    match load_with(dir.path(), Split::Full, &files) {
        Err(MnistError::CountMismatch { n_images: 4, n_labels: 3, .. }) => {}
        other => panic!("expected CountMismatch, got {other:?}"),
    }

    // Valid IDX that is not the expected file: a checksum error naming the file.
    data.write_gz(dir.path());
    let mut other = data.contents[0].clone();
    other[100] ^= 0xff;
    std::fs::write(dir.path().join(&data.files.train_images.name), gzip(&other, 6)).unwrap();
    let err = load_with(dir.path(), Split::Full, &data.files).unwrap_err();
    assert!(matches!(err, MnistError::ChecksumMismatch { .. }), "{err:?}");
    assert!(err.to_string().contains("train-images-idx3-ubyte.gz"), "{err}");
}

/// What [`load_with`] does with one file's stored bytes, minus the file system: decompress
/// (capped just past the expected size), parse, check size and digest. The streaming check used
/// for cached and fetched files runs too and must agree.
fn check_stored(stored: &[u8], spec: &FileSpec, images: bool) -> Result<Vec<u8>, MnistError> {
    let streamed = spec.check_contents(stored, file());
    let result = idx::decompress(stored, file(), spec.bytes).and_then(|idx| {
        if images {
            parse_images(&idx, file())?;
        } else {
            parse_labels(&idx, file())?;
        }
        spec.check_idx(&idx, file())?;
        Ok(idx.into_owned())
    });
    assert_eq!(streamed.is_ok(), result.is_ok(), "{streamed:?} vs {result:?}");
    result
}

#[test]
fn truncation_at_every_offset_and_byte_flips_never_panic_or_pass() {
    let data = Synthetic::new(2, 1);
    let dir = tempfile::tempdir().unwrap();
    data.write_gz(dir.path());
    let reference = load_with(dir.path(), Split::Full, &data.files).unwrap();
    let specs = data.files.all();
    for index in [0, 1] {
        let raw = data.contents[index].clone();
        let gz = gzip(&raw, 6);
        let path = dir.path().join(&specs[index].name);
        for stored in [&raw, &gz] {
            // Every strict prefix is rejected.
            for cut in 0..stored.len() {
                let result = check_stored(&stored[..cut], specs[index], index == 0);
                assert!(result.is_err(), "file {index}, prefix of {cut} bytes was accepted");
            }
            // A single-byte flip of raw IDX is always rejected (by the parser or the digest).
            // In a gzip stream some flips leave the contents unchanged (header fields such as
            // the mtime, or unused bits of the deflate stream); then the result must be exactly
            // the original contents.
            for at in 0..stored.len() {
                for mask in [0x01u8, 0xff] {
                    let mut bad = stored.clone();
                    bad[at] ^= mask;
                    if let Ok(contents) = check_stored(&bad, specs[index], index == 0) {
                        assert!(idx::is_gzip(stored), "raw flip at {at} accepted");
                        assert_eq!(contents, raw, "gzip flip at {at} changed the data");
                    }
                    // Through the real loader (files on disk) at a sample of offsets.
                    if at % 16 == 0 {
                        std::fs::write(&path, &bad).unwrap();
                        if let Ok(mnist) = load_with(dir.path(), Split::Full, &data.files) {
                            assert!(idx::is_gzip(stored), "raw flip at {at} loaded");
                            assert_eq!(mnist, reference, "gzip flip at {at} changed the data");
                        }
                    }
                }
            }
        }
        std::fs::write(&path, &gz).unwrap();
        assert_eq!(load_with(dir.path(), Split::Full, &data.files).unwrap(), reference);
    }
}

#[test]
fn split_names_serde_and_parse() {
    assert_eq!(serde_json::to_string(&Split::Tf1).unwrap(), "\"tf1\"");
    assert_eq!(serde_json::to_string(&Split::Full).unwrap(), "\"full\"");
    assert_eq!(serde_json::from_str::<Split>("\"full\"").unwrap(), Split::Full);
    assert!(serde_json::from_str::<Split>("\"Tf1\"").is_err());
    assert_eq!("tf1".parse::<Split>().unwrap(), Split::Tf1);
    assert_eq!(Split::Full.to_string(), "full");
    let err = "valid".parse::<Split>().unwrap_err();
    assert!(err.to_string().contains("\"valid\""), "{err}");
    assert_eq!(Split::default(), Split::Tf1);
}
