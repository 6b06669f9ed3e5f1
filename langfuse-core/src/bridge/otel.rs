//! Correlation with tracing-opentelemetry (feature `opentelemetry`): a trace that starts
//! inside a span tracing-opentelemetry tracks joins that OpenTelemetry trace, its root
//! recording the OpenTelemetry span as its (remote) parent, so that one request has one trace
//! id in Langfuse and in the OpenTelemetry backend.

use std::sync::OnceLock;

use opentelemetry::trace::TraceContextExt as _;
use tracing::dispatcher::WeakDispatch;
use tracing::span::Attributes;
use tracing::{Dispatch, Subscriber};
use tracing_opentelemetry::OpenTelemetrySpanExt as _;
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;

use crate::context::{self, ParentContext};
use crate::model::{ObservationId, TraceId};
use crate::sampling;

/// The dispatcher the layer is part of, to read tracing-opentelemetry's context from inside
/// the layer's callbacks (where `tracing`'s own "current dispatcher" is not available).
#[derive(Debug, Default)]
pub(super) struct Correlation {
    dispatch: OnceLock<WeakDispatch>,
}

impl Correlation {
    /// Remembers the dispatcher, and lets `#[observe]` and manual roots find the current
    /// OpenTelemetry span.
    pub(super) fn register(&self, dispatch: &Dispatch) {
        let _ = self.dispatch.set(dispatch.downgrade());
        context::set_remote_root_hook(current_otel_span);
    }

    /// For a converted span that would start a new Langfuse trace (nothing is current on this
    /// thread): the OpenTelemetry span of its `tracing` parent, as its remote parent.
    pub(super) fn parent_of_root<S>(
        &self,
        attrs: &Attributes<'_>,
        ctx: &Context<'_, S>,
    ) -> Option<Option<ParentContext>>
    where
        S: Subscriber + for<'a> LookupSpan<'a>,
    {
        if context::current_parent().is_some() {
            return None;
        }
        let parent = if attrs.is_contextual() {
            ctx.current_span().id().cloned()
        } else {
            attrs.parent().cloned()
        }?;
        let dispatch = self.dispatch.get()?.upgrade()?;
        let cx = tracing_opentelemetry::get_otel_context(&parent, &dispatch)?;
        remote(&cx).map(Some)
    }
}

/// The OpenTelemetry span current on this thread: tracing's current span as
/// tracing-opentelemetry sees it, else OpenTelemetry's own current context.
fn current_otel_span() -> Option<(TraceId, ObservationId)> {
    let cx = tracing::Span::current().context();
    ids(&cx).or_else(|| ids(&opentelemetry::Context::current()))
}

fn ids(cx: &opentelemetry::Context) -> Option<(TraceId, ObservationId)> {
    let span = cx.span();
    let span_context = span.span_context();
    if !span_context.is_valid() {
        return None;
    }
    let trace_id = TraceId::from_u128(u128::from_be_bytes(span_context.trace_id().to_bytes()))?;
    let id = ObservationId::from_u64(u64::from_be_bytes(span_context.span_id().to_bytes()))?;
    Some((trace_id, id))
}

fn remote(cx: &opentelemetry::Context) -> Option<ParentContext> {
    let (trace_id, id) = ids(cx)?;
    Some(ParentContext {
        trace_id,
        id,
        sampled: sampling::keep(trace_id),
        remote: true,
        routed: false,
        trace: None,
    })
}
