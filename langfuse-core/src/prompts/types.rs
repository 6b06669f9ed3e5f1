//! The prompts themselves: [`TextPrompt`], [`ChatPrompt`], either as a [`Prompt`], their chat
//! messages, and how they are read from the server's JSON.

use std::fmt;
use std::sync::Arc;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::compile::{self, CompileError, Variables};
use super::error::PromptError;
use crate::observe::PromptLink;

/// Whether a prompt is one text template or a list of chat messages.
///
/// ```
/// use langfuse_core::PromptType;
/// assert_eq!(PromptType::Chat.as_str(), "chat");
/// assert_eq!(PromptType::Text.to_string(), "text");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PromptType {
    /// One template string.
    Text,
    /// A list of chat messages, with placeholders.
    Chat,
}

impl PromptType {
    /// The name the API uses: `text` or `chat`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Text => "text",
            Self::Chat => "chat",
        }
    }
}

impl fmt::Display for PromptType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One chat message: a role, its content and, for messages a placeholder was filled with,
/// any other fields they carried (`tool_calls`, `tool_call_id`, `name`...), kept as given.
/// It serializes to the object OpenAI-style chat APIs take.
///
/// ```
/// use langfuse_core::ChatMessage;
///
/// let message = ChatMessage::assistant("").with("tool_calls", serde_json::json!([{ "id": "call_1" }]));
/// assert_eq!(message.role, "assistant");
/// assert_eq!(
///     serde_json::to_value(&message)?,
///     serde_json::json!({ "role": "assistant", "content": "", "tool_calls": [{ "id": "call_1" }] })
/// );
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ChatMessage {
    /// `system`, `user`, `assistant`, ...
    pub role: String,
    /// The text.
    pub content: String,
    /// Other fields, serialized beside `role` and `content`.
    pub extra: Map<String, Value>,
}

impl ChatMessage {
    /// A message with this role and content.
    ///
    /// ```
    /// let message = langfuse_core::ChatMessage::new("developer", "Be brief.");
    /// assert_eq!((message.role.as_str(), message.content.as_str()), ("developer", "Be brief."));
    /// ```
    pub fn new(role: impl Into<String>, content: impl Into<String>) -> Self {
        Self {
            role: role.into(),
            content: content.into(),
            extra: Map::new(),
        }
    }

    /// A `system` message.
    ///
    /// ```
    /// assert_eq!(langfuse_core::ChatMessage::system("Be brief.").role, "system");
    /// ```
    pub fn system(content: impl Into<String>) -> Self {
        Self::new("system", content)
    }

    /// A `user` message.
    ///
    /// ```
    /// assert_eq!(langfuse_core::ChatMessage::user("Hi").role, "user");
    /// ```
    pub fn user(content: impl Into<String>) -> Self {
        Self::new("user", content)
    }

    /// An `assistant` message.
    ///
    /// ```
    /// assert_eq!(langfuse_core::ChatMessage::assistant("Hello!").role, "assistant");
    /// ```
    pub fn assistant(content: impl Into<String>) -> Self {
        Self::new("assistant", content)
    }

    /// Adds another field (`role` and `content` are set by their own fields instead).
    ///
    /// ```
    /// let message = langfuse_core::ChatMessage::new("tool", "42").with("tool_call_id", "call_1");
    /// assert_eq!(message.extra["tool_call_id"], "call_1");
    /// ```
    pub fn with(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        let key = key.into();
        match key.as_str() {
            "role" | "content" => {
                let text = match value.into() {
                    Value::String(text) => text,
                    other => other.to_string(),
                };
                if key == "role" {
                    self.role = text;
                } else {
                    self.content = text;
                }
            }
            _ => {
                self.extra.insert(key, value.into());
            }
        }
        self
    }

    /// Reads a message from JSON: an object with a string `role` and a string `content` (a
    /// missing content is empty); other fields go to [`extra`](Self::extra).
    ///
    /// ```
    /// use langfuse_core::ChatMessage;
    ///
    /// let message = ChatMessage::from_json(serde_json::json!({ "role": "user", "content": "Hi", "name": "ada" }))?;
    /// assert_eq!(message.extra["name"], "ada");
    /// assert!(ChatMessage::from_json(serde_json::json!({ "content": "no role" })).is_err());
    /// # Ok::<(), langfuse_core::PromptError>(())
    /// ```
    pub fn from_json(value: Value) -> Result<Self, PromptError> {
        let invalid = |reason: &str| PromptError::InvalidArgument {
            reason: format!("not a chat message: {reason}"),
        };
        let Value::Object(mut fields) = value else {
            return Err(invalid("expected an object"));
        };
        let role = match fields.remove("role") {
            Some(Value::String(role)) => role,
            _ => return Err(invalid("expected a string `role`")),
        };
        let content = match fields.remove("content") {
            Some(Value::String(content)) => content,
            None | Some(Value::Null) => String::new(),
            Some(_) => return Err(invalid("expected a string `content`")),
        };
        Ok(Self {
            role,
            content,
            extra: fields,
        })
    }
}

impl Serialize for ChatMessage {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap as _;
        let mut map = serializer.serialize_map(Some(2 + self.extra.len()))?;
        map.serialize_entry("role", &self.role)?;
        map.serialize_entry("content", &self.content)?;
        for (key, value) in &self.extra {
            if key != "role" && key != "content" {
                map.serialize_entry(key, value)?;
            }
        }
        map.end()
    }
}

/// One entry of a chat prompt: a message, or a placeholder that
/// [`compile`](ChatPrompt::compile) replaces by a list of messages (a conversation's history,
/// say).
///
/// ```
/// use langfuse_core::{ChatItem, ChatMessage};
///
/// let items = [
///     ChatItem::from(ChatMessage::system("You triage support tickets.")),
///     ChatItem::placeholder("history"),
///     ChatItem::from(ChatMessage::user("{{ticket}}")),
/// ];
/// assert_eq!(items[1].placeholder_name(), Some("history"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChatItem {
    /// A message, whose content may hold `{{variables}}`.
    Message(ChatMessage),
    /// A placeholder, by name.
    Placeholder(String),
}

impl ChatItem {
    /// A placeholder named `name`.
    ///
    /// ```
    /// let item = langfuse_core::ChatItem::placeholder("history");
    /// assert_eq!(item, langfuse_core::ChatItem::Placeholder("history".into()));
    /// ```
    pub fn placeholder(name: impl Into<String>) -> Self {
        Self::Placeholder(name.into())
    }

    /// The message, if this is one.
    ///
    /// ```
    /// use langfuse_core::{ChatItem, ChatMessage};
    /// assert_eq!(ChatItem::from(ChatMessage::user("Hi")).message().unwrap().content, "Hi");
    /// ```
    pub fn message(&self) -> Option<&ChatMessage> {
        match self {
            Self::Message(message) => Some(message),
            Self::Placeholder(_) => None,
        }
    }

    /// The placeholder's name, if this is one.
    ///
    /// ```
    /// assert_eq!(langfuse_core::ChatItem::placeholder("history").placeholder_name(), Some("history"));
    /// ```
    pub fn placeholder_name(&self) -> Option<&str> {
        match self {
            Self::Message(_) => None,
            Self::Placeholder(name) => Some(name),
        }
    }

    /// The JSON the API takes (`ChatMessageWithPlaceholders`).
    pub(crate) fn to_wire(&self) -> Value {
        match self {
            Self::Message(message) => serde_json::json!({
                "type": "chatmessage",
                "role": message.role,
                "content": message.content,
            }),
            Self::Placeholder(name) => serde_json::json!({ "type": "placeholder", "name": name }),
        }
    }
}

impl From<ChatMessage> for ChatItem {
    fn from(message: ChatMessage) -> Self {
        Self::Message(message)
    }
}

/// The content of a prompt: a text template, or chat messages and placeholders. What
/// [`create_prompt`](crate::Langfuse::create_prompt) creates, and what a `get_prompt`
/// [`fallback`](super::GetPrompt::fallback) serves when the prompt cannot be fetched and no
/// version of it is cached. Made from `&str` or `String` (text) or from a list of
/// [`ChatMessage`] or [`ChatItem`] (chat).
///
/// ```
/// use langfuse_core::{ChatMessage, PromptContent};
///
/// assert!(matches!(PromptContent::from("Hello {{name}}"), PromptContent::Text(_)));
/// assert!(matches!(PromptContent::from([ChatMessage::system("Be brief.")]), PromptContent::Chat(_)));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PromptContent {
    /// A text template.
    Text(String),
    /// Chat messages.
    Chat(Vec<ChatItem>),
}

impl From<&str> for PromptContent {
    fn from(text: &str) -> Self {
        Self::Text(text.to_owned())
    }
}

impl From<String> for PromptContent {
    fn from(text: String) -> Self {
        Self::Text(text)
    }
}

impl From<Vec<ChatMessage>> for PromptContent {
    fn from(messages: Vec<ChatMessage>) -> Self {
        Self::Chat(messages.into_iter().map(ChatItem::Message).collect())
    }
}

impl From<Vec<ChatItem>> for PromptContent {
    fn from(items: Vec<ChatItem>) -> Self {
        Self::Chat(items)
    }
}

impl<const N: usize> From<[ChatMessage; N]> for PromptContent {
    fn from(messages: [ChatMessage; N]) -> Self {
        Self::Chat(messages.into_iter().map(ChatItem::Message).collect())
    }
}

impl<const N: usize> From<[ChatItem; N]> for PromptContent {
    fn from(items: [ChatItem; N]) -> Self {
        Self::Chat(items.into())
    }
}

/// What every prompt has besides its content.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Meta {
    pub(crate) name: String,
    pub(crate) version: i64,
    pub(crate) labels: Vec<String>,
    pub(crate) tags: Vec<String>,
    pub(crate) commit_message: Option<String>,
    pub(crate) config: Value,
    pub(crate) is_fallback: bool,
}

/// The accessors both kinds share, documented once here.
macro_rules! meta_accessors {
    ($kind:literal, $make:literal) => {
        /// The prompt's name (folders included: `support/triage`).
        ///
        /// ```
        #[doc = concat!("let prompt = ", $make, ";")]
        /// assert_eq!(prompt.name(), "support/triage");
        /// ```
        pub fn name(&self) -> &str {
            &self.inner.meta.name
        }

        /// The version number (0 for a fallback fetched by label).
        ///
        /// ```
        #[doc = concat!("let prompt = ", $make, ";")]
        /// assert_eq!(prompt.version(), 0); // made here; a fetched one has its own
        /// ```
        pub fn version(&self) -> i64 {
            self.inner.meta.version
        }

        /// The labels of this version (`production`, `latest`, ...).
        ///
        /// ```
        #[doc = concat!("let prompt = ", $make, ";")]
        /// assert!(prompt.labels().is_empty());
        /// ```
        pub fn labels(&self) -> &[String] {
            &self.inner.meta.labels
        }

        /// The prompt's tags (the same for every version).
        ///
        /// ```
        #[doc = concat!("let prompt = ", $make, ";")]
        /// assert!(prompt.tags().is_empty());
        /// ```
        pub fn tags(&self) -> &[String] {
            &self.inner.meta.tags
        }

        /// The commit message of this version, if it has one.
        ///
        /// ```
        #[doc = concat!("let prompt = ", $make, ";")]
        /// assert_eq!(prompt.commit_message(), None);
        /// ```
        pub fn commit_message(&self) -> Option<&str> {
            self.inner.meta.commit_message.as_deref()
        }

        /// The version's `config`, as JSON (`{}` for a fallback; often the model and its
        /// parameters).
        ///
        /// ```
        #[doc = concat!("let prompt = ", $make, ";")]
        /// assert_eq!(prompt.config_value(), &serde_json::json!({}));
        /// ```
        pub fn config_value(&self) -> &Value {
            &self.inner.meta.config
        }

        /// The version's `config` read as `T`.
        ///
        /// ```
        /// # use langfuse_core::{TextPrompt, ChatPrompt};
        /// #[derive(serde::Deserialize)]
        /// struct ModelConfig {
        ///     model: String,
        ///     temperature: f64,
        /// }
        ///
        #[doc = concat!("fn model_of(prompt: &", $kind, ") -> Option<String> {")]
        ///     let config: ModelConfig = prompt.config().ok()?;
        ///     Some(format!("{} at {}", config.model, config.temperature))
        /// }
        /// ```
        pub fn config<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
            T::deserialize(&self.inner.meta.config)
        }

        /// Whether this is the caller's fallback rather than a version from the server. A
        /// fallback is never linked to a generation.
        ///
        /// ```
        #[doc = concat!("let prompt = ", $make, ";")]
        /// assert!(prompt.is_fallback());
        /// ```
        pub fn is_fallback(&self) -> bool {
            self.inner.meta.is_fallback
        }
    };
}

/// A text prompt: one template with `{{variables}}`. Cheap to clone (it is shared with the
/// cache).
///
/// ```
/// use langfuse_core::TextPrompt;
///
/// let prompt = TextPrompt::new("greeting", "Hello {{name}}, welcome to {{ product }}!");
/// assert_eq!(prompt.variables(), ["name", "product"]);
/// assert_eq!(prompt.compile([("name", "Ada"), ("product", "Langfuse")]), "Hello Ada, welcome to Langfuse!");
/// let error = prompt.compile_strict([("name", "Ada"), ("city", "Paris")]).unwrap_err();
/// assert_eq!(error.missing(), ["product"]);
/// assert_eq!(error.unused(), ["city"]);
/// ```
#[derive(Clone, PartialEq)]
pub struct TextPrompt {
    inner: Arc<TextInner>,
}

#[derive(Debug, PartialEq)]
struct TextInner {
    meta: Meta,
    template: String,
}

impl TextPrompt {
    /// A prompt made here rather than fetched, flagged as a fallback (version 0, no labels):
    /// for tests, and for code that must run without Langfuse.
    ///
    /// ```
    /// let prompt = langfuse_core::TextPrompt::new("greeting", "Hi {{name}}");
    /// assert!(prompt.is_fallback());
    /// assert_eq!(prompt.template(), "Hi {{name}}");
    /// ```
    pub fn new(name: impl Into<String>, template: impl Into<String>) -> Self {
        Self::from_parts(fallback_meta(name.into(), None, None), template.into())
    }

    pub(crate) fn from_parts(meta: Meta, template: String) -> Self {
        Self {
            inner: Arc::new(TextInner { meta, template }),
        }
    }

    meta_accessors!(
        "TextPrompt",
        "langfuse_core::TextPrompt::new(\"support/triage\", \"Triage: {{ticket}}\")"
    );

    /// The template, `{{variables}}` and all.
    ///
    /// ```
    /// assert_eq!(langfuse_core::TextPrompt::new("p", "Hi {{name}}").template(), "Hi {{name}}");
    /// ```
    pub fn template(&self) -> &str {
        &self.inner.template
    }

    /// The names of the template's variables, in order of first appearance, each once.
    ///
    /// ```
    /// let prompt = langfuse_core::TextPrompt::new("p", "{{a}} {{ b }} {{a}}");
    /// assert_eq!(prompt.variables(), ["a", "b"]);
    /// ```
    pub fn variables(&self) -> Vec<String> {
        compile::variable_names(&self.inner.template)
    }

    /// The template with every `{{variable}}` given replaced by its value, as the Python SDK
    /// does: spaces inside the braces do not count (`{{ name }}`), and a variable not given
    /// stays as written. Values are anything that implements `Display`; see [`Variables`].
    ///
    /// ```
    /// let prompt = langfuse_core::TextPrompt::new("p", "{{greeting}}, {{name}}! You have {{n}} messages.");
    /// let vars = langfuse_core::Variables::new().set("greeting", "Hello").set("n", 3);
    /// assert_eq!(prompt.compile(vars), "Hello, {{name}}! You have 3 messages.");
    /// ```
    pub fn compile(&self, variables: impl Into<Variables>) -> String {
        compile::compile_text(&self.inner.template, &variables.into())
    }

    /// Like [`compile`](Self::compile), but an error naming every variable of the template
    /// that was not given and every one given that the template does not use.
    ///
    /// ```
    /// let prompt = langfuse_core::TextPrompt::new("p", "Hello {{name}}");
    /// assert_eq!(prompt.compile_strict([("name", "Ada")])?, "Hello Ada");
    /// let error = prompt.compile_strict([("nmae", "Ada")]).unwrap_err();
    /// assert_eq!(error.to_string(), "prompt 'p' (version 0): missing variables: name; unused variables: nmae");
    /// # Ok::<(), langfuse_core::CompileError>(())
    /// ```
    pub fn compile_strict(&self, variables: impl Into<Variables>) -> Result<String, CompileError> {
        let variables = variables.into();
        let mut usage = compile::Usage::new(&variables);
        let text = compile::compile_tracked(&self.inner.template, &variables, Some(&mut usage));
        usage.finish(self.name(), self.version()).map(|()| text)
    }
}

impl fmt::Debug for TextPrompt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        debug_meta(&mut f.debug_struct("TextPrompt"), &self.inner.meta)
            .field("template", &self.inner.template)
            .finish()
    }
}

/// A chat prompt: messages whose contents hold `{{variables}}`, and placeholders that expand
/// to message lists. Cheap to clone (it is shared with the cache).
///
/// ```
/// use langfuse_core::{ChatItem, ChatMessage, ChatPrompt, Variables};
///
/// let prompt = ChatPrompt::new("support/triage", [
///     ChatItem::from(ChatMessage::system("You triage tickets for {{product}}.")),
///     ChatItem::placeholder("history"),
///     ChatItem::from(ChatMessage::user("{{ticket}}")),
/// ]);
/// let messages = prompt.compile(
///     Variables::new()
///         .set("product", "Langfuse")
///         .set("ticket", "My traces are missing")
///         .placeholder("history", [ChatMessage::user("Hi"), ChatMessage::assistant("Hello! How can I help?")]),
/// );
/// assert_eq!(messages.len(), 4);
/// assert_eq!(messages[0].content, "You triage tickets for Langfuse.");
/// assert_eq!(messages[3].content, "My traces are missing");
/// ```
#[derive(Clone, PartialEq)]
pub struct ChatPrompt {
    inner: Arc<ChatInner>,
}

#[derive(Debug, PartialEq)]
struct ChatInner {
    meta: Meta,
    items: Vec<ChatItem>,
}

impl ChatPrompt {
    /// A prompt made here rather than fetched, flagged as a fallback (version 0, no labels).
    ///
    /// ```
    /// use langfuse_core::{ChatItem, ChatMessage, ChatPrompt};
    ///
    /// let prompt = ChatPrompt::new("p", [ChatItem::from(ChatMessage::system("Be brief."))]);
    /// assert!(prompt.is_fallback());
    /// assert_eq!(prompt.messages().len(), 1);
    /// ```
    pub fn new(name: impl Into<String>, items: impl IntoIterator<Item = ChatItem>) -> Self {
        Self::from_parts(
            fallback_meta(name.into(), None, None),
            items.into_iter().collect(),
        )
    }

    pub(crate) fn from_parts(meta: Meta, items: Vec<ChatItem>) -> Self {
        Self {
            inner: Arc::new(ChatInner { meta, items }),
        }
    }

    meta_accessors!(
        "ChatPrompt",
        "langfuse_core::ChatPrompt::new(\"support/triage\", [langfuse_core::ChatItem::placeholder(\"history\")])"
    );

    /// The messages and placeholders, as stored.
    ///
    /// ```
    /// use langfuse_core::{ChatItem, ChatPrompt};
    /// let prompt = ChatPrompt::new("p", [ChatItem::placeholder("history")]);
    /// assert_eq!(prompt.messages()[0].placeholder_name(), Some("history"));
    /// ```
    pub fn messages(&self) -> &[ChatItem] {
        &self.inner.items
    }

    /// The names of the variables in the messages' contents, in order of first appearance,
    /// each once (placeholders are listed by [`placeholders`](Self::placeholders)).
    ///
    /// ```
    /// use langfuse_core::{ChatItem, ChatMessage, ChatPrompt};
    ///
    /// let prompt = ChatPrompt::new("p", [
    ///     ChatItem::from(ChatMessage::system("{{persona}}")),
    ///     ChatItem::from(ChatMessage::user("{{question}} {{persona}}")),
    /// ]);
    /// assert_eq!(prompt.variables(), ["persona", "question"]);
    /// ```
    pub fn variables(&self) -> Vec<String> {
        let mut names: Vec<String> = Vec::new();
        for message in self.inner.items.iter().filter_map(ChatItem::message) {
            for name in compile::variable_names(&message.content) {
                if !names.contains(&name) {
                    names.push(name);
                }
            }
        }
        names
    }

    /// The names of the placeholders, in order.
    ///
    /// ```
    /// use langfuse_core::{ChatItem, ChatPrompt};
    /// let prompt = ChatPrompt::new("p", [ChatItem::placeholder("history")]);
    /// assert_eq!(prompt.placeholders(), ["history"]);
    /// ```
    pub fn placeholders(&self) -> Vec<&str> {
        self.inner
            .items
            .iter()
            .filter_map(ChatItem::placeholder_name)
            .collect()
    }

    /// The messages ready to send: each message's content compiled as
    /// [`TextPrompt::compile`] does, and each placeholder replaced by the messages given for
    /// it with [`Variables::placeholder`] (their contents compiled too, their other fields
    /// kept), as the Python SDK does. A placeholder given no messages is left out (the Python
    /// SDK leaves it in the list for LangChain; [`compile_strict`](Self::compile_strict)
    /// reports it).
    ///
    /// ```
    /// use langfuse_core::{ChatItem, ChatMessage, ChatPrompt};
    ///
    /// let prompt = ChatPrompt::new("p", [ChatItem::placeholder("history"), ChatItem::from(ChatMessage::user("{{q}}"))]);
    /// let messages = prompt.compile([("q", "Why?")]);
    /// assert_eq!(messages, [ChatMessage::user("Why?")]);
    /// ```
    pub fn compile(&self, variables: impl Into<Variables>) -> Vec<ChatMessage> {
        compile::compile_chat(&self.inner.items, &variables.into(), None)
    }

    /// Like [`compile`](Self::compile), but an error naming every variable and placeholder
    /// that was not given, and every one given that the prompt does not use.
    ///
    /// ```
    /// use langfuse_core::{ChatItem, ChatMessage, ChatPrompt, Variables};
    ///
    /// let prompt = ChatPrompt::new("p", [ChatItem::placeholder("history"), ChatItem::from(ChatMessage::user("{{q}}"))]);
    /// let error = prompt.compile_strict([("q", "Why?"), ("x", "1")]).unwrap_err();
    /// assert_eq!(error.missing(), ["history"]);
    /// assert_eq!(error.unused(), ["x"]);
    /// let ok = prompt.compile_strict(Variables::new().set("q", "Why?").placeholder("history", []))?;
    /// assert_eq!(ok.len(), 1);
    /// # Ok::<(), langfuse_core::CompileError>(())
    /// ```
    pub fn compile_strict(
        &self,
        variables: impl Into<Variables>,
    ) -> Result<Vec<ChatMessage>, CompileError> {
        let variables = variables.into();
        let mut usage = compile::Usage::new(&variables);
        let messages = compile::compile_chat(&self.inner.items, &variables, Some(&mut usage));
        usage.finish(self.name(), self.version()).map(|()| messages)
    }
}

impl fmt::Debug for ChatPrompt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        debug_meta(&mut f.debug_struct("ChatPrompt"), &self.inner.meta)
            .field("messages", &self.inner.items)
            .finish()
    }
}

fn debug_meta<'a, 'b, 'c>(
    f: &'a mut fmt::DebugStruct<'b, 'c>,
    meta: &Meta,
) -> &'a mut fmt::DebugStruct<'b, 'c> {
    f.field("name", &meta.name)
        .field("version", &meta.version)
        .field("labels", &meta.labels)
        .field("tags", &meta.tags)
        .field("commit_message", &meta.commit_message)
        .field("config", &meta.config)
        .field("is_fallback", &meta.is_fallback)
}

/// A prompt of either kind, as [`get_prompt`](crate::Langfuse::get_prompt) returns it unless
/// told which kind to expect (`.text()`, `.chat()`). Cheap to clone.
///
/// ```
/// use langfuse_core::{Prompt, PromptType, TextPrompt};
///
/// let prompt = Prompt::from(TextPrompt::new("greeting", "Hi {{name}}"));
/// assert_eq!(prompt.prompt_type(), PromptType::Text);
/// assert_eq!(prompt.name(), "greeting");
/// match &prompt {
///     Prompt::Text(text) => assert_eq!(text.compile([("name", "Ada")]), "Hi Ada"),
///     Prompt::Chat(chat) => println!("{} messages", chat.messages().len()),
/// }
/// ```
#[derive(Debug, Clone, PartialEq)]
pub enum Prompt {
    /// A text prompt.
    Text(TextPrompt),
    /// A chat prompt.
    Chat(ChatPrompt),
}

impl Prompt {
    fn meta(&self) -> &Meta {
        match self {
            Self::Text(text) => &text.inner.meta,
            Self::Chat(chat) => &chat.inner.meta,
        }
    }

    /// Text or chat.
    ///
    /// ```
    /// let prompt = langfuse_core::Prompt::from(langfuse_core::TextPrompt::new("greeting", "Hi"));
    /// assert_eq!(prompt.prompt_type(), langfuse_core::PromptType::Text);
    /// ```
    pub fn prompt_type(&self) -> PromptType {
        match self {
            Self::Text(_) => PromptType::Text,
            Self::Chat(_) => PromptType::Chat,
        }
    }

    /// The prompt's name.
    ///
    /// ```
    /// let prompt = langfuse_core::Prompt::from(langfuse_core::TextPrompt::new("greeting", "Hi"));
    /// assert_eq!(prompt.name(), "greeting");
    /// ```
    pub fn name(&self) -> &str {
        &self.meta().name
    }

    /// The version number.
    ///
    /// ```
    /// let prompt = langfuse_core::Prompt::from(langfuse_core::TextPrompt::new("greeting", "Hi"));
    /// assert_eq!(prompt.version(), 0);
    /// ```
    pub fn version(&self) -> i64 {
        self.meta().version
    }

    /// The labels of this version.
    ///
    /// ```
    /// let prompt = langfuse_core::Prompt::from(langfuse_core::TextPrompt::new("greeting", "Hi"));
    /// assert!(prompt.labels().is_empty());
    /// ```
    pub fn labels(&self) -> &[String] {
        &self.meta().labels
    }

    /// The prompt's tags.
    ///
    /// ```
    /// let prompt = langfuse_core::Prompt::from(langfuse_core::TextPrompt::new("greeting", "Hi"));
    /// assert!(prompt.tags().is_empty());
    /// ```
    pub fn tags(&self) -> &[String] {
        &self.meta().tags
    }

    /// The commit message of this version, if it has one.
    ///
    /// ```
    /// let prompt = langfuse_core::Prompt::from(langfuse_core::TextPrompt::new("greeting", "Hi"));
    /// assert_eq!(prompt.commit_message(), None);
    /// ```
    pub fn commit_message(&self) -> Option<&str> {
        self.meta().commit_message.as_deref()
    }

    /// The version's `config`, as JSON.
    ///
    /// ```
    /// let prompt = langfuse_core::Prompt::from(langfuse_core::TextPrompt::new("greeting", "Hi"));
    /// assert!(prompt.config_value().is_object());
    /// ```
    pub fn config_value(&self) -> &Value {
        &self.meta().config
    }

    /// The version's `config` read as `T`.
    ///
    /// ```
    /// use langfuse_core::{Prompt, TextPrompt};
    ///
    /// let prompt = Prompt::from(TextPrompt::new("p", "Hi"));
    /// let config: serde_json::Map<String, serde_json::Value> = prompt.config()?;
    /// assert!(config.is_empty());
    /// # Ok::<(), serde_json::Error>(())
    /// ```
    pub fn config<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        T::deserialize(&self.meta().config)
    }

    /// Whether this is the caller's fallback.
    ///
    /// ```
    /// let prompt = langfuse_core::Prompt::from(langfuse_core::TextPrompt::new("greeting", "Hi"));
    /// assert!(prompt.is_fallback());
    /// ```
    pub fn is_fallback(&self) -> bool {
        self.meta().is_fallback
    }

    /// The text prompt, if this is one.
    ///
    /// ```
    /// use langfuse_core::{Prompt, TextPrompt};
    /// assert!(Prompt::from(TextPrompt::new("p", "Hi")).as_text().is_some());
    /// ```
    pub fn as_text(&self) -> Option<&TextPrompt> {
        match self {
            Self::Text(text) => Some(text),
            Self::Chat(_) => None,
        }
    }

    /// The chat prompt, if this is one.
    ///
    /// ```
    /// use langfuse_core::{Prompt, TextPrompt};
    /// assert!(Prompt::from(TextPrompt::new("p", "Hi")).as_chat().is_none());
    /// ```
    pub fn as_chat(&self) -> Option<&ChatPrompt> {
        match self {
            Self::Text(_) => None,
            Self::Chat(chat) => Some(chat),
        }
    }
}

impl From<TextPrompt> for Prompt {
    fn from(prompt: TextPrompt) -> Self {
        Self::Text(prompt)
    }
}

impl From<ChatPrompt> for Prompt {
    fn from(prompt: ChatPrompt) -> Self {
        Self::Chat(prompt)
    }
}

impl TryFrom<Prompt> for TextPrompt {
    type Error = PromptError;

    /// The text prompt, or [`PromptError::WrongType`].
    fn try_from(prompt: Prompt) -> Result<Self, PromptError> {
        match prompt {
            Prompt::Text(text) => Ok(text),
            Prompt::Chat(chat) => Err(wrong_type(chat.name(), PromptType::Text, PromptType::Chat)),
        }
    }
}

impl TryFrom<Prompt> for ChatPrompt {
    type Error = PromptError;

    /// The chat prompt, or [`PromptError::WrongType`].
    fn try_from(prompt: Prompt) -> Result<Self, PromptError> {
        match prompt {
            Prompt::Chat(chat) => Ok(chat),
            Prompt::Text(text) => Err(wrong_type(text.name(), PromptType::Chat, PromptType::Text)),
        }
    }
}

fn wrong_type(name: &str, expected: PromptType, found: PromptType) -> PromptError {
    PromptError::WrongType {
        name: name.to_owned(),
        expected,
        found,
    }
}

// Linking: a generation records the name and version of a prompt fetched from Langfuse; a
// fallback is no version of it, so it links nothing (the Python SDK's rule).
impl PromptLink for TextPrompt {
    fn prompt_link(&self) -> Option<(&str, i64)> {
        link(&self.inner.meta)
    }
}

impl PromptLink for ChatPrompt {
    fn prompt_link(&self) -> Option<(&str, i64)> {
        link(&self.inner.meta)
    }
}

impl PromptLink for Prompt {
    fn prompt_link(&self) -> Option<(&str, i64)> {
        link(self.meta())
    }
}

fn link(meta: &Meta) -> Option<(&str, i64)> {
    (!meta.is_fallback).then_some((meta.name.as_str(), meta.version))
}

/// The output kinds of a `get_prompt`: [`Prompt`], [`TextPrompt`] or [`ChatPrompt`]. Sealed.
///
/// ```
/// use langfuse_core::prompts::FromPrompt;
///
/// fn kind_of<P: FromPrompt>(_: &langfuse_core::GetPrompt<'_, P>) -> &'static str {
///     std::any::type_name::<P>()
/// }
/// # let _ = kind_of::<langfuse_core::TextPrompt>;
/// ```
pub trait FromPrompt: sealed::Sealed + Sized {
    /// The prompt as this kind, or [`PromptError::WrongType`].
    #[doc(hidden)]
    fn from_prompt(prompt: Prompt) -> Result<Self, PromptError>;
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for super::Prompt {}
    impl Sealed for super::TextPrompt {}
    impl Sealed for super::ChatPrompt {}
}

impl FromPrompt for Prompt {
    fn from_prompt(prompt: Prompt) -> Result<Self, PromptError> {
        Ok(prompt)
    }
}

impl FromPrompt for TextPrompt {
    fn from_prompt(prompt: Prompt) -> Result<Self, PromptError> {
        prompt.try_into()
    }
}

impl FromPrompt for ChatPrompt {
    fn from_prompt(prompt: Prompt) -> Result<Self, PromptError> {
        prompt.try_into()
    }
}

/// A fallback's metadata, as the Python SDK builds it: the version asked for (else 0), the
/// label asked for as its only label, no tags, an empty config.
pub(crate) fn fallback_meta(name: String, version: Option<i64>, label: Option<&str>) -> Meta {
    Meta {
        name,
        version: version.unwrap_or(0),
        labels: label.map(str::to_owned).into_iter().collect(),
        tags: Vec::new(),
        commit_message: None,
        config: Value::Object(Map::new()),
        is_fallback: true,
    }
}

/// The prompt the caller's fallback stands for.
pub(crate) fn fallback_prompt(
    name: &str,
    version: Option<i64>,
    label: Option<&str>,
    fallback: &PromptContent,
) -> Prompt {
    let meta = fallback_meta(name.to_owned(), version, label);
    match fallback {
        PromptContent::Text(text) => Prompt::Text(TextPrompt::from_parts(meta, text.clone())),
        PromptContent::Chat(items) => Prompt::Chat(ChatPrompt::from_parts(meta, items.clone())),
    }
}

/// Reads the server's `Prompt` (`GET /api/public/v2/prompts/{name}` and the write endpoints'
/// answers): `type` picks the kind; `name`, `version`, `prompt`, `labels` and `tags` are
/// required as the spec says, `config` and `commitMessage` may be missing or null.
pub(crate) fn prompt_from_json(value: &Value) -> Result<Prompt, String> {
    let object = value.as_object().ok_or("expected a JSON object")?;
    let field = |name: &str| object.get(name).filter(|v| !v.is_null());
    let name = field("name")
        .and_then(Value::as_str)
        .ok_or("expected a string `name`")?
        .to_owned();
    let version = field("version")
        .and_then(Value::as_i64)
        .ok_or("expected an integer `version`")?;
    let strings = |key: &str| -> Result<Vec<String>, String> {
        match field(key) {
            None => Ok(Vec::new()),
            Some(Value::Array(items)) => items
                .iter()
                .map(|item| {
                    item.as_str()
                        .map(str::to_owned)
                        .ok_or_else(|| format!("expected strings in `{key}`"))
                })
                .collect(),
            Some(_) => Err(format!("expected an array of strings `{key}`")),
        }
    };
    let labels = strings("labels")?;
    let tags = strings("tags")?;
    let commit_message = match field("commitMessage") {
        None => None,
        Some(Value::String(message)) => Some(message.clone()),
        Some(_) => return Err("expected a string `commitMessage`".into()),
    };
    let config = field("config")
        .cloned()
        .unwrap_or(Value::Object(Map::new()));
    let meta = Meta {
        name,
        version,
        labels,
        tags,
        commit_message,
        config,
        is_fallback: false,
    };
    let content = field("prompt").ok_or("expected a `prompt`")?;
    match field("type").and_then(Value::as_str) {
        Some("text") => {
            let template = content
                .as_str()
                .ok_or("a text prompt's `prompt` is a string")?;
            Ok(Prompt::Text(TextPrompt::from_parts(
                meta,
                template.to_owned(),
            )))
        }
        Some("chat") => {
            let items = content
                .as_array()
                .ok_or("a chat prompt's `prompt` is an array")?
                .iter()
                .map(chat_item_from_json)
                .collect::<Result<Vec<_>, _>>()?;
            Ok(Prompt::Chat(ChatPrompt::from_parts(meta, items)))
        }
        Some(other) => Err(format!("unknown prompt type {other:?}")),
        None => Err("expected a `type` (text or chat)".into()),
    }
}

/// A `ChatMessageWithPlaceholders`: a placeholder when its `type` says so, else a message
/// with a string `role` and `content` (the `type` of a message is optional).
fn chat_item_from_json(value: &Value) -> Result<ChatItem, String> {
    let object = value
        .as_object()
        .ok_or("expected objects in a chat prompt")?;
    if object.get("type").and_then(Value::as_str) == Some("placeholder") {
        let name = object
            .get("name")
            .and_then(Value::as_str)
            .ok_or("a placeholder has a string `name`")?;
        return Ok(ChatItem::Placeholder(name.to_owned()));
    }
    match (
        object.get("role").and_then(Value::as_str),
        object.get("content").and_then(Value::as_str),
    ) {
        (Some(role), Some(content)) => Ok(ChatItem::Message(ChatMessage::new(role, content))),
        _ => Err("a chat message has a string `role` and `content`".into()),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn reads_text_and_chat_prompts_as_the_spec_describes_them() {
        let text = prompt_from_json(&json!({
            "type": "text", "name": "a/b", "version": 3, "prompt": "Hi {{x}}",
            "config": { "model": "gpt-4o" }, "labels": ["production", "latest"], "tags": ["t"],
            "commitMessage": null, "resolutionGraph": null,
        }))
        .unwrap();
        assert_eq!(text.name(), "a/b");
        assert_eq!(text.version(), 3);
        assert_eq!(text.labels(), ["production", "latest"]);
        assert_eq!(text.config_value()["model"], "gpt-4o");
        assert_eq!(text.commit_message(), None);
        assert!(!text.is_fallback());
        assert_eq!(text.as_text().unwrap().template(), "Hi {{x}}");

        let chat = prompt_from_json(&json!({
            "type": "chat", "name": "c", "version": 1, "config": {}, "labels": [], "tags": [],
            "commitMessage": "first",
            "prompt": [
                { "role": "system", "content": "S", "type": "chatmessage" },
                { "role": "user", "content": "U" },
                { "name": "history", "type": "placeholder" },
            ],
        }))
        .unwrap();
        let chat = chat.as_chat().unwrap();
        assert_eq!(chat.commit_message(), Some("first"));
        assert_eq!(
            chat.messages(),
            [
                ChatItem::Message(ChatMessage::system("S")),
                ChatItem::Message(ChatMessage::user("U")),
                ChatItem::placeholder("history"),
            ]
        );
    }

    #[test]
    fn refuses_what_is_not_a_prompt() {
        for body in [
            json!([]),
            json!({ "name": "x", "version": 1, "prompt": "p" }),
            json!({ "type": "image", "name": "x", "version": 1, "prompt": "p" }),
            json!({ "type": "text", "name": "x", "version": "1", "prompt": "p" }),
            json!({ "type": "text", "version": 1, "prompt": "p" }),
            json!({ "type": "text", "name": "x", "version": 1, "prompt": ["p"] }),
            json!({ "type": "chat", "name": "x", "version": 1, "prompt": "p" }),
            json!({ "type": "chat", "name": "x", "version": 1, "prompt": [{ "role": "user" }] }),
            json!({ "type": "chat", "name": "x", "version": 1, "prompt": [{ "type": "placeholder" }] }),
            json!({ "type": "text", "name": "x", "version": 1, "prompt": "p", "labels": [1] }),
        ] {
            assert!(prompt_from_json(&body).is_err(), "{body}");
        }
    }

    #[test]
    fn a_fallback_links_nothing_a_fetched_prompt_its_name_and_version() {
        let fetched = prompt_from_json(&json!({
            "type": "text", "name": "p", "version": 7, "prompt": "x", "config": {}, "labels": [], "tags": [],
        }))
        .unwrap();
        assert_eq!(fetched.prompt_link(), Some(("p", 7)));
        let fallback = fallback_prompt("p", None, Some("staging"), &PromptContent::from("x"));
        assert_eq!(fallback.prompt_link(), None);
        assert_eq!(fallback.labels(), ["staging"]);
        assert_eq!(fallback.version(), 0);
        assert!(fallback.is_fallback());
    }

    #[test]
    fn the_kind_asked_for_is_checked() {
        let chat = Prompt::from(ChatPrompt::new("c", []));
        assert_eq!(
            TextPrompt::from_prompt(chat.clone()).unwrap_err(),
            PromptError::WrongType {
                name: "c".into(),
                expected: PromptType::Text,
                found: PromptType::Chat,
            }
        );
        assert!(ChatPrompt::from_prompt(chat).is_ok());
    }
}
