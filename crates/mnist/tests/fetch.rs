//! The fetcher against a tiny HTTP server on 127.0.0.1 and against local directories.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::{Arc, Mutex};

use common::{gzip, Synthetic};
use handprop_mnist::{
    fetch, load_with, mirror_order, FileSet, Mirror, MnistError, Origin, Split, DEFAULT_MIRRORS,
};

/// A one-thread HTTP/1.1 server serving at most `max_requests` requests, one per connection:
/// - `/good/<name>`: the file, with a correct Content-Length;
/// - `/missing/<name>`: 404;
/// - `/truncated/<name>`: the full Content-Length but only half the body, then a close;
/// - `/corrupt/<name>`: a complete, valid gzip body whose contents differ in one byte, so only
///   the digest catches it.
///
/// Returns the base URL and the log of request paths.
fn serve(files: Vec<Served>, max_requests: usize) -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let log = Arc::new(Mutex::new(Vec::new()));
    let served = Arc::clone(&log);
    std::thread::spawn(move || {
        for stream in listener.incoming().take(max_requests) {
            let Ok(stream) = stream else { continue };
            let _ = answer(stream, &files, &served);
        }
    });
    (base, log)
}

fn answer(
    mut stream: TcpStream,
    files: &[Served],
    log: &Mutex<Vec<String>>,
) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    // Skip the headers up to the blank line.
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 || line == "\r\n" {
            break;
        }
    }
    let path = request_line.split_whitespace().nth(1).unwrap_or("").to_string();
    log.lock().unwrap().push(path.clone());
    let (kind, name) = path.trim_start_matches('/').split_once('/').unwrap_or(("", ""));
    let file = files.iter().find(|served| served.name == name);
    let (status, body, declared) = match (kind, file) {
        ("good", Some(f)) => ("200 OK", f.good.clone(), f.good.len()),
        ("truncated", Some(f)) => ("200 OK", f.good[..f.good.len() / 2].to_vec(), f.good.len()),
        ("corrupt", Some(f)) => ("200 OK", f.corrupt.clone(), f.corrupt.len()),
        _ => ("404 Not Found", b"no such file".to_vec(), 12),
    };
    write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Length: {declared}\r\nContent-Type: application/gzip\r\n\
         Connection: close\r\n\r\n"
    )?;
    stream.write_all(&body)?;
    stream.flush()
}

/// One file as the server holds it.
struct Served {
    name: String,
    good: Vec<u8>,
    corrupt: Vec<u8>,
}

fn served_files(data: &Synthetic) -> Vec<Served> {
    data.names()
        .into_iter()
        .zip(&data.contents)
        .map(|(name, contents)| {
            let mut changed = contents.clone();
            let last = changed.len() - 1;
            changed[last] = (changed[last] + 1) % 10;
            Served { name, good: gzip(contents, 6), corrupt: gzip(&changed, 6) }
        })
        .collect()
}

/// The cache holds exactly `names`, each verifying against `files` (no temp files left).
fn assert_cache_holds(dir: &Path, files: &FileSet, names: &[&str]) {
    let mut present: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    present.sort();
    let mut expected: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    expected.sort();
    assert_eq!(present, expected);
    for spec in files.all() {
        if names.contains(&spec.name.as_str()) {
            spec.verify_file(&dir.join(&spec.name)).unwrap();
        }
    }
}

#[test]
fn falls_back_past_404_truncated_and_corrupt_mirrors_then_caches() {
    let data = Synthetic::new(6, 3);
    let (base, log) = serve(served_files(&data), 64);
    let mirrors: Vec<Mirror> = ["missing", "truncated", "corrupt", "good"]
        .iter()
        .map(|kind| Mirror::parse(&format!("{base}/{kind}")).unwrap())
        .collect();
    let cache = tempfile::tempdir().unwrap();
    let dir = cache.path().join("data/mnist");

    let report = fetch(&dir, &mirrors, &data.files, false).unwrap();
    assert_eq!(report.fetched(), 4);
    for outcome in &report.files {
        assert_eq!(outcome.origin, Origin::Fetched { mirror: format!("{base}/good/") });
        let reasons: Vec<&str> = outcome.failures.iter().map(|f| f.reason.as_str()).collect();
        assert_eq!(reasons.len(), 3, "{reasons:?}");
        assert!(reasons[0].starts_with("HTTP 404"), "{}", reasons[0]);
        assert!(reasons[1].contains("transfer failed") || reasons[1].contains("short body"));
        assert!(reasons[2].contains("SHA-256"), "{}", reasons[2]);
        assert_eq!(outcome.failures[2].mirror, format!("{base}/corrupt/"));
    }
    assert_eq!(log.lock().unwrap().len(), 16);
    let names = data.names();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    assert_cache_holds(&dir, &data.files, &names);
    let loaded = load_with(&dir, Split::Full, &data.files).unwrap();
    assert_eq!(loaded.train.labels, common::labels(6));

    // A second run verifies the cache and makes no request.
    let again = fetch(&dir, &mirrors, &data.files, false).unwrap();
    assert_eq!(again.fetched(), 0);
    assert!(again.files.iter().all(|f| f.origin == Origin::Cached && f.replaced.is_none()));
    assert_eq!(log.lock().unwrap().len(), 16);

    // A bad cached file is replaced, and only that file is fetched (from `good`, 4 requests).
    let bad = dir.join(&data.files.test_labels.name);
    std::fs::write(&bad, gzip(&common::good_labels(3)[..10], 6)).unwrap();
    let repaired = fetch(&dir, &mirrors, &data.files, false).unwrap();
    assert_eq!(repaired.fetched(), 1);
    let outcome = &repaired.files[3];
    assert!(outcome.replaced.as_deref().unwrap().contains("decompressed size"), "{outcome:?}");
    assert_eq!(log.lock().unwrap().len(), 20);
    assert_cache_holds(&dir, &data.files, &names);
}

#[test]
fn when_every_mirror_fails_one_error_lists_them_and_the_cache_stays_clean() {
    let data = Synthetic::new(2, 1);
    let (base, log) = serve(served_files(&data), 16);
    let missing_dir = tempfile::tempdir().unwrap();
    let mirrors = vec![
        Mirror::parse(&format!("{base}/missing")).unwrap(),
        Mirror::parse(&format!("{base}/corrupt/")).unwrap(),
        Mirror::parse(&format!("{base}/truncated/")).unwrap(),
        Mirror::Local(missing_dir.path().to_path_buf()),
    ];
    let cache = tempfile::tempdir().unwrap();
    let err = fetch(cache.path(), &mirrors, &data.files, false).unwrap_err();
    let MnistError::AllMirrorsFailed { file, failures, dataset: None } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(file, &data.files.train_images.name);
    assert_eq!(failures.len(), 4);
    let message = err.to_string();
    for mirror in &mirrors {
        assert!(message.contains(&format!("  - {mirror}: ")), "{message}");
    }
    assert!(message.contains("HANDPROP_MNIST_MIRROR=/path/to/mnist"), "{message}");
    assert!(message.contains("--mirror"), "{message}");
    // It stopped at the first file; nothing, not even a temp file, is in the cache.
    assert_eq!(log.lock().unwrap().len(), 3);
    assert_cache_holds(cache.path(), &data.files, &[]);
}

#[test]
fn local_directories_and_file_urls_are_mirrors() {
    let data = Synthetic::new(3, 2);
    let source = tempfile::tempdir().unwrap();
    // The mirror holds raw IDX under the .gz names: accepted, since the check is on contents.
    for (name, contents) in data.names().iter().zip(&data.contents) {
        std::fs::write(source.path().join(name), contents).unwrap();
    }
    let empty = tempfile::tempdir().unwrap();
    let url = format!("file://{}", source.path().display());
    for mirror in
        [Mirror::parse(&source.path().display().to_string()).unwrap(), Mirror::parse(&url).unwrap()]
    {
        assert_eq!(mirror, Mirror::Local(source.path().to_path_buf()));
        let cache = tempfile::tempdir().unwrap();
        let mirrors = [Mirror::Local(empty.path().to_path_buf()), mirror.clone()];
        let report = fetch(cache.path(), &mirrors, &data.files, false).unwrap();
        assert_eq!(report.fetched(), 4);
        assert!(report.files[0].failures[0].reason.starts_with("cannot open"));
        let loaded = load_with(cache.path(), Split::Full, &data.files).unwrap();
        assert_eq!(loaded.test.len, 2);
        assert_eq!(fetch(cache.path(), &mirrors, &data.files, false).unwrap().fetched(), 0);
    }
}

#[test]
fn mirror_parsing() {
    assert_eq!(
        Mirror::parse(" https://example.org/mnist ").unwrap(),
        Mirror::Http("https://example.org/mnist/".into())
    );
    assert_eq!(Mirror::parse("HTTP://x/").unwrap(), Mirror::Http("HTTP://x/".into()));
    assert_eq!(
        Mirror::parse("file:///srv/my%20data").unwrap(),
        Mirror::Local("/srv/my data".into())
    );
    assert_eq!(Mirror::parse("file://localhost/srv").unwrap(), Mirror::Local("/srv".into()));
    assert_eq!(Mirror::parse("../data/mnist").unwrap(), Mirror::Local("../data/mnist".into()));
    for bad in ["", "  ", "ftp://x/", "file://host/share", "file:///bad%zz"] {
        assert!(matches!(Mirror::parse(bad), Err(MnistError::BadMirror { .. })), "{bad:?}");
    }
}

#[test]
fn mirror_order_is_user_then_env_then_defaults() {
    let user = vec![Mirror::parse("/a").unwrap(), Mirror::parse("https://b/").unwrap()];
    let order = mirror_order(&user, Some("file:///env")).unwrap();
    let shown: Vec<String> = order.iter().map(ToString::to_string).collect();
    assert_eq!(shown, ["/a", "https://b/", "/env", DEFAULT_MIRRORS[0], DEFAULT_MIRRORS[1]]);
    // No variable, a blank one, and duplicates (kept at their first position).
    assert_eq!(mirror_order(&[], None).unwrap().len(), 2);
    assert_eq!(mirror_order(&[], Some(" ")).unwrap().len(), 2);
    let dup = mirror_order(&[Mirror::parse(DEFAULT_MIRRORS[1]).unwrap()], Some("/a")).unwrap();
    let shown: Vec<String> = dup.iter().map(ToString::to_string).collect();
    assert_eq!(shown, [DEFAULT_MIRRORS[1], "/a", DEFAULT_MIRRORS[0]]);
    // A bad variable is an error that names it.
    let err = mirror_order(&[], Some("gopher://x")).unwrap_err();
    assert!(err.to_string().contains("HANDPROP_MNIST_MIRROR=gopher://x"), "{err}");
}
