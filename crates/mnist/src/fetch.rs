//! Fetching the files into a local cache from an ordered list of mirrors.
//!
//! For each file: if the cache already holds a copy that verifies, it is kept and nothing is
//! fetched. Otherwise the mirrors are tried in order; each attempt writes into a fresh temp file
//! in the cache directory, verifies it (decompressed size and SHA-256), and only then renames it
//! over the cache entry. An HTTP error, a transport error, a short body or a bad checksum moves on
//! to the next mirror; the temp file of a failed attempt is deleted. So the cache never holds a
//! partial or unverified file.

use std::fmt;
use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

use crate::error::MirrorFailure;
use crate::files::{FileSet, FileSpec};
use crate::MnistError;

/// The environment variable that adds a mirror (URL, `file://` URL or directory) ahead of the
/// default mirrors. CI sets it to the local copy in `../shared/data/mnist`.
pub const MIRROR_ENV: &str = "HANDPROP_MNIST_MIRROR";

/// The public mirrors, tried last and in this order (the original yann.lecun.com host answers
/// 403): the one TF1's tutorials, TFDS and burn use, then torchvision's fallback.
pub const DEFAULT_MIRRORS: [&str; 2] = [
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
];

/// The default cache directory, relative to the workspace root.
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

/// The effective mirror order, given the user's mirrors and the value of [`MIRROR_ENV`]:
///
/// 1. the user's mirrors (e.g. `--mirror`), in the order given;
/// 2. the mirror in the environment variable, if set and not blank;
/// 3. [`DEFAULT_MIRRORS`].
///
/// An explicit argument beats the environment, which beats the built-in defaults. Duplicates
/// keep their first position. Errors if the variable's value is not a valid mirror.
pub fn mirror_order(user: &[Mirror], env: Option<&str>) -> Result<Vec<Mirror>, MnistError> {
    let mut order: Vec<Mirror> = user.to_vec();
    if let Some(value) = env.filter(|v| !v.trim().is_empty()) {
        order.push(Mirror::parse(value).map_err(|err| match err {
            MnistError::BadMirror { mirror, reason } => {
                MnistError::BadMirror { mirror: format!("{MIRROR_ENV}={mirror}"), reason }
            }
            other => other,
        })?);
    }
    for url in DEFAULT_MIRRORS {
        order.push(Mirror::Http(url.to_string()));
    }
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
    let env = std::env::var_os(MIRROR_ENV).map(|v| v.to_string_lossy().into_owned());
    mirror_order(user, env.as_deref())
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
}

impl FetchReport {
    /// Number of files fetched from a mirror (0 when everything was cached).
    pub fn fetched(&self) -> usize {
        self.files.iter().filter(|f| f.origin != Origin::Cached).count()
    }
}

/// Makes sure canonical MNIST is in `dir` (default [`DEFAULT_DIR`]), fetching what is missing
/// or bad from the user's `mirrors`, then [`MIRROR_ENV`], then [`DEFAULT_MIRRORS`] (see
/// [`mirror_order`]). Shows a progress bar when stderr is a terminal.
pub fn ensure(dir: &Path, mirrors: &[Mirror]) -> Result<FetchReport, MnistError> {
    let order = mirror_list(mirrors)?;
    fetch(dir, &order, &FileSet::canonical(), std::io::stderr().is_terminal())
}

/// Fetches every file of `files` that `dir` lacks (or holds a bad copy of) from exactly
/// `mirrors`, in order: no environment variable, no defaults. The building block of [`ensure`],
/// and what tests call with their own specs and mirrors.
///
/// Errors: [`MnistError::AllMirrorsFailed`] for the first file no mirror could deliver (files
/// before it stay fetched and verified), or [`MnistError::Io`] if the cache cannot be written.
pub fn fetch(
    dir: &Path,
    mirrors: &[Mirror],
    files: &FileSet,
    progress: bool,
) -> Result<FetchReport, MnistError> {
    std::fs::create_dir_all(dir)
        .map_err(|source| MnistError::Io { file: dir.into(), error: source })?;
    let agent = ureq::AgentBuilder::new()
        .timeout_connect(Duration::from_secs(20))
        .timeout_read(Duration::from_secs(60))
        .user_agent(concat!("handprop-mnist/", env!("CARGO_PKG_VERSION")))
        .build();
    let mut report = FetchReport { files: Vec::new() };
    for spec in files.all() {
        report.files.push(fetch_file(&agent, dir, mirrors, spec, progress)?);
    }
    Ok(report)
}

/// Keeps a verified cached copy of one file or fetches it.
fn fetch_file(
    agent: &ureq::Agent,
    dir: &Path,
    mirrors: &[Mirror],
    spec: &FileSpec,
    progress: bool,
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
        // A fresh temp file per attempt, next to the destination so the rename is atomic; it is
        // deleted when dropped unless persisted.
        let prefix = format!(".{}.", spec.name);
        let mut builder = tempfile::Builder::new();
        builder.prefix(&prefix).suffix(".tmp");
        // Temp files are private (0600) by default; the cache entry should be an ordinary
        // file readable like any other (0666 minus the umask).
        #[cfg(unix)]
        builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666));
        let mut temp = builder
            .tempfile_in(dir)
            .map_err(|source| MnistError::Io { file: dir.into(), error: source })?;
        match download(agent, mirror, spec, temp.as_file_mut(), progress).and_then(|()| {
            spec.verify_file(temp.path()).map_err(|e| verify_reason(e, mirror, spec))
        }) {
            Ok(()) => {
                temp.persist(&path)
                    .map_err(|err| MnistError::Io { file: path.clone(), error: err.error })?;
                outcome.origin = Origin::Fetched { mirror: mirror.to_string() };
                return Ok(outcome);
            }
            Err(reason) => {
                outcome.failures.push(MirrorFailure { mirror: mirror.to_string(), reason });
            }
        }
    }
    Err(MnistError::AllMirrorsFailed { file: spec.name.clone(), failures: outcome.failures })
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

/// Copies one file from a mirror into `out`; returns the failure as a sentence.
fn download(
    agent: &ureq::Agent,
    mirror: &Mirror,
    spec: &FileSpec,
    out: &mut std::fs::File,
    progress: bool,
) -> Result<(), String> {
    let (reader, expected_len, what): (Box<dyn Read>, Option<u64>, String) = match mirror {
        Mirror::Http(base) => {
            let response = match agent.get(&format!("{base}{}", spec.name)).call() {
                Ok(response) => response,
                Err(ureq::Error::Status(code, response)) => {
                    return Err(format!(
                        "HTTP {code} {} for {}",
                        response.status_text(),
                        spec.name
                    ));
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
                    return Err(reason);
                }
            };
            // With a Content-Encoding the length counts encoded bytes, not what we read.
            let len = if response.header("content-encoding").is_none() {
                response.header("content-length").and_then(|v| v.trim().parse().ok())
            } else {
                None
            };
            (response.into_reader(), len, spec.name.clone())
        }
        Mirror::Local(dir) => {
            let path = dir.join(&spec.name);
            let file = std::fs::File::open(&path)
                .map_err(|err| format!("cannot open {}: {err}", path.display()))?;
            let len = file.metadata().ok().map(|m| m.len());
            (Box::new(file), len, spec.name.clone())
        }
    };
    let limit = body_limit(spec);
    if let Some(len) = expected_len.filter(|&len| len > limit) {
        return Err(format!("{what}: {len} bytes is more than the {limit} a copy can need"));
    }
    let bar = if progress { progress_bar(&spec.name, expected_len) } else { ProgressBar::hidden() };
    let mut reader = bar.wrap_read(reader.take(limit + 1));
    let copied = std::io::copy(&mut reader, out);
    bar.finish_and_clear();
    let copied = copied.map_err(|err| format!("{what}: transfer failed: {err}"))?;
    out.flush().map_err(|err| format!("{what}: writing the temp file failed: {err}"))?;
    if copied > limit {
        return Err(format!("{what}: body exceeds the {limit} bytes a copy can need"));
    }
    if let Some(len) = expected_len.filter(|&len| len != copied) {
        return Err(format!("{what}: short body: got {copied} of {len} bytes"));
    }
    Ok(())
}

/// A byte-count progress bar for one file (a spinner when the length is unknown).
fn progress_bar(name: &str, len: Option<u64>) -> ProgressBar {
    let bar = match len {
        Some(len) => ProgressBar::new(len),
        None => ProgressBar::new_spinner(),
    };
    let template = if len.is_some() {
        "{msg} [{wide_bar}] {bytes}/{total_bytes} {bytes_per_sec}"
    } else {
        "{msg} {spinner} {bytes} {bytes_per_sec}"
    };
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(name.to_string());
    bar
}
