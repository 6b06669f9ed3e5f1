//! Starting the SDK against a [`Receiver`] and reading back what it received.

use std::collections::HashMap;
use std::sync::OnceLock;
use std::time::Duration;

use langfuse::{ConfigBuilder, Langfuse, LangfuseGuard};

use super::{ReceivedSpan, Receiver};

/// Test credentials: the receiver checks nothing, the tests check what was sent.
pub const PUBLIC_KEY: &str = "pk-lf-test-public";
pub const SECRET_KEY: &str = "sk-lf-test-secret";

/// How long tests wait for spans to arrive.
pub const WAIT: Duration = Duration::from_secs(10);

/// A configuration pointed at `receiver`, ignoring the machine's environment.
pub fn config_for(receiver: &Receiver) -> ConfigBuilder {
    Langfuse::builder()
        .ignore_environment()
        .public_key(PUBLIC_KEY)
        .secret_key(SECRET_KEY)
        .base_url(receiver.base_url())
        .flush_interval(Duration::from_millis(50))
}

/// Starts the process-wide client against `receiver`.
pub fn init(receiver: &Receiver) -> LangfuseGuard {
    config_for(receiver)
        .init()
        .expect("valid test configuration")
}

/// The client this test binary shares, started on first use against one receiver (with
/// [`config_for`]'s settings) and never shut down. Tests that use it run side by side on
/// `cargo test`'s threads and tell their data apart by trace id
/// ([`Receiver::wait_for_trace`]); a test that needs a configuration, a receiver or a
/// shutdown of its own runs in its own process instead (`own_process!`).
pub fn shared() -> &'static Receiver {
    static SHARED: OnceLock<Receiver> = OnceLock::new();
    SHARED.get_or_init(|| {
        let receiver = Receiver::start();
        // Never dropped: the client lives as long as the test binary.
        std::mem::forget(init(&receiver));
        receiver
    })
}

/// Received spans indexed for assertions about their tree.
pub struct Tree {
    pub spans: Vec<ReceivedSpan>,
}

impl Tree {
    pub fn new(spans: Vec<ReceivedSpan>) -> Self {
        Self { spans }
    }

    /// The one span named `name`; panics if there are none or several.
    pub fn one(&self, name: &str) -> &ReceivedSpan {
        let found: Vec<_> = self.spans.iter().filter(|s| s.name() == name).collect();
        assert_eq!(
            found.len(),
            1,
            "expected one span named {name:?}, found {}",
            found.len()
        );
        found[0]
    }

    /// Every span named `name`.
    pub fn all(&self, name: &str) -> Vec<&ReceivedSpan> {
        self.spans.iter().filter(|s| s.name() == name).collect()
    }

    /// The parent of `span` among the received spans.
    pub fn parent_of(&self, span: &ReceivedSpan) -> Option<&ReceivedSpan> {
        let parent = span.parent_span_id()?;
        self.spans.iter().find(|s| s.span_id() == parent)
    }

    /// Asserts that `child` is a child of `parent`: same trace, parent id, and time nesting.
    pub fn assert_child(&self, child: &str, parent: &str) {
        let (c, p) = (self.one(child), self.one(parent));
        assert_eq!(
            c.trace_id(),
            p.trace_id(),
            "{child} and {parent} are in different traces"
        );
        assert_eq!(
            c.parent_span_id().as_deref(),
            Some(p.span_id().as_str()),
            "{child} is not a child of {parent}"
        );
        assert!(
            c.span.start_time_unix_nano >= p.span.start_time_unix_nano
                && c.span.end_time_unix_nano <= p.span.end_time_unix_nano,
            "{child} is not inside {parent} in time"
        );
    }

    /// Spans grouped by trace id.
    pub fn traces(&self) -> HashMap<String, Vec<&ReceivedSpan>> {
        let mut traces: HashMap<String, Vec<&ReceivedSpan>> = HashMap::new();
        for span in &self.spans {
            traces.entry(span.trace_id()).or_default().push(span);
        }
        traces
    }
}
