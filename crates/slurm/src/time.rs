//! Slurm's time formats, and durations for people.

use crate::SlurmError;

/// Parses a Slurm time limit (`MM`, `MM:SS`, `HH:MM:SS`, `D-HH`, `D-HH:MM`, `D-HH:MM:SS`) into
/// seconds.
pub fn parse_slurm_time(text: &str) -> Result<u64, SlurmError> {
    let bad = || SlurmError::BadTime(text.to_owned());
    let num = |s: &str| -> Result<u64, SlurmError> {
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        s.parse().map_err(|_| bad())
    };
    let (days, rest) = match text.split_once('-') {
        Some((d, rest)) => (Some(num(d)?), rest),
        None => (None, text),
    };
    let parts: Vec<u64> = rest.split(':').map(num).collect::<Result<_, _>>()?;
    let secs = match (days, parts.as_slice()) {
        (None, [m]) => m * 60,
        (None, [m, s]) => m * 60 + s,
        (None, [h, m, s]) => h * 3600 + m * 60 + s,
        (Some(d), [h]) => d * 86400 + h * 3600,
        (Some(d), [h, m]) => d * 86400 + h * 3600 + m * 60,
        (Some(d), [h, m, s]) => d * 86400 + h * 3600 + m * 60 + s,
        _ => return Err(bad()),
    };
    Ok(secs)
}

/// Formats seconds as Slurm's `D-HH:MM:SS`, rounded up to whole minutes (at least one).
pub fn format_slurm_time(seconds: f64) -> String {
    let minutes = (seconds.max(60.0) / 60.0).ceil() as u64;
    let (d, h, m) = (minutes / 1440, minutes % 1440 / 60, minutes % 60);
    format!("{d}-{h:02}:{m:02}:00")
}

/// A duration for people: `4.2 s`, `42 s`, `4.2 min`, `4.2 h`.
pub fn human_seconds(seconds: f64) -> String {
    if seconds < 10.0 {
        format!("{seconds:.1} s")
    } else if seconds < 120.0 {
        format!("{seconds:.0} s")
    } else if seconds < 7200.0 {
        format!("{:.1} min", seconds / 60.0)
    } else {
        format!("{:.1} h", seconds / 3600.0)
    }
}

/// `n` or `min-max`, for cells per shard.
pub fn cells_range(min: usize, max: usize) -> String {
    if min == max {
        min.to_string()
    } else {
        format!("{min}-{max}")
    }
}
