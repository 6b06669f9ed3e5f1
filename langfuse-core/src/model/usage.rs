//! Token usage in the keys Langfuse prices: one flat object of integers, whatever shape the
//! provider reported it in.
//!
//! Langfuse infers cost from a generation's model and its usage keys. Its server turns the two
//! OpenAI usage objects (Chat Completions, Responses) into its own keys, but only when they
//! match exactly (an OpenAI-compatible server that adds a key falls through), and it keeps any
//! other shape as sent, where a nested object or a string makes the whole usage invalid and
//! keys it does not know match no price. So every shape is normalised here, where usage
//! enters the SDK, into the keys of Langfuse's price list:
//!
//! | key | counts |
//! | --- | --- |
//! | `input` | input tokens that are neither read from nor written to a cache |
//! | `input_cached_tokens` | input tokens read from a cache |
//! | `input_cache_creation` | input tokens written to a cache (`_5m` / `_1h`: by lifetime) |
//! | `output` | output tokens that are not reasoning |
//! | `output_reasoning_tokens` | reasoning ("thinking") tokens |
//! | `input_<kind>`, `output_<kind>` | any other breakdown (`input_audio_tokens`, ...) |
//! | `total` | the provider's total, when it reports one |
//!
//! Every part is counted once: a breakdown is taken out of the count that includes it, as the
//! server does for OpenAI's objects.

use serde_json::{Map, Value};

/// Token counts in the OpenTelemetry GenAI convention (`gen_ai.usage.*`): `input` includes
/// what was read from and written to a cache, `output` includes reasoning.
#[cfg_attr(not(feature = "tracing-bridge"), allow(dead_code))]
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TokenCounts {
    pub(crate) input: Option<u64>,
    pub(crate) output: Option<u64>,
    pub(crate) total: Option<u64>,
    pub(crate) cache_read: Option<u64>,
    pub(crate) cache_creation: Option<u64>,
    pub(crate) reasoning: Option<u64>,
}

#[cfg_attr(not(feature = "tracing-bridge"), allow(dead_code))]
impl TokenCounts {
    /// Whether nothing was counted.
    pub(crate) fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// The counts in Langfuse's keys, each part counted once.
    pub(crate) fn to_langfuse(self) -> Map<String, Value> {
        let mut out = Map::new();
        let cached = self.cache_read.unwrap_or(0);
        let created = self.cache_creation.unwrap_or(0);
        let reasoning = self.reasoning.unwrap_or(0);
        if let Some(input) = self.input {
            put(&mut out, "input", input.saturating_sub(cached + created));
        }
        if let Some(cached) = self.cache_read {
            put(&mut out, "input_cached_tokens", cached);
        }
        if let Some(created) = self.cache_creation {
            put(&mut out, "input_cache_creation", created);
        }
        if let Some(output) = self.output {
            put(&mut out, "output", output.saturating_sub(reasoning));
        }
        if let Some(reasoning) = self.reasoning {
            put(&mut out, "output_reasoning_tokens", reasoning);
        }
        if let Some(total) = self.total {
            put(&mut out, "total", total);
        }
        out
    }
}

fn put(out: &mut Map<String, Value>, key: &str, value: u64) {
    out.insert(key.to_owned(), Value::from(value));
}

/// A non-negative integer, from an integer or an integral float (some providers send
/// `12.0`).
fn count(value: &Value) -> Option<u64> {
    match value {
        Value::Number(n) => n.as_u64().or_else(|| {
            let f = n.as_f64()?;
            (f >= 0.0 && f.fract() == 0.0 && f < u64::MAX as f64).then_some(f as u64)
        }),
        _ => None,
    }
}

fn field(object: &Map<String, Value>, key: &str) -> Option<u64> {
    object.get(key).and_then(count)
}

/// The first of `keys` present, as a count.
fn first(object: &Map<String, Value>, keys: &[&str]) -> Option<u64> {
    keys.iter().find_map(|key| field(object, key))
}

/// Normalises a usage object of any accepted shape (see the module documentation and
/// [`crate::ObservationUpdate::usage_details`]) into Langfuse's flat keys. `None` when it is
/// not an object or counts nothing.
pub(crate) fn normalize(usage: &Value) -> Option<Map<String, Value>> {
    let object = usage.as_object()?;
    let out = if object.contains_key("prompt_tokens") || object.contains_key("completion_tokens") {
        openai_chat(object)
    } else if object.contains_key("promptTokenCount")
        || object.contains_key("prompt_token_count")
        || object.contains_key("candidatesTokenCount")
        || object.contains_key("candidates_token_count")
    {
        gemini(object)
    } else if object.contains_key("inputTokens") || object.contains_key("outputTokens") {
        bedrock(object)
    } else if object.contains_key("cache_read_input_tokens")
        || object.contains_key("cache_creation_input_tokens")
        || object.contains_key("cache_creation")
    {
        anthropic(object)
    } else if object.contains_key("input_tokens") || object.contains_key("output_tokens") {
        openai_responses(object)
    } else {
        flat(object)
    };
    (!out.is_empty()).then_some(out)
}

/// The server's rule for OpenAI's objects: each `*_details` entry becomes `<side>_<key>` and
/// is taken out of its side's count.
fn with_details(
    out: &mut Map<String, Value>,
    side: &str,
    count_of_side: Option<u64>,
    details: Option<&Value>,
) {
    let mut remaining = count_of_side;
    if let Some(details) = details.and_then(Value::as_object) {
        for (key, value) in details {
            if let Some(n) = count(value) {
                out.insert(format!("{side}_{key}"), Value::from(n));
                remaining = remaining.map(|r| r.saturating_sub(n));
            }
        }
    }
    if let Some(remaining) = remaining {
        out.insert(side.to_owned(), Value::from(remaining));
    }
}

/// OpenAI Chat Completions: `prompt_tokens`, `completion_tokens`, `total_tokens`,
/// `prompt_tokens_details`, `completion_tokens_details`. DeepSeek's `prompt_cache_hit_tokens`
/// stands in for the cached count when the details do not give one.
fn openai_chat(object: &Map<String, Value>) -> Map<String, Value> {
    let mut out = Map::new();
    let mut prompt_details = object.get("prompt_tokens_details").cloned();
    let cached_in_details = prompt_details
        .as_ref()
        .and_then(|d| d.get("cached_tokens"))
        .and_then(count)
        .is_some();
    if !cached_in_details && let Some(hits) = field(object, "prompt_cache_hit_tokens") {
        let details = prompt_details.get_or_insert_with(|| Value::Object(Map::new()));
        if let Some(details) = details.as_object_mut() {
            details.insert("cached_tokens".to_owned(), Value::from(hits));
        }
    }
    with_details(
        &mut out,
        "input",
        field(object, "prompt_tokens"),
        prompt_details.as_ref(),
    );
    with_details(
        &mut out,
        "output",
        field(object, "completion_tokens"),
        object.get("completion_tokens_details"),
    );
    if let Some(total) = field(object, "total_tokens") {
        put(&mut out, "total", total);
    }
    out
}

/// OpenAI Responses: `input_tokens`, `output_tokens`, `total_tokens`, `input_tokens_details`,
/// `output_tokens_details`. (Also the plain `input_tokens`/`output_tokens` pair.)
fn openai_responses(object: &Map<String, Value>) -> Map<String, Value> {
    let mut out = Map::new();
    with_details(
        &mut out,
        "input",
        field(object, "input_tokens"),
        object.get("input_tokens_details"),
    );
    with_details(
        &mut out,
        "output",
        field(object, "output_tokens"),
        object.get("output_tokens_details"),
    );
    if let Some(total) = field(object, "total_tokens") {
        put(&mut out, "total", total);
    }
    out
}

/// Anthropic Messages: `input_tokens` already excludes the cache; `cache_read_input_tokens`,
/// `cache_creation_input_tokens` and its split by lifetime in `cache_creation`.
fn anthropic(object: &Map<String, Value>) -> Map<String, Value> {
    let mut out = Map::new();
    if let Some(input) = field(object, "input_tokens") {
        put(&mut out, "input", input);
    }
    if let Some(read) = field(object, "cache_read_input_tokens") {
        put(&mut out, "input_cached_tokens", read);
    }
    let mut created = field(object, "cache_creation_input_tokens");
    if let Some(split) = object.get("cache_creation").and_then(Value::as_object) {
        for (key, name) in [
            ("ephemeral_5m_input_tokens", "input_cache_creation_5m"),
            ("ephemeral_1h_input_tokens", "input_cache_creation_1h"),
        ] {
            if let Some(n) = field(split, key) {
                put(&mut out, name, n);
                created = Some(created.unwrap_or(n).saturating_sub(n));
            }
        }
    }
    if let Some(created) = created {
        put(&mut out, "input_cache_creation", created);
    }
    if let Some(output) = field(object, "output_tokens") {
        put(&mut out, "output", output);
    }
    out
}

/// Google Gemini (`usageMetadata`, camelCase or snake_case): the prompt count includes cached
/// content; thoughts are counted apart from the candidates.
fn gemini(object: &Map<String, Value>) -> Map<String, Value> {
    let cached = first(
        object,
        &["cachedContentTokenCount", "cached_content_token_count"],
    );
    let thoughts = first(object, &["thoughtsTokenCount", "thoughts_token_count"]);
    let mut out = Map::new();
    if let Some(prompt) = first(object, &["promptTokenCount", "prompt_token_count"]) {
        put(
            &mut out,
            "input",
            prompt.saturating_sub(cached.unwrap_or(0)),
        );
    }
    if let Some(cached) = cached {
        put(&mut out, "input_cached_tokens", cached);
    }
    if let Some(candidates) = first(object, &["candidatesTokenCount", "candidates_token_count"]) {
        put(&mut out, "output", candidates);
    }
    if let Some(thoughts) = thoughts {
        put(&mut out, "output_reasoning_tokens", thoughts);
    }
    if let Some(total) = first(object, &["totalTokenCount", "total_token_count"]) {
        put(&mut out, "total", total);
    }
    out
}

/// AWS Bedrock Converse: `inputTokens` (without the cache), `outputTokens`, `totalTokens`,
/// `cacheReadInputTokens`, `cacheWriteInputTokens`.
fn bedrock(object: &Map<String, Value>) -> Map<String, Value> {
    let mut out = Map::new();
    for (key, name) in [
        ("inputTokens", "input"),
        ("cacheReadInputTokens", "input_cached_tokens"),
        ("cacheWriteInputTokens", "input_cache_creation"),
        ("outputTokens", "output"),
        ("totalTokens", "total"),
    ] {
        if let Some(n) = field(object, key) {
            put(&mut out, name, n);
        }
    }
    out
}

/// Langfuse's own keys, or any flat object of counts: integers are kept as they are, common
/// aliases are renamed, anything else (strings, nested objects, negative numbers) is dropped,
/// since one such value would make the server reject the whole usage.
fn flat(object: &Map<String, Value>) -> Map<String, Value> {
    let mut out = Map::new();
    for (key, value) in object {
        let Some(n) = count(value) else { continue };
        let key = match key.as_str() {
            "prompt" => "input",
            "completion" => "output",
            "total_tokens" => "total",
            "cache_read" | "input_cache_read" => "input_cached_tokens",
            "output_reasoning" | "reasoning_tokens" => "output_reasoning_tokens",
            other => other,
        };
        out.insert(key.to_owned(), Value::from(n));
    }
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn normalized(usage: Value) -> Value {
        Value::Object(normalize(&usage).unwrap_or_default())
    }

    #[test]
    fn openai_chat_completions_follow_the_servers_rule() {
        let usage = json!({
            "prompt_tokens": 1000,
            "completion_tokens": 500,
            "total_tokens": 1500,
            "prompt_tokens_details": { "cached_tokens": 600, "audio_tokens": 0 },
            "completion_tokens_details": { "reasoning_tokens": 300, "accepted_prediction_tokens": null },
        });
        assert_eq!(
            normalized(usage),
            json!({
                "input": 400,
                "input_cached_tokens": 600,
                "input_audio_tokens": 0,
                "output": 200,
                "output_reasoning_tokens": 300,
                "total": 1500,
            })
        );
    }

    #[test]
    fn openai_compatible_extras_do_not_lose_the_usage() {
        // OpenRouter adds a cost, Groq timings, DeepSeek its cache counters.
        let usage = json!({
            "prompt_tokens": 100, "completion_tokens": 10, "total_tokens": 110,
            "cost": 0.0012, "queue_time": 0.01,
            "prompt_cache_hit_tokens": 64, "prompt_cache_miss_tokens": 36,
        });
        assert_eq!(
            normalized(usage),
            json!({ "input": 36, "input_cached_tokens": 64, "output": 10, "total": 110 })
        );
    }

    #[test]
    fn openai_responses() {
        let usage = json!({
            "input_tokens": 1000, "output_tokens": 500, "total_tokens": 1500,
            "input_tokens_details": { "cached_tokens": 250 },
            "output_tokens_details": { "reasoning_tokens": 100 },
        });
        assert_eq!(
            normalized(usage),
            json!({
                "input": 750, "input_cached_tokens": 250,
                "output": 400, "output_reasoning_tokens": 100, "total": 1500,
            })
        );
    }

    #[test]
    fn anthropic_messages() {
        let usage = json!({
            "input_tokens": 7,
            "cache_creation_input_tokens": 2089,
            "cache_read_input_tokens": 16399,
            "cache_creation": { "ephemeral_5m_input_tokens": 2000, "ephemeral_1h_input_tokens": 89 },
            "output_tokens": 445,
            "service_tier": "standard",
            "server_tool_use": { "web_search_requests": 1 },
        });
        assert_eq!(
            normalized(usage),
            json!({
                "input": 7,
                "input_cached_tokens": 16399,
                "input_cache_creation_5m": 2000,
                "input_cache_creation_1h": 89,
                "input_cache_creation": 0,
                "output": 445,
            })
        );
        let plain = json!({ "input_tokens": 10, "cache_read_input_tokens": 5, "output_tokens": 3 });
        assert_eq!(
            normalized(plain),
            json!({ "input": 10, "input_cached_tokens": 5, "output": 3 })
        );
    }

    #[test]
    fn gemini_usage_metadata() {
        let usage = json!({
            "promptTokenCount": 120, "cachedContentTokenCount": 20,
            "candidatesTokenCount": 30, "thoughtsTokenCount": 50, "totalTokenCount": 200,
        });
        assert_eq!(
            normalized(usage),
            json!({
                "input": 100, "input_cached_tokens": 20,
                "output": 30, "output_reasoning_tokens": 50, "total": 200,
            })
        );
        let snake = json!({ "prompt_token_count": 12, "candidates_token_count": 3 });
        assert_eq!(normalized(snake), json!({ "input": 12, "output": 3 }));
    }

    #[test]
    fn bedrock_converse() {
        let usage = json!({
            "inputTokens": 10, "outputTokens": 5, "totalTokens": 4500,
            "cacheReadInputTokens": 4482, "cacheWriteInputTokens": 3,
        });
        assert_eq!(
            normalized(usage),
            json!({
                "input": 10, "input_cached_tokens": 4482, "input_cache_creation": 3,
                "output": 5, "total": 4500,
            })
        );
    }

    #[test]
    fn langfuse_keys_pass_and_everything_else_is_dropped() {
        let usage = json!({
            "input": 52, "output": 18.0, "total": 70, "input_cached_tokens": 4,
            "unit": "TOKENS", "nested": { "a": 1 }, "negative": -1, "fraction": 0.5,
        });
        assert_eq!(
            normalized(usage),
            json!({ "input": 52, "output": 18, "total": 70, "input_cached_tokens": 4 })
        );
        assert_eq!(normalize(&json!("12 tokens")), None);
        assert_eq!(normalize(&json!({ "unit": "TOKENS" })), None);
    }

    #[test]
    fn semantic_convention_counts_are_split_once() {
        // gen_ai.usage.*: input includes the cache, output includes reasoning (rig, genai).
        let counts = TokenCounts {
            input: Some(1000),
            output: Some(500),
            total: None,
            cache_read: Some(600),
            cache_creation: Some(100),
            reasoning: Some(300),
        };
        assert_eq!(
            Value::Object(counts.to_langfuse()),
            json!({
                "input": 300, "input_cached_tokens": 600, "input_cache_creation": 100,
                "output": 200, "output_reasoning_tokens": 300,
            })
        );
        assert!(TokenCounts::default().is_empty());
    }
}
