//! Download progress: a bar on a terminal, plain lines elsewhere (CI logs, `nohup`, Slurm), or
//! nothing.

use std::fmt;
use std::io::{IsTerminal, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use indicatif::{HumanBytes, ProgressBar, ProgressStyle};

/// How often [`Progress::auto`] prints a line when stderr is not a terminal.
pub const DEFAULT_LINE_INTERVAL: Duration = Duration::from_secs(5);

/// How a download shows its progress.
#[derive(Debug, Clone, Default)]
pub enum Progress {
    /// Nothing.
    #[default]
    Off,
    /// An indicatif bar on stderr (for a terminal).
    Bar,
    /// Plain lines: one when an attempt starts, one every `every` while it runs (file, bytes so
    /// far, rate) and one when it ends — readable in a log file.
    Lines {
        /// Time between two progress lines of one attempt.
        every: Duration,
        /// Where the lines go (stderr for [`Progress::auto`]).
        sink: LineSink,
    },
}

impl Progress {
    /// A bar when stderr is a terminal, otherwise a line on stderr every
    /// [`DEFAULT_LINE_INTERVAL`].
    pub fn auto() -> Self {
        if std::io::stderr().is_terminal() {
            Progress::Bar
        } else {
            Progress::lines(DEFAULT_LINE_INTERVAL)
        }
    }

    /// Lines on stderr every `every`.
    pub fn lines(every: Duration) -> Self {
        Progress::Lines { every, sink: LineSink::stderr() }
    }
}

/// A shared writer for progress lines; each line is written whole under its lock.
#[derive(Clone)]
pub struct LineSink(Arc<Mutex<dyn Write + Send>>);

impl LineSink {
    /// The process's stderr.
    pub fn stderr() -> Self {
        Self::new(std::io::stderr())
    }

    /// Any writer, e.g. a log file or, in tests, a buffer.
    pub fn new(writer: impl Write + Send + 'static) -> Self {
        Self(Arc::new(Mutex::new(writer)))
    }

    /// Writes one line; a failing writer is ignored (progress must never fail a download).
    pub(crate) fn line(&self, text: fmt::Arguments<'_>) {
        let mut writer = match self.0.lock() {
            Ok(writer) => writer,
            Err(poisoned) => poisoned.into_inner(),
        };
        let _ = writeln!(writer, "{text}");
        let _ = writer.flush();
    }
}

impl fmt::Debug for LineSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LineSink(..)")
    }
}

/// The progress of one download attempt.
pub(crate) struct Tracker {
    name: String,
    total: Option<u64>,
    bytes: u64,
    started: Instant,
    view: View,
}

enum View {
    Off,
    Bar(ProgressBar),
    Lines { every: Duration, sink: LineSink, next: Instant },
}

impl Tracker {
    /// Starts tracking `name` fetched from `source` (a URL or path), before its size is known.
    pub(crate) fn start(progress: &Progress, name: &str, source: &str, deadline: Duration) -> Self {
        let started = Instant::now();
        let view = match progress {
            Progress::Off => View::Off,
            Progress::Bar => View::Bar(bar(name)),
            Progress::Lines { every, sink } => {
                sink.line(format_args!(
                    "fetching {name} from {source} (deadline {} s)",
                    deadline.as_secs_f64()
                ));
                View::Lines { every: *every, sink: sink.clone(), next: started + *every }
            }
        };
        Self { name: name.to_string(), total: None, bytes: 0, started, view }
    }

    /// Sets the expected size once the source has told it (Content-Length, file size).
    pub(crate) fn set_total(&mut self, total: Option<u64>) {
        self.total = total;
        if let (View::Bar(bar), Some(len)) = (&self.view, total) {
            bar.set_length(len);
            if let Ok(style) = ProgressStyle::with_template(
                "{msg} [{wide_bar}] {bytes}/{total_bytes} {bytes_per_sec}",
            ) {
                bar.set_style(style.progress_chars("=> "));
            }
        }
    }

    /// Records `n` more bytes; prints a line if one is due.
    pub(crate) fn advance(&mut self, n: u64) {
        self.bytes += n;
        match &mut self.view {
            View::Off => {}
            View::Bar(bar) => bar.inc(n),
            View::Lines { every, sink, next } => {
                let now = Instant::now();
                if now >= *next {
                    *next = now + *every;
                    let of = match self.total {
                        Some(total) if total > 0 => {
                            format!(
                                " of {total} ({:.0}%)",
                                100.0 * self.bytes as f64 / total as f64
                            )
                        }
                        _ => String::new(),
                    };
                    sink.line(format_args!(
                        "  {}: {} bytes{of}, {}/s, {:.1} s",
                        self.name,
                        self.bytes,
                        HumanBytes(rate(self.bytes, self.started.elapsed())),
                        self.started.elapsed().as_secs_f64()
                    ));
                }
            }
        }
    }

    /// Ends the attempt: clears the bar, or prints the outcome as a line.
    pub(crate) fn finish(self, outcome: Result<(), &str>) {
        let elapsed = self.started.elapsed();
        match self.view {
            View::Off => {}
            View::Bar(bar) => bar.finish_and_clear(),
            View::Lines { sink, .. } => match outcome {
                Ok(()) => sink.line(format_args!(
                    "  {}: {} bytes in {:.1} s, {}/s",
                    self.name,
                    self.bytes,
                    elapsed.as_secs_f64(),
                    HumanBytes(rate(self.bytes, elapsed))
                )),
                Err(reason) => sink.line(format_args!("  {} failed: {reason}", self.name)),
            },
        }
    }
}

/// Bytes per second, rounded down (0 before any time has passed).
fn rate(bytes: u64, elapsed: Duration) -> u64 {
    let secs = elapsed.as_secs_f64();
    if secs > 0.0 {
        (bytes as f64 / secs) as u64
    } else {
        0
    }
}

/// A byte-count spinner for one file; [`Tracker::set_total`] turns it into a bar.
fn bar(name: &str) -> ProgressBar {
    let bar = ProgressBar::new_spinner();
    if let Ok(style) = ProgressStyle::with_template("{msg} {spinner} {bytes} {bytes_per_sec}") {
        bar.set_style(style);
    }
    bar.set_message(name.to_string());
    bar
}
