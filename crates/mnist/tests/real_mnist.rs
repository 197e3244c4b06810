//! Loads the real MNIST files from the directory named by `HANDPROP_MNIST_DIR` (CI sets it to
//! its local copy of the four `.gz` files) and checks known facts about them. The test is
//! ignored by default (`cargo test -- --include-ignored` runs it) and fails when the variable is
//! unset or the files are missing. A relative path is taken from the workspace root (cargo runs
//! tests in the crate directory, but CI's path is relative to the root).

use std::path::PathBuf;

use handprop_mnist::{load, FileSet, Split, PIXEL_SCALE};

const DIR_ENV: &str = "HANDPROP_MNIST_DIR";

fn mnist_dir() -> PathBuf {
    match std::env::var_os(DIR_ENV) {
        Some(dir) if !dir.is_empty() => {
            let dir = PathBuf::from(dir);
            let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
            if dir.is_relative() {
                root.join(dir)
            } else {
                dir
            }
        }
        _ => panic!("set {DIR_ENV}=/path/to/mnist (the four .gz files) to run this test"),
    }
}

#[test]
#[ignore = "needs HANDPROP_MNIST_DIR"]
fn real_files_verify_and_match_the_readme() {
    let dir = mnist_dir();
    for spec in FileSet::canonical().all() {
        spec.verify_file(&dir.join(&spec.name)).unwrap();
    }

    let full = load(&dir, Split::Full).unwrap();
    assert_eq!((full.train.len, full.test.len), (60_000, 10_000));
    assert!(full.validation.is_none());
    assert_eq!(
        full.train.label_counts(),
        [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    );
    assert_eq!(full.train.labels[..10], [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]);
    assert_eq!(full.test.labels[..10], [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]);
    assert_eq!(full.test.label_counts().iter().sum::<usize>(), 10_000);
    // Pixels are in [0, 1] with both ends present; the corners of MNIST digits are blank.
    let (min, max) =
        full.train.images.iter().fold((f32::MAX, f32::MIN), |(lo, hi), &p| (lo.min(p), hi.max(p)));
    assert_eq!((min, max), (0.0, 255.0 * PIXEL_SCALE));
    assert_eq!(full.train.image(0)[0], 0.0);

    let tf1 = load(&dir, Split::Tf1).unwrap();
    let validation = tf1.validation.as_ref().unwrap();
    assert_eq!((tf1.train.len, validation.len, tf1.test.len), (55_000, 5_000, 10_000));
    assert_eq!(validation.labels[..10], [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]);
    assert_eq!(tf1.train.labels[..], full.train.labels[5_000..]);
    assert_eq!(tf1.train.images[..], full.train.images[5_000 * 784..]);
    assert_eq!(tf1.test, full.test);
}
