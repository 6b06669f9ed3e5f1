//! A real rig agent with a tool, on its OpenAI provider pointed at the loopback stand-in,
//! under an `#[observe]` root, through `langfuse::tracing::layer()`, exported to the loopback
//! Langfuse receiver and decoded there: root → agent → generation → tool → generation, each
//! generation with its model and usage split, the agent with none.

mod standin;
#[path = "../../tests/support/mod.rs"]
mod support;

use langfuse::observe;
use rig_agent::AgentBuilder;
use rig_core::providers::openai::OpenAIConfig;
use rig_core::tool::{Tool, ToolContext};
use serde::Deserialize;
use serde_json::json;
use standin::StandIn;
use support::setup::{self, Tree, WAIT};
use tracing_subscriber::layer::SubscriberExt as _;

#[derive(Deserialize)]
struct Args {
    city: String,
}

/// The tool the agent is given.
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
        json!({
            "type": "object",
            "properties": { "city": { "type": "string" } },
            "required": ["city"],
        })
    }

    async fn call(&self, _: &mut ToolContext, args: Args) -> Result<String, std::io::Error> {
        Ok(format!("sunny in {}", args.city))
    }
}

#[observe]
async fn answer(base_url: String) -> langfuse::TraceId {
    let model = OpenAIConfig::new("sk-test")
        .with_base_url(base_url)
        .client()
        .chat("gpt-4o-mini");
    let agent = AgentBuilder::new(model)
        .name("weather-agent")
        .preamble("Answer with the weather.")
        .record_content_telemetry(true)
        .tool(Weather)
        .build();
    let response = agent
        .prompt("What is the weather in Paris?")
        .max_turns(3)
        .await
        .unwrap();
    let _ = response;
    langfuse::current_trace_id().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rig_agent_with_a_tool_nests_under_the_observed_root() {
    let receiver = setup::shared();
    let subscriber = tracing_subscriber::registry().with(langfuse::tracing::layer());
    tracing::subscriber::set_global_default(subscriber).unwrap();
    let standin = StandIn::start();
    // The workspace's reqwest is built with rustls but no provider (see the root README, TLS).
    let _ = rustls::crypto::ring::default_provider().install_default();

    let trace_id = answer(standin.base_url()).await;
    let spans = tokio::task::spawn_blocking(move || receiver.wait_for_trace(trace_id, 5, WAIT))
        .await
        .unwrap();
    let tree = Tree::new(spans);
    let outline: Vec<(String, String, Option<String>)> = tree
        .spans
        .iter()
        .map(|s| {
            (
                s.name().to_owned(),
                s.str_attr("langfuse.observation.type").unwrap().to_owned(),
                tree.parent_of(s).map(|p| p.name().to_owned()),
            )
        })
        .collect();
    eprintln!("{outline:#?}");

    let agent = tree.one("weather-agent");
    assert_eq!(agent.str_attr("langfuse.observation.type"), Some("agent"));
    assert_eq!(tree.parent_of(agent).unwrap().name(), "answer");
    assert!(
        !agent.has_attr("langfuse.observation.usage_details"),
        "the agent's run totals are not counted again"
    );
    let generations: Vec<_> = tree
        .spans
        .iter()
        .filter(|s| s.str_attr("langfuse.observation.type") == Some("generation"))
        .collect();
    assert_eq!(generations.len(), 2, "{outline:#?}");
    for generation in &generations {
        assert_eq!(tree.parent_of(generation).unwrap().name(), "weather-agent");
        assert_eq!(
            generation.str_attr("langfuse.observation.model.name"),
            Some("gpt-4o-mini-2024-07-18")
        );
        assert_eq!(
            generation.json_attr("langfuse.observation.usage_details"),
            json!({
                "input": 60, "input_cached_tokens": 40,
                "output": 20, "output_reasoning_tokens": 10,
            })
        );
    }
    let tool = tree.one("get_weather");
    assert_eq!(tool.str_attr("langfuse.observation.type"), Some("tool"));
    assert_eq!(
        tool.json_attr("langfuse.observation.input"),
        json!({ "city": "Paris" })
    );
    // In time: generation, then the tool, then the generation that read its result.
    let mut order: Vec<_> = generations
        .iter()
        .map(|g| g.span.start_time_unix_nano)
        .collect();
    order.sort();
    assert!(order[0] < tool.span.start_time_unix_nano);
    assert!(tool.span.start_time_unix_nano < order[1]);
}
