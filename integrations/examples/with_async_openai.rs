//! async-openai's client through `langfuse::openai`: a chat completion and a streamed one,
//! each a generation with model, parameters, messages, output and usage (cached input and
//! reasoning split out), the stream's completion start at its first word.
//!
//! ```text
//! cargo run -p langfuse-integrations --example with_async_openai
//! ```
//!
//! Set `OPENAI_BASE_URL` and `OPENAI_API_KEY` for a real server; without, a loopback stand-in
//! answers.

mod support;

use std::time::Duration;

use async_openai::config::OpenAIConfig;
use async_openai::types::chat::{
    ChatCompletionRequestUserMessage, CreateChatCompletionRequestArgs,
};
use futures::StreamExt as _;
use langfuse::observe;

#[observe(skip(client))]
async fn answer(client: &langfuse::openai::Client<OpenAIConfig>, question: String) -> String {
    let request = CreateChatCompletionRequestArgs::default()
        .model("gpt-4o-mini")
        .temperature(0.2)
        .messages([ChatCompletionRequestUserMessage::from(question.as_str()).into()])
        .build()
        .unwrap();
    let response = client.chat().create(request.clone()).await.unwrap();
    let first = response.choices[0]
        .message
        .content
        .clone()
        .unwrap_or_default();

    let mut stream = client.chat().create_stream(request).await.unwrap();
    let mut streamed = String::new();
    while let Some(chunk) = stream.next().await {
        for choice in chunk.unwrap().choices {
            streamed.push_str(choice.delta.content.as_deref().unwrap_or(""));
        }
    }
    format!("{first} / {streamed}")
}

#[tokio::main]
async fn main() {
    let langfuse = support::init();
    let (base_url, key, _standin) = support::openai();
    let config = OpenAIConfig::new()
        .with_api_base(base_url)
        .with_api_key(key);
    let client = langfuse::openai::Client::new(async_openai::Client::with_config(config));
    println!(
        "answer: {}",
        answer(&client, "Weather in Paris?".into()).await
    );
    langfuse.flush_async(Duration::from_secs(5)).await;
}
