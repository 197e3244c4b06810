//! Progress of a run, in a terminal (bars) or in a plain log (timestamped lines), with an ETA
//! estimated from the work done, weighted by each cell's cost.
//!
//! A cell's cost is proportional to its weights, `W(H) = 784·H + (L−1)·H² + 10·H`, times its
//! epochs: an H = 1024 cell costs ≈ 1.5× an H = 824 one. With `w_done` the cost of finished cells
//! plus the finished epochs of running ones, and `w_all` the cost of every cell to run,
//! `ETA = elapsed · (w_all − w_done) / w_done`: an average over the whole run so far, never an
//! instant rate that a stalled moment could blow up to days.

use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::cells::Cell;
use crate::config::Config;

/// How often a plain log gets a status line (at the first finished epoch or cell after this long,
/// and when the last cell finishes).
const LOG_EVERY: Duration = Duration::from_secs(30);
/// Lines are kept to this width so that they fit an 80-column terminal.
pub const WIDTH: usize = 80;

/// Cost units done and to do, and when a plain-log line was last printed.
#[derive(Debug)]
struct Work {
    done: f64,
    total: f64,
    cells_done: usize,
    last_log: Instant,
}

/// The progress of one invocation.
pub struct Progress {
    multi: Option<MultiProgress>,
    total_bar: Option<ProgressBar>,
    epochs: u64,
    cells: usize,
    start: Instant,
    work: Mutex<Work>,
}

/// The relative cost of one epoch of a cell of `config`.
pub fn cell_weight(config: &Config, cell: &Cell) -> f64 {
    let widths = config.widths(&config.trials[cell.trial - 1]);
    widths.windows(2).map(|w| (w[0] * w[1]) as f64).sum()
}

/// `h:mm:ss` (or `m:ss`).
pub fn clock(d: Duration) -> String {
    let s = d.as_secs();
    if s >= 3600 {
        format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
    } else {
        format!("{}:{:02}", s / 60, s % 60)
    }
}

/// The ETA from the work done so far (see the module docs); `None` before any work is done.
pub fn eta(elapsed: Duration, done: f64, total: f64) -> Option<Duration> {
    if done <= 0.0 || !done.is_finite() || !total.is_finite() {
        return None;
    }
    let left = (total - done).max(0.0);
    Some(Duration::from_secs_f64(elapsed.as_secs_f64() * left / done))
}

/// A status line: `2026-12-02T04:05:06Z  91/204 cells  elapsed 5:12  ETA 6:40`.
pub fn status_line(
    now: SystemTime,
    done: usize,
    total: usize,
    elapsed: Duration,
    eta: Option<Duration>,
) -> String {
    format!(
        "{}  {done}/{total} cells  elapsed {}  ETA {}",
        handprop_results::Invocation::timestamp(now),
        clock(elapsed),
        eta.map_or("–".into(), clock)
    )
}

/// Cuts `s` to at most `n` characters, marking a cut with `…`.
pub fn fit(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        return s.to_string();
    }
    let mut t: String = s.chars().take(n.saturating_sub(1)).collect();
    t.push('…');
    t
}

impl Progress {
    /// Progress over `todo` cells of `config`: bars when `bars` is `Some(true)` or, when `None`,
    /// when stderr is a terminal; timestamped lines otherwise.
    pub fn new(config: &Config, todo: &[Cell], bars: Option<bool>) -> Self {
        let epochs = config.training.epochs as u64;
        let total: f64 = todo.iter().map(|c| cell_weight(config, c) * epochs as f64).sum();
        let work = Mutex::new(Work { done: 0.0, total, cells_done: 0, last_log: Instant::now() });
        let bars = bars.unwrap_or_else(|| std::io::stderr().is_terminal());
        let mut p = Progress {
            multi: None,
            total_bar: None,
            epochs,
            cells: todo.len(),
            start: Instant::now(),
            work,
        };
        if bars && !todo.is_empty() {
            let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
            let bar = multi.add(ProgressBar::new(todo.len() as u64));
            bar.set_style(
                ProgressStyle::with_template(
                    "[{elapsed_precise}] {bar:30} {pos}/{len} cells {msg}",
                )
                .expect("static template")
                .progress_chars("=> "),
            );
            bar.enable_steady_tick(Duration::from_millis(500));
            p.multi = Some(multi);
            p.total_bar = Some(bar);
        }
        p
    }

    /// Prints a line above the bars (or to stderr).
    pub fn log(&self, line: String) {
        match &self.multi {
            Some(m) => {
                let _ = m.println(line);
            }
            None => eprintln!("{line}"),
        }
    }

    /// A bar for a starting cell (hidden in a plain log).
    pub fn start_cell(&self, cell: &Cell) -> ProgressBar {
        match &self.multi {
            Some(m) => {
                let bar = m.add(ProgressBar::new(self.epochs));
                bar.set_style(
                    ProgressStyle::with_template("{prefix:>11} epoch {pos}/{len} {bar:30}")
                        .expect("static template"),
                );
                bar.set_prefix(cell.id());
                bar
            }
            None => ProgressBar::hidden(),
        }
    }

    /// One epoch of a cell of `weight` per epoch has finished.
    pub fn epoch_done(&self, weight: f64) {
        self.add_work(weight, false);
    }

    /// A cell has finished after `epochs_run` epochs: its line is printed, and the epochs it did
    /// not run (it diverged) leave the total.
    pub fn finish_cell(&self, bar: ProgressBar, line: String, weight: f64, epochs_run: usize) {
        bar.finish_and_clear();
        if let Some(m) = &self.multi {
            m.remove(&bar);
        }
        if let Ok(mut w) = self.work.lock() {
            w.total -= weight * (self.epochs as f64 - epochs_run as f64);
        }
        self.log(line);
        self.add_work(0.0, true);
    }

    fn add_work(&self, weight: f64, cell_done: bool) {
        let Ok(mut w) = self.work.lock() else { return };
        w.done += weight;
        w.cells_done += cell_done as usize;
        let eta = eta(self.start.elapsed(), w.done, w.total);
        if let Some(bar) = &self.total_bar {
            if cell_done {
                bar.inc(1);
            }
            bar.set_message(format!("ETA {}", eta.map_or("–".into(), clock)));
        } else if w.last_log.elapsed() >= LOG_EVERY || (cell_done && w.cells_done == self.cells) {
            // Epochs count too: a paper-size cell runs for hours, and a log must not go silent.
            w.last_log = Instant::now();
            eprintln!(
                "{}",
                status_line(SystemTime::now(), w.cells_done, self.cells, self.start.elapsed(), eta)
            );
        }
    }

    /// Clears the bars.
    pub fn done(&self) {
        if let Some(t) = &self.total_bar {
            t.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eta_averages_over_the_work_done() {
        assert_eq!(eta(Duration::from_secs(10), 0.0, 10.0), None);
        assert_eq!(eta(Duration::from_secs(10), 1.0, 4.0), Some(Duration::from_secs(30)));
        assert_eq!(eta(Duration::from_secs(10), 5.0, 4.0), Some(Duration::ZERO));
    }

    #[test]
    fn status_lines_fit_80_columns() {
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(1_796_000_000);
        let line = status_line(
            t,
            123_456,
            680_000,
            Duration::from_secs(400_000),
            Some(Duration::from_secs(4_000_000)),
        );
        assert_eq!(
            line,
            "2026-11-30T00:53:20Z  123456/680000 cells  elapsed 111:06:40  ETA 1111:06:40"
        );
        assert!(line.chars().count() <= WIDTH);
        assert_eq!(clock(Duration::from_secs(61)), "1:01");
        assert_eq!(fit("abcdef", 4), "abc…");
        assert_eq!(fit("abc", 4), "abc");
    }
}
