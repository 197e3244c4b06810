//! Downloads with a deadline, progress lines, and temp-file hygiene, against HTTP servers on
//! 127.0.0.1 started here (one thread per connection) and local directories. Every test is
//! bounded by its deadlines (well under ten seconds) and never touches the internet.

mod common;

use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use common::{gzip, Synthetic};
use handprop_mnist::{
    fetch_with, load_with, FetchOptions, LineSink, Mirror, MnistError, Origin, Progress, Split,
    STALE_AFTER,
};

/// How a served path behaves: `/good/<name>` sends the file at once; `/trickle/<name>` sends
/// the headers (with the full Content-Length) and then one body byte every 100 ms; `/silent/…`
/// reads the request and never answers. Anything else is a 404.
fn serve(files: Vec<(String, Vec<u8>)>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let files = Arc::new(files);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            let files = Arc::clone(&files);
            std::thread::spawn(move || {
                let _ = answer(stream, &files);
            });
        }
    });
    base
}

fn answer(mut stream: TcpStream, files: &[(String, Vec<u8>)]) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 || line == "\r\n" {
            break;
        }
    }
    let path = request_line.split_whitespace().nth(1).unwrap_or("").to_string();
    let (kind, name) = path.trim_start_matches('/').split_once('/').unwrap_or(("", ""));
    let Some((_, body)) = files.iter().find(|(served, _)| served == name) else {
        return write!(stream, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
    };
    let header = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", body.len());
    match kind {
        "good" => {
            stream.write_all(header.as_bytes())?;
            stream.write_all(body)
        }
        "trickle" => {
            stream.write_all(header.as_bytes())?;
            // Stops when the client hangs up (a write fails) or after 30 s at the latest.
            for byte in body.iter().take(300) {
                stream.write_all(std::slice::from_ref(byte))?;
                stream.flush()?;
                std::thread::sleep(Duration::from_millis(100));
            }
            Ok(())
        }
        "silent" => {
            std::thread::sleep(Duration::from_secs(30));
            Ok(())
        }
        _ => write!(stream, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"),
    }
}

/// The synthetic files gzip-compressed, as a server holds them.
fn served(data: &Synthetic) -> Vec<(String, Vec<u8>)> {
    data.names().into_iter().zip(&data.contents).map(|(n, c)| (n, gzip(c, 6))).collect()
}

/// A progress sink the test can read.
#[derive(Clone, Default)]
struct Shared(Arc<Mutex<Vec<u8>>>);

impl Write for Shared {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Shared {
    fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}

/// The names of everything in `dir`, sorted.
fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn a_trickling_mirror_times_out_by_the_deadline_and_the_next_mirror_delivers() {
    let data = Synthetic::new(4, 2);
    let base = serve(served(&data));
    let mirrors = [
        Mirror::parse(&format!("{base}/trickle")).unwrap(),
        Mirror::parse(&format!("{base}/good")).unwrap(),
    ];
    let sink = Shared::default();
    let deadline = Duration::from_millis(700);
    let every = Duration::from_millis(200);
    let options =
        FetchOptions::new(deadline, Progress::Lines { every, sink: LineSink::new(sink.clone()) });
    let cache = tempfile::tempdir().unwrap();

    let started = Instant::now();
    let report = fetch_with(cache.path(), &mirrors, &data.files, &options).unwrap();
    let elapsed = started.elapsed();

    // Four files, each abandoned on the trickling mirror at its deadline: no sooner (it
    // trickles for far longer than that), and not much later.
    assert!(elapsed >= deadline.mul_f64(0.97) * 4, "{elapsed:?}");
    assert!(elapsed < deadline * 4 + Duration::from_secs(4), "{elapsed:?}");
    assert_eq!(report.fetched(), 4);
    for outcome in &report.files {
        assert_eq!(outcome.origin, Origin::Fetched { mirror: format!("{base}/good/") });
        let [failure] = &outcome.failures[..] else { panic!("{:?}", outcome.failures) };
        assert!(failure.timed_out, "{failure}");
        let url = format!("{base}/trickle/{}", outcome.name);
        assert!(failure.reason.starts_with(&format!("{url}: timed out after")), "{failure}");
        assert!(
            failure.reason.contains("(per-file deadline 0.7 s, see HANDPROP_DOWNLOAD_TIMEOUT)"),
            "{failure}"
        );
    }
    // Only the four verified files: no temp file of an abandoned attempt is left.
    let mut names = data.names().to_vec();
    names.sort();
    assert_eq!(listing(cache.path()), names);
    load_with(cache.path(), Split::Full, &data.files).unwrap();

    // Progress as lines (not a terminal): the start, lines while bytes trickle in (name, bytes
    // so far of the total, rate), the timeout, then the good mirror's attempt.
    let text = sink.text();
    let name = &data.files.train_images.name;
    let total = served(&data)[0].1.len();
    assert!(text.contains(&format!("fetching {name} from {base}/trickle/{name} (deadline 0.7 s)")));
    let periodic: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with(&format!("  {name}: ")) && l.contains(" of "))
        .collect();
    assert!(!periodic.is_empty(), "{text}");
    for line in &periodic {
        assert!(line.contains(&format!(" bytes of {total} (")) && line.contains("/s, "), "{line}");
    }
    assert!(text.contains(&format!("  {name} failed: {base}/trickle/{name}: timed out")), "{text}");
    assert!(text.contains(&format!("fetching {name} from {base}/good/{name}")), "{text}");
    assert!(text.contains(&format!("  {name}: {total} bytes in ")), "{text}");
}

#[test]
fn when_every_mirror_times_out_the_error_names_each_url_and_the_variable() {
    let data = Synthetic::new(2, 1);
    let base = serve(served(&data));
    let mirrors = [
        Mirror::parse(&format!("{base}/silent")).unwrap(),
        Mirror::parse(&format!("{base}/trickle")).unwrap(),
    ];
    let deadline = Duration::from_millis(600);
    let sink = Shared::default();
    let every = Duration::from_millis(150);
    let options =
        FetchOptions::new(deadline, Progress::Lines { every, sink: LineSink::new(sink.clone()) });
    let cache = tempfile::tempdir().unwrap();

    let started = Instant::now();
    let err = fetch_with(cache.path(), &mirrors, &data.files, &options).unwrap_err();
    let elapsed = started.elapsed();
    // Two attempts (both mirrors, first file), each cut at the deadline, even the mirror that
    // never sends a byte of its response.
    assert!(elapsed >= deadline.mul_f64(0.97) * 2, "{elapsed:?}");
    assert!(elapsed < deadline * 2 + Duration::from_secs(3), "{elapsed:?}");
    let MnistError::AllMirrorsFailed { file, failures, .. } = &err else { panic!("{err:?}") };
    assert_eq!(file, &data.files.train_images.name);
    assert!(failures.iter().all(|f| f.timed_out), "{failures:?}");
    let message = err.to_string();
    for kind in ["silent", "trickle"] {
        let url = format!("{base}/{kind}/{file}");
        assert!(message.contains(&format!("{url}: timed out after")), "{message}");
    }
    assert!(message.contains("raise the per-file deadline, e.g. HANDPROP_DOWNLOAD_TIMEOUT="));
    // Progress lines keep coming while the silent mirror sends nothing at all.
    let text = sink.text();
    let silent: Vec<&str> = text
        .lines()
        .skip_while(|l| !l.starts_with(&format!("fetching {file} from {base}/silent/")))
        .take_while(|l| !l.contains(" failed: "))
        .filter(|l| l.starts_with(&format!("  {file}: 0 bytes, 0 B/s, ")))
        .collect();
    assert!(silent.len() >= 2, "{text}");
    assert!(listing(cache.path()).is_empty(), "{:?}", listing(cache.path()));
}

#[test]
fn orphaned_temp_files_are_removed_but_live_fresh_and_foreign_ones_kept() {
    let data = Synthetic::new(3, 2);
    let source = tempfile::tempdir().unwrap();
    data.write_gz(source.path());
    let mirrors = [Mirror::Local(source.path().to_path_buf())];
    let options = FetchOptions::new(Duration::from_secs(10), Progress::Off);
    let cache = tempfile::tempdir().unwrap();
    let dir = cache.path();
    let [train_images, train_labels, test_images, _] = data.names();
    let long_ago = SystemTime::now() - (STALE_AFTER + Duration::from_secs(3600));
    let make = |name: &str, modified: Option<SystemTime>| {
        let path = dir.join(name);
        let file = File::options().create_new(true).read(true).write(true).open(&path).unwrap();
        (&file).write_all(b"\x1f\x8b partial download").unwrap();
        if let Some(time) = modified {
            file.set_modified(time).unwrap();
        }
        (path, file)
    };
    // What `kill -9` leaves: the process's lock died with it, the partial file did not.
    let (orphan, orphan_file) = make(&format!(".{train_images}.k9x4Qz.tmp"), Some(long_ago));
    drop(orphan_file);
    // A download still running in another process: old (a long trickle) but locked.
    let (live, live_file) = make(&format!(".{train_labels}.Lv3Ab9.tmp"), Some(long_ago));
    live_file.lock().unwrap();
    // A writer that has just created its file and not yet locked it.
    let (fresh, fresh_file) = make(&format!(".{test_images}.Nw8Cd2.tmp"), None);
    drop(fresh_file);
    // Not ours, however old.
    let (foreign, foreign_file) = make(".notes.tmp", Some(long_ago));
    drop(foreign_file);

    let report = fetch_with(dir, &mirrors, &data.files, &options).unwrap();
    assert_eq!(report.cleaned, std::slice::from_ref(&orphan));
    assert!(!orphan.exists());
    for kept in [&live, &fresh, &foreign] {
        assert!(kept.exists(), "{}", kept.display());
    }
    assert_eq!(report.fetched(), 4);

    // The other process dies too: its lock is released, and the next run removes its file
    // (the fresh one, once it has aged unmodified, as well).
    drop(live_file);
    File::options().write(true).open(&fresh).unwrap().set_modified(long_ago).unwrap();
    let again = fetch_with(dir, &mirrors, &data.files, &options).unwrap();
    let mut expected = vec![live.clone(), fresh.clone()];
    expected.sort();
    assert_eq!(again.cleaned, expected);
    assert_eq!(again.fetched(), 0);
    let mut names: Vec<String> = data.names().to_vec();
    names.push(".notes.tmp".into());
    names.sort();
    assert_eq!(listing(dir), names);
}

#[test]
fn a_failed_attempt_of_any_kind_leaves_no_temp_file() {
    // Bad contents from a local mirror, then a 404, then a good copy.
    let data = Synthetic::new(2, 1);
    let base = serve(served(&data));
    let bad = tempfile::tempdir().unwrap();
    for name in data.names() {
        std::fs::write(bad.path().join(name), gzip(b"not an IDX file", 6)).unwrap();
    }
    let mirrors = [
        Mirror::Local(bad.path().to_path_buf()),
        Mirror::parse(&format!("{base}/missing")).unwrap(),
        Mirror::parse(&format!("{base}/good")).unwrap(),
    ];
    let cache = tempfile::tempdir().unwrap();
    let options = FetchOptions::new(Duration::from_secs(10), Progress::Off);
    let report = fetch_with(cache.path(), &mirrors, &data.files, &options).unwrap();
    for outcome in &report.files {
        assert_eq!(outcome.failures.len(), 2, "{:?}", outcome.failures);
        assert!(outcome.failures.iter().all(|f| !f.timed_out));
    }
    let mut names = data.names().to_vec();
    names.sort();
    assert_eq!(listing(cache.path()), names);
}
