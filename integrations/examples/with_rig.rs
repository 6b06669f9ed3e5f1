//! A rig agent with a tool, under an `#[observe]` root, through `langfuse::tracing::layer()`:
//! root → agent → generation → tool → generation, each generation with its model and usage,
//! the agent without (its run totals are its generations').
//!
//! ```text
//! cargo run -p langfuse-integrations --example with_rig
//! ```
//!
//! Set `OPENAI_BASE_URL` and `OPENAI_API_KEY` for a real server; without, a loopback stand-in
//! answers.

mod support;

use std::time::Duration;

use langfuse::observe;
use rig_agent::AgentBuilder;
use rig_core::providers::openai::OpenAIConfig;
use rig_core::tool::{Tool, ToolContext};
use serde::Deserialize;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

#[derive(Deserialize)]
struct Args {
    city: String,
}

struct Weather;

impl Tool for Weather {
    const NAME: &'static str = "get_weather";
    type Args = Args;
    type Output = String;
    type Error = std::io::Error;

    fn description(&self) -> String {
        "The weather in a city".to_owned()
    }

    fn parameters(&self) -> serde_json::Value {
        serde_json::json!({
            "type": "object",
            "properties": { "city": { "type": "string" } },
            "required": ["city"],
        })
    }

    async fn call(&self, _: &mut ToolContext, args: Args) -> Result<String, std::io::Error> {
        Ok(format!("sunny in {}", args.city))
    }
}

#[observe(skip(base_url, key))]
async fn answer(base_url: String, key: String, question: String) -> String {
    let model = OpenAIConfig::new(key)
        .with_base_url(base_url)
        .client()
        .chat("gpt-4o-mini");
    let agent = AgentBuilder::new(model)
        .name("weather-agent")
        .preamble("Answer with the weather.")
        .record_content_telemetry(true)
        .tool(Weather)
        .build();
    let response = agent.prompt(question).max_turns(3).await.unwrap();
    format!("{:?}", response.messages.last())
}

#[tokio::main]
async fn main() {
    let langfuse = support::init();
    tracing_subscriber::registry()
        .with(langfuse::tracing::layer())
        .init();
    let (base_url, key, _standin) = support::openai();
    answer(base_url, key, "What is the weather in Paris?".into()).await;
    langfuse.flush_async(Duration::from_secs(5)).await;
}
