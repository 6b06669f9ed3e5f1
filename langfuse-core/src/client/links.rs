//! Links to traces in the Langfuse UI.
//!
//! A trace's URL names its project, which only the server knows. The exporter thread asks
//! for it once, in the background, as soon as the client starts (and again later if that
//! failed), so building a URL never waits on the network.

use std::time::Duration;

use crate::client::{Langfuse, existing_client};
use crate::model::TraceId;

impl Langfuse {
    /// The trace's page in the Langfuse UI, `{base_url}/project/{project id}/traces/{trace id}`,
    /// as the Python SDK's `get_trace_url`.
    ///
    /// Never blocks and never makes a request: the project id is fetched once by the exporter
    /// thread when the client starts. `None` until it is known (usually a few milliseconds
    /// after `init()`; [`trace_url_async`](Self::trace_url_async) waits for it), if it could
    /// not be fetched yet (it is retried in the background), and where there is no Langfuse
    /// project to link to: a disabled client, the console or none exporter, or spans sent to
    /// an OpenTelemetry collector.
    ///
    /// ```
    /// use langfuse_core::{create_trace_id, get_client};
    ///
    /// let trace_id = create_trace_id(Some("order-4711"));
    /// match get_client().trace_url(trace_id) {
    ///     Some(url) => println!("trace: {url}"),
    ///     None => println!("no trace URL (yet)"),
    /// }
    /// ```
    pub fn trace_url(&self, trace_id: TraceId) -> Option<String> {
        let prefix = self.project()?.prefix()?;
        Some(format!("{prefix}{trace_id}"))
    }

    /// Like [`trace_url`](Self::trace_url), but waits at most `timeout` for the project id if
    /// it is not known yet. Works on any async runtime, without blocking it: the exporter
    /// thread keeps the time and answers by the deadline. Returns at once where there is no
    /// project to link to.
    ///
    /// ```no_run
    /// # async fn handler() {
    /// use std::time::Duration;
    ///
    /// if let Some(trace_id) = langfuse_core::current_trace_id() {
    ///     let client = langfuse_core::get_client();
    ///     if let Some(url) = client.trace_url_async(trace_id, Duration::from_secs(2)).await {
    ///         println!("trace: {url}");
    ///     }
    /// }
    /// # }
    /// ```
    pub async fn trace_url_async(&self, trace_id: TraceId, timeout: Duration) -> Option<String> {
        let prefix = self.project()?.wait_for_prefix(timeout).await?;
        Some(format!("{prefix}{trace_id}"))
    }
}

/// [`Langfuse::trace_url`] on the process-wide client. Never starts a client: `None` before
/// [`init`](crate::init) (or [`get_client`](crate::get_client)) has run.
///
/// ```
/// let trace_id = langfuse_core::create_trace_id(None);
/// if let Some(url) = langfuse_core::trace_url(trace_id) {
///     println!("trace: {url}");
/// }
/// ```
pub fn trace_url(trace_id: TraceId) -> Option<String> {
    existing_client()?.trace_url(trace_id)
}

/// The URL of the trace the current observation belongs to (see [`Langfuse::trace_url`]);
/// `None` outside a recorded observation, or while the URL is not available.
///
/// ```
/// // Inside an observed function, for example to put the link in a log line:
/// if let Some(url) = langfuse_core::current_trace_url() {
///     println!("trace: {url}");
/// }
/// ```
pub fn current_trace_url() -> Option<String> {
    trace_url(crate::current_trace_id()?)
}
