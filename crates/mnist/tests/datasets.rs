//! The dataset notion (MNIST, Fashion-MNIST), their verification on synthetic files, local
//! copies with and without `.gz`, the mirror order per dataset, and the deadline's parsing.

mod common;

use std::path::PathBuf;
use std::time::Duration;

use common::{gzip, Synthetic};
use handprop_mnist::{
    fetch_with, load_dataset, load_with, mirror_order, mirror_order_for, parse_timeout,
    timeout_from, DatasetKind, FetchOptions, FileSpec, Mirror, MnistError, Progress, Split,
    DEBIAN_FASHION_MNIST_DIR, DEFAULT_MIRRORS, DEFAULT_TIMEOUT, FASHION_MNIST_MIRRORS,
    TF1_VALIDATION,
};

#[test]
fn dataset_names_serde_parse_and_conventions() {
    for (kind, name, dir) in [
        (DatasetKind::Mnist, "mnist", "data/mnist"),
        (DatasetKind::FashionMnist, "fashion-mnist", "data/fashion-mnist"),
    ] {
        assert_eq!(kind.name(), name);
        assert_eq!(kind.to_string(), name);
        assert_eq!(name.parse::<DatasetKind>().unwrap(), kind);
        assert_eq!(serde_json::to_string(&kind).unwrap(), format!("\"{name}\""));
        assert_eq!(serde_json::from_str::<DatasetKind>(&format!("\"{name}\"")).unwrap(), kind);
        assert_eq!(kind.default_dir(), dir);
    }
    assert_eq!(DatasetKind::default(), DatasetKind::Mnist);
    for bad in ["Fashion-MNIST", "fashion_mnist", "fashion", ""] {
        let err = bad.parse::<DatasetKind>().unwrap_err();
        assert!(err.to_string().contains(&format!("{bad:?}")), "{err}");
        assert!(serde_json::from_str::<DatasetKind>(&format!("\"{bad}\"")).is_err(), "{bad}");
    }
    assert_eq!(DatasetKind::Mnist.mirror_env(), "HANDPROP_MNIST_MIRROR");
    assert_eq!(DatasetKind::FashionMnist.mirror_env(), "HANDPROP_FASHION_MNIST_MIRROR");
}

#[test]
fn fashion_mnist_has_mnists_names_and_sizes_but_its_own_digests() {
    let (mnist, fashion) = (DatasetKind::Mnist.files(), DatasetKind::FashionMnist.files());
    for (m, f) in mnist.all().into_iter().zip(fashion.all()) {
        assert_eq!((&m.name, m.bytes), (&f.name, f.bytes));
        assert_ne!(m.sha256, f.sha256);
        assert_eq!(f.sha256.len(), 64);
        assert!(f.sha256.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
    }
    // 60,000 and 10,000 28×28 images, with their labels.
    let sizes: Vec<u64> = fashion.all().iter().map(|s| s.bytes).collect();
    assert_eq!(sizes, [16 + 60_000 * 784, 8 + 60_000, 16 + 10_000 * 784, 8 + 10_000]);
}

#[test]
fn a_wrong_file_is_rejected_naming_the_file_and_both_digests() {
    // Well-formed IDX of exactly the right size, but not Fashion-MNIST's contents.
    let labels = common::good_labels(60_000);
    let spec = DatasetKind::FashionMnist.files().train_labels;
    assert_eq!(labels.len() as u64, spec.bytes);
    let found = FileSpec::for_contents("x", &labels).sha256;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(&spec.name);
    for stored in [labels.clone(), gzip(&labels, 6)] {
        std::fs::write(&path, stored).unwrap();
        let err = spec.verify_file(&path).unwrap_err();
        let message = err.to_string();
        assert!(matches!(err, MnistError::ChecksumMismatch { .. }), "{err:?}");
        assert!(message.starts_with(&path.display().to_string()), "{message}");
        assert!(message.contains(&spec.sha256) && message.contains(&found), "{message}");
    }
    // And through the loader, which reads the images first: a missing file is named.
    let err = load_dataset(DatasetKind::FashionMnist, dir.path(), Split::Tf1).unwrap_err();
    assert!(
        matches!(&err, MnistError::NotFound { file } if file.ends_with("train-images-idx3-ubyte.gz"))
    );
}

#[test]
fn local_copies_with_or_without_gz_names_load_and_serve_as_mirrors() {
    let data = Synthetic::new(TF1_VALIDATION + 4, 3);
    // An unpacked copy: raw IDX under the names without `.gz` (one file kept compressed under
    // its `.gz` name, as a mixed directory).
    let unpacked = tempfile::tempdir().unwrap();
    for (i, (name, contents)) in data.names().iter().zip(&data.contents).enumerate() {
        if i == 3 {
            std::fs::write(unpacked.path().join(name), gzip(contents, 6)).unwrap();
        } else {
            std::fs::write(unpacked.path().join(name.strip_suffix(".gz").unwrap()), contents)
                .unwrap();
        }
    }
    let direct = load_with(unpacked.path(), Split::Tf1, &data.files).unwrap();
    assert_eq!(direct.train.len, 4);
    assert_eq!(direct.validation.as_ref().unwrap().len, TF1_VALIDATION);
    assert_eq!(
        direct.validation.as_ref().unwrap().labels,
        common::labels(TF1_VALIDATION + 4)[..TF1_VALIDATION]
    );

    let cache = tempfile::tempdir().unwrap();
    let options = FetchOptions::new(Duration::from_secs(10), Progress::Off);
    let mirrors = [Mirror::Local(unpacked.path().to_path_buf())];
    let report = fetch_with(cache.path(), &mirrors, &data.files, &options).unwrap();
    assert_eq!(report.fetched(), 4);
    // The cache uses the standard names whatever the source's.
    for name in data.names() {
        assert!(cache.path().join(name).is_file());
    }
    assert_eq!(load_with(cache.path(), Split::Tf1, &data.files).unwrap(), direct);

    // A directory holding neither name says which it tried.
    let empty = tempfile::tempdir().unwrap();
    let other = tempfile::tempdir().unwrap();
    let err =
        fetch_with(other.path(), &[Mirror::Local(empty.path().into())], &data.files, &options)
            .unwrap_err();
    assert!(err.to_string().contains("cannot open"), "{err}");
}

#[test]
fn each_dataset_has_its_own_mirror_order_and_variable() {
    let user = [Mirror::parse("/mine").unwrap()];
    let order = mirror_order_for(DatasetKind::FashionMnist, &user, Some("/from-env")).unwrap();
    let shown: Vec<String> = order.iter().map(ToString::to_string).collect();
    assert_eq!(
        shown,
        [
            "/mine",
            "/from-env",
            DEBIAN_FASHION_MNIST_DIR,
            FASHION_MNIST_MIRRORS[0],
            FASHION_MNIST_MIRRORS[1]
        ]
    );
    assert_eq!(order[2], Mirror::Local(PathBuf::from(DEBIAN_FASHION_MNIST_DIR)));
    // MNIST is unchanged: user, variable, then its two public mirrors.
    let mnist = mirror_order(&user, Some("/from-env")).unwrap();
    assert_eq!(mnist, mirror_order_for(DatasetKind::Mnist, &user, Some("/from-env")).unwrap());
    let shown: Vec<String> = mnist.iter().map(ToString::to_string).collect();
    assert_eq!(shown, ["/mine", "/from-env", DEFAULT_MIRRORS[0], DEFAULT_MIRRORS[1]]);
    // A bad variable is named in the error.
    let err = mirror_order_for(DatasetKind::FashionMnist, &[], Some("ftp://x")).unwrap_err();
    assert!(err.to_string().contains("HANDPROP_FASHION_MNIST_MIRROR=ftp://x"), "{err}");
}

#[test]
fn timeouts_parse_with_units_and_reject_nonsense() {
    let secs = |s: f64| Duration::from_secs_f64(s);
    for (text, want) in [
        ("300", secs(300.0)),
        (" 90s ", secs(90.0)),
        ("2.5m", secs(150.0)),
        ("1h", secs(3600.0)),
        ("0.25", secs(0.25)),
    ] {
        assert_eq!(parse_timeout(text).unwrap(), want, "{text}");
    }
    for bad in ["", "s", "0", "-5", "abc", "5x", "5 min", "nan", "inf", "1e300h"] {
        let err = parse_timeout(bad).unwrap_err();
        assert!(matches!(err, MnistError::BadTimeout { .. }), "{bad}: {err:?}");
    }
    assert_eq!(timeout_from(None).unwrap(), DEFAULT_TIMEOUT);
    assert_eq!(timeout_from(Some("  ")).unwrap(), DEFAULT_TIMEOUT);
    assert_eq!(timeout_from(Some("10m")).unwrap(), secs(600.0));
    let err = timeout_from(Some("soon")).unwrap_err();
    assert!(err.to_string().contains("HANDPROP_DOWNLOAD_TIMEOUT=\"soon\": not a number"), "{err}");
    assert!(err.to_string().contains("not a number"), "{err}");
}
