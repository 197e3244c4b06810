//! Fetching the files into a local cache from an ordered list of mirrors.
//!
//! For each file: if the cache already holds a copy that verifies, it is kept and nothing is
//! fetched. Otherwise the mirrors are tried in order; each attempt writes into a fresh, locked
//! temp file in the cache directory (`docs/data.md`, "The cache"), verifies it (decompressed size and
//! SHA-256), and only then renames it over the cache entry. An HTTP error, a transport error, a
//! short body, the attempt's deadline or a bad checksum moves on to the next mirror; the temp
//! file of a failed attempt is deleted. So the cache never holds a partial or unverified file.

use std::fmt;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::{Duration, Instant};

use crate::error::MirrorFailure;
use crate::files::{FileSet, FileSpec};
use crate::options::{FetchOptions, DEFAULT_TIMEOUT};
use crate::progress::{Progress, Tracker};
use crate::temp::{self, STALE_AFTER};
use crate::{DatasetKind, MnistError};

/// The environment variable that adds a MNIST mirror (URL, `file://` URL or directory) ahead of
/// the default mirrors ([`DatasetKind::mirror_env`] of [`DatasetKind::Mnist`]).
pub const MIRROR_ENV: &str = "HANDPROP_MNIST_MIRROR";

/// The public mirrors, tried last and in this order (the original yann.lecun.com host answers
/// 403): the one TF1's tutorials, TFDS and burn use, then torchvision's fallback.
pub const DEFAULT_MIRRORS: [&str; 2] = [
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
];

/// MNIST's default cache directory, relative to the workspace root
/// ([`DatasetKind::default_dir`]).
pub const DEFAULT_DIR: &str = "data/mnist";

/// Where a file can be fetched from.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Mirror {
    /// An `http://` or `https://` base URL, always ending in `/`; a file is at `<url><name>`.
    Http(String),
    /// A local directory (given as a path or a `file://` URL); a file is at `<dir>/<name>`.
    Local(PathBuf),
}

impl Mirror {
    /// Parses a mirror: `http://…` and `https://…` are URLs (a missing trailing `/` is added),
    /// `file://…` is a local directory (`file:///abs/dir` or `file://localhost/abs/dir`, with
    /// `%XX` escapes decoded), anything else without a `scheme://` is a local directory path.
    pub fn parse(s: &str) -> Result<Self, MnistError> {
        let trimmed = s.trim();
        let bad = |reason| MnistError::BadMirror { mirror: s.to_string(), reason };
        if trimmed.is_empty() {
            return Err(bad("empty mirror"));
        }
        let lower = trimmed.to_ascii_lowercase();
        if lower.starts_with("http://") || lower.starts_with("https://") {
            let mut url = trimmed.to_string();
            if !url.ends_with('/') {
                url.push('/');
            }
            return Ok(Mirror::Http(url));
        }
        if lower.starts_with("file://") {
            let rest = &trimmed["file://".len()..];
            // `file://localhost/x` and `file:///x` both mean the local path `/x`; any other
            // host is a remote share we cannot read.
            let path = if let Some(path) = rest.strip_prefix("localhost") {
                path
            } else if rest.starts_with('/') {
                rest
            } else {
                return Err(bad("file:// URLs must name a local absolute path (file:///dir)"));
            };
            let decoded = percent_decode(path).ok_or_else(|| bad("bad %-escape in file:// URL"))?;
            return Ok(Mirror::Local(PathBuf::from(decoded)));
        }
        if trimmed.contains("://") {
            return Err(bad("unsupported scheme; use http://, https://, file:// or a directory"));
        }
        Ok(Mirror::Local(PathBuf::from(trimmed)))
    }
}

impl FromStr for Mirror {
    type Err = MnistError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Mirror::parse(s)
    }
}

impl fmt::Display for Mirror {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Mirror::Http(url) => f.write_str(url),
            Mirror::Local(dir) => write!(f, "{}", dir.display()),
        }
    }
}

/// Decodes `%XX` escapes; `None` for a malformed escape or a result that is not UTF-8.
fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// The effective MNIST mirror order: [`mirror_order_for`] of [`DatasetKind::Mnist`].
pub fn mirror_order(user: &[Mirror], env: Option<&str>) -> Result<Vec<Mirror>, MnistError> {
    mirror_order_for(DatasetKind::Mnist, user, env)
}

/// The effective mirror order of `kind`, given the user's mirrors and the value of its
/// environment variable ([`DatasetKind::mirror_env`]):
///
/// 1. the user's mirrors (e.g. `--mirror`), in the order given;
/// 2. the mirror in the environment variable, if set and not blank;
/// 3. the system directories of [`DatasetKind::system_dirs`] (e.g. Debian's package);
/// 4. [`DatasetKind::default_mirrors`].
///
/// An explicit argument beats the environment, which beats the built-in defaults. Duplicates
/// keep their first position. Errors if the variable's value is not a valid mirror.
pub fn mirror_order_for(
    kind: DatasetKind,
    user: &[Mirror],
    env: Option<&str>,
) -> Result<Vec<Mirror>, MnistError> {
    let mut order: Vec<Mirror> = user.to_vec();
    if let Some(value) = env.filter(|v| !v.trim().is_empty()) {
        order.push(Mirror::parse(value).map_err(|err| match err {
            MnistError::BadMirror { mirror, reason } => {
                MnistError::BadMirror { mirror: format!("{}={mirror}", kind.mirror_env()), reason }
            }
            other => other,
        })?);
    }
    order.extend(kind.system_dirs().iter().map(|dir| Mirror::Local(PathBuf::from(dir))));
    order.extend(kind.default_mirrors().iter().map(|url| Mirror::Http(url.to_string())));
    let mut unique = Vec::with_capacity(order.len());
    for mirror in order {
        if !unique.contains(&mirror) {
            unique.push(mirror);
        }
    }
    Ok(unique)
}

/// [`mirror_order`] with the environment variable read from the process environment.
pub fn mirror_list(user: &[Mirror]) -> Result<Vec<Mirror>, MnistError> {
    mirror_list_for(DatasetKind::Mnist, user)
}

/// [`mirror_order_for`] with the environment variable read from the process environment and
/// the system directories that do not exist left out (the user's own mirrors are kept as given).
pub fn mirror_list_for(kind: DatasetKind, user: &[Mirror]) -> Result<Vec<Mirror>, MnistError> {
    let env = std::env::var_os(kind.mirror_env()).map(|v| v.to_string_lossy().into_owned());
    let env = env.as_deref();
    let mut order = mirror_order_for(kind, user, env)?;
    let env_mirror = env.and_then(|value| Mirror::parse(value).ok());
    order.retain(|mirror| match mirror {
        Mirror::Local(dir)
            if kind.system_dirs().iter().any(|sys| Path::new(sys) == dir)
                && !user.contains(mirror)
                && env_mirror.as_ref() != Some(mirror) =>
        {
            dir.is_dir()
        }
        _ => true,
    });
    Ok(order)
}

/// How one file ended up in the cache.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// A verified copy was already in the cache; nothing was fetched.
    Cached,
    /// Fetched from this mirror (as displayed) and verified.
    Fetched {
        /// The mirror that delivered it.
        mirror: String,
    },
}

/// The outcome for one file.
#[derive(Debug, Clone)]
pub struct FileOutcome {
    /// The file name.
    pub name: String,
    /// Where it now is in the cache.
    pub path: PathBuf,
    /// Cached or fetched.
    pub origin: Origin,
    /// Why the copy already in the cache was rejected and replaced, if there was one.
    pub replaced: Option<String>,
    /// Mirrors tried before the one that delivered, with why each failed.
    pub failures: Vec<MirrorFailure>,
}

/// What [`fetch`] or [`ensure`] did, one entry per file in [`FileSet::all`] order.
#[derive(Debug, Clone)]
pub struct FetchReport {
    /// One outcome per file.
    pub files: Vec<FileOutcome>,
    /// Orphaned temp files of killed downloads that were deleted from the cache directory.
    pub cleaned: Vec<PathBuf>,
}

impl FetchReport {
    /// Number of files fetched from a mirror (0 when everything was cached).
    pub fn fetched(&self) -> usize {
        self.files.iter().filter(|f| f.origin != Origin::Cached).count()
    }
}

/// Makes sure MNIST is in `dir` (default [`DEFAULT_DIR`]): [`ensure_dataset`] of
/// [`DatasetKind::Mnist`] with [`FetchOptions::from_env`] (the deadline from
/// `HANDPROP_DOWNLOAD_TIMEOUT`, a bar on a terminal, lines otherwise).
pub fn ensure(dir: &Path, mirrors: &[Mirror]) -> Result<FetchReport, MnistError> {
    ensure_dataset(DatasetKind::Mnist, dir, mirrors, &FetchOptions::from_env()?)
}

/// Makes sure dataset `kind` is in `dir` (by convention [`DatasetKind::default_dir`]),
/// fetching what is missing or bad from the user's `mirrors`, then the dataset's environment
/// variable, its system directories and its public mirrors (see [`mirror_list_for`]).
pub fn ensure_dataset(
    kind: DatasetKind,
    dir: &Path,
    mirrors: &[Mirror],
    options: &FetchOptions,
) -> Result<FetchReport, MnistError> {
    let order = mirror_list_for(kind, mirrors)?;
    fetch_with(dir, &order, &kind.files(), options).map_err(|err| match err {
        MnistError::AllMirrorsFailed { file, failures, .. } => {
            MnistError::AllMirrorsFailed { file, failures, dataset: Some(kind) }
        }
        other => other,
    })
}

/// [`fetch_with`] with the default deadline and a bar (`progress`) or nothing.
pub fn fetch(
    dir: &Path,
    mirrors: &[Mirror],
    files: &FileSet,
    progress: bool,
) -> Result<FetchReport, MnistError> {
    let progress = if progress { Progress::Bar } else { Progress::Off };
    fetch_with(dir, mirrors, files, &FetchOptions::new(DEFAULT_TIMEOUT, progress))
}

/// Fetches every file of `files` that `dir` lacks (or holds a bad copy of) from exactly
/// `mirrors`, in order: no environment variable, no defaults. The building block of
/// [`ensure_dataset`], and what tests call with their own specs and mirrors.
///
/// First deletes orphaned temp files of these files left in `dir` by killed downloads (see
/// [`STALE_AFTER`](crate::STALE_AFTER) and `docs/data.md`). Each attempt (one file from one mirror) must finish within
/// `options.timeout`.
///
/// Errors: [`MnistError::AllMirrorsFailed`] for the first file no mirror could deliver (files
/// before it stay fetched and verified), or [`MnistError::Io`] if the cache cannot be written.
pub fn fetch_with(
    dir: &Path,
    mirrors: &[Mirror],
    files: &FileSet,
    options: &FetchOptions,
) -> Result<FetchReport, MnistError> {
    std::fs::create_dir_all(dir)
        .map_err(|source| MnistError::Io { file: dir.into(), error: source })?;
    let names: Vec<&str> = files.all().iter().map(|spec| spec.name.as_str()).collect();
    // Where locks are unsupported, a writer cannot outlive its deadline, so a file older than
    // that (plus the grace period) is certainly an orphan.
    let cleaned = temp::clean_orphans(dir, &names, STALE_AFTER, options.timeout + STALE_AFTER);
    // The connect timeout fails a dead host fast; the overall deadline is set per request.
    let agent = ureq::AgentBuilder::new()
        .timeout_connect(Duration::from_secs(20))
        .user_agent(concat!("handprop-mnist/", env!("CARGO_PKG_VERSION")))
        .build();
    let mut report = FetchReport { files: Vec::new(), cleaned };
    for spec in files.all() {
        report.files.push(fetch_file(&agent, dir, mirrors, spec, options)?);
    }
    Ok(report)
}

/// Keeps a verified cached copy of one file or fetches it.
fn fetch_file(
    agent: &ureq::Agent,
    dir: &Path,
    mirrors: &[Mirror],
    spec: &FileSpec,
    options: &FetchOptions,
) -> Result<FileOutcome, MnistError> {
    let path = dir.join(&spec.name);
    let mut outcome = FileOutcome {
        name: spec.name.clone(),
        path: path.clone(),
        origin: Origin::Cached,
        replaced: None,
        failures: Vec::new(),
    };
    match spec.verify_file(&path) {
        Ok(()) => return Ok(outcome),
        Err(MnistError::NotFound { .. }) => {}
        Err(err) => outcome.replaced = Some(err.to_string()),
    }
    for mirror in mirrors {
        // A fresh, locked temp file per attempt, next to the destination so the rename is
        // atomic; it is deleted when dropped unless persisted.
        let mut temp = temp::create(dir, &spec.name)
            .map_err(|source| MnistError::Io { file: dir.into(), error: source })?;
        match download(agent, mirror, spec, temp.as_file_mut(), options).and_then(|()| {
            spec.verify_file(temp.path())
                .map_err(|e| Failure::other(verify_reason(e, mirror, spec)))
        }) {
            Ok(()) => {
                temp.persist(&path)
                    .map_err(|err| MnistError::Io { file: path.clone(), error: err.error })?;
                outcome.origin = Origin::Fetched { mirror: mirror.to_string() };
                return Ok(outcome);
            }
            Err(failure) => outcome.failures.push(MirrorFailure {
                mirror: mirror.to_string(),
                reason: failure.reason,
                timed_out: failure.timed_out,
            }),
        }
    }
    Err(MnistError::AllMirrorsFailed {
        file: spec.name.clone(),
        failures: outcome.failures,
        dataset: None,
    })
}

/// Why one attempt failed.
struct Failure {
    reason: String,
    timed_out: bool,
}

impl Failure {
    fn other(reason: String) -> Self {
        Self { reason, timed_out: false }
    }
}

/// Rewrites a verification error of the temp file as a sentence about the mirror's copy.
fn verify_reason(err: MnistError, mirror: &Mirror, spec: &FileSpec) -> String {
    match err {
        MnistError::ChecksumMismatch { expected, found, .. } => format!(
            "{} failed verification: SHA-256 of the decompressed bytes is {found}, expected \
             {expected}",
            spec.name
        ),
        MnistError::SizeMismatch { expected, found, .. } => format!(
            "{} failed verification: {found} decompressed bytes, expected {expected}",
            spec.name
        ),
        MnistError::Gzip { error: source, .. } => {
            format!("{} is not valid gzip: {source}", spec.name)
        }
        other => format!("{} from {mirror} could not be checked: {other}", spec.name),
    }
}

/// The most bytes accepted from a mirror for a file: a gzip stream of incompressible data is
/// slightly larger than its contents, so allow the decompressed size plus 1/64 plus 64 KiB.
fn body_limit(spec: &FileSpec) -> u64 {
    spec.bytes.saturating_add(spec.bytes / 64).saturating_add(64 << 10)
}

/// Where a local directory holds `name`: `<dir>/<name>`, or for a `.gz` name the uncompressed
/// `<dir>/<name without .gz>` when only that exists (unpacked copies). `None` if neither is a
/// file.
pub(crate) fn locate(dir: &Path, name: &str) -> Option<PathBuf> {
    let primary = dir.join(name);
    if primary.is_file() {
        return Some(primary);
    }
    let stem = dir.join(name.strip_suffix(".gz")?);
    stem.is_file().then_some(stem)
}

/// Copies one file from a mirror into `out` within `options.timeout`.
fn download(
    agent: &ureq::Agent,
    mirror: &Mirror,
    spec: &FileSpec,
    out: &mut std::fs::File,
    options: &FetchOptions,
) -> Result<(), Failure> {
    let started = Instant::now();
    let source = match mirror {
        Mirror::Http(base) => format!("{base}{}", spec.name),
        Mirror::Local(dir) => {
            locate(dir, &spec.name).unwrap_or_else(|| dir.join(&spec.name)).display().to_string()
        }
    };
    let mut tracker = Tracker::start(&options.progress, &spec.name, &source, options.timeout);
    let result = transfer(agent, mirror, spec, out, options, started, &source, &mut tracker);
    tracker.finish(result.as_ref().map(drop).map_err(|failure| failure.reason.as_str()));
    result
}

/// The body of [`download`]: request or open, then copy with the deadline checked before
/// every read.
#[allow(clippy::too_many_arguments)]
fn transfer(
    agent: &ureq::Agent,
    mirror: &Mirror,
    spec: &FileSpec,
    out: &mut std::fs::File,
    options: &FetchOptions,
    started: Instant,
    source: &str,
    tracker: &mut Tracker,
) -> Result<(), Failure> {
    let timeout = options.timeout;
    // The attempt's deadline has passed. After a failed read or request a small tolerance
    // applies: the socket timeout ureq derives from the deadline may fire a hair early.
    let expired = || started.elapsed() >= timeout;
    let expired_on_error = || started.elapsed() + Duration::from_millis(20) >= timeout;
    let timed_out = |copied: u64, total: Option<u64>| {
        let of = total.map(|t| format!(" of {t}")).unwrap_or_default();
        Failure {
            reason: format!(
                "{source}: timed out after {:.1} s (per-file deadline {} s, see {}) with \
                 {copied}{of} bytes received",
                started.elapsed().as_secs_f64(),
                timeout.as_secs_f64(),
                crate::TIMEOUT_ENV
            ),
            timed_out: true,
        }
    };
    let (mut reader, expected_len): (Box<dyn Read>, Option<u64>) = match mirror {
        Mirror::Http(_) => {
            let response = match agent.get(source).timeout(timeout).call() {
                Ok(response) => response,
                Err(ureq::Error::Status(code, response)) => {
                    return Err(Failure::other(format!(
                        "HTTP {code} {} for {}",
                        response.status_text(),
                        spec.name
                    )));
                }
                Err(ureq::Error::Transport(_)) if expired_on_error() => {
                    return Err(timed_out(0, None))
                }
                Err(ureq::Error::Transport(err)) => {
                    // ureq's own Display repeats the URL, which the report already shows as
                    // the mirror; give the kind, message and underlying cause instead.
                    let mut reason = format!("{}: {}", spec.name, err.kind());
                    if let Some(message) = err.message() {
                        reason.push_str(&format!(": {message}"));
                    }
                    if let Some(cause) = std::error::Error::source(&err) {
                        reason.push_str(&format!(" ({cause})"));
                    }
                    return Err(Failure::other(reason));
                }
            };
            // With a Content-Encoding the length counts encoded bytes, not what we read.
            let len = if response.header("content-encoding").is_none() {
                response.header("content-length").and_then(|v| v.trim().parse().ok())
            } else {
                None
            };
            (response.into_reader(), len)
        }
        Mirror::Local(_) => {
            let file = std::fs::File::open(source)
                .map_err(|err| Failure::other(format!("cannot open {source}: {err}")))?;
            let len = file.metadata().ok().map(|m| m.len());
            (Box::new(file), len)
        }
    };
    tracker.set_total(expected_len);
    let what = &spec.name;
    let limit = body_limit(spec);
    if let Some(len) = expected_len.filter(|&len| len > limit) {
        return Err(Failure::other(format!(
            "{what}: {len} bytes is more than the {limit} a copy can need"
        )));
    }
    let mut buf = vec![0u8; 64 << 10];
    let mut copied = 0u64;
    loop {
        // Checked before every read: a mirror that trickles a byte at a time still returns
        // from each read, and a silent one is cut off by the socket timeout ureq derives from
        // the same deadline.
        if expired() {
            return Err(timed_out(copied, expected_len));
        }
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(err) if err.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) if expired_on_error() => return Err(timed_out(copied, expected_len)),
            Err(err) => return Err(Failure::other(format!("{what}: transfer failed: {err}"))),
        };
        copied += n as u64;
        if copied > limit {
            return Err(Failure::other(format!(
                "{what}: body exceeds the {limit} bytes a copy can need"
            )));
        }
        out.write_all(&buf[..n]).map_err(|err| {
            Failure::other(format!("{what}: writing the temp file failed: {err}"))
        })?;
        tracker.advance(n as u64);
    }
    out.flush()
        .map_err(|err| Failure::other(format!("{what}: writing the temp file failed: {err}")))?;
    if let Some(len) = expected_len.filter(|&len| len != copied) {
        return Err(Failure::other(format!("{what}: short body: got {copied} of {len} bytes")));
    }
    Ok(())
}
