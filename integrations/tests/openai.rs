//! async-openai's real client through `langfuse::openai`, against the loopback
//! OpenAI-compatible stand-in, exported to the loopback Langfuse receiver and decoded there.

mod standin;
#[path = "../../tests/support/mod.rs"]
mod support;

use std::time::Duration;

use async_openai::config::OpenAIConfig;
use async_openai::types::chat::{
    ChatCompletionRequestUserMessage, CreateChatCompletionRequest, CreateChatCompletionRequestArgs,
};
use async_openai::types::embeddings::CreateEmbeddingRequestArgs;
use async_openai::types::responses::CreateResponseArgs;
use futures::StreamExt as _;
use langfuse::observe;
use serde_json::json;
use standin::StandIn;
use support::setup::{self, Tree, WAIT};

const USAGE: &str = "langfuse.observation.usage_details";

fn client(standin: &StandIn) -> langfuse::openai::Client<OpenAIConfig> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let config = OpenAIConfig::new()
        .with_api_base(standin.base_url())
        .with_api_key("sk-test");
    langfuse::openai::Client::new(async_openai::Client::with_config(config))
}

fn request(model: &str) -> CreateChatCompletionRequest {
    CreateChatCompletionRequestArgs::default()
        .model(model)
        .temperature(0.2)
        .max_completion_tokens(50u32)
        .messages([ChatCompletionRequestUserMessage::from("Weather in Paris?").into()])
        .build()
        .unwrap()
}

/// The spans of the trace `root` ran in, once `count` have arrived.
async fn trace_of(
    count: usize,
    root: impl std::future::Future<Output = langfuse::TraceId>,
) -> Tree {
    let receiver = setup::shared();
    let trace_id = root.await;
    let spans = tokio::task::spawn_blocking(move || receiver.wait_for_trace(trace_id, count, WAIT))
        .await
        .unwrap();
    Tree::new(spans)
}

fn trace_id() -> langfuse::TraceId {
    langfuse::current_trace_id().expect("inside a recorded trace")
}

#[observe]
async fn ask(client: &langfuse::openai::Client<OpenAIConfig>) -> langfuse::TraceId {
    let response = client.chat().create(request("gpt-4o-mini")).await.unwrap();
    assert_eq!(
        response.choices[0].message.content.as_deref(),
        Some(standin::ANSWER)
    );
    trace_id()
}

#[tokio::test]
async fn a_chat_completion_is_a_generation_with_usage_split() {
    let standin = StandIn::start();
    let client = client(&standin);
    let tree = trace_of(2, ask(&client)).await;
    tree.assert_child("OpenAI-generation", "ask");
    let generation = tree.one("OpenAI-generation");
    assert_eq!(
        generation.str_attr("langfuse.observation.type"),
        Some("generation")
    );
    assert_eq!(
        generation.str_attr("langfuse.observation.model.name"),
        Some("gpt-4o-mini-2024-07-18"),
        "the response's model"
    );
    assert_eq!(
        generation.json_attr("langfuse.observation.model.parameters"),
        json!({ "temperature": 0.2, "max_completion_tokens": 50 })
    );
    assert_eq!(
        generation.json_attr("langfuse.observation.input"),
        json!([{ "role": "user", "content": "Weather in Paris?" }])
    );
    assert_eq!(
        generation.json_attr("langfuse.observation.output")["content"],
        standin::ANSWER
    );
    assert_eq!(
        generation.json_attr(USAGE),
        json!({
            "input": 60, "input_cached_tokens": 40,
            "output": 20, "output_reasoning_tokens": 10, "total": 130,
        })
    );
}

#[observe]
async fn ask_streamed(client: &langfuse::openai::Client<OpenAIConfig>) -> langfuse::TraceId {
    let mut stream = client
        .chat()
        .prompt(("weather-question", 3))
        .create_stream(request("gpt-4o-mini"))
        .await
        .unwrap();
    let mut text = String::new();
    while let Some(chunk) = stream.next().await {
        for choice in chunk.unwrap().choices {
            text.push_str(choice.delta.content.as_deref().unwrap_or(""));
        }
    }
    assert_eq!(text, standin::ANSWER);
    trace_id()
}

#[tokio::test]
async fn a_streamed_completion_records_its_first_content_usage_and_prompt() {
    let standin = StandIn::start();
    let client = client(&standin);
    let tree = trace_of(2, ask_streamed(&client)).await;
    let generation = tree.one("OpenAI-generation");
    assert_eq!(
        standin.requests()[0]["stream_options"],
        json!({ "include_usage": true }),
        "the stream asks for usage"
    );
    assert_eq!(
        generation.json_attr("langfuse.observation.output")["content"],
        standin::ANSWER
    );
    assert_eq!(generation.json_attr(USAGE)["input_cached_tokens"], 40);
    let start = generation.span.start_time_unix_nano;
    let first = humantime::parse_rfc3339(
        generation
            .str_attr("langfuse.observation.completion_start_time")
            .unwrap(),
    )
    .unwrap()
    .duration_since(std::time::UNIX_EPOCH)
    .unwrap()
    .as_nanos() as u64;
    assert!(
        first - start >= standin::FIRST_CONTENT_AFTER.as_nanos() as u64,
        "taken at the role-only chunk: {:?}",
        Duration::from_nanos(first - start)
    );
    assert_eq!(
        generation.str_attr("langfuse.observation.prompt.name"),
        Some("weather-question")
    );
    assert_eq!(
        generation.int_attr("langfuse.observation.prompt.version"),
        Some(3)
    );
}

#[observe]
async fn ask_overloaded(client: &langfuse::openai::Client<OpenAIConfig>) -> langfuse::TraceId {
    let error = client
        .chat()
        .create(request("overloaded"))
        .await
        .unwrap_err();
    assert!(error.to_string().contains("overloaded"), "{error}");
    trace_id()
}

#[tokio::test]
async fn an_api_error_is_level_error_with_its_message() {
    let standin = StandIn::start();
    let client = client(&standin);
    let tree = trace_of(2, ask_overloaded(&client)).await;
    let generation = tree.one("OpenAI-generation");
    assert_eq!(
        generation.str_attr("langfuse.observation.level"),
        Some("ERROR")
    );
    let message = generation
        .str_attr("langfuse.observation.status_message")
        .unwrap();
    assert!(message.contains("The server is overloaded"), "{message}");
}

#[observe]
async fn respond_and_embed(client: &langfuse::openai::Client<OpenAIConfig>) -> langfuse::TraceId {
    let request = CreateResponseArgs::default()
        .model("gpt-4.1")
        .instructions("Be brief.")
        .input("Weather in Paris?")
        .build()
        .unwrap();
    client.responses().create(request).await.unwrap();
    let request = CreateEmbeddingRequestArgs::default()
        .model("text-embedding-3-small")
        .input(["a", "b"])
        .build()
        .unwrap();
    let embeddings = client.embeddings().create(request).await.unwrap();
    assert_eq!(embeddings.data.len(), 2);
    trace_id()
}

#[tokio::test]
async fn responses_and_embeddings_are_recorded_too() {
    let standin = StandIn::start();
    let client = client(&standin);
    let tree = trace_of(3, respond_and_embed(&client)).await;
    let response = tree.one("OpenAI-generation");
    assert_eq!(
        response.json_attr(USAGE),
        json!({
            "input": 30, "input_cached_tokens": 20,
            "output": 10, "output_reasoning_tokens": 2, "total": 62,
        })
    );
    assert_eq!(
        response.json_attr("langfuse.observation.input")[0],
        json!({ "role": "system", "content": "Be brief." })
    );
    let embedding = tree.one("OpenAI-embedding");
    assert_eq!(
        embedding.str_attr("langfuse.observation.type"),
        Some("embedding")
    );
    assert_eq!(
        embedding.json_attr(USAGE),
        json!({ "input": 8, "total": 8 })
    );
    assert_eq!(
        embedding.json_attr("langfuse.observation.output"),
        json!({ "embeddings": 2, "dimensions": 3 })
    );
}
