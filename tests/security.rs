//! Secrets: the secret key never appears in the logs (every target, TRACE level, across init,
//! exports, retries and refusals), in `Debug` output, in error strings or in panic messages;
//! plain `http://` to another machine warns once. Masking, which runs before anything leaves
//! the process, is proven in `tests/mask.rs`.

mod support;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use langfuse::{Config, ExporterKind, Langfuse, Score, observe};
use support::logs::Logs;
use support::setup::{self, PUBLIC_KEY, SECRET_KEY, WAIT};
use support::{Receiver, Reply};

#[observe]
fn work(n: u32) -> u32 {
    n + 1
}

/// Every form of the secret that could leak: the key, and the Basic credentials.
fn secrets() -> [String; 2] {
    let credentials =
        base64::engine::general_purpose::STANDARD.encode(format!("{PUBLIC_KEY}:{SECRET_KEY}"));
    [SECRET_KEY.to_owned(), credentials]
}

#[track_caller]
fn assert_no_secret(what: &str, text: &str) {
    for secret in secrets() {
        assert!(!text.contains(&secret), "{what} shows a secret: {text}");
    }
}

/// Captures panic messages (the hook sees them before any unwinding), to check what a panic
/// over an SDK error would print.
fn capture_panics() -> Arc<Mutex<Vec<String>>> {
    let messages = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&messages);
    std::panic::set_hook(Box::new(move |info| {
        seen.lock().unwrap().push(info.to_string());
    }));
    messages
}

#[test]
fn the_secret_key_never_reaches_the_logs_through_exports_retries_and_refusals() {
    own_process!();
    let logs = Logs::capture();
    let receiver = Receiver::start();
    // A retry, a refusal whose body echoes the request's credentials back (as a misconfigured
    // proxy might), a server error doing the same, then success.
    let authorization = format!("Basic {}", secrets()[1]);
    receiver.enqueue([
        Reply::status(503).with_body(&format!("upstream said: {authorization}")),
        Reply::status(401).with_body(&format!(
            r#"{{"message":"bad credentials {authorization} / {SECRET_KEY}"}}"#
        )),
    ]);
    let guard = setup::config_for(&receiver)
        .debug(true)
        .flush_interval(Duration::from_secs(3600))
        .init()
        .unwrap();
    work(1);
    assert!(guard.flush(WAIT).is_complete());
    work(2);
    assert!(guard.flush(WAIT).is_complete());
    work(3);
    langfuse::create_score(Score::numeric("quality", 1.0).session_id("s"));
    let report = guard.shutdown(WAIT);
    assert!(report.is_complete(), "{report:?}");

    let stats = guard.stats();
    assert_eq!((stats.retries, stats.dropped_rejected), (1, 1), "{stats:?}");
    let text = logs.text();
    // The refusal was logged, with the server's message, scrubbed.
    let refusal = logs.lines_with(&["ERROR", "401"]);
    assert_eq!(refusal.len(), 1, "{text}");
    assert!(
        refusal[0].contains("bad credentials Basic <redacted> / <redacted>"),
        "{}",
        refusal[0]
    );
    assert!(
        text.contains("<redacted>"),
        "the retry's message was scrubbed too: {text}"
    );
    assert_no_secret("the log", &text);
}

#[test]
fn debug_output_and_errors_never_show_the_secret() {
    own_process!();
    let receiver = Receiver::start();
    let builder = setup::config_for(&receiver)
        .otlp_header("authorization", format!("Bearer {SECRET_KEY}"))
        .header("x-api-key", SECRET_KEY);
    assert_no_secret("ConfigBuilder's Debug", &format!("{builder:?}"));
    let config = builder.clone().build().unwrap();
    assert_no_secret("Config's Debug", &format!("{config:?}"));
    assert_no_secret("Config's pretty Debug", &format!("{config:#?}"));

    // Errors, from every setting that can hold a secret.
    let bad_builders = [
        // A swapped pair.
        Langfuse::builder()
            .ignore_environment()
            .public_key(SECRET_KEY)
            .secret_key(PUBLIC_KEY),
        // Credentials in the URL.
        Langfuse::builder().ignore_environment().base_url(format!(
            "https://{PUBLIC_KEY}:{SECRET_KEY}@cloud.langfuse.com"
        )),
        Langfuse::builder()
            .ignore_environment()
            .otlp_traces_endpoint(format!(
                "https://user:{SECRET_KEY}@collector:4318/v1/traces"
            )),
        // Header values that cannot be sent.
        Langfuse::builder()
            .ignore_environment()
            .otlp_header("authorization", format!("{SECRET_KEY}\n")),
        Langfuse::builder()
            .ignore_environment()
            .header("x-key", format!("{SECRET_KEY}\u{7f}")),
        // Something else wrong while the secret is set.
        Langfuse::builder()
            .ignore_environment()
            .secret_key(SECRET_KEY)
            .sample_rate(7.0),
    ];
    for builder in bad_builders {
        let error = builder.build().unwrap_err();
        assert_no_secret("an error's Display", &error.to_string());
        assert_no_secret("an error's Debug", &format!("{error:?}"));
        let error = langfuse::Error::from(error);
        assert_no_secret("the init error's Display", &error.to_string());
        assert_no_secret("the init error's Debug", &format!("{error:?}"));
    }

    // The client and its guard.
    let guard = setup::config_for(&receiver)
        .otlp_header("authorization", format!("Bearer {SECRET_KEY}"))
        .init()
        .unwrap();
    assert_no_secret("the guard's Debug", &format!("{guard:?}"));
    assert_no_secret("the client's Debug", &format!("{:?}", guard.client()));
    assert_no_secret(
        "get_client's Debug",
        &format!("{:?}", langfuse::get_client()),
    );
    assert_no_secret("stats", &format!("{:?}", guard.stats()));
}

#[test]
fn panics_over_sdk_errors_never_show_the_secret() {
    own_process!();
    let panics = capture_panics();
    let results = [
        catch_unwind(|| {
            Langfuse::builder()
                .ignore_environment()
                .public_key(SECRET_KEY)
                .secret_key(SECRET_KEY)
                .build()
                .unwrap()
        }),
        catch_unwind(|| {
            Langfuse::builder()
                .ignore_environment()
                .base_url(format!("http://u:{SECRET_KEY}@localhost"))
                .build()
                .expect("valid configuration")
        }),
        catch_unwind(|| {
            Langfuse::builder()
                .ignore_environment()
                .secret_key(SECRET_KEY)
                .flush_at(0)
                .init()
                .map(|_| Config::builder().build().unwrap())
                .unwrap()
        }),
    ];
    let _ = std::panic::take_hook();
    assert!(results.iter().all(Result::is_err));
    let panics = panics.lock().unwrap();
    assert_eq!(panics.len(), 3);
    for message in panics.iter() {
        assert_no_secret("a panic message", message);
    }
}

#[test]
fn a_panic_inside_an_observed_function_never_shows_the_secret() {
    own_process!();
    let logs = Logs::capture();
    // Before init, so that the SDK's hook (which keeps the message for the status) chains it.
    let panics = capture_panics();
    let receiver = Receiver::start();
    let guard = setup::init(&receiver);
    #[observe]
    fn fails(client: &Langfuse) {
        panic!("client state: {client:?}");
    }
    let client = guard.client().clone();
    assert!(catch_unwind(AssertUnwindSafe(|| fails(&client))).is_err());
    assert!(guard.flush(WAIT).is_complete());
    let spans = receiver.wait_for_spans(1, WAIT);
    let status = spans[0]
        .str_attr("langfuse.observation.status_message")
        .unwrap();
    assert!(status.starts_with("panicked: client state"), "{status}");
    assert_no_secret("the status message", status);
    assert_no_secret("the panic", &panics.lock().unwrap().join("\n"));
    assert_no_secret("the log", &logs.text());
}

#[test]
fn plain_http_to_another_machine_warns_once() {
    own_process!();
    let logs = Logs::capture();
    // Nothing is ever sent: the exporter discards, and `.invalid` never resolves (RFC 2606).
    let guard = Langfuse::builder()
        .ignore_environment()
        .public_key(PUBLIC_KEY)
        .secret_key(SECRET_KEY)
        .base_url("http://langfuse.invalid:3000")
        .exporter(ExporterKind::None)
        .init()
        .unwrap();
    work(1);
    let _ = langfuse::get_client();
    assert!(guard.flush(WAIT).is_complete());
    assert!(guard.shutdown(WAIT).is_complete());
    let warnings = logs.lines_with(&["WARN", "plain http"]);
    assert_eq!(warnings.len(), 1, "{}", logs.text());
    assert!(warnings[0].contains("langfuse.invalid"), "{}", warnings[0]);
    assert_no_secret("the log", &logs.text());
}

#[test]
fn plain_http_to_loopback_does_not_warn() {
    own_process!();
    let logs = Logs::capture();
    let receiver = Receiver::start();
    let guard = setup::init(&receiver);
    work(1);
    assert!(guard.shutdown(WAIT).is_complete());
    assert!(
        logs.lines_with(&["plain http"]).is_empty(),
        "{}",
        logs.text()
    );
}
