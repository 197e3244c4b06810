//! Download progress: a bar on a terminal, plain lines elsewhere (CI logs, `nohup`, Slurm), or
//! nothing.

use std::fmt;
use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::thread::JoinHandle;
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
    /// far of the total, average rate, time; also while nothing arrives) and one when it ends
    /// — readable in a log file.
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
    counts: Arc<Counts>,
    view: View,
}

/// What the reading thread reports and the line ticker reads.
struct Counts {
    name: String,
    started: Instant,
    bytes: AtomicU64,
    /// The expected size, [`UNKNOWN`] until known.
    total: AtomicU64,
}

const UNKNOWN: u64 = u64::MAX;

impl Counts {
    /// `  <name>: <bytes> bytes[ of <total> (<pct>%)], <rate>/s, <secs> s`
    fn line(&self) -> String {
        let bytes = self.bytes.load(Ordering::Relaxed);
        let elapsed = self.started.elapsed();
        let of = match self.total.load(Ordering::Relaxed) {
            UNKNOWN | 0 => String::new(),
            total => format!(" of {total} ({:.0}%)", 100.0 * bytes as f64 / total as f64),
        };
        format!(
            "  {}: {bytes} bytes{of}, {}/s, {:.1} s",
            self.name,
            HumanBytes(rate(bytes, elapsed)),
            elapsed.as_secs_f64()
        )
    }
}

enum View {
    Off,
    Bar(ProgressBar),
    /// A thread prints a line every interval — also while the source sends nothing, which a
    /// line per read could not — until the sender is dropped.
    Lines {
        sink: LineSink,
        stop: mpsc::Sender<()>,
        ticker: Option<JoinHandle<()>>,
    },
}

impl Tracker {
    /// Starts tracking `name` fetched from `source` (a URL or path), before its size is known.
    pub(crate) fn start(progress: &Progress, name: &str, source: &str, deadline: Duration) -> Self {
        let counts = Arc::new(Counts {
            name: name.to_string(),
            started: Instant::now(),
            bytes: AtomicU64::new(0),
            total: AtomicU64::new(UNKNOWN),
        });
        let view = match progress {
            Progress::Off => View::Off,
            Progress::Bar => View::Bar(bar(name)),
            Progress::Lines { every, sink } => {
                sink.line(format_args!(
                    "fetching {name} from {source} (deadline {} s)",
                    deadline.as_secs_f64()
                ));
                let (stop, stopped) = mpsc::channel::<()>();
                let (every, thread_sink, thread_counts) = (*every, sink.clone(), counts.clone());
                let ticker = std::thread::Builder::new()
                    .name("handprop-progress".into())
                    .spawn(move || {
                        while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(every)
                        {
                            thread_sink.line(format_args!("{}", thread_counts.line()));
                        }
                    })
                    .ok(); // No thread, no periodic lines; the download goes on.
                View::Lines { sink: sink.clone(), stop, ticker }
            }
        };
        Self { counts, view }
    }

    /// Sets the expected size once the source has told it (Content-Length, file size).
    pub(crate) fn set_total(&mut self, total: Option<u64>) {
        self.counts.total.store(total.unwrap_or(UNKNOWN), Ordering::Relaxed);
        if let (View::Bar(bar), Some(len)) = (&self.view, total) {
            bar.set_length(len);
            if let Ok(style) = ProgressStyle::with_template(
                "{msg} [{wide_bar}] {bytes}/{total_bytes} {bytes_per_sec}",
            ) {
                bar.set_style(style.progress_chars("=> "));
            }
        }
    }

    /// Records `n` more bytes.
    pub(crate) fn advance(&mut self, n: u64) {
        self.counts.bytes.fetch_add(n, Ordering::Relaxed);
        if let View::Bar(bar) = &self.view {
            bar.inc(n);
        }
    }

    /// Ends the attempt: clears the bar, or stops the ticker and prints the outcome as a line.
    pub(crate) fn finish(self, outcome: Result<(), &str>) {
        let name = &self.counts.name;
        let bytes = self.counts.bytes.load(Ordering::Relaxed);
        let elapsed = self.counts.started.elapsed();
        match self.view {
            View::Off => {}
            View::Bar(bar) => bar.finish_and_clear(),
            View::Lines { sink, stop, ticker } => {
                drop(stop);
                if let Some(ticker) = ticker {
                    let _ = ticker.join();
                }
                match outcome {
                    Ok(()) => sink.line(format_args!(
                        "  {name}: {bytes} bytes in {:.1} s, {}/s",
                        elapsed.as_secs_f64(),
                        HumanBytes(rate(bytes, elapsed))
                    )),
                    Err(reason) => sink.line(format_args!("  {name} failed: {reason}")),
                }
            }
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
