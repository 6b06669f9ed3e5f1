//! Updating the current observation and trace from inside an observed function.
//!
//! Every update takes a closure that runs only when there is something to update (tracing
//! on, a recorded observation current): in a disabled program or a sampled-out trace nothing
//! is serialized. Called outside any observation, an update is a no-op with a debug log.

use std::time::SystemTime;

use serde::Serialize;

use crate::capture::{self, Payload, merge_objects, serialize_bounded};
use crate::clock::{self, Timestamp};
use crate::context::{self, with_local};
use crate::model::{
    GenerationData, Level, ObservationData, Record, TraceAttributes, normalize_usage,
};

/// Fields to change on the current observation; see [`update_current_span`] and
/// [`update_current_generation`].
///
/// Values are serialized when set, within the capture byte budget
/// (`LANGFUSE_CAPTURE_MAX_BYTES`); metadata is any value that serializes to a JSON object,
/// sent as one attribute, so there is no limit on the number of keys.
///
/// ```
/// langfuse_core::update_current_span(|span| {
///     span.output(&["doc-1", "doc-2"])
///         .metadata(&serde_json::json!({ "index": "docs-v2" }))
///         .level(langfuse_core::Level::Warning)
///         .status_message("served from a stale index");
/// });
/// ```
#[derive(Debug, Default)]
pub struct ObservationUpdate {
    data: ObservationData,
    level: Option<Level>,
    generation: GenerationData,
    touches_generation: bool,
}

fn payload<T: Serialize + ?Sized>(value: &T) -> Payload {
    serialize_bounded(value, capture::max_bytes())
}

/// Usage in Langfuse's keys (see [`ObservationUpdate::usage_details`]), if `usage` counts any.
pub(crate) fn usage_payload<T: Serialize + ?Sized>(usage: &T) -> Option<Payload> {
    let value = serde_json::to_value(usage).ok()?;
    let normalized = normalize_usage(&value)?;
    Some(payload(&normalized))
}

impl ObservationUpdate {
    /// Renames the observation.
    ///
    /// ```
    /// langfuse_core::update_current_span(|span| {
    ///     span.name("retrieve: docs-v2");
    /// });
    /// ```
    pub fn name(&mut self, name: impl Into<String>) -> &mut Self {
        self.data.name = Some(name.into());
        self
    }

    /// Sets the input (replacing a captured one).
    ///
    /// ```
    /// langfuse_core::update_current_span(|span| {
    ///     span.input(&serde_json::json!({ "query": "rust tracing" }));
    /// });
    /// ```
    pub fn input<T: Serialize + ?Sized>(&mut self, input: &T) -> &mut Self {
        self.data.input = Some(payload(input));
        self
    }

    /// Sets the output. It takes precedence over the return value `#[observe]` captures.
    ///
    /// ```
    /// langfuse_core::update_current_span(|span| {
    ///     span.output("42");
    /// });
    /// ```
    pub fn output<T: Serialize + ?Sized>(&mut self, output: &T) -> &mut Self {
        self.data.output = Some(payload(output));
        self
    }

    /// Adds metadata: any value that serializes to a JSON object. Keys merge with earlier
    /// updates (newer values win).
    ///
    /// ```
    /// use std::collections::HashMap;
    ///
    /// let metadata: HashMap<&str, u32> = [("retries", 2), ("shard", 7)].into();
    /// langfuse_core::update_current_span(|span| {
    ///     span.metadata(&metadata);
    /// });
    /// ```
    pub fn metadata<T: Serialize + ?Sized>(&mut self, metadata: &T) -> &mut Self {
        let new = payload(metadata);
        self.data.metadata = Some(match self.data.metadata.take() {
            Some(old) => merge_objects(old, new),
            None => new,
        });
        self
    }

    /// Sets the level (ERROR also marks the span's status as an error).
    ///
    /// ```
    /// langfuse_core::update_current_span(|span| {
    ///     span.level(langfuse_core::Level::Debug);
    /// });
    /// ```
    pub fn level(&mut self, level: Level) -> &mut Self {
        self.level = Some(level);
        self
    }

    /// Sets the status message, typically with a WARNING or ERROR level.
    ///
    /// ```
    /// langfuse_core::update_current_span(|span| {
    ///     span.status_message("fell back to the cache");
    /// });
    /// ```
    pub fn status_message(&mut self, message: impl Into<String>) -> &mut Self {
        self.data.status_message = Some(message.into());
        self
    }

    /// Sets the version of the code that produced this observation.
    ///
    /// ```
    /// langfuse_core::update_current_span(|span| {
    ///     span.version("retriever-3");
    /// });
    /// ```
    pub fn version(&mut self, version: impl Into<String>) -> &mut Self {
        self.data.version = Some(version.into());
        self
    }

    /// Generation-like observations only: the model's name, which Langfuse matches against
    /// its price list to infer cost.
    ///
    /// ```
    /// langfuse_core::update_current_generation(|generation| {
    ///     generation.model("gpt-4o-mini");
    /// });
    /// ```
    pub fn model(&mut self, model: impl Into<String>) -> &mut Self {
        self.generation.model = Some(model.into());
        self.touches_generation = true;
        self
    }

    /// Generation-like observations only: the model parameters (temperature, max tokens...).
    ///
    /// ```
    /// langfuse_core::update_current_generation(|generation| {
    ///     generation.model_parameters(&serde_json::json!({ "temperature": 0.2 }));
    /// });
    /// ```
    pub fn model_parameters<T: Serialize + ?Sized>(&mut self, parameters: &T) -> &mut Self {
        self.generation.model_parameters = Some(payload(parameters));
        self.touches_generation = true;
        self
    }

    /// Generation-like observations only: token counts by kind. Sent as one flat JSON object
    /// of integers in the keys Langfuse prices (`input`, `output`, `total`,
    /// `input_cached_tokens`, `input_cache_creation`, `output_reasoning_tokens`, ...), into
    /// which the usage objects of the common APIs are normalised, each part counted once:
    ///
    /// | shape | recognised by | becomes |
    /// | --- | --- | --- |
    /// | Langfuse's keys, or any flat object of counts | anything else | kept; `prompt`/`completion` renamed; non-integers dropped |
    /// | OpenAI Chat Completions | `prompt_tokens` | `input` less `prompt_tokens_details.*`, each as `input_<key>`; `output` likewise; DeepSeek's `prompt_cache_hit_tokens` as cached |
    /// | OpenAI Responses | `input_tokens` (no cache keys) | as Chat Completions, from `input_tokens_details` / `output_tokens_details` |
    /// | Anthropic Messages | `cache_read_input_tokens`, `cache_creation_input_tokens` or `cache_creation` | `input`, `input_cached_tokens`, `input_cache_creation` (and `_5m`, `_1h`), `output` |
    /// | Google Gemini | `promptTokenCount` / `prompt_token_count` | `input` less cached, `input_cached_tokens`, `output`, `output_reasoning_tokens` (thoughts), `total` |
    /// | AWS Bedrock Converse | `inputTokens` | `input`, `input_cached_tokens`, `input_cache_creation`, `output`, `total` |
    ///
    /// Strings, nested objects and negative numbers are dropped (one of them would make
    /// Langfuse reject the whole usage). A value that is not an object, or counts nothing,
    /// leaves the usage unset.
    ///
    /// ```
    /// langfuse_core::update_current_generation(|generation| {
    ///     generation.usage_details(&serde_json::json!({ "input": 52, "output": 18, "total": 70 }));
    /// });
    /// // Anthropic's usage object, sent as {"input": 12, "input_cached_tokens": 900, "output": 40}:
    /// langfuse_core::update_current_generation(|generation| {
    ///     generation.usage_details(&serde_json::json!({
    ///         "input_tokens": 12, "cache_read_input_tokens": 900, "output_tokens": 40,
    ///     }));
    /// });
    /// ```
    pub fn usage_details<T: Serialize + ?Sized>(&mut self, usage: &T) -> &mut Self {
        match usage_payload(usage) {
            Some(usage) => self.generation.usage_details = Some(usage),
            None => tracing::debug!(
                target: "langfuse",
                "usage_details: not an object of token counts; usage left unset"
            ),
        }
        self.touches_generation = true;
        self
    }

    /// Sets usage already normalised into Langfuse's keys.
    #[cfg(feature = "tracing-bridge")]
    pub(crate) fn normalized_usage(
        &mut self,
        usage: &serde_json::Map<String, serde_json::Value>,
    ) -> &mut Self {
        if !usage.is_empty() {
            self.generation.usage_details = Some(payload(usage));
            self.touches_generation = true;
        }
        self
    }

    /// Generation-like observations only: cost in USD by kind, a JSON object of numbers.
    /// Without it, Langfuse infers cost from the model and usage.
    ///
    /// ```
    /// langfuse_core::update_current_generation(|generation| {
    ///     generation.cost_details(&serde_json::json!({ "input": 0.0001, "output": 0.0004 }));
    /// });
    /// ```
    pub fn cost_details<T: Serialize + ?Sized>(&mut self, cost: &T) -> &mut Self {
        self.generation.cost_details = Some(payload(cost));
        self.touches_generation = true;
        self
    }

    /// Generation-like observations only: when the first token arrived (time to first token
    /// is the difference to the start).
    ///
    /// ```
    /// langfuse_core::update_current_generation(|generation| {
    ///     generation.completion_start_time(std::time::SystemTime::now());
    /// });
    /// ```
    pub fn completion_start_time(&mut self, at: SystemTime) -> &mut Self {
        self.generation.completion_start_time = Some(Timestamp::from_unix_nanos(
            clock::system_time_to_unix_nanos(at),
        ));
        self.touches_generation = true;
        self
    }

    /// Generation-like observations only: links the generation to the version of a prompt
    /// managed in Langfuse that it used: a prompt from `get_prompt`
    /// ([`TextPrompt`](crate::TextPrompt), [`ChatPrompt`](crate::ChatPrompt),
    /// [`Prompt`](crate::Prompt)), or a `(name, version)` pair. A fallback prompt links
    /// nothing (it is no version of the prompt), as in the Python SDK.
    ///
    /// ```
    /// # fn f(prompt: &langfuse_core::TextPrompt) {
    /// langfuse_core::update_current_generation(|generation| {
    ///     generation.prompt(prompt);
    /// });
    /// langfuse_core::update_current_generation(|generation| {
    ///     generation.prompt(("support-answer", 3));
    /// });
    /// # }
    /// ```
    pub fn prompt(&mut self, prompt: impl PromptLink) -> &mut Self {
        if let Some((name, version)) = prompt.prompt_link() {
            self.generation.prompt_name = Some(name.to_owned());
            self.generation.prompt_version = Some(version);
            self.touches_generation = true;
        }
        self
    }

    /// Writes the update into `observation`.
    pub(crate) fn apply(self, observation: &mut Record) {
        if let Some(level) = self.level {
            observation.level = level;
        }
        let touches_generation = self.touches_generation;
        let generation = self.generation;
        let data = observation.data_mut();
        let new = self.data;
        if new.name.is_some() {
            data.name = new.name;
        }
        if new.input.is_some() {
            data.input = new.input;
        }
        if new.output.is_some() {
            data.output = new.output;
        }
        if let Some(metadata) = new.metadata {
            data.metadata = Some(match data.metadata.take() {
                Some(old) => merge_objects(old, metadata),
                None => metadata,
            });
        }
        if new.status_message.is_some() {
            data.status_message = new.status_message;
        }
        if new.version.is_some() {
            data.version = new.version;
        }
        if touches_generation {
            let target = data.generation.get_or_insert_with(Default::default);
            macro_rules! take {
                ($($field:ident),*) => {$(
                    if generation.$field.is_some() {
                        target.$field = generation.$field;
                    }
                )*};
            }
            take!(
                model,
                model_parameters,
                usage_details,
                cost_details,
                completion_start_time,
                prompt_name,
                prompt_version
            );
        }
    }
}

/// What [`ObservationUpdate::prompt`] links a generation to: a prompt's name and version,
/// or nothing (a fallback prompt). Implemented by the prompts `get_prompt` returns, by
/// `(name, version)` pairs and by references to either.
///
/// ```
/// use langfuse_core::PromptLink;
///
/// assert_eq!(("support-answer", 3).prompt_link(), Some(("support-answer", 3)));
/// let fallback = langfuse_core::TextPrompt::new("support-answer", "Answer: {{question}}");
/// assert_eq!(fallback.prompt_link(), None);
/// ```
pub trait PromptLink {
    /// The name and version to record, or `None` to link nothing.
    fn prompt_link(&self) -> Option<(&str, i64)>;
}

impl<N: AsRef<str>> PromptLink for (N, i64) {
    fn prompt_link(&self) -> Option<(&str, i64)> {
        Some((self.0.as_ref(), self.1))
    }
}

impl<T: PromptLink + ?Sized> PromptLink for &T {
    fn prompt_link(&self) -> Option<(&str, i64)> {
        (**self).prompt_link()
    }
}

/// Runs `update` against the current observation, if a recorded one is current.
fn update_current(update: impl FnOnce(&mut ObservationUpdate), want_generation: bool) -> bool {
    if !context::may_record() {
        return false;
    }
    let Some(kind) = with_local(|l| l.current_observation().map(|o| o.descriptor.kind())).flatten()
    else {
        tracing::debug!(target: "langfuse", "no recorded observation is current: update ignored");
        return false;
    };
    let mut changes = ObservationUpdate::default();
    update(&mut changes);
    if (want_generation || changes.touches_generation) && !kind.is_generation_like() {
        tracing::debug!(
            target: "langfuse",
            %kind,
            "model, usage and cost only apply to generation-like observations (generation, embedding); they will not be sent"
        );
    }
    with_local(|l| {
        if let Some(observation) = l.current_observation() {
            changes.apply(observation);
        }
    })
    .is_some()
}

/// Updates the current observation: name, input, output, metadata, level, status message,
/// version. The closure runs only when a recorded observation is current; otherwise this is
/// a no-op (with a debug log), never a panic.
///
/// ```
/// use langfuse_core::Level;
///
/// fn retrieve(query: &str) -> Vec<String> {
///     let documents = vec![format!("about {query}")];
///     langfuse_core::update_current_span(|span| {
///         span.metadata(&serde_json::json!({ "hits": documents.len() }));
///         if documents.is_empty() {
///             span.level(Level::Warning).status_message("no documents found");
///         }
///     });
///     documents
/// }
/// # retrieve("rust");
/// ```
pub fn update_current_span(update: impl FnOnce(&mut ObservationUpdate)) {
    update_current(update, false);
}

/// Updates the current generation: everything [`update_current_span`] sets, plus model,
/// model parameters, usage, cost, completion start time and prompt. Generation fields are
/// sent only for generation-like observations (`as_type = "generation"` or `"embedding"`).
///
/// ```
/// fn record_llm_call(prompt_tokens: u64, completion_tokens: u64) {
///     langfuse_core::update_current_generation(|generation| {
///         generation
///             .model("gpt-4o-mini")
///             .model_parameters(&serde_json::json!({ "temperature": 0.0 }))
///             .usage_details(&serde_json::json!({
///                 "input": prompt_tokens,
///                 "output": completion_tokens,
///             }))
///             .cost_details(&serde_json::json!({ "total": 0.00042 }));
///     });
/// }
/// # record_llm_call(52, 18);
/// ```
pub fn update_current_generation(update: impl FnOnce(&mut ObservationUpdate)) {
    update_current(update, true);
}

/// Updates the current trace: name, user, session, version, release, input, output,
/// metadata, tags and visibility. The attributes go on the current observation, its
/// ancestors running on this thread, and every observation of the trace started after;
/// Langfuse merges them into the trace.
///
/// ```
/// fn handle(user: &str, conversation: &str) {
///     langfuse_core::update_current_trace(|trace| {
///         trace
///             .name("chat")
///             .user_id(user)
///             .session_id(conversation)
///             .tags(["production"]);
///     });
/// }
/// # handle("user-42", "chat-7");
/// ```
pub fn update_current_trace(update: impl FnOnce(&mut TraceAttributes)) {
    if !context::recording_here() {
        return;
    }
    if context::current_parent().is_none() {
        tracing::debug!(target: "langfuse", "no trace is current: update_current_trace ignored");
        return;
    }
    let mut attributes = TraceAttributes::default();
    update(&mut attributes);
    with_local(|l| l.update_trace(&attributes));
}
