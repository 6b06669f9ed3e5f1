//! async-openai's calls as generations (feature `async-openai`): chat completions (plain and
//! streamed), the Responses API and embeddings, with any OpenAI-compatible server (vLLM,
//! Ollama's `/v1`, OpenRouter...) behind the client's base URL.
//!
//! ```no_run
//! use async_openai::types::chat::CreateChatCompletionRequestArgs;
//!
//! # async fn example() -> Result<(), async_openai::error::OpenAIError> {
//! let client = langfuse_core::openai::Client::new(async_openai::Client::new());
//! let request = CreateChatCompletionRequestArgs::default()
//!     .model("gpt-4o-mini")
//!     .messages([async_openai::types::chat::ChatCompletionRequestUserMessage::from("Hi").into()])
//!     .build()?;
//! let response = client.chat().create(request).await?; // a generation, under the current observation
//! # drop(response);
//! # Ok(())
//! # }
//! ```
//!
//! Each call records one observation under the current context, as a manual observation
//! would: a generation (an embedding for `embeddings()`) named `OpenAI-generation` (or
//! `OpenAI-embedding`), with the request's model and parameters, the input messages, the
//! output, the response's model, its usage in Langfuse's keys (cached input and reasoning
//! split out), and on failure level ERROR with the API's message. A stream also records the
//! completion start time at the first chunk that carries content (not the first chunk, which
//! only names the role), and asks for usage with `stream_options.include_usage` when the
//! request does not say: the last chunk then has no choices and carries the usage.
//!
//! Inputs and outputs follow `LANGFUSE_OBSERVE_DECORATOR_IO_CAPTURE_ENABLED` and the capture
//! budget; sampling and masking apply as everywhere.

mod stream;

use std::pin::Pin;

use async_openai::config::Config;
use async_openai::error::OpenAIError;
use async_openai::types::chat::{
    ChatCompletionStreamOptions, CreateChatCompletionRequest, CreateChatCompletionResponse,
};
use async_openai::types::embeddings::{CreateEmbeddingRequest, CreateEmbeddingResponse};
use async_openai::types::responses::{CreateResponse, Response};
use futures_core::Stream;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::capture::{self, CaptureSetting};
use crate::model::{Level, ObservationType};
use crate::observe::{Observation, ObservationUpdate, start_observation};

pub use stream::ChatStream;

/// The request parameters recorded as model parameters, by their names on the wire.
const PARAMETERS: &[&str] = &[
    "temperature",
    "top_p",
    "max_tokens",
    "max_completion_tokens",
    "max_output_tokens",
    "frequency_penalty",
    "presence_penalty",
    "seed",
    "stop",
    "n",
    "logprobs",
    "top_logprobs",
    "reasoning_effort",
    "reasoning",
    "service_tier",
    "response_format",
    "tool_choice",
    "parallel_tool_calls",
    "dimensions",
    "encoding_format",
];

/// A prompt managed in Langfuse, linked to the generations it produced.
///
/// Today a `(name, version)` pair; prompt management (`langfuse::prompts`) converts its
/// prompts into this, so that `.prompt(&prompt)` links them too.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PromptLink {
    /// The prompt's name.
    pub name: String,
    /// The prompt's version.
    pub version: i64,
}

impl<S: Into<String>> From<(S, i64)> for PromptLink {
    fn from((name, version): (S, i64)) -> Self {
        Self {
            name: name.into(),
            version,
        }
    }
}

/// An async-openai client whose calls record generations; see the [module
/// documentation](self). Cheap to clone, as async-openai's own client is.
#[derive(Debug, Clone)]
pub struct Client<C: Config> {
    inner: async_openai::Client<C>,
}

impl<C: Config> Client<C> {
    /// Wraps `client` (with its configuration: key, base URL, retries).
    pub fn new(client: async_openai::Client<C>) -> Self {
        Self { inner: client }
    }

    /// The wrapped client, for the calls this one does not record.
    pub fn inner(&self) -> &async_openai::Client<C> {
        &self.inner
    }

    /// Chat completions.
    pub fn chat(&self) -> Chat<'_, C> {
        Chat {
            client: &self.inner,
            options: Options::new("OpenAI-generation"),
        }
    }

    /// The Responses API.
    pub fn responses(&self) -> Responses<'_, C> {
        Responses {
            client: &self.inner,
            options: Options::new("OpenAI-generation"),
        }
    }

    /// Embeddings.
    pub fn embeddings(&self) -> Embeddings<'_, C> {
        Embeddings {
            client: &self.inner,
            options: Options::new("OpenAI-embedding"),
        }
    }
}

impl<C: Config> From<async_openai::Client<C>> for Client<C> {
    fn from(client: async_openai::Client<C>) -> Self {
        Self::new(client)
    }
}

/// What every call can be told: the observation's name and the prompt it links.
#[derive(Debug, Clone)]
struct Options {
    name: String,
    prompt: Option<PromptLink>,
}

impl Options {
    fn new(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            prompt: None,
        }
    }

    /// Starts the observation with what the request says.
    fn start(&self, kind: ObservationType, request: &impl Serialize) -> Observation {
        let mut observation = start_observation(self.name.clone()).as_type(kind).start();
        if observation.id().is_none() {
            return observation; // not recorded: nothing to serialize
        }
        // Through the text sent on the wire, so that an `f32` parameter reads as it is sent
        // (0.2, not 0.20000000298023224).
        let request: Value = serde_json::to_string(request)
            .ok()
            .and_then(|text| serde_json::from_str(&text).ok())
            .unwrap_or(Value::Null);
        observation.update(|g| {
            if let Some(model) = request.get("model").and_then(Value::as_str) {
                g.model(model);
            }
            let parameters: Map<String, Value> = PARAMETERS
                .iter()
                .filter_map(|&key| {
                    let value = request.get(key)?;
                    (!value.is_null()).then(|| (key.to_owned(), value.clone()))
                })
                .collect();
            if !parameters.is_empty() {
                g.model_parameters(&parameters);
            }
            if capturing() {
                if let Some(input) = input_of(&request) {
                    g.input(&input);
                }
                if let Some(tools) = request.get("tools").filter(|t| !t.is_null()) {
                    g.metadata(&serde_json::json!({ "tools": tools }));
                }
            }
            if let Some(prompt) = &self.prompt {
                g.prompt((prompt.name.as_str(), prompt.version));
            }
        });
        observation
    }
}

fn capturing() -> bool {
    capture::enabled(CaptureSetting::Inherit)
}

/// What the model was given: chat messages, a Responses input (with its instructions first),
/// or an embedding's input.
fn input_of(request: &Value) -> Option<Value> {
    if let Some(messages) = request.get("messages") {
        return Some(messages.clone());
    }
    let input = request.get("input")?.clone();
    match request.get("instructions").and_then(Value::as_str) {
        Some(instructions) => {
            let mut all = vec![serde_json::json!({ "role": "system", "content": instructions })];
            match input {
                Value::Array(items) => all.extend(items),
                Value::String(text) => {
                    all.push(serde_json::json!({ "role": "user", "content": text }))
                }
                other => all.push(other),
            }
            Some(Value::Array(all))
        }
        None => Some(input),
    }
}

/// Ends `observation` with an API error: level ERROR, the API's message.
fn fail(mut observation: Observation, error: &OpenAIError) {
    observation.update(|g| {
        g.level(Level::Error).status_message(error.to_string());
    });
    observation.end();
}

/// Records what every response says: its model and usage.
fn record_response(g: &mut ObservationUpdate, model: &str, usage: &impl Serialize) {
    if !model.is_empty() {
        g.model(model);
    }
    g.usage_details(usage);
}

/// Chat completions that record generations; from [`Client::chat`].
#[derive(Debug)]
pub struct Chat<'c, C: Config> {
    client: &'c async_openai::Client<C>,
    options: Options,
}

impl<C: Config> Chat<'_, C> {
    /// Names the observation (default `OpenAI-generation`).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.options.name = name.into();
        self
    }

    /// Links the generation to a prompt managed in Langfuse.
    pub fn prompt(mut self, prompt: impl Into<PromptLink>) -> Self {
        self.options.prompt = Some(prompt.into());
        self
    }

    /// `chat().create(request)`, recorded.
    pub async fn create(
        &self,
        request: CreateChatCompletionRequest,
    ) -> Result<CreateChatCompletionResponse, OpenAIError> {
        let mut observation = self.options.start(ObservationType::Generation, &request);
        match self.client.chat().create(request).await {
            Ok(response) => {
                observation.update(|g| {
                    record_response(g, &response.model, &response.usage);
                    if capturing() {
                        let messages: Vec<&_> =
                            response.choices.iter().map(|c| &c.message).collect();
                        match messages.as_slice() {
                            [one] => g.output(one),
                            many => g.output(many),
                        };
                    }
                });
                observation.end();
                Ok(response)
            }
            Err(error) => {
                fail(observation, &error);
                Err(error)
            }
        }
    }

    /// `chat().create_stream(request)`, recorded until the stream ends (or is dropped:
    /// level WARNING, "cancelled"). Asks for usage in the last chunk unless the request sets
    /// `stream_options` itself.
    pub async fn create_stream(
        &self,
        mut request: CreateChatCompletionRequest,
    ) -> Result<ChatStream, OpenAIError> {
        if request.stream_options.is_none() {
            request.stream_options = Some(ChatCompletionStreamOptions {
                include_usage: Some(true),
                include_obfuscation: None,
            });
        }
        let observation = self.options.start(ObservationType::Generation, &request);
        match self.client.chat().create_stream(request).await {
            Ok(stream) => Ok(ChatStream::new(stream, observation)),
            Err(error) => {
                fail(observation, &error);
                Err(error)
            }
        }
    }
}

/// The Responses API, recording generations; from [`Client::responses`].
#[derive(Debug)]
pub struct Responses<'c, C: Config> {
    client: &'c async_openai::Client<C>,
    options: Options,
}

impl<C: Config> Responses<'_, C> {
    /// Names the observation (default `OpenAI-generation`).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.options.name = name.into();
        self
    }

    /// Links the generation to a prompt managed in Langfuse.
    pub fn prompt(mut self, prompt: impl Into<PromptLink>) -> Self {
        self.options.prompt = Some(prompt.into());
        self
    }

    /// `responses().create(request)`, recorded.
    pub async fn create(&self, request: CreateResponse) -> Result<Response, OpenAIError> {
        let mut observation = self.options.start(ObservationType::Generation, &request);
        match self.client.responses().create(request).await {
            Ok(response) => {
                observation.update(|g| {
                    if let Some(usage) = &response.usage {
                        record_response(g, &response.model, usage);
                    } else if !response.model.is_empty() {
                        g.model(response.model.clone());
                    }
                    if capturing() {
                        g.output(&response.output);
                    }
                });
                observation.end();
                Ok(response)
            }
            Err(error) => {
                fail(observation, &error);
                Err(error)
            }
        }
    }
}

/// Embeddings, recording embedding observations; from [`Client::embeddings`].
#[derive(Debug)]
pub struct Embeddings<'c, C: Config> {
    client: &'c async_openai::Client<C>,
    options: Options,
}

impl<C: Config> Embeddings<'_, C> {
    /// Names the observation (default `OpenAI-embedding`).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.options.name = name.into();
        self
    }

    /// `embeddings().create(request)`, recorded. The vectors are not captured: the output
    /// says how many there are and their dimension.
    pub async fn create(
        &self,
        request: CreateEmbeddingRequest,
    ) -> Result<CreateEmbeddingResponse, OpenAIError> {
        let mut observation = self.options.start(ObservationType::Embedding, &request);
        match self.client.embeddings().create(request).await {
            Ok(response) => {
                observation.update(|g| {
                    record_response(g, &response.model, &response.usage);
                    if capturing() {
                        let dimensions = response.data.first().map_or(0, |e| e.embedding.len());
                        g.output(&serde_json::json!({
                            "embeddings": response.data.len(),
                            "dimensions": dimensions,
                        }));
                    }
                });
                observation.end();
                Ok(response)
            }
            Err(error) => {
                fail(observation, &error);
                Err(error)
            }
        }
    }
}

/// The stream async-openai returns for a chat completion.
type InnerStream = Pin<
    Box<
        dyn Stream<
                Item = Result<
                    async_openai::types::chat::CreateChatCompletionStreamResponse,
                    OpenAIError,
                >,
            > + Send,
    >,
>;
