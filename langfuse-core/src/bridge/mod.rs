//! The `tracing` bridge (feature `tracing`): spans of the libraries a service already uses,
//! as observations inside its Langfuse traces.
//!
//! ```no_run
//! use tracing_subscriber::layer::SubscriberExt as _;
//! use tracing_subscriber::util::SubscriberInitExt as _;
//!
//! let _langfuse = langfuse_core::init().expect("valid LANGFUSE_* configuration");
//! tracing_subscriber::registry()
//!     .with(langfuse_core::tracing::layer().with_target("sqlx"))
//!     .init();
//! ```
//!
//! # Which spans
//!
//! Decided once per callsite, from its static metadata, by a per-layer filter: spans that
//! declare a `gen_ai.*` field (the OpenTelemetry GenAI conventions: rig, genai with its `otel`
//! feature, any `#[instrument(fields(gen_ai.operation.name = "chat", ..))]`) or a
//! `langfuse.*` field. [`Layer::with_target`] adds the spans of a target (`sqlx`,
//! `tower_http`, `reqwest_tracing`...), [`Layer::all_spans`] every span. The layer changes
//! nothing for the subscriber's other layers. What the other callsites cost:
//!
//! - with the layer alone on the registry, nothing: they are disabled;
//! - beside other layers (a log formatter), what they already cost plus a few nanoseconds:
//!   the layer's per-span check (one load from a memo of its callsites at creation, one load
//!   from its own table at each enter, exit and close). Disabling them per layer instead
//!   would make `tracing-subscriber` ask every layer's filter about every span of them, which
//!   costs more.
//!
//! The layer tells the two apart from what it is added onto, so add it last
//! (`registry().with(fmt::layer()).with(langfuse::tracing::layer())`): added right onto the
//! registry with other layers on top of it, it works the same, and their spans pay for the
//! per-layer filtering.
//!
//! # Nesting
//!
//! The SDK's context, the thread's stack of observations, is the one source of truth, in both
//! directions:
//!
//! - a converted span's parent is its explicit `tracing` parent when that one is converted,
//!   else the observation current on this thread (an `#[observe]` function, or a converted
//!   span it runs in). Spans that are not converted are transparent: what runs inside them
//!   attaches to the nearest recorded ancestor, never to a parent that was not exported.
//! - entering a converted span makes its observation current, so an `#[observe]` function
//!   called inside it, or inside an `.instrument(span)` future on any worker thread, is its
//!   child. A span entered on two threads at once is the parent of what runs on both.
//!
//! # What a span records
//!
//! | field | becomes |
//! | --- | --- |
//! | `gen_ai.operation.name` | the type: `chat`, `text_completion`, `generate_content`, `chat_streaming` → generation; `embeddings` → embedding; `invoke_agent`, `create_agent` → agent; `execute_tool` → tool; `invoke_workflow` → chain; otherwise a span (a generation if it names a model) |
//! | `gen_ai.response.model`, else `gen_ai.request.model` | the model |
//! | `gen_ai.request.*` | model parameters (`temperature`, `max_tokens`, ...) |
//! | `gen_ai.usage.*` | usage in Langfuse's keys: `input` less cache reads and writes, `input_cached_tokens`, `input_cache_creation`, `output` less reasoning, `output_reasoning_tokens` (`reasoning.output_tokens` or rig's `reasoning_tokens`), counted once; none on agents, whose totals repeat their generations' |
//! | `gen_ai.input.messages` (after `gen_ai.system_instructions`), `gen_ai.output.messages` | input and output of a generation; `gen_ai.prompt` / `gen_ai.completion` of an agent; `gen_ai.tool.call.arguments` / `.result` of a tool |
//! | `gen_ai.tool.name`, `gen_ai.agent.name`, `otel.name` | the name (else the span's) |
//! | `gen_ai.response.time_to_first_chunk` (seconds) | the completion start time |
//! | an `error` field, `otel.status_code = "ERROR"` (with `otel.status_message` or `error.type`), `error.type`, an ERROR event inside | level ERROR, with that message |
//! | `langfuse.observation.*` (`type`, `input`, `output`, `metadata`, `metadata.<key>`, `level`, `status_message`, `model.name`, `model.parameters`, `usage_details`, `cost_details`, `completion_start_time`, `prompt.name`, `prompt.version`), `langfuse.version` | the same attributes as the SDK's own API |
//! | `user.id`, `session.id` (or `langfuse.user.id`, `langfuse.session.id`, `gen_ai.conversation.id`), `langfuse.trace.*` (`name`, `tags`, `metadata`, `public`, `input`, `output`), `langfuse.release` | trace attributes, as [`update_current_trace`](crate::update_current_trace) sets them |
//! | anything else | metadata, with [`Layer::with_other_fields`] |
//!
//! Inputs and outputs follow `LANGFUSE_OBSERVE_DECORATOR_IO_CAPTURE_ENABLED`; every value is
//! held to the capture budget and masked like any other. Sampling applies as for `#[observe]`
//! (a span in a sampled-out trace records nothing, and keeps what runs inside it out too),
//! and so do [`stats`](crate::Langfuse::stats) and the test recorder.
//!
//! # Timing
//!
//! An observation starts when its span is created and ends at the span's last exit (when it
//! was entered), not when the last handle to it is dropped: a span kept alive by a clone or a
//! `JoinHandle` does not stretch its observation.

mod fields;
#[cfg(feature = "opentelemetry")]
mod otel;
mod select;
mod spans;

use std::any::TypeId;
use std::fmt;

use tracing::span::{Attributes, Id, Record};
use tracing::subscriber::Interest;
use tracing::{Dispatch, Event, Metadata, Subscriber};
use tracing_subscriber::filter::Filtered;
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::{LookupSpan, Registry};

use self::select::Selection;
use self::spans::Bridge;

/// The `tracing_subscriber` layer that turns spans into observations; see the [module
/// documentation](self).
pub struct Layer<S> {
    inner: Filtered<Bridge, Selection, S>,
}

/// The layer, converting the spans that declare `gen_ai.*` or `langfuse.*` fields.
///
/// ```
/// use tracing_subscriber::layer::SubscriberExt as _;
///
/// let subscriber = tracing_subscriber::registry().with(langfuse_core::tracing::layer());
/// tracing::subscriber::with_default(subscriber, || {
///     let span = tracing::info_span!("chat", gen_ai.operation.name = "chat");
///     let _entered = span.enter(); // a generation, when tracing is on
/// });
/// ```
pub fn layer<S>() -> Layer<S>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    Layer {
        inner: Filtered::new(Bridge::new(), Selection::default()),
    }
}

impl<S> Layer<S> {
    /// Also converts every span of `target` and its submodules (`"sqlx"` takes `sqlx::query`),
    /// as an `EnvFilter` directive names them.
    ///
    /// ```
    /// # type S = tracing_subscriber::Registry;
    /// let layer = langfuse_core::tracing::layer::<S>()
    ///     .with_target("sqlx")
    ///     .with_target("tower_http");
    /// # drop(layer);
    /// ```
    pub fn with_target(mut self, target: impl Into<String>) -> Self {
        let target = target.into();
        self.inner
            .inner_mut()
            .selection
            .targets
            .push(target.clone());
        self.inner.filter_mut().targets.push(target);
        self
    }

    /// Converts every span.
    ///
    /// ```
    /// # type S = tracing_subscriber::Registry;
    /// let layer = langfuse_core::tracing::layer::<S>().all_spans();
    /// # drop(layer);
    /// ```
    pub fn all_spans(mut self) -> Self {
        self.inner.inner_mut().selection.all_spans = true;
        self.inner.filter_mut().all_spans = true;
        self
    }

    /// Records the fields that map to nothing else as metadata (off by default), within the
    /// capture budget.
    ///
    /// ```
    /// # type S = tracing_subscriber::Registry;
    /// let layer = langfuse_core::tracing::layer::<S>().with_other_fields(true);
    /// # drop(layer);
    /// ```
    pub fn with_other_fields(mut self, on: bool) -> Self {
        self.inner.inner_mut().other_fields = on;
        self
    }
}

impl<S> fmt::Debug for Layer<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let filter = self.inner.filter();
        f.debug_struct("Layer")
            .field("targets", &filter.targets)
            .field("all_spans", &filter.all_spans)
            .finish()
    }
}

// Which callsites and events the layer wants, and its `on_new_span` and `on_event`, go
// through the per-layer filter, which keeps its own bookkeeping (its filter id, its interest
// in each callsite, what it enabled for the span or event being created) intact. The other
// span callbacks bypass it: the filter would look the span up in the registry in each of
// them, for every span any layer wants; the layer's table answers instead, after one load
// for a span it does not own.
impl<S> tracing_subscriber::Layer<S> for Layer<S>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_register_dispatch(&self, dispatch: &Dispatch) {
        self.inner.on_register_dispatch(dispatch);
    }

    fn on_layer(&mut self, subscriber: &mut S) {
        // Right on the registry, no other layer sees spans: the filter can disable the
        // callsites the layer ignores (see `Selection`'s `callsite_enabled`).
        // (The type itself: a downcast would find the registry inside any stack.)
        self.inner.filter_mut().exclusive = TypeId::of::<S>() == TypeId::of::<Registry>();
        self.inner.on_layer(subscriber);
    }

    fn register_callsite(&self, metadata: &'static Metadata<'static>) -> Interest {
        self.inner.register_callsite(metadata)
    }

    fn enabled(&self, metadata: &Metadata<'_>, ctx: Context<'_, S>) -> bool {
        self.inner.enabled(metadata, ctx)
    }

    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        self.inner.on_new_span(attrs, id, ctx);
    }

    fn max_level_hint(&self) -> Option<tracing::level_filters::LevelFilter> {
        self.inner.max_level_hint()
    }

    fn on_record(&self, span: &Id, values: &Record<'_>, _: Context<'_, S>) {
        self.inner.inner().record(span, values);
    }

    // Follows-from links are not recorded.
    fn on_follows_from(&self, _: &Id, _: &Id, _: Context<'_, S>) {}

    fn event_enabled(&self, event: &Event<'_>, ctx: Context<'_, S>) -> bool {
        self.inner.event_enabled(event, ctx)
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        self.inner.on_event(event, ctx);
    }

    fn on_enter(&self, id: &Id, _: Context<'_, S>) {
        self.inner.inner().enter(id);
    }

    fn on_exit(&self, id: &Id, _: Context<'_, S>) {
        self.inner.inner().exit(id);
    }

    fn on_close(&self, id: Id, _: Context<'_, S>) {
        self.inner.inner().close(id);
    }

    #[doc(hidden)]
    unsafe fn downcast_raw(&self, id: TypeId) -> Option<*const ()> {
        if id == TypeId::of::<Self>() {
            return Some(self as *const Self as *const ());
        }
        // SAFETY: forwarded as is; the filtered layer answers for itself and what it holds.
        unsafe { self.inner.downcast_raw(id) }
    }
}
