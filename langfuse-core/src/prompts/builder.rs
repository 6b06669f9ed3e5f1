//! The calls: [`GetPrompt`] (`.await`, or `.blocking()` in sync code), [`CreatePrompt`] and
//! [`UpdatePromptLabels`].

use std::borrow::Cow;
use std::future::{Future, IntoFuture};
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use serde_json::{Map, Value};
use tokio::sync::oneshot;

use super::cache::SelectorRef;
use super::error::PromptError;
use super::manager::{Lookup, Pending, PromptManager, Reply, Request, Target, Write};
use super::types::{ChatItem, ChatPrompt, FromPrompt, Prompt, PromptContent, TextPrompt};
use crate::config::defaults;

/// The prompt manager of the process, or why there is none.
pub(crate) type Access<'a> = Result<&'a PromptManager, &'a str>;

/// A `get_prompt` call: set what you need, then `.await` it (any async runtime) or call
/// [`blocking`](Self::blocking) (sync code, inside or outside a runtime). Made by
/// [`Langfuse::get_prompt`](crate::Langfuse::get_prompt) or
/// [`get_prompt`](crate::get_prompt).
///
/// By default it asks for the `production` label, caches for
/// `LANGFUSE_PROMPT_CACHE_DEFAULT_TTL_SECONDS` (60 s), retries twice and gives each request
/// `LANGFUSE_TIMEOUT` (5 s). The result is a [`Prompt`]; `.text()` or `.chat()` make it a
/// [`TextPrompt`] or a [`ChatPrompt`] (a prompt of the other kind is then an error, or the
/// fallback).
///
/// ```no_run
/// use std::time::Duration;
///
/// # async fn handler() -> Result<(), langfuse_core::PromptError> {
/// let prompt = langfuse_core::get_prompt("support/triage")
///     .label("staging")
///     .text()
///     .fallback("Triage this ticket: {{ticket}}")
///     .cache_ttl(Duration::from_secs(300))
///     .fetch_timeout(Duration::from_secs(2))
///     .max_retries(1)
///     .await?;
/// let text = prompt.compile([("ticket", "My traces are missing")]);
/// # let _ = text;
/// # Ok(())
/// # }
/// ```
#[must_use = "a GetPrompt does nothing until it is awaited or `blocking` is called"]
pub struct GetPrompt<'a, P = Prompt> {
    manager: Access<'a>,
    name: Cow<'a, str>,
    selector: Selector<'a>,
    ttl: Option<Duration>,
    max_retries: Option<u32>,
    fetch_timeout: Option<Duration>,
    fallback: Option<PromptContent>,
    kind: PhantomData<fn() -> P>,
}

#[derive(Debug, Clone)]
enum Selector<'a> {
    Version(i64),
    Label(Cow<'a, str>),
}

impl<P> std::fmt::Debug for GetPrompt<'_, P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GetPrompt")
            .field("name", &self.name)
            .field("selector", &self.selector)
            .field("ttl", &self.ttl)
            .field("max_retries", &self.max_retries)
            .field("fetch_timeout", &self.fetch_timeout)
            .field("fallback", &self.fallback)
            .finish_non_exhaustive()
    }
}

impl<'a> GetPrompt<'a, Prompt> {
    pub(crate) fn new(manager: Access<'a>, name: Cow<'a, str>) -> Self {
        Self {
            manager,
            name,
            selector: Selector::Label(Cow::Borrowed(defaults::PROMPT_LABEL)),
            ttl: None,
            max_retries: None,
            fetch_timeout: None,
            fallback: None,
            kind: PhantomData,
        }
    }

    /// Expects a text prompt: the result is a [`TextPrompt`], and a chat prompt is
    /// [`PromptError::WrongType`] (or the fallback, if one is given).
    ///
    /// ```no_run
    /// let prompt: langfuse_core::TextPrompt = langfuse_core::get_prompt("greeting").text().blocking()?;
    /// # Ok::<(), langfuse_core::PromptError>(())
    /// ```
    pub fn text(self) -> GetPrompt<'a, TextPrompt> {
        self.kind()
    }

    /// Expects a chat prompt: the result is a [`ChatPrompt`].
    ///
    /// ```no_run
    /// let prompt: langfuse_core::ChatPrompt = langfuse_core::get_prompt("support/triage").chat().blocking()?;
    /// # Ok::<(), langfuse_core::PromptError>(())
    /// ```
    pub fn chat(self) -> GetPrompt<'a, ChatPrompt> {
        self.kind()
    }

    /// What to serve when the prompt cannot be fetched and no version of it is cached: a
    /// text template or chat messages. It is flagged [`is_fallback`](Prompt::is_fallback),
    /// never cached, and never linked to a generation. Any fallback counts, an empty one
    /// included (the Python SDK ignored an empty string).
    ///
    /// ```
    /// use langfuse_core::{ChatMessage, GetPrompt};
    ///
    /// # fn f(get: GetPrompt<'_>) -> GetPrompt<'_> {
    /// get.fallback([ChatMessage::system("You are a helpful assistant.")])
    /// # }
    /// ```
    pub fn fallback(mut self, fallback: impl Into<PromptContent>) -> Self {
        self.fallback = Some(fallback.into());
        self
    }
}

impl GetPrompt<'_, TextPrompt> {
    /// The template to serve when the prompt cannot be fetched and no version of it is
    /// cached; see [`GetPrompt::fallback`].
    ///
    /// ```
    /// # fn f(get: langfuse_core::GetPrompt<'_>) {
    /// let _ = get.text().fallback("Hello {{name}}");
    /// # }
    /// ```
    pub fn fallback(mut self, template: impl Into<String>) -> Self {
        self.fallback = Some(PromptContent::Text(template.into()));
        self
    }
}

impl GetPrompt<'_, ChatPrompt> {
    /// The messages to serve when the prompt cannot be fetched and no version of it is
    /// cached; see [`GetPrompt::fallback`].
    ///
    /// ```
    /// use langfuse_core::{ChatItem, ChatMessage};
    ///
    /// # fn f(get: langfuse_core::GetPrompt<'_>) {
    /// let _ = get.chat().fallback([
    ///     ChatItem::from(ChatMessage::system("Triage support tickets.")),
    ///     ChatItem::placeholder("history"),
    /// ]);
    /// # }
    /// ```
    pub fn fallback<I>(mut self, messages: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<ChatItem>,
    {
        let items = messages.into_iter().map(Into::into).collect();
        self.fallback = Some(PromptContent::Chat(items));
        self
    }
}

impl<'a, P: FromPrompt> GetPrompt<'a, P> {
    fn kind<Q>(self) -> GetPrompt<'a, Q> {
        GetPrompt {
            manager: self.manager,
            name: self.name,
            selector: self.selector,
            ttl: self.ttl,
            max_retries: self.max_retries,
            fetch_timeout: self.fetch_timeout,
            fallback: self.fallback,
            kind: PhantomData,
        }
    }

    /// Asks for this version (instead of a label). The last of `version` and `label` wins.
    ///
    /// ```
    /// # fn f(get: langfuse_core::GetPrompt<'_>) {
    /// let _ = get.version(3);
    /// # }
    /// ```
    pub fn version(mut self, version: i64) -> Self {
        self.selector = Selector::Version(version);
        self
    }

    /// Asks for the version with this label (default `production`; `latest` is the newest).
    ///
    /// ```
    /// # fn f(get: langfuse_core::GetPrompt<'_>) {
    /// let _ = get.label("latest");
    /// # }
    /// ```
    pub fn label(mut self, label: impl Into<Cow<'a, str>>) -> Self {
        self.selector = Selector::Label(label.into());
        self
    }

    /// How long the fetched version is served before it is refreshed in the background
    /// (default `LANGFUSE_PROMPT_CACHE_DEFAULT_TTL_SECONDS`, 60 s). Zero turns the cache off
    /// for this call: it waits for the server (and the version it gets is stored, already
    /// stale, for the calls that do cache).
    ///
    /// ```
    /// # fn f(get: langfuse_core::GetPrompt<'_>) {
    /// let _ = get.cache_ttl(std::time::Duration::ZERO);
    /// # }
    /// ```
    pub fn cache_ttl(mut self, ttl: Duration) -> Self {
        self.ttl = Some(ttl);
        self
    }

    /// Retries of a failed fetch (429, 5xx, timeouts, connection errors): default 2, at most
    /// 4 (a larger number counts as 4).
    ///
    /// ```
    /// # fn f(get: langfuse_core::GetPrompt<'_>) {
    /// let _ = get.max_retries(0);
    /// # }
    /// ```
    pub fn max_retries(mut self, retries: u32) -> Self {
        self.max_retries = Some(retries);
        self
    }

    /// The limit of each request (default `LANGFUSE_TIMEOUT`). A caller that must wait for
    /// the server waits at most this times the attempts (1 plus the retries); concurrent
    /// callers share one request, and the deadline of the caller that started it.
    ///
    /// ```
    /// # fn f(get: langfuse_core::GetPrompt<'_>) {
    /// let _ = get.fetch_timeout(std::time::Duration::from_millis(500));
    /// # }
    /// ```
    pub fn fetch_timeout(mut self, timeout: Duration) -> Self {
        self.fetch_timeout = Some(timeout);
        self
    }

    fn request(&self) -> Request<'_> {
        Request {
            name: &self.name,
            selector: match &self.selector {
                Selector::Version(version) => SelectorRef::Version(*version),
                Selector::Label(label) => SelectorRef::Label(label),
            },
            ttl: self.ttl,
            max_retries: self.max_retries,
            fetch_timeout: self.fetch_timeout,
            fallback: self.fallback.as_ref(),
        }
    }

    /// Gets the prompt on this thread, for sync code: a cached version at once (a stale one
    /// is refreshed in the background), else it waits for the fetch, at most the fetch
    /// timeout times the attempts. The fetch runs on the SDK's own thread, so this never
    /// blocks or needs the caller's async runtime and is safe inside one (it blocks that
    /// worker while it waits, though: in async code, `.await` instead).
    ///
    /// ```no_run
    /// let prompt = langfuse_core::get_prompt("greeting").text().fallback("Hi {{name}}").blocking()?;
    /// println!("{}", prompt.compile([("name", "Ada")]));
    /// # Ok::<(), langfuse_core::PromptError>(())
    /// ```
    pub fn blocking(self) -> Result<P, PromptError> {
        let request = self.request();
        let result = match self.manager {
            Err(reason) => PromptManager::serve_without_cache(not_configured(reason), &request),
            Ok(manager) => match manager.lookup(&request) {
                Lookup::Ready(result) => result,
                Lookup::Wait(pending) => manager.wait_blocking(&pending, &request),
            },
        };
        convert(result, &request)
    }
}

fn not_configured(reason: &str) -> PromptError {
    PromptError::NotConfigured {
        reason: reason.to_owned(),
    }
}

/// The prompt as the kind asked for; one of another kind gives way to the fallback.
fn convert<P: FromPrompt>(
    result: Result<Prompt, PromptError>,
    request: &Request<'_>,
) -> Result<P, PromptError> {
    match P::from_prompt(result?) {
        Ok(prompt) => Ok(prompt),
        Err(error) => match request.fallback_prompt() {
            Some(fallback) => {
                tracing::warn!(target: "langfuse", prompt = request.name, "{error}: serving the caller's fallback");
                P::from_prompt(fallback)
            }
            None => Err(error),
        },
    }
}

impl<'a, P: FromPrompt> IntoFuture for GetPrompt<'a, P> {
    type Output = Result<P, PromptError>;
    type IntoFuture = PromptFuture<'a, P>;

    fn into_future(self) -> PromptFuture<'a, P> {
        PromptFuture {
            call: self,
            state: State::Start,
        }
    }
}

/// The future of an awaited [`GetPrompt`]. A cached prompt is ready at the first poll;
/// otherwise it waits for the fetch without a timer of its own (the SDK's thread keeps the
/// deadline), so it works on any executor.
#[must_use = "futures do nothing unless polled"]
pub struct PromptFuture<'a, P> {
    call: GetPrompt<'a, P>,
    state: State,
}

enum State {
    Start,
    Waiting {
        pending: Pending,
        answer: oneshot::Receiver<Option<Result<Prompt, PromptError>>>,
    },
    Done,
}

impl<P> std::fmt::Debug for PromptFuture<'_, P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = match self.state {
            State::Start => "start",
            State::Waiting { .. } => "waiting",
            State::Done => "done",
        };
        f.debug_struct("PromptFuture")
            .field("call", &self.call)
            .field("state", &state)
            .finish()
    }
}

impl<P: FromPrompt> Future for PromptFuture<'_, P> {
    type Output = Result<P, PromptError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let request = this.call.request();
        let manager = match this.call.manager {
            Ok(manager) => manager,
            Err(reason) => {
                this.state = State::Done;
                let result = PromptManager::serve_without_cache(not_configured(reason), &request);
                return Poll::Ready(convert(result, &request));
            }
        };
        loop {
            match &mut this.state {
                State::Start => match manager.lookup(&request) {
                    Lookup::Ready(result) => {
                        this.state = State::Done;
                        return Poll::Ready(convert(result, &request));
                    }
                    Lookup::Wait(pending) => {
                        let answer = manager.wait_async(&pending);
                        this.state = State::Waiting { pending, answer };
                    }
                },
                State::Waiting { pending, answer } => {
                    let outcome = match Pin::new(answer).poll(cx) {
                        Poll::Pending => return Poll::Pending,
                        Poll::Ready(Ok(outcome)) => outcome,
                        Poll::Ready(Err(_)) => Some(Err(PromptManager::stopped())),
                    };
                    let result = manager.finish(pending, outcome, &request);
                    this.state = State::Done;
                    return Poll::Ready(convert(result, &request));
                }
                State::Done => {
                    return Poll::Ready(Err(PromptError::InvalidArgument {
                        reason: "a get_prompt future was polled after it completed".into(),
                    }));
                }
            }
        }
    }
}

/// A `create_prompt` call: a new version of the prompt `name` (the prompt itself if it is
/// new), then `.await` it or call [`blocking`](Self::blocking). Every cached version of
/// `name` is invalidated (of that name only), so the next `get_prompt` of it in this process
/// waits for the server's current version.
///
/// ```no_run
/// use langfuse_core::{ChatItem, ChatMessage};
///
/// # async fn setup() -> Result<(), langfuse_core::PromptError> {
/// let client = langfuse_core::get_client();
/// let created = client
///     .create_prompt("support/triage", [
///         ChatItem::from(ChatMessage::system("You triage tickets for {{product}}.")),
///         ChatItem::placeholder("history"),
///         ChatItem::from(ChatMessage::user("{{ticket}}")),
///     ])
///     .labels(["staging"])
///     .tags(["support"])
///     .config(serde_json::json!({ "model": "gpt-4o-mini", "temperature": 0 }))
///     .commit_message("triage: ask for the product")
///     .await?;
/// println!("created version {}", created.version());
/// # Ok(())
/// # }
/// ```
#[must_use = "a CreatePrompt does nothing until it is awaited or `blocking` is called"]
#[derive(Debug)]
pub struct CreatePrompt<'a> {
    manager: Access<'a>,
    name: String,
    content: PromptContent,
    labels: Vec<String>,
    tags: Option<Vec<String>>,
    config: Option<Value>,
    commit_message: Option<String>,
}

impl<'a> CreatePrompt<'a> {
    pub(crate) fn new(manager: Access<'a>, name: String, content: PromptContent) -> Self {
        Self {
            manager,
            name,
            content,
            labels: Vec::new(),
            tags: None,
            config: None,
            commit_message: None,
        }
    }

    /// The new version's labels (`production` makes it the one served by default; `latest`
    /// is managed by Langfuse).
    ///
    /// ```
    /// # fn f(create: langfuse_core::CreatePrompt<'_>) {
    /// let _ = create.labels(["production"]);
    /// # }
    /// ```
    pub fn labels<I>(mut self, labels: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        self.labels = labels.into_iter().map(Into::into).collect();
        self
    }

    /// The prompt's tags (they apply to every version).
    ///
    /// ```
    /// # fn f(create: langfuse_core::CreatePrompt<'_>) {
    /// let _ = create.tags(["support", "beta"]);
    /// # }
    /// ```
    pub fn tags<I>(mut self, tags: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        self.tags = Some(tags.into_iter().map(Into::into).collect());
        self
    }

    /// The version's `config`: any JSON (the model and its parameters, typically). Default
    /// `{}`, as the Python SDK sends.
    ///
    /// ```
    /// # fn f(create: langfuse_core::CreatePrompt<'_>) {
    /// let _ = create.config(serde_json::json!({ "model": "gpt-4o-mini" }));
    /// # }
    /// ```
    pub fn config(mut self, config: Value) -> Self {
        self.config = Some(config);
        self
    }

    /// The version's commit message.
    ///
    /// ```
    /// # fn f(create: langfuse_core::CreatePrompt<'_>) {
    /// let _ = create.commit_message("shorter system prompt");
    /// # }
    /// ```
    pub fn commit_message(mut self, message: impl Into<String>) -> Self {
        self.commit_message = Some(message.into());
        self
    }

    /// The body of `POST /api/public/v2/prompts` (`CreatePromptRequest`).
    fn body(&self) -> Value {
        let mut body = Map::new();
        body.insert("name".into(), Value::from(self.name.as_str()));
        let (kind, prompt) = match &self.content {
            PromptContent::Text(text) => ("text", Value::from(text.as_str())),
            PromptContent::Chat(items) => (
                "chat",
                Value::Array(items.iter().map(ChatItem::to_wire).collect()),
            ),
        };
        body.insert("type".into(), Value::from(kind));
        body.insert("prompt".into(), prompt);
        body.insert("labels".into(), Value::from(self.labels.clone()));
        if let Some(tags) = &self.tags {
            body.insert("tags".into(), Value::from(tags.clone()));
        }
        body.insert(
            "config".into(),
            self.config
                .clone()
                .unwrap_or_else(|| Value::Object(Map::new())),
        );
        if let Some(message) = &self.commit_message {
            body.insert("commitMessage".into(), Value::from(message.as_str()));
        }
        Value::Object(body)
    }

    fn write(&self) -> Result<Write, PromptError> {
        if self.name.is_empty() {
            return Err(empty_name());
        }
        Ok(Write {
            name: self.name.clone(),
            target: Target::Create,
            body: self.body(),
        })
    }

    /// Creates it on this thread, for sync code (safe inside an async runtime); waits at
    /// most `LANGFUSE_TIMEOUT`. Not retried: a create that timed out may have been made.
    ///
    /// ```no_run
    /// let created = langfuse_core::get_client()
    ///     .create_prompt("greeting", "Hello {{name}}")
    ///     .labels(["production"])
    ///     .blocking()?;
    /// assert_eq!(created.name(), "greeting");
    /// # Ok::<(), langfuse_core::PromptError>(())
    /// ```
    pub fn blocking(self) -> Result<Prompt, PromptError> {
        write_blocking(self.manager, self.write())
    }
}

impl IntoFuture for CreatePrompt<'_> {
    type Output = Result<Prompt, PromptError>;
    type IntoFuture = WriteFuture;

    fn into_future(self) -> WriteFuture {
        write_async(self.manager, self.write())
    }
}

/// An `update_prompt_labels` call: sets labels on one version (labels are unique across
/// versions: the server takes them off the others), then `.await` it or call
/// [`blocking`](Self::blocking). Every cached version of the prompt is invalidated (of that
/// name only).
///
/// ```no_run
/// # async fn promote() -> Result<(), langfuse_core::PromptError> {
/// let updated = langfuse_core::get_client()
///     .update_prompt_labels("support/triage", 4, ["production"])
///     .await?;
/// assert!(updated.labels().iter().any(|label| label == "production"));
/// # Ok(())
/// # }
/// ```
#[must_use = "an UpdatePromptLabels does nothing until it is awaited or `blocking` is called"]
#[derive(Debug)]
pub struct UpdatePromptLabels<'a> {
    manager: Access<'a>,
    name: String,
    version: i64,
    labels: Vec<String>,
}

impl<'a> UpdatePromptLabels<'a> {
    pub(crate) fn new(
        manager: Access<'a>,
        name: String,
        version: i64,
        labels: Vec<String>,
    ) -> Self {
        Self {
            manager,
            name,
            version,
            labels,
        }
    }

    fn write(&self) -> Result<Write, PromptError> {
        if self.name.is_empty() {
            return Err(empty_name());
        }
        Ok(Write {
            name: self.name.clone(),
            target: Target::Labels {
                version: self.version,
            },
            body: serde_json::json!({ "newLabels": self.labels }),
        })
    }

    /// Updates on this thread, for sync code (safe inside an async runtime); waits at most
    /// `LANGFUSE_TIMEOUT`.
    ///
    /// ```no_run
    /// langfuse_core::get_client().update_prompt_labels("greeting", 2, ["production"]).blocking()?;
    /// # Ok::<(), langfuse_core::PromptError>(())
    /// ```
    pub fn blocking(self) -> Result<Prompt, PromptError> {
        write_blocking(self.manager, self.write())
    }
}

impl IntoFuture for UpdatePromptLabels<'_> {
    type Output = Result<Prompt, PromptError>;
    type IntoFuture = WriteFuture;

    fn into_future(self) -> WriteFuture {
        write_async(self.manager, self.write())
    }
}

fn empty_name() -> PromptError {
    PromptError::InvalidArgument {
        reason: "a prompt name cannot be empty".to_owned(),
    }
}

/// The grace past `LANGFUSE_TIMEOUT` a blocking write gives the prompts thread to answer.
const WRITE_GRACE: Duration = Duration::from_secs(1);

fn write_blocking(
    manager: Access<'_>,
    write: Result<Write, PromptError>,
) -> Result<Prompt, PromptError> {
    let manager = manager.map_err(not_configured)?;
    let write = write?;
    let (reply, answer) = std::sync::mpsc::sync_channel(1);
    manager.write(write, Reply::Blocking(reply));
    let wait = manager.timeout() + WRITE_GRACE;
    match answer.recv_timeout(wait) {
        Ok(result) => result,
        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => Err(PromptError::Timeout {
            attempts: 1,
            waited: wait,
        }),
        Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => Err(PromptManager::stopped()),
    }
}

fn write_async(manager: Access<'_>, write: Result<Write, PromptError>) -> WriteFuture {
    let prepared = manager.map_err(not_configured).and_then(|manager| {
        let write = write?;
        let (reply, answer) = oneshot::channel();
        manager.write(write, Reply::Async(reply));
        Ok(answer)
    });
    WriteFuture {
        state: match prepared {
            Ok(answer) => WriteState::Waiting(answer),
            Err(error) => WriteState::Failed(Some(error)),
        },
    }
}

/// The future of an awaited [`CreatePrompt`] or [`UpdatePromptLabels`]; the request is
/// made on the SDK's thread (and bounded by `LANGFUSE_TIMEOUT` there), so any executor
/// works.
///
/// ```no_run
/// use std::future::IntoFuture;
///
/// let write = langfuse_core::get_client().create_prompt("greeting", "Hi {{name}}").into_future();
/// let runtime = tokio::runtime::Builder::new_current_thread().build()?;
/// let created = runtime.block_on(write)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[must_use = "futures do nothing unless polled"]
#[derive(Debug)]
pub struct WriteFuture {
    state: WriteState,
}

#[derive(Debug)]
enum WriteState {
    Waiting(oneshot::Receiver<Result<Prompt, PromptError>>),
    Failed(Option<PromptError>),
}

impl Future for WriteFuture {
    type Output = Result<Prompt, PromptError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match &mut self.get_mut().state {
            WriteState::Waiting(answer) => match Pin::new(answer).poll(cx) {
                Poll::Pending => Poll::Pending,
                Poll::Ready(Ok(result)) => Poll::Ready(result),
                Poll::Ready(Err(_)) => Poll::Ready(Err(PromptManager::stopped())),
            },
            WriteState::Failed(error) => Poll::Ready(Err(error.take().unwrap_or_else(|| {
                PromptError::InvalidArgument {
                    reason: "a prompt write future was polled after it completed".into(),
                }
            }))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ChatMessage;

    #[test]
    fn create_bodies_have_the_spec_fields() {
        let text = CreatePrompt::new(Err("test"), "greeting".into(), "Hi {{name}}".into());
        assert_eq!(
            text.body(),
            serde_json::json!({ "name": "greeting", "type": "text", "prompt": "Hi {{name}}", "labels": [], "config": {} })
        );
        let chat = CreatePrompt::new(
            Err("test"),
            "c".into(),
            PromptContent::from([
                ChatItem::from(ChatMessage::system("S")),
                ChatItem::placeholder("history"),
            ]),
        )
        .labels(["production"])
        .tags(["t"])
        .config(serde_json::json!({ "model": "m" }))
        .commit_message("first");
        assert_eq!(
            chat.body(),
            serde_json::json!({
                "name": "c", "type": "chat", "labels": ["production"], "tags": ["t"],
                "config": { "model": "m" }, "commitMessage": "first",
                "prompt": [
                    { "type": "chatmessage", "role": "system", "content": "S" },
                    { "type": "placeholder", "name": "history" },
                ],
            })
        );
    }

    #[test]
    fn without_a_manager_the_fallback_is_served_or_the_reason_given() {
        let get = GetPrompt::new(Err("no keys"), "p".into());
        assert_eq!(
            get.blocking().unwrap_err(),
            PromptError::NotConfigured {
                reason: "no keys".into()
            }
        );
        let prompt = GetPrompt::new(Err("no keys"), "p".into())
            .text()
            .fallback("")
            .blocking()
            .unwrap();
        assert!(prompt.is_fallback());
        assert_eq!(prompt.template(), "");
        let write = CreatePrompt::new(Err("no keys"), "p".into(), "x".into()).blocking();
        assert!(matches!(write, Err(PromptError::NotConfigured { .. })));
    }
}
