//! How a fetch behaves: its per-file deadline and its progress display.

use std::time::Duration;

use crate::progress::Progress;
use crate::MnistError;

/// The environment variable that sets the per-file deadline ([`FetchOptions::timeout`]): a
/// positive number of seconds, optionally with a unit, e.g. `300`, `90s`, `2.5m`, `1h`.
pub const TIMEOUT_ENV: &str = "HANDPROP_DOWNLOAD_TIMEOUT";

/// The default per-file deadline, 300 s.
///
/// Long enough for the largest file of either dataset (Fashion-MNIST's training images,
/// 26.4 MB gzip; MNIST's are 9.9 MB) at 1 Mbit/s (≈ 210 s); short enough that a mirror that
/// trickles or stalls costs at most five minutes before the next mirror is tried. Slower links
/// raise it with [`TIMEOUT_ENV`].
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(300);

/// How [`crate::fetch_with`] and [`crate::ensure_dataset`] download.
#[derive(Debug, Clone)]
pub struct FetchOptions {
    /// The deadline of one attempt: fetching one file from one mirror, from connecting to the
    /// last byte. An attempt still running at the deadline is abandoned (its temp file deleted)
    /// and the next mirror is tried.
    pub timeout: Duration,
    /// How progress is shown.
    pub progress: Progress,
}

impl FetchOptions {
    /// A deadline and a progress display.
    pub fn new(timeout: Duration, progress: Progress) -> Self {
        Self { timeout, progress }
    }

    /// The deadline from [`TIMEOUT_ENV`] (default [`DEFAULT_TIMEOUT`]) and [`Progress::auto`]:
    /// what [`crate::ensure`] uses. Errors if the variable is set to something that is not a
    /// positive duration.
    pub fn from_env() -> Result<Self, MnistError> {
        let value = std::env::var_os(TIMEOUT_ENV).map(|v| v.to_string_lossy().into_owned());
        Ok(Self::new(timeout_from(value.as_deref())?, Progress::auto()))
    }
}

impl Default for FetchOptions {
    /// [`DEFAULT_TIMEOUT`] and [`Progress::auto`] (no environment read).
    fn default() -> Self {
        Self::new(DEFAULT_TIMEOUT, Progress::auto())
    }
}

/// The deadline given the value of [`TIMEOUT_ENV`]: [`DEFAULT_TIMEOUT`] when unset or blank,
/// else [`parse_timeout`] of it (an error names the variable).
pub fn timeout_from(env: Option<&str>) -> Result<Duration, MnistError> {
    match env.map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(DEFAULT_TIMEOUT),
        Some(value) => parse_timeout(value).map_err(|err| match err {
            MnistError::BadTimeout { value, reason, .. } => {
                MnistError::BadTimeout { variable: Some(TIMEOUT_ENV), value, reason }
            }
            other => other,
        }),
    }
}

/// Parses a duration: a positive, finite number followed by nothing or `s` (seconds), `m`
/// (minutes) or `h` (hours), e.g. `300`, `90s`, `2.5m`, `1h`.
pub fn parse_timeout(value: &str) -> Result<Duration, MnistError> {
    let bad = |reason| MnistError::BadTimeout { variable: None, value: value.to_string(), reason };
    let trimmed = value.trim();
    let (number, unit) = match trimmed.char_indices().last() {
        Some((at, 's')) => (&trimmed[..at], 1.0),
        Some((at, 'm')) => (&trimmed[..at], 60.0),
        Some((at, 'h')) => (&trimmed[..at], 3600.0),
        Some(_) => (trimmed, 1.0),
        None => return Err(bad("empty")),
    };
    let number: f64 = number.trim().parse().map_err(|_| bad("not a number"))?;
    let secs = number * unit;
    if secs.is_nan() || secs <= 0.0 {
        return Err(bad("must be positive"));
    }
    Duration::try_from_secs_f64(secs).map_err(|_| bad("too large"))
}
