//! genai with its `otel` feature, on its OpenAI adapter pointed at the loopback stand-in,
//! through `langfuse::tracing::layer()`: its `chat` spans are generations with the model and
//! usage split, plain and streamed (where its time to first chunk is the completion
//! start); exported to the loopback Langfuse receiver and decoded there.

mod standin;
#[path = "../../tests/support/mod.rs"]
mod support;

use futures::StreamExt as _;
use genai::chat::{ChatMessage, ChatRequest};
use genai::resolver::{AuthData, Endpoint};
use genai::{Client, ServiceTarget};
use langfuse::observe;
use serde_json::json;
use standin::StandIn;
use support::setup::{self, Tree, WAIT};
use tracing_subscriber::layer::SubscriberExt as _;

fn client(base_url: String) -> Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    Client::builder()
        .with_service_target_resolver_fn(move |mut target: ServiceTarget| {
            target.endpoint = Endpoint::from_owned(format!("{base_url}/"));
            target.auth = AuthData::from_single("sk-test");
            Ok(target)
        })
        .build()
        .expect("a genai client")
}

#[observe]
async fn ask(client: &Client) -> langfuse::TraceId {
    let request = ChatRequest::new(vec![ChatMessage::user("Weather in Paris?")]);
    let response = client
        .exec_chat("gpt-4o-mini", request.clone(), None)
        .await
        .unwrap();
    assert_eq!(response.first_text(), Some(standin::ANSWER));
    let mut stream = client
        .exec_chat_stream("gpt-4o-mini", request, None)
        .await
        .unwrap()
        .stream;
    while let Some(event) = stream.next().await {
        event.unwrap();
    }
    langfuse::current_trace_id().unwrap()
}

#[tokio::test]
async fn genai_chat_spans_are_generations() {
    let receiver = setup::shared();
    let subscriber = tracing_subscriber::registry().with(langfuse::tracing::layer());
    tracing::subscriber::set_global_default(subscriber).unwrap();
    let standin = StandIn::start();
    let client = client(standin.base_url());

    let trace_id = ask(&client).await;
    let spans = tokio::task::spawn_blocking(move || receiver.wait_for_trace(trace_id, 3, WAIT))
        .await
        .unwrap();
    let tree = Tree::new(spans);
    let chats: Vec<_> = tree.spans.iter().filter(|s| s.name() != "ask").collect();
    assert_eq!(chats.len(), 2);
    for chat in &chats {
        assert_eq!(tree.parent_of(chat).unwrap().name(), "ask");
        assert_eq!(
            chat.str_attr("langfuse.observation.type"),
            Some("generation")
        );
        let model = chat.str_attr("langfuse.observation.model.name").unwrap();
        assert!(model.starts_with("gpt-4o-mini"), "{model}");
    }
    let plain = chats
        .iter()
        .find(|c| !c.has_attr("langfuse.observation.completion_start_time"))
        .expect("the plain call has no time to first chunk");
    assert_eq!(
        plain.str_attr("langfuse.observation.model.name"),
        Some("gpt-4o-mini-2024-07-18"),
        "the response's model"
    );
    assert_eq!(
        plain.json_attr("langfuse.observation.usage_details"),
        json!({
            "input": 60, "input_cached_tokens": 40,
            "output": 20, "output_reasoning_tokens": 10,
        })
    );
    assert!(
        chats
            .iter()
            .any(|c| c.has_attr("langfuse.observation.completion_start_time")),
        "the streamed call's time to first chunk is its completion start"
    );
}
