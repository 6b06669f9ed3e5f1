//! Captures everything logged through `tracing`, every target and level (TRACE included), so
//! tests can assert what the SDK logs, and what it never logs.

use std::io;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tracing_subscriber::fmt::MakeWriter;

/// The log lines written since [`Logs::capture`], formatted by `tracing-subscriber`'s `fmt`
/// layer: `LEVEL target: message field=value ...`.
#[derive(Clone)]
pub struct Logs {
    buffer: Arc<Mutex<Vec<u8>>>,
}

impl Logs {
    /// Installs the process-wide subscriber. Call it first in the test, before `init()`, in a
    /// test that runs in a process of its own (`own_process!()`, or any test under nextest), so
    /// there is no other subscriber to race.
    pub fn capture() -> Self {
        let logs = Self {
            buffer: Arc::default(),
        };
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .without_time()
            .with_writer(logs.clone())
            .finish();
        tracing::subscriber::set_global_default(subscriber).expect("the only subscriber");
        logs
    }

    /// Everything logged so far.
    pub fn text(&self) -> String {
        let buffer = self.buffer.lock().unwrap_or_else(|e| e.into_inner());
        String::from_utf8_lossy(&buffer).into_owned()
    }

    /// The lines containing every one of `fragments`.
    pub fn lines_with(&self, fragments: &[&str]) -> Vec<String> {
        self.text()
            .lines()
            .filter(|line| fragments.iter().all(|f| line.contains(f)))
            .map(str::to_owned)
            .collect()
    }

    /// Waits until a line contains every one of `fragments` and returns the first such line;
    /// panics with everything logged if `timeout` passes first. For tests that wait for
    /// something the SDK logs as it happens (a retry scheduled, a warning) instead of
    /// sleeping for a guessed time.
    pub fn wait_for(&self, fragments: &[&str], timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(line) = self.lines_with(fragments).into_iter().next() {
                return line;
            }
            if Instant::now() >= deadline {
                panic!(
                    "no line with {fragments:?} logged within {timeout:?}:\n{}",
                    self.text()
                );
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Lines at `level` (`"ERROR"`, `"WARN"`, ...) from the SDK (target `langfuse`).
    pub fn sdk_lines(&self, level: &str) -> Vec<String> {
        self.text()
            .lines()
            .filter(|line| line.trim_start().starts_with(level) && line.contains("langfuse"))
            .map(str::to_owned)
            .collect()
    }
}

impl io::Write for Logs {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let mut buffer = self.buffer.lock().unwrap_or_else(|e| e.into_inner());
        buffer.extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Logs {
    type Writer = Logs;

    fn make_writer(&'a self) -> Logs {
        self.clone()
    }
}
