//! Progress of a long run on stderr: a bar redrawn in place on a terminal, a line every few
//! seconds otherwise (CI logs), nothing when asked.
//!
//! A thread of its own redraws, so the display keeps time whatever the runtime does, and
//! costs the run two atomic increments per item. Written with `eprint!`, so that a test
//! harness capturing output captures it too.

use std::io::IsTerminal as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How a run shows its progress; see [`Experiment::progress`](super::Experiment::progress).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Progress {
    /// A bar when stderr is a terminal (and `CI` is not set), else a line every 10 seconds.
    #[default]
    Auto,
    /// A bar redrawn in place: items done, failures, rate and time left.
    Bar,
    /// A line at this interval, and one at the end.
    Lines(Duration),
    /// Nothing.
    Off,
}

/// Interval of [`Progress::Auto`]'s lines.
const DEFAULT_LINE_INTERVAL: Duration = Duration::from_secs(10);
/// Redraws of the bar.
const BAR_TICK: Duration = Duration::from_millis(100);
/// Cells of the bar.
const BAR_WIDTH: usize = 24;

/// What the display shows, updated by the run.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    done: AtomicU64,
    failed: AtomicU64,
    /// Items in the run, plus one; 0 while unknown (a dataset before its first page).
    total_plus_one: AtomicU64,
}

impl Counters {
    pub(crate) fn item_done(&self, failed: bool) {
        if failed {
            self.failed.fetch_add(1, Ordering::Relaxed);
        }
        self.done.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn set_total(&self, total: u64) {
        self.total_plus_one
            .store(total.saturating_add(1), Ordering::Relaxed);
    }

    fn snapshot(&self) -> (u64, u64, Option<u64>) {
        let total = self.total_plus_one.load(Ordering::Relaxed);
        (
            self.done.load(Ordering::Relaxed),
            self.failed.load(Ordering::Relaxed),
            total.checked_sub(1),
        )
    }
}

/// A running display; [`finish`](Self::finish) draws the last state and stops it.
pub(crate) struct Reporter {
    counters: Arc<Counters>,
    stop: Arc<(Mutex<bool>, Condvar)>,
    thread: Option<JoinHandle<()>>,
}

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Bar,
    Lines(Duration),
}

impl Reporter {
    /// Starts the display of the run `label` (nothing for [`Progress::Off`]).
    pub(crate) fn start(progress: Progress, label: &str) -> Self {
        let counters = Arc::new(Counters::default());
        let stop = Arc::new((Mutex::new(false), Condvar::new()));
        let mode = match progress {
            Progress::Off => None,
            Progress::Bar => Some(Mode::Bar),
            Progress::Lines(interval) => Some(Mode::Lines(interval.max(Duration::from_millis(10)))),
            Progress::Auto => {
                let terminal = std::io::stderr().is_terminal()
                    && std::env::var_os("CI").is_none_or(|v| v.is_empty());
                Some(if terminal {
                    Mode::Bar
                } else {
                    Mode::Lines(DEFAULT_LINE_INTERVAL)
                })
            }
        };
        let thread = mode.and_then(|mode| {
            let counters = Arc::clone(&counters);
            let stop = Arc::clone(&stop);
            let label = label.to_owned();
            std::thread::Builder::new()
                .name("langfuse-progress".into())
                .spawn(move || display(mode, &label, &counters, &stop, &mut to_stderr))
                .ok()
        });
        Self {
            counters,
            stop,
            thread,
        }
    }

    pub(crate) fn counters(&self) -> &Counters {
        &self.counters
    }

    /// Draws the final state and waits for the display to stop.
    pub(crate) fn finish(mut self) {
        self.stop_thread();
    }

    fn stop_thread(&mut self) {
        {
            let (stopped, wake) = &*self.stop;
            *stopped.lock().unwrap_or_else(|e| e.into_inner()) = true;
            wake.notify_all();
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Reporter {
    fn drop(&mut self) {
        // A run dropped halfway (its future cancelled) still ends its display.
        self.stop_thread();
    }
}

/// Writes a frame to stderr: in place for the bar (`\r` and erase the line), a line else.
fn to_stderr(text: &str, in_place: bool, last: bool) {
    match (in_place, last) {
        (true, false) => eprint!("\r\x1b[2K{text}"),
        (true, true) => eprintln!("\r\x1b[2K{text}"),
        (false, _) => eprintln!("{text}"),
    }
}

/// Draws frames until stopped, then the last one. `write` gets each frame, whether it
/// replaces the previous one, and whether it is the last.
fn display(
    mode: Mode,
    label: &str,
    counters: &Counters,
    stop: &(Mutex<bool>, Condvar),
    write: &mut dyn FnMut(&str, bool, bool),
) {
    let started = Instant::now();
    let tick = match mode {
        Mode::Bar => BAR_TICK,
        Mode::Lines(interval) => interval,
    };
    let (stopped, wake) = stop;
    let mut guard = stopped.lock().unwrap_or_else(|e| e.into_inner());
    loop {
        if !*guard {
            let (next, timeout) = wake
                .wait_timeout(guard, tick)
                .unwrap_or_else(|e| e.into_inner());
            guard = next;
            if !*guard && !timeout.timed_out() {
                continue; // woken spuriously
            }
        }
        let last = *guard;
        let (done, failed, total) = counters.snapshot();
        let line = render(mode, label, done, failed, total, started.elapsed(), last);
        write(&line, mode == Mode::Bar, last);
        if last {
            return;
        }
    }
}

/// One frame of the display.
fn render(
    mode: Mode,
    label: &str,
    done: u64,
    failed: u64,
    total: Option<u64>,
    elapsed: Duration,
    last: bool,
) -> String {
    let rate = if elapsed.as_secs_f64() > 0.0 {
        done as f64 / elapsed.as_secs_f64()
    } else {
        0.0
    };
    let count = match total {
        Some(total) => format!("{done}/{total} items"),
        None => format!("{done} items"),
    };
    let eta = match total {
        _ if last => format!("in {}", short(elapsed)),
        Some(total) if done > 0 && total > done => {
            let left = elapsed.mul_f64((total - done) as f64 / done as f64);
            format!("ETA {}", short(left))
        }
        _ => "ETA --".to_owned(),
    };
    let stats = format!("{count}, {failed} failed, {rate:.1}/s, {eta}");
    match mode {
        Mode::Bar => {
            let filled = match total {
                Some(0) => BAR_WIDTH,
                Some(total) => (done.min(total) as usize * BAR_WIDTH) / total as usize,
                None => 0,
            };
            format!(
                "{label} [{}{}] {stats}",
                "#".repeat(filled),
                "-".repeat(BAR_WIDTH - filled)
            )
        }
        Mode::Lines(_) => format!("langfuse experiment {label}: {stats}"),
    }
}

/// `42s`, `3m07s`, `1h02m`.
fn short(duration: Duration) -> String {
    let seconds = duration.as_secs();
    match seconds {
        0..60 => format!("{:.1}s", duration.as_secs_f64()),
        60..3600 => format!("{}m{:02}s", seconds / 60, seconds % 60),
        _ => format!("{}h{:02}m", seconds / 3600, (seconds % 3600) / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bar_shows_items_failures_and_time_left() {
        let frame = render(
            Mode::Bar,
            "capitals",
            5,
            1,
            Some(10),
            Duration::from_secs(10),
            false,
        );
        assert_eq!(
            frame,
            "capitals [############------------] 5/10 items, 1 failed, 0.5/s, ETA 10.0s"
        );
        let end = render(
            Mode::Bar,
            "capitals",
            10,
            1,
            Some(10),
            Duration::from_secs(200),
            true,
        );
        assert!(end.contains("[########################]"), "{end}");
        assert!(end.ends_with("in 3m20s"), "{end}");
    }

    #[test]
    fn lines_name_the_experiment_and_work_without_a_total() {
        let line = render(
            Mode::Lines(Duration::from_secs(10)),
            "capitals",
            3,
            0,
            None,
            Duration::from_secs(6),
            false,
        );
        assert_eq!(
            line,
            "langfuse experiment capitals: 3 items, 0 failed, 0.5/s, ETA --"
        );
    }

    #[test]
    fn off_starts_no_thread() {
        let reporter = Reporter::start(Progress::Off, "x");
        assert!(reporter.thread.is_none());
        reporter.counters().item_done(true);
        reporter.finish();
    }

    #[test]
    fn lines_come_periodically_then_once_at_the_end() {
        let counters = Arc::new(Counters::default());
        let stop = Arc::new((Mutex::new(false), Condvar::new()));
        let frames = Arc::new(Mutex::new(Vec::new()));
        let display_thread = {
            let (counters, stop, frames) = (counters.clone(), stop.clone(), frames.clone());
            std::thread::spawn(move || {
                let mut write = |text: &str, in_place: bool, last: bool| {
                    frames
                        .lock()
                        .unwrap()
                        .push((text.to_owned(), in_place, last));
                };
                display(
                    Mode::Lines(Duration::from_millis(20)),
                    "capitals",
                    &counters,
                    &stop,
                    &mut write,
                );
            })
        };
        counters.set_total(4);
        counters.item_done(false);
        while frames.lock().unwrap().len() < 2 {
            std::thread::sleep(Duration::from_millis(5));
        }
        counters.item_done(true);
        *stop.0.lock().unwrap() = true;
        stop.1.notify_all();
        display_thread.join().unwrap();
        let frames = frames.lock().unwrap();
        let (periodic, last) = frames.split_at(frames.len() - 1);
        assert!(periodic.iter().all(|(text, in_place, last)| {
            text.starts_with("langfuse experiment capitals: ") && !in_place && !last
        }));
        assert!(periodic[0].0.contains("/4 items"), "{periodic:?}");
        let (text, in_place, is_last) = &last[0];
        assert!(*is_last && !in_place);
        assert!(text.contains("2/4 items, 1 failed"), "{text}");
    }

    #[test]
    fn finishing_stops_the_display_at_once() {
        let reporter = Reporter::start(Progress::Lines(Duration::from_secs(3600)), "x");
        reporter.counters().set_total(1);
        reporter.counters().item_done(false);
        let started = Instant::now();
        reporter.finish();
        assert!(started.elapsed() < Duration::from_secs(5));
    }
}
