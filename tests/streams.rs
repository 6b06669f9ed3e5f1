//! Synchronous functions returning streams: the observation stays open until the stream ends
//! or is dropped, records the time of the first item with content for generations, captures the items (joined text
//! for strings, else a list; through `stream_item` when given), and is the parent of whatever
//! runs while the stream is polled.
//!
//! Everything is read from the in-memory recorder (`langfuse::testing`), which follows a
//! stream's observation to wherever it is polled and ended.

mod support;

use std::fmt;
use std::pin::{Pin, pin};
use std::thread;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures::executor::block_on;
use futures::stream::{self, BoxStream, Stream, StreamExt as _};
use langfuse::observe;
use langfuse::testing::{self, RecordedObservation, Recorder};
use serde::Serialize;
use support::recorded::{self, Attributes as _};

const OUTPUT: &str = "langfuse.observation.output";
const LEVEL: &str = "langfuse.observation.level";
const STATUS: &str = "langfuse.observation.status_message";
const COMPLETION_START: &str = "langfuse.observation.completion_start_time";

const TOKEN_GAP: Duration = Duration::from_millis(20);

fn unix_nanos(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH).unwrap().as_nanos() as u64
}

fn completion_start(span: &RecordedObservation) -> u64 {
    let text = span
        .str_attr(COMPLETION_START)
        .expect("a generation stream records its first item");
    unix_nanos(humantime::parse_rfc3339(text).unwrap())
}

#[observe(as_type = "generation")]
fn complete(prompt: &str) -> impl Stream<Item = String> + use<> {
    let tokens: Vec<String> = prompt
        .split_inclusive(' ')
        .map(|word| word.to_uppercase())
        .collect();
    // Each token takes a while, as a model's would.
    stream::iter(tokens).map(|token| {
        thread::sleep(TOKEN_GAP);
        token
    })
}

#[test]
fn a_generation_stream_joins_its_tokens_and_ends_with_the_stream() {
    let recorder = Recorder::new();
    let before = unix_nanos(SystemTime::now());
    let (text, last_item_at) = recorder.in_scope(|| {
        let mut tokens = pin!(complete("hello streaming world"));
        let mut text = String::new();
        let mut last_item_at = 0;
        block_on(async {
            while let Some(token) = tokens.next().await {
                text.push_str(&token);
                last_item_at = unix_nanos(SystemTime::now());
                // The consumer takes its time too: the stream ends after the last item.
                thread::sleep(TOKEN_GAP);
            }
        });
        (text, last_item_at)
    });
    assert_eq!(text, "HELLO STREAMING WORLD");

    let recording = recorder.recording();
    assert_eq!(recording.len(), 1);
    let span = &recording.observations()[0];
    assert_eq!(span.str_attr(OUTPUT), Some("HELLO STREAMING WORLD"));
    assert!(!span.has_attr(LEVEL), "a stream that ends is a success");
    let (start, end) = recorded::unix_nanos(span);
    let first = completion_start(span);
    assert!(start >= before.saturating_sub(1_000_000));
    assert!(
        first > start && first < end,
        "completion start {first} is not between {start} and {end}"
    );
    let gap = TOKEN_GAP.as_nanos() as u64;
    assert!(first - start >= gap, "the first token came after one gap");
    assert!(end - first >= 4 * gap, "two more tokens and three waits");
    assert!(
        end >= last_item_at,
        "the observation ended at {end}, before the last item at {last_item_at}"
    );
}

#[derive(Debug, Clone, Serialize)]
struct Hit {
    id: u32,
    score: f32,
}

#[observe(as_type = "retriever")]
fn search(query: &str, limit: u32) -> impl Stream<Item = Hit> + Send + use<> {
    let _ = query;
    stream::iter((1..=limit).map(|id| Hit {
        id,
        score: 1.0 / id as f32,
    }))
}

#[test]
fn a_stream_of_structs_is_captured_as_a_list() {
    let recorder = Recorder::new();
    let hits: Vec<Hit> = recorder.in_scope(|| block_on(search("rust", 2).collect()));
    assert_eq!(hits.len(), 2);

    let recording = recorder.recording();
    assert_eq!(recording.len(), 1);
    let span = &recording.observations()[0];
    assert_eq!(
        span.str_attr(OUTPUT),
        Some(r#"[{"id":1,"score":1.0},{"id":2,"score":0.5}]"#)
    );
    assert!(
        !span.has_attr(COMPLETION_START),
        "only generation-like observations have a completion start"
    );
}

#[derive(Debug, Clone)]
struct ChatChunk {
    delta: String,
    finish_reason: Option<&'static str>,
}

#[derive(Debug)]
struct ApiError(u16);

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the model API answered {}", self.0)
    }
}

fn chunks(text: &str) -> Vec<ChatChunk> {
    let mut chunks: Vec<ChatChunk> = text
        .split_inclusive(' ')
        .map(|word| ChatChunk {
            delta: word.to_owned(),
            finish_reason: None,
        })
        .collect();
    chunks.push(ChatChunk {
        delta: String::new(),
        finish_reason: Some("stop"),
    });
    chunks
}

#[observe(as_type = "generation", stream_item = |chunk: &ChatChunk| chunk.delta.clone())]
fn chat(prompt: &str) -> Pin<Box<dyn Stream<Item = Result<ChatChunk, ApiError>> + Send>> {
    Box::pin(stream::iter(chunks(prompt).into_iter().map(Ok)))
}

fn finish_reason(chunk: &ChatChunk) -> Option<&'static str> {
    chunk.finish_reason
}

#[observe(stream_item = finish_reason)]
fn chat_finish<'a>(prompt: &str) -> BoxStream<'a, ChatChunk> {
    stream::iter(chunks(prompt)).boxed()
}

#[test]
fn stream_item_maps_what_is_captured_from_each_item() {
    let recording = testing::record(|| {
        let received: Vec<_> = block_on(chat("tell me more").collect());
        assert_eq!(received.len(), 4, "the items themselves are untouched");
        assert!(received.iter().all(Result::is_ok));
        assert_eq!(block_on(chat_finish("ok").count()), 2);
    });

    assert_eq!(recording.len(), 2);
    let chat = recording.one("chat");
    assert_eq!(chat.str_attr(OUTPUT), Some("tell me more"));
    assert!(chat.has_attr(COMPLETION_START));
    // The chunks without a finish reason map to `None`: no content, not captured.
    assert_eq!(recording.one("chat_finish").str_attr(OUTPUT), Some("stop"));
}

/// An OpenAI-like chunk: the first names the role and carries no text.
struct Delta {
    role: Option<&'static str>,
    content: Option<String>,
}

const ROLE_GAP: Duration = Duration::from_millis(60);

/// The role-only chunk comes at once, the first word `ROLE_GAP` later.
#[observe(as_type = "generation", stream_item = |d: &Delta| d.content.clone())]
fn chat_with_role_chunk() -> impl Stream<Item = Delta> + use<> {
    stream::unfold(0, |step| async move {
        let delta = match step {
            0 => Delta {
                role: Some("assistant"),
                content: None,
            },
            1 => {
                thread::sleep(ROLE_GAP);
                Delta {
                    role: None,
                    content: Some("Hello".to_owned()),
                }
            }
            2 => Delta {
                role: None,
                content: Some(" there".to_owned()),
            },
            _ => return None,
        };
        Some((delta, step + 1))
    })
}

/// The same stream with nothing captured: every item counts, the first at once.
#[observe(as_type = "generation", capture_output = false)]
fn chat_uncaptured() -> impl Stream<Item = Result<Delta, ApiError>> + use<> {
    stream::iter([
        Err(ApiError(503)),
        Ok(Delta {
            role: Some("assistant"),
            content: None,
        }),
    ])
}

#[test]
fn the_completion_starts_at_the_first_item_with_content() {
    let recording = testing::record(|| {
        let deltas: Vec<Delta> = block_on(chat_with_role_chunk().collect());
        assert_eq!(deltas.len(), 3);
        assert_eq!(deltas[0].role, Some("assistant"));
        let items: Vec<_> = block_on(chat_uncaptured().collect());
        assert_eq!(items.len(), 2);
    });
    let chat = recording.one("chat_with_role_chunk");
    assert_eq!(chat.str_attr(OUTPUT), Some("Hello there"));
    let (start, _) = recorded::unix_nanos(chat);
    let first_word = completion_start(chat) - start;
    assert!(
        first_word >= ROLE_GAP.as_nanos() as u64,
        "the completion started {first_word} ns in, at the role-only chunk"
    );

    // With capture off the mapper is not there to ask: the first item that is not an error
    // starts the completion.
    let uncaptured = recording.one("chat_uncaptured");
    assert!(uncaptured.has_attr(COMPLETION_START));
    assert_eq!(uncaptured.str_attr(LEVEL), Some("ERROR"));
}

#[observe(as_type = "generation")]
fn flaky(prompt: &str) -> BoxStream<'static, Result<String, ApiError>> {
    let _ = prompt;
    let items = vec![
        Ok("partial ".to_owned()),
        Err(ApiError(529)),
        Ok("answer".to_owned()),
    ];
    stream::iter(items).boxed()
}

#[test]
fn an_err_item_sets_level_error_with_its_display() {
    let recorder = Recorder::new();
    let items: Vec<_> = recorder.in_scope(|| block_on(flaky("hi").collect()));
    assert_eq!(items.len(), 3, "the stream goes on after the error");

    let recording = recorder.recording();
    assert_eq!(recording.len(), 1);
    let span = &recording.observations()[0];
    assert_eq!(span.str_attr(LEVEL), Some("ERROR"));
    assert_eq!(span.str_attr(STATUS), Some("the model API answered 529"));
    assert!(span.is_error(), "the OTLP status is ERROR");
    assert_eq!(span.str_attr(OUTPUT), Some("partial answer"));
}

#[test]
fn a_stream_dropped_half_way_is_cancelled() {
    let recording = testing::record(|| {
        let mut tokens = Box::pin(complete("one two three four"));
        block_on(async {
            assert_eq!(tokens.next().await.as_deref(), Some("ONE "));
            assert_eq!(tokens.next().await.as_deref(), Some("TWO "));
        });
        drop(tokens);
        // Never polled: cancelled too, without a first item.
        drop(complete("unread"));
    });

    let spans = recording.observations();
    assert_eq!(spans.len(), 2);
    for span in spans {
        assert_eq!(span.str_attr(LEVEL), Some("WARNING"));
        assert_eq!(span.str_attr(STATUS), Some("cancelled"));
    }
    let partial = spans
        .iter()
        .find(|s| s.has_attr(COMPLETION_START))
        .expect("the partly read stream saw a first item");
    assert_eq!(partial.str_attr(OUTPUT), Some("ONE TWO "));
    assert!(spans.iter().any(|s| !s.has_attr(COMPLETION_START)));
}

#[observe]
fn square(n: u64) -> u64 {
    n * n
}

#[observe]
async fn slow_square(n: u64) -> u64 {
    tokio::time::sleep(Duration::from_millis(1)).await;
    square(n)
}

#[observe]
fn squares(limit: u64) -> impl Stream<Item = u64> + Send + use<> {
    stream::iter(0..limit).then(slow_square)
}

#[observe]
fn unrelated() {}

#[observe]
async fn consume(limit: u64) -> u64 {
    let numbers = squares(limit);
    // `squares` returned: what runs now is not its child.
    unrelated();
    numbers.fold(0, |sum, n| async move { sum + n }).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn work_done_while_polling_is_a_child_of_the_stream() {
    let recorder = Recorder::new();
    // Spawned: the stream is polled on whichever worker runs the task.
    let task = tokio::spawn(recorder.instrument(consume(4)));
    assert_eq!(task.await.unwrap(), 1 + 4 + 9);

    let recording = recorder.recording();
    assert_eq!(recording.len(), 11);
    assert_eq!(recording.traces().len(), 1);
    recorded::assert_child(&recording, "squares", "consume");
    recorded::assert_child(&recording, "unrelated", "consume");
    let stream = recording.one("squares");
    let slow = recording.all("slow_square");
    assert_eq!(slow.len(), 4);
    for child in slow {
        assert_eq!(recording.parent_of(child), Some(stream));
        assert!(child.end_time() <= stream.end_time());
    }
    for leaf in recording.all("square") {
        assert_eq!(
            recording.parent_of(leaf).map(RecordedObservation::name),
            Some("slow_square")
        );
    }
    assert_eq!(stream.str_attr(OUTPUT), Some("[0,1,4,9]"));
}

#[observe(capture_output = false)]
fn quiet(limit: u64) -> impl Stream<Item = Result<u64, ApiError>> + use<> {
    stream::iter((0..limit).map(|n| if n < 2 { Ok(n) } else { Err(ApiError(500)) }))
}

#[test]
fn capture_output_false_records_errors_but_no_items() {
    let recorder = Recorder::new();
    assert_eq!(recorder.in_scope(|| block_on(quiet(3).count())), 3);

    let recording = recorder.recording();
    assert_eq!(recording.len(), 1);
    let span = &recording.observations()[0];
    assert!(!span.has_attr(OUTPUT));
    assert_eq!(span.str_attr(STATUS), Some("the model API answered 500"));
}
