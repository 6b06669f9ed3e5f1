//! The process-wide prompt cache, held beside the client: `get_prompt`, `create_prompt` and
//! `update_prompt_labels` on [`Langfuse`], and [`get_prompt`] on the process' client.
//!
//! It is set up with the client (from the same configuration), whether or not tracing is
//! enabled: prompts need the keys, not tracing. Without keys, or with an invalid
//! configuration, every call says so ([`PromptError::NotConfigured`]) or serves its fallback.

use std::borrow::Cow;
use std::sync::OnceLock;

use super::{Langfuse, get_client};
use crate::config::Config;
use crate::prompts::clock::Clock;
use crate::prompts::{
    Access, CreatePrompt, GetPrompt, PromptContent, PromptManager, Settings, UpdatePromptLabels,
};

/// The process' prompt manager, or why it has none; set once, with the client.
static PROMPTS: OnceLock<Result<PromptManager, String>> = OnceLock::new();

/// Sets up prompts for `config`, and loads its prefetched prompts (waiting at most
/// `LANGFUSE_TIMEOUT` for them). Called once, as the client starts.
pub(super) fn start(config: &Config) {
    let manager = PROMPTS.get_or_init(|| {
        Settings::from_config(config)
            .and_then(|settings| PromptManager::new(settings, Clock::for_client()))
    });
    match manager {
        Ok(manager) => manager.prefetch(config.prefetch_prompts(), config.timeout()),
        Err(reason) if !config.prefetch_prompts().is_empty() => tracing::warn!(
            target: "langfuse",
            "cannot prefetch prompts: {reason}"
        ),
        Err(_) => {}
    }
}

/// Records why there are no prompts (an invalid configuration).
pub(super) fn unavailable(reason: String) {
    let _ = PROMPTS.set(Err(reason));
}

fn access() -> Access<'static> {
    match PROMPTS.get() {
        Some(Ok(manager)) => Ok(manager),
        Some(Err(reason)) => Err(reason),
        None => Err("the client has not started"),
    }
}

impl Langfuse {
    /// Gets a prompt managed in Langfuse, by name (folders included: `support/triage`):
    /// the `production` version unless told otherwise, from the cache when it has it. Set
    /// options on the [`GetPrompt`], then `.await` it or call `.blocking()`. See
    /// [`prompts`](crate::prompts) for the cache rules.
    ///
    /// ```no_run
    /// # async fn handler() -> Result<(), langfuse_core::PromptError> {
    /// let client = langfuse_core::get_client();
    /// let prompt = client.get_prompt("movie-critic").text().fallback("Review {{movie}}.").await?;
    /// let text = prompt.compile([("movie", "Dune")]);
    /// # let _ = text;
    /// # Ok(())
    /// # }
    /// ```
    pub fn get_prompt<'a>(&self, name: impl Into<Cow<'a, str>>) -> GetPrompt<'a> {
        GetPrompt::new(access(), name.into())
    }

    /// Creates a new version of the prompt `name` (the prompt itself if it is new) with this
    /// content: text (`&str`, `String`) or chat messages and placeholders. Set labels, tags,
    /// config and commit message on the [`CreatePrompt`], then `.await` it or call
    /// `.blocking()`. Invalidates the cached versions of `name` (and of no other name).
    ///
    /// ```no_run
    /// # async fn setup() -> Result<(), langfuse_core::PromptError> {
    /// let created = langfuse_core::get_client()
    ///     .create_prompt("movie-critic", "As a {{level}} critic, review {{movie}}.")
    ///     .labels(["production"])
    ///     .config(serde_json::json!({ "model": "gpt-4o-mini" }))
    ///     .await?;
    /// println!("version {}", created.version());
    /// # Ok(())
    /// # }
    /// ```
    pub fn create_prompt(
        &self,
        name: impl Into<String>,
        content: impl Into<PromptContent>,
    ) -> CreatePrompt<'static> {
        CreatePrompt::new(access(), name.into(), content.into())
    }

    /// Sets labels on version `version` of the prompt `name` (the Python SDK's
    /// `update_prompt(name=, version=, new_labels=)`); `.await` it or call `.blocking()`.
    /// Invalidates the cached versions of `name` (and of no other name).
    ///
    /// ```no_run
    /// langfuse_core::get_client()
    ///     .update_prompt_labels("movie-critic", 3, ["production"])
    ///     .blocking()?;
    /// # Ok::<(), langfuse_core::PromptError>(())
    /// ```
    pub fn update_prompt_labels<I>(
        &self,
        name: impl Into<String>,
        version: i64,
        labels: I,
    ) -> UpdatePromptLabels<'static>
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        let labels = labels.into_iter().map(Into::into).collect();
        UpdatePromptLabels::new(access(), name.into(), version, labels)
    }
}

/// [`Langfuse::get_prompt`] on the process' client ([`get_client`], which starts it from the
/// environment if nothing did).
///
/// ```no_run
/// let prompt = langfuse_core::get_prompt("greeting").text().fallback("Hi {{name}}").blocking()?;
/// println!("{}", prompt.compile([("name", "Ada")]));
/// # Ok::<(), langfuse_core::PromptError>(())
/// ```
#[track_caller]
pub fn get_prompt<'a>(name: impl Into<Cow<'a, str>>) -> GetPrompt<'a> {
    if super::existing_client().is_none() {
        drop(get_client());
    }
    GetPrompt::new(access(), name.into())
}
