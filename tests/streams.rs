//! Synchronous functions returning streams: the observation stays open until the stream ends
//! or is dropped, records time to first item for generations, captures the items (joined text
//! for strings, else a list; through `stream_item` when given), and is the parent of whatever
//! runs while the stream is polled.

mod support;

use std::fmt;
use std::pin::{Pin, pin};
use std::thread;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures::executor::block_on;
use futures::stream::{self, BoxStream, Stream, StreamExt as _};
use langfuse::observe;
use serde::Serialize;
use support::setup::{self, Tree, WAIT};
use support::{ReceivedSpan, Receiver};

const OUTPUT: &str = "langfuse.observation.output";
const LEVEL: &str = "langfuse.observation.level";
const STATUS: &str = "langfuse.observation.status_message";
const COMPLETION_START: &str = "langfuse.observation.completion_start_time";

const TOKEN_GAP: Duration = Duration::from_millis(20);

fn unix_nanos(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH).unwrap().as_nanos() as u64
}

fn completion_start(span: &ReceivedSpan) -> u64 {
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
    let receiver = Receiver::start();
    let langfuse = setup::init(&receiver);

    let before = unix_nanos(SystemTime::now());
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
    assert_eq!(text, "HELLO STREAMING WORLD");
    langfuse.flush(WAIT);

    let spans = receiver.wait_for_spans(1, WAIT);
    let span = &spans[0];
    assert_eq!(span.str_attr(OUTPUT), Some("HELLO STREAMING WORLD"));
    assert!(!span.has_attr(LEVEL), "a stream that ends is a success");
    let (start, end) = (span.span.start_time_unix_nano, span.span.end_time_unix_nano);
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
    let receiver = Receiver::start();
    let langfuse = setup::init(&receiver);

    let hits: Vec<Hit> = block_on(search("rust", 2).collect());
    assert_eq!(hits.len(), 2);
    langfuse.flush(WAIT);

    let spans = receiver.wait_for_spans(1, WAIT);
    let span = &spans[0];
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
    let receiver = Receiver::start();
    let langfuse = setup::init(&receiver);

    let received: Vec<_> = block_on(chat("tell me more").collect());
    assert_eq!(received.len(), 4, "the items themselves are untouched");
    assert!(received.iter().all(Result::is_ok));
    assert_eq!(block_on(chat_finish("ok").count()), 2);
    langfuse.flush(WAIT);

    let tree = Tree::new(receiver.wait_for_spans(2, WAIT));
    let chat = tree.one("chat");
    assert_eq!(chat.str_attr(OUTPUT), Some("tell me more"));
    assert!(chat.has_attr(COMPLETION_START));
    assert_eq!(
        tree.one("chat_finish").str_attr(OUTPUT),
        Some(r#"[null,"stop"]"#)
    );
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
    let receiver = Receiver::start();
    let langfuse = setup::init(&receiver);

    let items: Vec<_> = block_on(flaky("hi").collect());
    assert_eq!(items.len(), 3, "the stream goes on after the error");
    langfuse.flush(WAIT);

    let spans = receiver.wait_for_spans(1, WAIT);
    let span = &spans[0];
    assert_eq!(span.str_attr(LEVEL), Some("ERROR"));
    assert_eq!(span.str_attr(STATUS), Some("the model API answered 529"));
    assert_eq!(span.span.status.as_ref().map(|s| s.code), Some(2));
    assert_eq!(span.str_attr(OUTPUT), Some("partial answer"));
}

#[test]
fn a_stream_dropped_half_way_is_cancelled() {
    let receiver = Receiver::start();
    let langfuse = setup::init(&receiver);

    let mut tokens = Box::pin(complete("one two three four"));
    block_on(async {
        assert_eq!(tokens.next().await.as_deref(), Some("ONE "));
        assert_eq!(tokens.next().await.as_deref(), Some("TWO "));
    });
    drop(tokens);
    // Never polled: cancelled too, without a first item.
    drop(complete("unread"));
    langfuse.flush(WAIT);

    let spans = receiver.wait_for_spans(2, WAIT);
    for span in &spans {
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
    let receiver = Receiver::start();
    let langfuse = setup::init(&receiver);

    // Spawned: the stream is polled on whichever worker runs the task.
    assert_eq!(tokio::spawn(consume(4)).await.unwrap(), 1 + 4 + 9);
    langfuse.flush_async(WAIT).await;

    let tree = Tree::new(receiver.wait_for_spans(11, WAIT));
    assert_eq!(tree.traces().len(), 1);
    tree.assert_child("squares", "consume");
    tree.assert_child("unrelated", "consume");
    let stream = tree.one("squares");
    let slow = tree.all("slow_square");
    assert_eq!(slow.len(), 4);
    for child in slow {
        assert_eq!(tree.parent_of(child), Some(stream));
        assert!(child.span.end_time_unix_nano <= stream.span.end_time_unix_nano);
    }
    for leaf in tree.all("square") {
        assert_eq!(
            tree.parent_of(leaf).map(ReceivedSpan::name),
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
    let receiver = Receiver::start();
    let langfuse = setup::init(&receiver);

    assert_eq!(block_on(quiet(3).count()), 3);
    langfuse.flush(WAIT);

    let spans = receiver.wait_for_spans(1, WAIT);
    let span = &spans[0];
    assert!(!span.has_attr(OUTPUT));
    assert_eq!(span.str_attr(STATUS), Some("the model API answered 500"));
}
