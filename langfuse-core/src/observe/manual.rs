//! Observations without a macro: [`start_observation`] for code `#[observe]` cannot wrap
//! (callbacks, state machines, importing past work with explicit times) and
//! [`create_event`] for points in time.

use std::fmt;
use std::marker::PhantomData;
use std::time::SystemTime;

use crate::capture::CaptureSetting;
use crate::clock;
use crate::clock::Timestamp;
use crate::context::ObservationContext;
use crate::context::{self, Frame, ParentChoice, ParentContext, with_local};
use crate::lifecycle;
use crate::model::{Descriptor, ObservationId, ObservationType, Record, TraceId};
use crate::observe::ObservationUpdate;
use crate::scores::{self, Score, Target};

/// One descriptor per type for observations named at run time (the name lives in the
/// record's data). Nothing is captured automatically: the caller sets input and output.
static DESCRIPTORS: [Descriptor; 10] = {
    const fn manual(kind: ObservationType) -> Descriptor {
        Descriptor::new("", kind, CaptureSetting::Off, CaptureSetting::Off)
    }
    [
        manual(ObservationType::Span),
        manual(ObservationType::Generation),
        manual(ObservationType::Event),
        manual(ObservationType::Agent),
        manual(ObservationType::Tool),
        manual(ObservationType::Chain),
        manual(ObservationType::Retriever),
        manual(ObservationType::Evaluator),
        manual(ObservationType::Embedding),
        manual(ObservationType::Guardrail),
    ]
};

fn descriptor(kind: ObservationType) -> &'static Descriptor {
    let index = ObservationType::ALL
        .iter()
        .position(|&t| t == kind)
        .unwrap_or(0);
    &DESCRIPTORS[index]
}

/// Begins a named observation of `kind` under `parent` (or the current context).
fn begin(
    name: String,
    kind: ObservationType,
    parent: Option<&ObservationContext>,
    start: Option<SystemTime>,
) -> Option<Record> {
    if !lifecycle::starts_allowed() {
        return None;
    }
    let explicit: Option<Option<ParentContext>> = parent.map(ObservationContext::as_parent);
    let choice = match &explicit {
        None => ParentChoice::Current,
        Some(p) => ParentChoice::Given(p.as_ref()),
    };
    let mut open = with_local(|local| local.begin(descriptor(kind), choice))
        .flatten()
        .and_then(Frame::into_observation)?;
    open.data_mut().name = Some(name);
    if let Some(start) = start {
        open.start = Timestamp::from_unix_nanos(clock::system_time_to_unix_nanos(start));
    }
    Some(open)
}

/// Starts an observation that is not tied to a function: it is not made current (use
/// [`Observation::enter`] for that), and it ends when [`Observation::end`] is called or when
/// it is dropped.
///
/// ```
/// use langfuse_core::ObservationType;
///
/// let mut generation = langfuse_core::start_observation("summarize")
///     .as_type(ObservationType::Generation)
///     .start();
/// generation.update(|g| {
///     g.input("long text...").model("gpt-4o-mini");
/// });
/// // ... later, maybe in a callback ...
/// generation.update(|g| {
///     g.output("short text").usage_details(&serde_json::json!({ "input": 900, "output": 40 }));
/// });
/// generation.end();
/// ```
pub fn start_observation(name: impl Into<String>) -> ObservationBuilder {
    ObservationBuilder {
        name: name.into(),
        kind: ObservationType::Span,
        parent: None,
        start: None,
    }
}

/// Options of a manual observation; see [`start_observation`].
#[derive(Debug)]
#[must_use = "call start() to begin the observation"]
pub struct ObservationBuilder {
    name: String,
    kind: ObservationType,
    parent: Option<ObservationContext>,
    start: Option<SystemTime>,
}

impl ObservationBuilder {
    /// The observation's type (default: span).
    ///
    /// ```
    /// let tool = langfuse_core::start_observation("search")
    ///     .as_type(langfuse_core::ObservationType::Tool)
    ///     .start();
    /// # drop(tool);
    /// ```
    pub fn as_type(mut self, kind: ObservationType) -> Self {
        self.kind = kind;
        self
    }

    /// Attaches the observation under `parent` instead of the current context. An empty
    /// context (`ObservationContext::default()`) starts a new trace.
    ///
    /// ```
    /// let remote = langfuse_core::ObservationContext::from_traceparent(
    ///     "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
    /// )
    /// .unwrap();
    /// let job = langfuse_core::start_observation("job").parent(remote).start();
    /// # drop(job);
    /// ```
    pub fn parent(mut self, parent: impl Into<ObservationContext>) -> Self {
        self.parent = Some(parent.into());
        self
    }

    /// An explicit start time, to import work that happened earlier.
    ///
    /// ```
    /// use std::time::{Duration, SystemTime};
    ///
    /// let started = SystemTime::now() - Duration::from_secs(60);
    /// let import = langfuse_core::start_observation("nightly-batch")
    ///     .start_time(started)
    ///     .start();
    /// import.end_at(started + Duration::from_secs(42));
    /// ```
    pub fn start_time(mut self, at: SystemTime) -> Self {
        self.start = Some(at);
        self
    }

    /// Starts the observation.
    ///
    /// ```
    /// let span = langfuse_core::start_observation("work").start();
    /// span.end();
    /// ```
    pub fn start(self) -> Observation {
        Observation {
            open: begin(self.name, self.kind, self.parent.as_ref(), self.start),
        }
    }
}

/// A manual observation; see [`start_observation`]. `Send`: it can be ended on another
/// thread than the one that started it.
#[must_use = "an observation ends when dropped; keep it until the work is done"]
pub struct Observation {
    /// `None` when tracing is off or the trace is sampled out, and once ended.
    open: Option<Record>,
}

impl fmt::Debug for Observation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Observation")
            .field("trace_id", &self.trace_id())
            .field("id", &self.id())
            .finish()
    }
}

impl Observation {
    /// Its id, if it is recorded.
    ///
    /// ```
    /// let span = langfuse_core::start_observation("work").start();
    /// println!("{:?}", span.id());
    /// ```
    pub fn id(&self) -> Option<ObservationId> {
        self.open.as_ref().map(|o| o.id)
    }

    /// Its trace's id, if it is recorded.
    ///
    /// ```
    /// let span = langfuse_core::start_observation("work").start();
    /// println!("{:?}", span.trace_id());
    /// ```
    pub fn trace_id(&self) -> Option<TraceId> {
        self.open.as_ref().map(|o| o.trace_id)
    }

    /// Changes its fields, like [`update_current_generation`](crate::update_current_generation)
    /// does for the current observation. The closure runs only if it is recorded.
    ///
    /// ```
    /// let mut span = langfuse_core::start_observation("work").start();
    /// span.update(|s| {
    ///     s.output(&42);
    /// });
    /// ```
    pub fn update(&mut self, update: impl FnOnce(&mut ObservationUpdate)) -> &mut Self {
        if let Some(open) = &mut self.open {
            let mut changes = ObservationUpdate::default();
            update(&mut changes);
            changes.apply(open);
        }
        self
    }

    /// Scores this observation: sets the score's trace id and observation id to this
    /// observation's, then hands it over like [`create_score`](crate::create_score). If the
    /// observation is not recorded because its trace is sampled out, the score is dropped
    /// too (and counted in [`Stats::scores_dropped_sampling`](crate::Stats::scores_dropped_sampling)).
    ///
    /// ```
    /// use langfuse_core::{ObservationType, Score};
    ///
    /// let generation = langfuse_core::start_observation("summarize")
    ///     .as_type(ObservationType::Generation)
    ///     .start();
    /// generation.score(Score::numeric("conciseness", 0.8).comment("under 100 words"));
    /// generation.end();
    /// ```
    pub fn score(&self, score: Score) {
        let target = self.open.as_ref().map(|o| (o.trace_id, Some(o.id)));
        scores::submit(score, Target::Handle(target));
    }

    /// Scores this observation's trace: sets the score's trace id to this observation's and
    /// clears any observation id, then hands it over like [`create_score`](crate::create_score).
    ///
    /// ```
    /// use langfuse_core::Score;
    ///
    /// let request = langfuse_core::start_observation("handle-request").start();
    /// request.score_trace(Score::boolean("resolved", true));
    /// request.end();
    /// ```
    pub fn score_trace(&self, score: Score) {
        let target = self.open.as_ref().map(|o| (o.trace_id, None));
        scores::submit(score, Target::Handle(target));
    }

    /// A context whose observations are children of this one, to pass to a task, a thread or
    /// another [`start_observation`].
    ///
    /// ```
    /// let parent = langfuse_core::start_observation("batch").start();
    /// let child = langfuse_core::start_observation("item").parent(parent.context()).start();
    /// child.end();
    /// parent.end();
    /// ```
    pub fn context(&self) -> ObservationContext {
        match &self.open {
            Some(open) => ObservationContext::from_frame(Frame::parent(ParentContext::of(open))),
            None => ObservationContext::default(),
        }
    }

    /// Makes this observation current on this thread until the guard drops: `#[observe]`
    /// functions called meanwhile become its children and `update_current_*` apply to it.
    ///
    /// ```
    /// let mut span = langfuse_core::start_observation("work").start();
    /// {
    ///     let _entered = span.enter();
    ///     langfuse_core::update_current_span(|s| {
    ///         s.metadata(&serde_json::json!({ "step": 1 }));
    ///     });
    /// }
    /// span.end();
    /// ```
    pub fn enter(&mut self) -> EnteredObservation<'_> {
        let depth = match self.open.take() {
            Some(open) => {
                let mut frame = Some(Frame::observing(open));
                let depth = with_local(|local| local.push(frame.take().expect("present")));
                // Thread-locals unusable: keep the observation, not entered.
                self.open = frame.and_then(Frame::into_observation);
                depth
            }
            None => None,
        };
        EnteredObservation {
            owner: self,
            depth,
            _not_send: PhantomData,
        }
    }

    /// Ends the observation now.
    ///
    /// ```
    /// langfuse_core::start_observation("work").start().end();
    /// ```
    pub fn end(mut self) {
        self.finish(None);
    }

    /// Ends the observation at an explicit time (to import past work).
    ///
    /// ```
    /// let span = langfuse_core::start_observation("work").start();
    /// span.end_at(std::time::SystemTime::now());
    /// ```
    pub fn end_at(mut self, at: SystemTime) {
        self.finish(Some(at));
    }

    fn finish(&mut self, at: Option<SystemTime>) {
        let Some(open) = self.open.take() else {
            return;
        };
        match at {
            Some(at) => {
                let mut open = open;
                open.close(Timestamp::from_unix_nanos(
                    clock::system_time_to_unix_nanos(at),
                ));
                context::hand_off(open);
            }
            None => context::end_detached(open),
        }
    }
}

impl Drop for Observation {
    fn drop(&mut self) {
        self.finish(None);
    }
}

/// Keeps a manual observation current; see [`Observation::enter`].
#[must_use = "the observation is current only until this guard drops"]
pub struct EnteredObservation<'a> {
    owner: &'a mut Observation,
    depth: Option<usize>,
    _not_send: PhantomData<*const ()>,
}

impl fmt::Debug for EnteredObservation<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EnteredObservation")
            .field("depth", &self.depth)
            .finish()
    }
}

impl Drop for EnteredObservation<'_> {
    fn drop(&mut self) {
        let Some(depth) = self.depth else { return };
        self.owner.open = with_local(|local| local.pop(depth))
            .flatten()
            .and_then(Frame::into_observation);
    }
}

/// Records a point-in-time event (an observation of type event, without duration) under the
/// current observation. The closure sets its input, output, metadata and level; it runs only
/// when the event is recorded.
///
/// ```
/// langfuse_core::create_event("cache-miss", |event| {
///     event
///         .input(&serde_json::json!({ "key": "user:42" }))
///         .level(langfuse_core::Level::Warning);
/// });
/// ```
pub fn create_event(name: impl Into<String>, fields: impl FnOnce(&mut ObservationUpdate)) {
    // `begin` decides like every other start: before `init()` it records when the environment
    // has keys, after shutdown it refuses and counts.
    let Some(mut open) = begin(name.into(), ObservationType::Event, None, None) else {
        return;
    };
    let mut changes = ObservationUpdate::default();
    fields(&mut changes);
    changes.apply(&mut open);
    let at = open.start;
    open.close(at);
    context::hand_off(open);
}
