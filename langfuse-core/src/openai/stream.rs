//! A streamed chat completion that records its generation as the chunks pass.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::SystemTime;

use async_openai::error::OpenAIError;
use async_openai::types::chat::{CompletionUsage, CreateChatCompletionStreamResponse};
use futures_core::Stream;
use serde_json::Value;

use super::{InnerStream, capturing};
use crate::capture;
use crate::model::Level;
use crate::observe::Observation;

/// The stream of [`Chat::create_stream`](super::Chat::create_stream): async-openai's chunks,
/// unchanged, while the generation records the completion start time (the first chunk with
/// content), the text, tool calls, model and usage, and ends with the stream. Dropped before
/// its end, the generation ends with level WARNING, "cancelled".
#[must_use = "streams do nothing unless polled"]
pub struct ChatStream {
    inner: InnerStream,
    state: State,
}

/// A tool call put together from its deltas.
#[derive(Default)]
struct ToolCall {
    id: String,
    name: String,
    arguments: String,
}

struct State {
    /// `None` once ended (or when not recorded).
    observation: Option<Observation>,
    capture: bool,
    budget: usize,
    text: String,
    truncated: bool,
    tool_calls: Vec<ToolCall>,
    content_seen: bool,
    model: Option<String>,
    usage: Option<CompletionUsage>,
    finish_reason: Option<String>,
    error: Option<String>,
}

impl ChatStream {
    pub(super) fn new(inner: InnerStream, observation: Observation) -> Self {
        let recorded = observation.id().is_some();
        Self {
            inner,
            state: State {
                observation: recorded.then_some(observation),
                capture: recorded && capturing(),
                budget: capture::max_bytes(),
                text: String::new(),
                truncated: false,
                tool_calls: Vec::new(),
                content_seen: false,
                model: None,
                usage: None,
                finish_reason: None,
                error: None,
            },
        }
    }
}

impl std::fmt::Debug for ChatStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChatStream")
            .field("observation", &self.state.observation)
            .finish_non_exhaustive()
    }
}

impl State {
    fn chunk(&mut self, chunk: &CreateChatCompletionStreamResponse) {
        if self.observation.is_none() {
            return;
        }
        if !chunk.model.is_empty() {
            self.model = Some(chunk.model.clone());
        }
        if let Some(usage) = &chunk.usage {
            self.usage = Some(usage.clone());
        }
        let mut content = false;
        for choice in &chunk.choices {
            let delta = &choice.delta;
            if let Some(text) = delta.content.as_deref().filter(|t| !t.is_empty()) {
                content = true;
                self.push_text(text);
            }
            if delta.refusal.as_deref().is_some_and(|r| !r.is_empty()) {
                content = true;
            }
            for call in delta.tool_calls.iter().flatten() {
                content = true;
                if !self.capture {
                    continue;
                }
                let index = call.index as usize;
                if self.tool_calls.len() <= index {
                    self.tool_calls.resize_with(index + 1, Default::default);
                }
                let target = &mut self.tool_calls[index];
                if let Some(id) = &call.id {
                    target.id.clone_from(id);
                }
                if let Some(function) = &call.function {
                    if let Some(name) = &function.name {
                        target.name.push_str(name);
                    }
                    if let Some(arguments) = &function.arguments {
                        target.arguments.push_str(arguments);
                    }
                }
            }
            if let Some(reason) = &choice.finish_reason {
                self.finish_reason = serde_json::to_value(reason)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned));
            }
        }
        if content && !self.content_seen {
            self.content_seen = true;
            if let Some(observation) = self.observation.as_mut() {
                observation.update(|g| {
                    g.completion_start_time(SystemTime::now());
                });
            }
        }
    }

    fn push_text(&mut self, text: &str) {
        if !self.capture || self.truncated {
            return;
        }
        let room = self.budget.saturating_sub(self.text.len());
        if text.len() <= room {
            self.text.push_str(text);
            return;
        }
        let mut cut = room;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        self.text.push_str(&text[..cut]);
        self.text.push_str("… [truncated by langfuse]");
        self.truncated = true;
    }

    fn error(&mut self, error: &OpenAIError) {
        if self.error.is_none() {
            self.error = Some(error.to_string());
        }
    }

    fn finish(&mut self, cancelled: bool) {
        let Some(mut observation) = self.observation.take() else {
            return;
        };
        let capture = self.capture;
        let output = capture.then(|| {
            let mut message = serde_json::json!({
                "role": "assistant",
                "content": std::mem::take(&mut self.text),
            });
            if !self.tool_calls.is_empty() {
                let calls: Vec<Value> = self
                    .tool_calls
                    .drain(..)
                    .map(|c| {
                        serde_json::json!({
                            "id": c.id,
                            "type": "function",
                            "function": { "name": c.name, "arguments": c.arguments },
                        })
                    })
                    .collect();
                message["tool_calls"] = Value::Array(calls);
            }
            message
        });
        let (model, usage, finish_reason, error) = (
            self.model.take(),
            self.usage.take(),
            self.finish_reason.take(),
            self.error.take(),
        );
        observation.update(|g| {
            if let Some(model) = model {
                g.model(model);
            }
            if let Some(usage) = &usage {
                g.usage_details(usage);
            }
            if let Some(output) = &output {
                g.output(output);
            }
            if let Some(reason) = finish_reason {
                g.metadata(&serde_json::json!({ "finish_reason": reason }));
            }
            if let Some(error) = error {
                g.level(Level::Error).status_message(error);
            } else if cancelled {
                let level = if std::thread::panicking() {
                    Level::Error
                } else {
                    Level::Warning
                };
                g.level(level).status_message("cancelled");
            }
        });
        observation.end();
    }
}

impl Drop for State {
    fn drop(&mut self) {
        self.finish(true);
    }
}

impl Stream for ChatStream {
    type Item = Result<CreateChatCompletionStreamResponse, OpenAIError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        let poll = this.inner.as_mut().poll_next(cx);
        match &poll {
            Poll::Ready(Some(Ok(chunk))) => this.state.chunk(chunk),
            Poll::Ready(Some(Err(error))) => this.state.error(error),
            Poll::Ready(None) => this.state.finish(false),
            Poll::Pending => {}
        }
        poll
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.inner.size_hint()
    }
}
