//! Loads the real Fashion-MNIST files from `HANDPROP_FASHION_MNIST_DIR`, by default where
//! Debian's `dataset-fashion-mnist` package puts them (`/usr/share/datasets/fashion-mnist`), and
//! checks known facts about them. Ignored by default (`cargo test -- --include-ignored` runs
//! it); fails when the files are missing.

use std::path::PathBuf;
use std::time::Duration;

use handprop_mnist::{
    ensure_dataset, load_dataset, DatasetKind, FetchOptions, Mirror, Origin, Progress, Split,
    DEBIAN_FASHION_MNIST_DIR, PIXEL_SCALE,
};

const DIR_ENV: &str = "HANDPROP_FASHION_MNIST_DIR";

fn fashion_dir() -> PathBuf {
    let dir = match std::env::var_os(DIR_ENV) {
        Some(dir) if !dir.is_empty() => {
            let dir = PathBuf::from(dir);
            let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
            if dir.is_relative() {
                root.join(dir)
            } else {
                dir
            }
        }
        _ => PathBuf::from(DEBIAN_FASHION_MNIST_DIR),
    };
    assert!(
        dir.is_dir(),
        "{} does not exist: apt-get install dataset-fashion-mnist, or set {DIR_ENV}=/path/to/fashion-mnist",
        dir.display()
    );
    dir
}

#[test]
#[ignore = "needs dataset-fashion-mnist (apt-get install dataset-fashion-mnist)"]
fn real_fashion_mnist_verifies_loads_and_splits() {
    let dir = fashion_dir();
    let kind = DatasetKind::FashionMnist;
    let full = load_dataset(kind, &dir, Split::Full).unwrap();
    assert_eq!((full.train.len, full.test.len), (60_000, 10_000));
    assert!(full.validation.is_none());
    // Balanced classes: 6,000 of each in training, 1,000 of each in test.
    assert_eq!(full.train.label_counts(), [6_000; 10]);
    assert_eq!(full.test.label_counts(), [1_000; 10]);
    // The first training item is an ankle boot (9), the first test item too.
    assert_eq!(full.train.labels[..10], [9, 0, 0, 3, 0, 2, 7, 2, 5, 5]);
    assert_eq!(full.test.labels[..10], [9, 2, 1, 1, 6, 1, 4, 6, 5, 7]);
    let (min, max) =
        full.train.images.iter().fold((f32::MAX, f32::MIN), |(lo, hi), &p| (lo.min(p), hi.max(p)));
    assert_eq!((min, max), (0.0, 255.0 * PIXEL_SCALE));

    // The study's split applies unchanged: validation = the first 5,000 training images.
    let tf1 = load_dataset(kind, &dir, Split::Tf1).unwrap();
    let validation = tf1.validation.as_ref().unwrap();
    assert_eq!((tf1.train.len, validation.len, tf1.test.len), (55_000, 5_000, 10_000));
    assert_eq!(validation.labels[..], full.train.labels[..5_000]);
    assert_eq!(tf1.train.labels[..], full.train.labels[5_000..]);
    assert_eq!(tf1.train.labels[..10], [4, 0, 7, 9, 9, 9, 4, 4, 3, 4]);
    assert_eq!(tf1.test, full.test);

    // The directory works as a mirror: its files fill a cache that loads the same data, and a
    // second call fetches nothing.
    let cache = tempfile::tempdir().unwrap();
    let options = FetchOptions::new(Duration::from_secs(120), Progress::Off);
    let mirrors = [Mirror::Local(dir.clone())];
    let report = ensure_dataset(kind, cache.path(), &mirrors, &options).unwrap();
    assert_eq!(report.fetched(), 4);
    assert!(report
        .files
        .iter()
        .all(|f| f.origin == Origin::Fetched { mirror: dir.display().to_string() }));
    assert_eq!(load_dataset(kind, cache.path(), Split::Tf1).unwrap(), tf1);
    assert_eq!(ensure_dataset(kind, cache.path(), &mirrors, &options).unwrap().fetched(), 0);
    // MNIST's digests reject these files.
    assert!(load_dataset(DatasetKind::Mnist, &dir, Split::Full).is_err());
}
