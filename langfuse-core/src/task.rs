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

use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::context::{self, Frame, ParentContext, with_local};
use crate::observation::{ObservationId, TraceId};

/// The observation that is current where this value was captured, to be installed elsewhere.
/// Cheap to clone; `Send`, so it can move into a thread or task.
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
#[derive(Debug, Clone, Default)]
pub struct ObservationContext {
    parent: Option<ParentContext>,
}

/// The current context (empty outside any observation).
///
/// ```
/// let context = langfuse_core::current_context();
/// assert!(context.trace_id().is_none()); // no observation is running here
/// ```
pub fn current_context() -> ObservationContext {
    ObservationContext {
        parent: context::current_parent(),
    }
}

impl ObservationContext {
    /// The trace this context belongs to.
    ///
    /// ```
    /// assert_eq!(langfuse_core::ObservationContext::default().trace_id(), None);
    /// ```
    pub fn trace_id(&self) -> Option<TraceId> {
        self.parent.as_ref().map(|p| p.trace_id)
    }

    /// The observation children would attach to.
    ///
    /// ```
    /// assert_eq!(langfuse_core::ObservationContext::default().observation_id(), None);
    /// ```
    pub fn observation_id(&self) -> Option<ObservationId> {
        self.parent.as_ref().map(|p| p.id)
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
            .parent
            .clone()
            .and_then(|p| with_local(|local| local.push(Frame::Parent(p))));
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
            parent: self.parent,
        }
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

/// A future with a context installed on every poll; see [`ObservationExt`].
#[derive(Debug)]
#[must_use = "futures do nothing unless polled"]
pub struct WithContext<F> {
    inner: F,
    parent: Option<ParentContext>,
}

/// Puts the context back into its future when a poll returns or unwinds.
struct Restore<'a> {
    slot: &'a mut Option<ParentContext>,
    depth: usize,
}

impl Drop for Restore<'_> {
    fn drop(&mut self) {
        let depth = self.depth;
        let slot = &mut *self.slot;
        with_local(|local| {
            if let Some(Frame::Parent(parent)) = local.pop(depth) {
                *slot = Some(parent);
            }
        });
    }
}

impl<F: Future> Future for WithContext<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        // SAFETY: `inner` is structurally pinned (never moved out); `parent` is not pinned.
        let this = unsafe { self.get_unchecked_mut() };
        let inner = unsafe { Pin::new_unchecked(&mut this.inner) };
        let Some(parent) = this.parent.take() else {
            return inner.poll(cx);
        };
        let mut parent = Some(parent);
        let depth = with_local(|local| local.push(Frame::Parent(parent.take().expect("present"))));
        let Some(depth) = depth else {
            this.parent = parent;
            return inner.poll(cx);
        };
        let _restore = Restore {
            slot: &mut this.parent,
            depth,
        };
        inner.poll(cx)
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
