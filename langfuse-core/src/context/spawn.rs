//! Carrying the current observation into spawned tasks and threads.
//!
//! **Context does not follow `tokio::spawn` or `std::thread::spawn` on its own**, in this SDK
//! or in any other Rust tracing library: a spawned task starts with an empty context, so the
//! observations it creates would start new traces. Capture the context where the work is
//! spawned and install it where the work runs:
//!
//! - [`spawn`] instead of `tokio::spawn`;
//! - `fut.in_current_observation()` ([`ObservationExt`]) for any executor;
//! - [`current_context`] and [`ObservationContext::enter`] for threads.

use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll};

use super::frame::{Frame, ParentContext};
use super::local::with_local;
use super::scope::scope_frame;
use super::traceparent::{Traceparent, TraceparentError};
use crate::model::{ObservationId, TraceAttributes, TraceId};

/// The observation (and trace attributes) current where this value was captured, to be
/// installed elsewhere. Cheap to clone; `Send`, so it can move into a thread or task.
///
/// ```
/// let context = langfuse_core::current_context();
/// std::thread::spawn(move || {
///     let _entered = context.enter();
///     // observations started here are children of the spawning observation
/// })
/// .join()
/// .unwrap();
/// ```
#[derive(Default)]
pub struct ObservationContext {
    /// A copy of the captured frame; never an observation itself, only references to one.
    frame: Option<Frame>,
}

impl Clone for ObservationContext {
    fn clone(&self) -> Self {
        Self {
            frame: self.frame.as_ref().map(Frame::snapshot),
        }
    }
}

impl fmt::Debug for ObservationContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ObservationContext")
            .field("trace_id", &self.trace_id())
            .field("observation_id", &self.observation_id())
            .finish()
    }
}

/// The current context (empty outside any observation).
///
/// ```
/// let context = langfuse_core::current_context();
/// assert!(context.trace_id().is_none()); // no observation is running here
/// ```
pub fn current_context() -> ObservationContext {
    ObservationContext {
        frame: super::snapshot(),
    }
}

impl ObservationContext {
    pub(crate) fn from_frame(frame: Frame) -> Self {
        Self { frame: Some(frame) }
    }

    /// The parent observations started in this context would have.
    pub(crate) fn as_parent(&self) -> Option<ParentContext> {
        self.frame.as_ref().and_then(Frame::as_parent)
    }

    /// The trace this context belongs to.
    ///
    /// ```
    /// assert_eq!(langfuse_core::ObservationContext::default().trace_id(), None);
    /// ```
    pub fn trace_id(&self) -> Option<TraceId> {
        self.frame.as_ref()?.key().map(|k| k.trace_id)
    }

    /// The observation children would attach to.
    ///
    /// ```
    /// assert_eq!(langfuse_core::ObservationContext::default().observation_id(), None);
    /// ```
    pub fn observation_id(&self) -> Option<ObservationId> {
        self.frame.as_ref()?.key().map(|k| k.id)
    }

    /// Makes this context current on this thread until the guard drops.
    ///
    /// ```
    /// let context = langfuse_core::current_context();
    /// let entered = context.enter();
    /// drop(entered);
    /// ```
    pub fn enter(&self) -> EnteredContext {
        let depth = self
            .frame
            .as_ref()
            .map(Frame::snapshot)
            .and_then(|frame| with_local(|local| local.push(frame)));
        EnteredContext {
            depth,
            _not_send: PhantomData,
        }
    }

    /// Wraps `future` so that this context is current whenever it is polled.
    ///
    /// ```
    /// # async fn work() {}
    /// let context = langfuse_core::current_context();
    /// let future = context.attach(work());
    /// # drop(future);
    /// ```
    pub fn attach<F: Future>(self, future: F) -> WithContext<F> {
        WithContext {
            inner: future,
            frame: self.frame,
        }
    }
}

impl ObservationContext {
    /// The context of a remote caller, from its `traceparent` header.
    ///
    /// ```
    /// use langfuse_core::ObservationContext;
    ///
    /// let header = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    /// let remote = ObservationContext::from_traceparent(header).unwrap();
    /// assert_eq!(remote.trace_id().unwrap().to_string(), "4bf92f3577b34da6a3ce929d0e0e4736");
    /// ```
    pub fn from_traceparent(header: &str) -> Result<Self, TraceparentError> {
        let traceparent: Traceparent = header.parse()?;
        Ok(traceparent.into())
    }
}

impl From<Traceparent> for ObservationContext {
    fn from(traceparent: Traceparent) -> Self {
        ObservationContext::from_frame(Frame::parent(traceparent.to_parent()))
    }
}

/// Keeps an [`ObservationContext`] current on this thread; see [`ObservationContext::enter`].
#[must_use = "the context is current only until this guard drops"]
#[derive(Debug)]
pub struct EnteredContext {
    depth: Option<usize>,
    _not_send: PhantomData<*const ()>,
}

impl Drop for EnteredContext {
    fn drop(&mut self) {
        if let Some(depth) = self.depth {
            with_local(|local| local.pop(depth));
        }
    }
}

pin_project_lite::pin_project! {
    /// A future with a context installed on every poll; see [`ObservationExt`].
    #[derive(Debug)]
    #[must_use = "futures do nothing unless polled"]
    pub struct WithContext<F> {
        #[pin]
        inner: F,
        frame: Option<Frame>,
    }
}

impl<F: Future> Future for WithContext<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        let inner = this.inner;
        super::with_installed(this.frame, || inner.poll(cx))
    }
}

/// Carries the current observation into a future that runs elsewhere.
///
/// ```
/// use langfuse_core::ObservationExt;
///
/// # async fn work() {}
/// # async fn example() {
/// // Inside an observed function: the spawned work is a child of the current observation.
/// tokio::spawn(work().in_current_observation());
/// # }
/// ```
pub trait ObservationExt: Future + Sized {
    /// Captures the current context now and installs it whenever the future is polled.
    fn in_current_observation(self) -> WithContext<Self> {
        current_context().attach(self)
    }

    /// Propagates trace attributes to every observation started while this future runs
    /// (and to the current observation), like [`propagate_attributes`](crate::propagate_attributes)
    /// does for synchronous code.
    ///
    /// ```
    /// use langfuse_core::ObservationExt;
    ///
    /// # async fn handle() {}
    /// # async fn example() {
    /// handle()
    ///     .with_trace_attributes(|attributes| {
    ///         attributes.user_id("user-42").session_id("chat-7");
    ///     })
    ///     .await;
    /// # }
    /// ```
    fn with_trace_attributes(
        self,
        attributes: impl FnOnce(&mut TraceAttributes),
    ) -> WithContext<Self> {
        let frame = scope_frame(attributes);
        match frame {
            Some(frame) => ObservationContext::from_frame(frame).attach(self),
            None => current_context().attach(self),
        }
    }
}

impl<F: Future> ObservationExt for F {}

/// `tokio::spawn` that keeps the current observation as the parent of the spawned task's
/// observations. Needs a tokio runtime, like `tokio::spawn`.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let handle = langfuse_core::spawn(async { 40 + 2 });
/// assert_eq!(handle.await.unwrap(), 42);
/// # }
/// ```
pub fn spawn<F>(future: F) -> tokio::task::JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    tokio::spawn(future.in_current_observation())
}
