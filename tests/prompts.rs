//! Prompt management end to end, against a loopback prompts server (`support/prompts.rs`)
//! that keeps versions and labels as Langfuse does, checks every request against the
//! vendored OpenAPI spec and every answer against its response schema, and can be slow,
//! down, answer 404 or 500, or change a prompt between calls. Cache expiry is driven by the
//! prompt cache's manual clock (`langfuse::testing::PromptClock`), never by sleeping.
//!
//! Each test starts the process' client with its own server and clock, so each runs in a
//! process of its own (`own_process!`).

mod support;

use std::future::IntoFuture as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use langfuse::testing::{self, PromptClock};
use langfuse::{
    ChatItem, ChatMessage, ChatPrompt, ConfigBuilder, ExporterKind, Langfuse, LangfuseGuard,
    ObservationType, Prompt, PromptError, PromptType, TextPrompt, Variables,
};
use serde_json::json;
use support::logs::Logs;
use support::prompts::{Fault, PROMPTS_PATH, PromptServer};
use support::setup::{PUBLIC_KEY, SECRET_KEY};

/// How long a test waits for something that happens in the background.
const WAIT: Duration = Duration::from_secs(10);
/// Past the default TTL (60 s) on the manual clock.
const EXPIRED: Duration = Duration::from_secs(61);

/// Starts the process' client against `server`, with the manual prompt clock.
fn start(server: &PromptServer) -> (LangfuseGuard, PromptClock) {
    start_with(server, |builder| builder)
}

fn start_with(
    server: &PromptServer,
    configure: impl FnOnce(ConfigBuilder) -> ConfigBuilder,
) -> (LangfuseGuard, PromptClock) {
    let clock = PromptClock::install();
    let builder = Langfuse::builder()
        .ignore_environment()
        .public_key(PUBLIC_KEY)
        .secret_key(SECRET_KEY)
        .base_url(server.base_url())
        // Nothing is traced here; no export traffic to tell apart from the prompts'.
        .exporter(ExporterKind::None);
    let guard = configure(builder).init().expect("a valid configuration");
    (guard, clock)
}

fn text(client: &Langfuse, name: &str) -> TextPrompt {
    client
        .get_prompt(name)
        .text()
        .blocking()
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// Polls `done` until it holds; panics after [`WAIT`]. For what the SDK does in the
/// background (a refresh landing), not a guessed sleep.
/// `get_prompt(name).text()` from 8 threads (`.blocking()`) and 8 tasks of a multi-threaded
/// runtime (`.await`), all asking at once; what each got.
fn text_from_many_callers(name: &'static str) -> Vec<TextPrompt> {
    let threads: Vec<_> = (0..8)
        .map(|_| std::thread::spawn(move || langfuse::get_prompt(name).text().blocking()))
        .collect();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let tasks: Vec<_> = (0..8)
        .map(|_| runtime.spawn(async move { langfuse::get_prompt(name).text().await }))
        .collect();
    let mut prompts: Vec<TextPrompt> = threads
        .into_iter()
        .map(|thread| thread.join().unwrap().unwrap())
        .collect();
    prompts.extend(
        tasks
            .into_iter()
            .map(|task| runtime.block_on(task).unwrap().unwrap()),
    );
    prompts
}

fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + WAIT;
    while !done() {
        assert!(
            Instant::now() < deadline,
            "{what} did not happen within {WAIT:?}"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
}

#[test]
fn fetches_by_label_version_and_folder_name_as_the_spec_says() {
    own_process!();
    let server = PromptServer::start();
    server.publish(
        "support/triage",
        "text",
        json!("Triage: {{ticket}}"),
        &["production"],
        json!({ "model": "gpt-4o-mini", "temperature": 0.2 }),
    );
    server.publish_text(
        "support/triage",
        "Triage (staging): {{ticket}}",
        &["staging"],
    );
    let (client, _clock) = start(&server);

    let production = text(&client, "support/triage");
    assert_eq!(production.name(), "support/triage");
    assert_eq!(production.version(), 1);
    assert_eq!(production.labels(), ["production"]);
    assert_eq!(production.template(), "Triage: {{ticket}}");
    assert!(!production.is_fallback());
    #[derive(serde::Deserialize)]
    struct ModelConfig {
        model: String,
        temperature: f64,
    }
    let config: ModelConfig = production.config().unwrap();
    assert_eq!(
        (config.model.as_str(), config.temperature),
        ("gpt-4o-mini", 0.2)
    );

    let staging = client
        .get_prompt("support/triage")
        .label("staging")
        .text()
        .blocking()
        .unwrap();
    assert_eq!(staging.version(), 2);
    assert_eq!(staging.labels(), ["staging", "latest"]);
    let first = client
        .get_prompt("support/triage")
        .version(1)
        .blocking()
        .unwrap();
    assert_eq!(first.prompt_type(), PromptType::Text);
    assert_eq!(first.version(), 1);

    let requests = server.requests();
    let targets: Vec<String> = requests
        .iter()
        .map(|r| format!("{} {}?{}", r.method, r.path, r.query))
        .collect();
    let path = format!("{PROMPTS_PATH}/support%2Ftriage");
    assert_eq!(
        targets,
        [
            format!("GET {path}?label=production"),
            format!("GET {path}?label=staging"),
            format!("GET {path}?version=1"),
        ]
    );
    let credentials = base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        format!("{PUBLIC_KEY}:{SECRET_KEY}"),
    );
    for request in &requests {
        assert_eq!(
            request.header("authorization"),
            Some(format!("Basic {credentials}").as_str())
        );
        assert_eq!(request.header("x-langfuse-sdk-name"), Some("rust"));
        assert_eq!(request.header("x-langfuse-public-key"), Some(PUBLIC_KEY));
        assert_eq!(request.header("accept"), Some("application/json"));
    }
    server.assert_all_conform();
}

#[test]
fn a_fresh_hit_makes_no_request_in_sync_or_async_code() {
    own_process!();
    let server = PromptServer::start();
    server.publish_text("greeting", "Hello {{name}}", &["production"]);
    let (client, clock) = start(&server);
    assert_eq!(text(&client, "greeting").version(), 1);
    clock.advance(Duration::from_secs(59));
    for _ in 0..100 {
        assert_eq!(text(&client, "greeting").version(), 1);
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let prompt = runtime
        .block_on(async { client.get_prompt("greeting").await })
        .unwrap();
    assert_eq!(prompt.version(), 1);
    let prompt =
        futures::executor::block_on(langfuse::get_prompt("greeting").text().into_future()).unwrap();
    assert_eq!(prompt.compile([("name", "Ada")]), "Hello Ada");
    assert_eq!(
        server.requests().len(),
        1,
        "only the first call asked the server"
    );
    server.assert_all_conform();
}

#[test]
fn an_expired_prompt_is_served_at_once_and_refreshed_once_on_the_sdks_thread() {
    own_process!();
    let server = PromptServer::start();
    server.publish_text("greeting", "v1", &["production"]);
    let (client, clock) = start(&server);
    assert_eq!(text(&client, "greeting").version(), 1);

    // Langfuse moves `production` to a new version; its answers are slow.
    server.publish_text("greeting", "v2", &["production"]);
    server.set_fault(Fault::Delay(Duration::from_secs(2)));
    clock.advance(EXPIRED);

    // Many callers at once, threads and tasks: every one gets the stale version at once.
    let started = Instant::now();
    for prompt in text_from_many_callers("greeting") {
        assert_eq!(prompt.template(), "v1");
    }
    assert!(
        started.elapsed() < Duration::from_millis(1500),
        "stale callers waited for the refresh: {:?}",
        started.elapsed()
    );

    // A caller on a current-thread runtime that then blocks that runtime's only thread: the
    // refresh still lands, so it does not run on the caller's runtime.
    let current = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    current.block_on(async {
        assert_eq!(client.get_prompt("greeting").await.unwrap().version(), 1);
        server.wait_for_requests(2, WAIT);
        eventually("the refresh", || text(&client, "greeting").version() == 2);
    });
    assert_eq!(
        server.gets_of("greeting").len(),
        2,
        "one refresh for all callers"
    );
    server.assert_all_conform();
}

#[test]
fn during_an_outage_the_last_good_version_is_served_with_one_warning_per_interval() {
    own_process!();
    let logs = Logs::capture();
    let server = PromptServer::start();
    server.publish_text("greeting", "v1", &["production"]);
    let (client, clock) = start(&server);
    assert_eq!(text(&client, "greeting").version(), 1);

    server.set_fault(Fault::Down);
    clock.advance(EXPIRED);
    let stale = |client: &Langfuse| {
        let prompt = text(client, "greeting");
        assert_eq!((prompt.version(), prompt.is_fallback()), (1, false));
    };
    let warnings = || {
        logs.lines_with(&["WARN", "could not refresh the prompt"])
            .len()
    };

    stale(&client);
    // The refresh's three attempts all fail; then the warning.
    logs.wait_for(
        &["could not refresh the prompt", "greeting-label:production"],
        WAIT,
    );
    assert_eq!(
        server.gets_of("greeting").len(),
        4,
        "1 fetch + 3 attempts of the refresh"
    );
    // Right after a failure, no new attempt (the gap starts at a second).
    for _ in 0..50 {
        stale(&client);
    }
    assert_eq!(server.gets_of("greeting").len(), 4);

    // Past the gap: another refresh, which fails too; within the interval, no new warning.
    let failed = || {
        logs.lines_with(&["prompt fetch failed", "no new attempt"])
            .len()
    };
    assert_eq!(failed(), 1);
    clock.advance(Duration::from_secs(2));
    stale(&client);
    eventually("the second refresh to fail", || failed() == 2);
    assert_eq!(server.gets_of("greeting").len(), 7);
    assert_eq!(warnings(), 1, "{}", logs.text());

    // A minute later: one more warning, which counts what it held back.
    clock.advance(Duration::from_secs(60));
    stale(&client);
    eventually("a second warning", || warnings() == 2);
    assert!(
        logs.lines_with(&["could not refresh the prompt", "held_back=1"])
            .len()
            == 1,
        "{}",
        logs.text()
    );

    // The server comes back with a new version: the next refresh (past the gap) takes it.
    server.set_fault(Fault::None);
    server.publish_text("greeting", "v2", &["production"]);
    clock.advance(Duration::from_secs(60));
    stale(&client);
    eventually("the recovery", || text(&client, "greeting").version() == 2);
    server.assert_all_conform();
}

#[test]
fn a_404_on_refresh_evicts_the_prompt() {
    own_process!();
    let logs = Logs::capture();
    let server = PromptServer::start();
    server.publish_text("greeting", "v1", &["production"]);
    let (client, clock) = start(&server);
    assert_eq!(text(&client, "greeting").version(), 1);

    // The prompt is deleted in Langfuse (or its label removed).
    server.remove("greeting");
    clock.advance(EXPIRED);
    assert_eq!(
        text(&client, "greeting").version(),
        1,
        "stale, while the refresh runs"
    );
    logs.wait_for(&["no longer has this prompt", "evicted"], WAIT);
    assert_eq!(server.gets_of("greeting").len(), 2, "404 is not retried");

    // Nothing cached now: the fallback, flagged, or the server's 404.
    let fallback = client
        .get_prompt("greeting")
        .text()
        .fallback("Hello there")
        .blocking()
        .unwrap();
    assert!(fallback.is_fallback());
    assert_eq!(fallback.template(), "Hello there");
    let error = client.get_prompt("greeting").blocking().unwrap_err();
    assert_eq!(
        error,
        PromptError::NotFound {
            name: "greeting".into(),
            message: "Prompt not found".into()
        }
    );
    assert_eq!(server.gets_of("greeting").len(), 4);
    server.assert_all_conform();
}

#[test]
fn a_slow_server_costs_a_miss_at_most_the_timeout_times_the_attempts() {
    own_process!();
    let server = PromptServer::start();
    server.publish_text("slow", "v1", &["production"]);
    server.set_fault(Fault::Delay(Duration::from_secs(3)));
    let (client, _clock) = start(&server);
    let timeout = Duration::from_millis(200);

    let started = Instant::now();
    let error = client
        .get_prompt("slow")
        .fetch_timeout(timeout)
        .max_retries(1)
        .blocking()
        .unwrap_err();
    let waited = started.elapsed();
    assert!(
        matches!(error, PromptError::Timeout { attempts: 2, .. }),
        "{error}"
    );
    assert!(
        waited >= timeout && waited < 2 * timeout + Duration::from_millis(300),
        "{waited:?}"
    );
    assert_eq!(server.gets_of("slow").len(), 2);

    // The same bound in async code, on an executor that is not tokio (the SDK's thread keeps
    // the deadline), this time with a fallback.
    let started = Instant::now();
    let prompt = futures::executor::block_on(
        client
            .get_prompt("slow")
            .label("other")
            .fetch_timeout(timeout)
            .max_retries(0)
            .fallback("fallback {{x}}")
            .into_future(),
    )
    .unwrap();
    let waited = started.elapsed();
    assert!(prompt.is_fallback());
    assert!(
        waited >= timeout && waited < timeout + Duration::from_millis(300),
        "{waited:?}"
    );
    server.assert_all_conform();
}

#[test]
fn a_500_is_retried_then_the_fallback_is_served_even_an_empty_one() {
    own_process!();
    let server = PromptServer::start();
    server.publish_text("flaky", "v1", &["production"]);
    server.set_fault(Fault::Status(500));
    let (client, _clock) = start(&server);
    let fast = |get: langfuse::GetPrompt<'static>| get.fetch_timeout(Duration::from_secs(1));

    let error = fast(client.get_prompt("flaky")).blocking().unwrap_err();
    assert_eq!(
        error,
        PromptError::Status {
            status: 500,
            message: "stand-in answers 500".into(),
            attempts: 3
        }
    );
    assert_eq!(server.gets_of("flaky").len(), 3, "2 retries by default");

    // Right after the failure, a caller with a fallback gets it without waiting: an empty
    // fallback counts (the Python SDK ignored falsy ones, langfuse/langfuse#7164).
    let started = Instant::now();
    let empty = fast(client.get_prompt("flaky"))
        .text()
        .fallback("")
        .blocking()
        .unwrap();
    assert!(empty.is_fallback() && empty.template().is_empty());
    assert!(
        started.elapsed() < Duration::from_millis(500),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(server.gets_of("flaky").len(), 3);

    // A caller without one still asks; with max_retries(9) it gets at most 4 retries.
    server.set_fault(Fault::Status(503));
    let error = fast(client.get_prompt("flaky"))
        .max_retries(9)
        .blocking()
        .unwrap_err();
    assert!(
        matches!(
            error,
            PromptError::Status {
                status: 503,
                attempts: 5,
                ..
            }
        ),
        "{error}"
    );
    assert_eq!(server.gets_of("flaky").len(), 8);

    // 401 is final, with the server's message.
    server.set_fault(Fault::Status(401));
    let error = fast(client.get_prompt("flaky").label("x"))
        .blocking()
        .unwrap_err();
    assert!(
        matches!(
            error,
            PromptError::Status {
                status: 401,
                attempts: 1,
                ..
            }
        ),
        "{error}"
    );
    server.assert_all_conform();
}

#[test]
fn concurrent_misses_for_one_key_make_one_request() {
    own_process!();
    let server = PromptServer::start();
    server.publish_text("popular", "v1", &["production"]);
    server.set_fault(Fault::Delay(Duration::from_millis(300)));
    let (_client, _clock) = start(&server);

    for prompt in text_from_many_callers("popular") {
        assert_eq!(prompt.version(), 1);
    }
    assert_eq!(server.gets_of("popular").len(), 1);
    server.assert_all_conform();
}

#[test]
fn the_blocking_form_is_safe_in_every_context() {
    own_process!();
    let server = PromptServer::start();
    for name in [
        "plain",
        "current",
        "current-task",
        "multi",
        "spawn-blocking",
    ] {
        server.publish_text(name, name, &["production"]);
    }
    server.set_fault(Fault::Delay(Duration::from_millis(100)));
    let (_client, _clock) = start(&server);
    let get = |name: &str| {
        langfuse::get_prompt(name.to_owned())
            .text()
            .blocking()
            .unwrap()
    };

    assert_eq!(
        std::thread::spawn(move || get("plain"))
            .join()
            .unwrap()
            .template(),
        "plain"
    );
    let current = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    assert_eq!(
        current.block_on(async { get("current") }).template(),
        "current"
    );
    let task = current.spawn(async move { get("current-task") });
    assert_eq!(current.block_on(task).unwrap().template(), "current-task");
    let multi = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    assert_eq!(
        multi
            .block_on(multi.spawn(async move { get("multi") }))
            .unwrap()
            .template(),
        "multi"
    );
    let blocking = multi.spawn_blocking(move || get("spawn-blocking"));
    assert_eq!(
        multi.block_on(blocking).unwrap().template(),
        "spawn-blocking"
    );
    server.assert_all_conform();
}

#[test]
fn a_ttl_of_zero_asks_every_time_and_the_default_comes_from_the_configuration() {
    own_process!();
    let server = PromptServer::start();
    server.publish_text("live", "v1", &["production"]);
    server.publish_text("cached", "v1", &["production"]);
    let (client, clock) = start_with(&server, |b| b.prompt_cache_ttl(Duration::from_secs(5)));
    for _ in 0..3 {
        client
            .get_prompt("live")
            .cache_ttl(Duration::ZERO)
            .blocking()
            .unwrap();
    }
    assert_eq!(server.gets_of("live").len(), 3);

    text(&client, "cached");
    clock.advance(Duration::from_secs(4));
    text(&client, "cached");
    assert_eq!(server.gets_of("cached").len(), 1);
    clock.advance(Duration::from_secs(1));
    text(&client, "cached");
    eventually("the refresh after the configured 5 s", || {
        server.gets_of("cached").len() == 2
    });
    server.assert_all_conform();
}

#[test]
fn writes_invalidate_exactly_that_name() {
    own_process!();
    let server = PromptServer::start();
    for name in ["support", "support-2", "support/triage"] {
        server.publish_text(name, "v1", &["production"]);
    }
    let (client, _clock) = start(&server);
    for name in ["support", "support-2", "support/triage"] {
        assert_eq!(text(&client, name).version(), 1);
    }

    let created = client
        .create_prompt("support", "Support v2 for {{product}}")
        .labels(["production"])
        .tags(["support"])
        .config(json!({ "model": "gpt-4o-mini" }))
        .commit_message("mention the product")
        .blocking()
        .unwrap();
    assert_eq!(created.version(), 2);
    assert_eq!(created.commit_message(), Some("mention the product"));
    assert_eq!(created.tags(), ["support"]);
    // Read your writes: the next call waits for the server's version.
    assert_eq!(text(&client, "support").version(), 2);
    // Names that merely start the same are left alone (the Python SDK evicts them too).
    assert_eq!(text(&client, "support-2").version(), 1);
    assert_eq!(text(&client, "support/triage").version(), 1);
    assert_eq!(server.gets_of("support").len(), 2);
    assert_eq!(server.gets_of("support-2").len(), 1);
    assert_eq!(server.gets_of("support/triage").len(), 1);

    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let updated = runtime
        .block_on(async {
            client
                .update_prompt_labels("support", 1, ["production"])
                .await
        })
        .unwrap();
    assert_eq!(updated.version(), 1);
    assert!(updated.labels().contains(&"production".to_owned()));
    assert_eq!(text(&client, "support").version(), 1);

    let chat = runtime
        .block_on(async {
            client
                .create_prompt(
                    "support/triage",
                    [
                        ChatItem::from(ChatMessage::system("Triage for {{product}}.")),
                        ChatItem::placeholder("history"),
                        ChatItem::from(ChatMessage::user("{{ticket}}")),
                    ],
                )
                .labels(["production"])
                .await
        })
        .unwrap();
    assert_eq!(chat.prompt_type(), PromptType::Chat);
    let triage = client
        .get_prompt("support/triage")
        .chat()
        .blocking()
        .unwrap();
    assert_eq!(triage.version(), 2);
    assert_eq!(triage.placeholders(), ["history"]);

    let requests = server.requests();
    let patch = requests.iter().find(|r| r.method == "PATCH").unwrap();
    assert_eq!(patch.path, format!("{PROMPTS_PATH}/support/versions/1"));
    assert_eq!(patch.body, Some(json!({ "newLabels": ["production"] })));
    assert_eq!(requests.iter().filter(|r| r.method == "POST").count(), 2);
    server.assert_all_conform();
}

#[test]
fn a_write_during_a_refresh_is_not_overwritten_by_the_older_answer() {
    own_process!();
    let logs = Logs::capture();
    let server = PromptServer::start();
    server.publish_text("greeting", "v1", &["production"]);
    let (client, clock) = start(&server);
    assert_eq!(text(&client, "greeting").version(), 1);

    // The refresh's answer (v1, as the server had it then) is slow to arrive.
    server.enqueue_faults([Fault::Delay(Duration::from_millis(300))]);
    clock.advance(EXPIRED);
    assert_eq!(text(&client, "greeting").version(), 1);
    server.wait_for_requests(2, WAIT);
    client
        .create_prompt("greeting", "v2")
        .labels(["production"])
        .blocking()
        .unwrap();
    assert_eq!(text(&client, "greeting").version(), 2);
    logs.wait_for(&["predates a write", "greeting-label:production"], WAIT);
    assert_eq!(text(&client, "greeting").version(), 2);
    server.assert_all_conform();
}

#[test]
fn prefetched_prompts_are_cached_before_init_returns() {
    own_process!();
    let server = PromptServer::start();
    server.publish_text("greeting", "Hello", &["production"]);
    server.publish_text("support/triage", "Triage", &["staging"]);
    let (client, _clock) = start_with(&server, |b| {
        b.prefetch_prompts(["greeting", "missing"])
            .prefetch_prompt_label("support/triage", "staging")
    });
    assert_eq!(
        server.requests().len(),
        3,
        "all three asked while the client started"
    );
    assert_eq!(text(&client, "greeting").template(), "Hello");
    let triage = client
        .get_prompt("support/triage")
        .label("staging")
        .text()
        .blocking()
        .unwrap();
    assert_eq!(triage.template(), "Triage");
    assert_eq!(
        server.requests().len(),
        3,
        "the first requests did not wait"
    );
    server.assert_all_conform();
}

#[test]
fn a_generation_links_the_fetched_prompt_and_never_a_fallback() {
    own_process!();
    let server = PromptServer::start();
    server.publish_chat(
        "support/triage",
        json!([
            { "type": "chatmessage", "role": "system", "content": "Triage for {{product}}." },
            { "type": "placeholder", "name": "history" },
            { "type": "chatmessage", "role": "user", "content": "{{ticket}}" },
        ]),
        &["production"],
    );
    server.publish_text("answer", "v1", &["production"]);
    server.publish_text("answer", "v2", &["production"]);
    let (client, _clock) = start(&server);

    // A prompt fetch is not an observation.
    let fetching = testing::record(|| client.get_prompt("support/triage").blocking().unwrap());
    assert_eq!(fetching.outline(), "");

    let prompt = client
        .get_prompt("support/triage")
        .chat()
        .blocking()
        .unwrap();
    let fallback = client
        .get_prompt("never-published")
        .chat()
        .fallback([ChatMessage::system("Triage.")])
        .blocking()
        .unwrap();
    let answer = text(&client, "answer");
    let recording = testing::record(|| {
        let messages = prompt
            .compile_strict(
                Variables::new()
                    .set("product", "Langfuse")
                    .set("ticket", "Where are my traces?")
                    .placeholder("history", [ChatMessage::user("Hi")]),
            )
            .unwrap();
        assert_eq!(messages.len(), 3);
        for (name, link) in [("linked", 0), ("fallback", 1), ("pair", 2), ("answer", 3)] {
            let mut generation = langfuse::start_observation(name)
                .as_type(ObservationType::Generation)
                .start();
            generation.update(|g| {
                match link {
                    0 => g.prompt(&prompt),
                    1 => g.prompt(&fallback),
                    2 => g.prompt(("support/triage", 1)),
                    _ => g.prompt(Prompt::from(answer.clone())),
                };
            });
            generation.end();
        }
    });
    assert_eq!(
        recording.one("linked").prompt(),
        Some(("support/triage", 1))
    );
    assert_eq!(recording.one("fallback").prompt(), None);
    assert_eq!(recording.one("pair").prompt(), Some(("support/triage", 1)));
    assert_eq!(recording.one("answer").prompt(), Some(("answer", 2)));
    server.assert_all_conform();
}

#[test]
fn a_prompt_of_the_other_kind_is_an_error_or_the_fallback() {
    own_process!();
    let server = PromptServer::start();
    server.publish_chat(
        "chatty",
        json!([{ "type": "chatmessage", "role": "system", "content": "Hi" }]),
        &["production"],
    );
    let (client, _clock) = start(&server);
    let error = client.get_prompt("chatty").text().blocking().unwrap_err();
    assert_eq!(
        error,
        PromptError::WrongType {
            name: "chatty".into(),
            expected: PromptType::Text,
            found: PromptType::Chat
        }
    );
    let fallback = client
        .get_prompt("chatty")
        .text()
        .fallback("x")
        .blocking()
        .unwrap();
    assert!(fallback.is_fallback());
    let chat: ChatPrompt = client.get_prompt("chatty").chat().blocking().unwrap();
    assert_eq!(chat.compile(Variables::new()), [ChatMessage::system("Hi")]);
    assert_eq!(server.gets_of("chatty").len(), 1);
}

#[test]
fn without_keys_there_are_no_prompts_but_the_fallback() {
    own_process!();
    let _client = Langfuse::builder()
        .ignore_environment()
        .exporter(ExporterKind::Console)
        .init()
        .unwrap();
    let error = langfuse::get_prompt("greeting").blocking().unwrap_err();
    assert!(
        matches!(error, PromptError::NotConfigured { .. }),
        "{error}"
    );
    assert!(error.to_string().contains("LANGFUSE_PUBLIC_KEY"), "{error}");
    let fallback = langfuse::get_prompt("greeting")
        .text()
        .fallback("Hi {{name}}")
        .blocking()
        .unwrap();
    assert!(fallback.is_fallback());
    assert_eq!(fallback.compile([("name", "Ada")]), "Hi Ada");
    let write = langfuse::get_client()
        .create_prompt("greeting", "x")
        .blocking();
    assert!(matches!(write, Err(PromptError::NotConfigured { .. })));
}

#[test]
fn tracing_disabled_still_serves_prompts() {
    own_process!();
    let server = PromptServer::start();
    server.publish_text("greeting", "Hello", &["production"]);
    let (client, _clock) = start_with(&server, |b| b.tracing_enabled(false));
    assert!(!client.is_enabled());
    assert_eq!(text(&client, "greeting").template(), "Hello");
}

#[test]
fn eight_threads_read_a_thousand_cached_prompts_while_they_refresh() {
    own_process!();
    let server = PromptServer::start();
    let names: Vec<String> = (0..1000).map(|i| format!("prompt-{i}")).collect();
    for name in &names {
        server.publish_text(name, name, &["production"]);
    }
    let (_client, clock) = start_with(&server, |b| b.prefetch_prompts(names.clone()));
    assert_eq!(server.requests().len(), 1000);
    let clock = Arc::new(clock);
    let names = Arc::new(names);
    let readers: Vec<_> = (0..8)
        .map(|t| {
            let names = Arc::clone(&names);
            std::thread::spawn(move || {
                for round in 0..20_000 {
                    let name = &names[(round * 7 + t * 131) % names.len()];
                    let prompt = langfuse::get_prompt(name.as_str())
                        .text()
                        .blocking()
                        .unwrap();
                    assert_eq!(prompt.template(), name);
                }
            })
        })
        .collect();
    clock.advance(EXPIRED);
    for reader in readers {
        reader.join().unwrap();
    }
    // Each name refreshed once at most (those read after the expiry), never twice at once.
    let requests = server.requests();
    assert!(requests.len() <= 2000, "{}", requests.len());
    for name in names.iter().take(50) {
        assert!(server.gets_of(name).len() <= 2, "{name}");
    }
    server.assert_all_conform();
}

/// `examples/prompts.rs`, compiled in as it is (its `main` is not used here).
#[allow(dead_code)]
#[path = "../examples/prompts.rs"]
mod example;

#[test]
fn the_example_runs_offline() {
    own_process!();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let shown = runtime.block_on(async {
        let (addr, stand_in) = example::start_stand_in().await.unwrap();
        let _langfuse = Langfuse::builder()
            .ignore_environment()
            .public_key(PUBLIC_KEY)
            .secret_key(SECRET_KEY)
            .base_url(format!("http://{addr}"))
            .exporter(ExporterKind::None)
            .prefetch_prompts(["movie-critic"])
            .init()
            .unwrap();
        example::run(&stand_in).await.unwrap()
    });
    let expected = [
        "movie-critic v1: As a {{criticlevel}} movie critic, do you like {{movie}}?",
        "compiled: As a expert movie critic, do you like Dune 2?",
        "strict compile refused: prompt 'movie-critic' (version 1): missing variables: movie; unused variables: film",
        "created v2; production is now v2",
        "rolled back: production is v1",
        "not-in-langfuse: fallback=true template=\"Summarize {{text}}\"",
        "during the outage: still v1 (fallback=false)",
        "a prompt never cached, no fallback: the server answered 503: down for maintenance (1 attempt)",
    ];
    for line in expected {
        assert!(
            shown.iter().any(|s| s == line),
            "{line:?} not in {shown:#?}"
        );
    }
}
