//! Synchronous functions and methods returning streams, in every shape that is detected, with
//! `stream_item`, and with `stream = bool` overriding detection. The observed stream keeps the
//! auto traits (`Send`, `Sync`, `Unpin`) of the stream it wraps.
#![deny(warnings, unused)]

use std::fmt;
use std::pin::Pin;

use futures::executor::block_on;
use futures::stream::{self, BoxStream, LocalBoxStream, Stream, StreamExt as _};
use langfuse::observe;
use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct Chunk {
    delta: String,
    index: usize,
}

impl Chunk {
    fn delta(&self) -> &str {
        &self.delta
    }
}

#[derive(Debug)]
pub struct Overloaded;

impl fmt::Display for Overloaded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("overloaded")
    }
}

fn chunks(text: &str) -> Vec<Chunk> {
    text.split_inclusive(' ')
        .enumerate()
        .map(|(index, delta)| Chunk {
            delta: delta.to_owned(),
            index,
        })
        .collect()
}

#[observe(as_type = "generation")]
fn tokens(prompt: &str) -> impl Stream<Item = String> + Send + use<> {
    stream::iter(
        prompt
            .split_inclusive(' ')
            .map(str::to_owned)
            .collect::<Vec<_>>(),
    )
}

#[observe]
fn borrowed<'a>(words: &'a [&'a str]) -> impl Stream<Item = &'a str> + 'a {
    stream::iter(words.iter().copied())
}

#[observe(as_type = "generation", stream_item = |chunk| chunk.delta.clone())]
fn pinned(prompt: &str) -> Pin<Box<dyn Stream<Item = Chunk> + Send>> {
    Box::pin(stream::iter(chunks(prompt)))
}

#[observe(stream_item = Chunk::delta)]
fn boxed<'a>(prompt: &str) -> BoxStream<'a, Result<Chunk, Overloaded>> {
    let mut items: Vec<Result<Chunk, Overloaded>> = chunks(prompt).into_iter().map(Ok).collect();
    items.push(Err(Overloaded));
    stream::iter(items).boxed()
}

#[observe(stream_item = |chunk: &Chunk| &chunk.delta)]
fn local(prompt: &str) -> LocalBoxStream<'static, Chunk> {
    stream::iter(chunks(prompt)).boxed_local()
}

#[observe(capture_output = false)]
fn quiet(n: usize) -> std::pin::Pin<Box<dyn futures::Stream<Item = Result<usize, Overloaded>>>> {
    Box::pin(stream::iter((0..n).map(Ok)))
}

#[observe]
fn early(fail: bool) -> impl Stream<Item = u8> {
    if fail {
        return stream::iter(vec![]);
    }
    stream::iter(vec![1, 2])
}

#[observe]
fn generic<T: Serialize + Clone + Send + 'static>(items: &[T]) -> impl Stream<Item = T> + use<T> {
    stream::iter(items.to_vec())
}

/// A boxed stream behind an alias: detected only with `stream = true`.
type ChatStream = Pin<Box<dyn Stream<Item = Result<Chunk, Overloaded>> + Send>>;

#[observe(stream = true, stream_item = |chunk| chunk.index)]
fn aliased(prompt: &str) -> ChatStream {
    Box::pin(stream::iter(chunks(prompt).into_iter().map(Ok)))
}

/// A trait of its own that happens to be named `Stream`: `stream = false` opts out.
mod media {
    pub trait Stream {
        fn bitrate(&self) -> u32;
    }

    pub struct Video;

    impl Stream for Video {
        fn bitrate(&self) -> u32 {
            5_000
        }
    }
}

#[observe(stream = false)]
fn video() -> impl media::Stream {
    media::Video
}

pub struct Model {
    name: String,
}

impl Model {
    #[observe(as_type = "generation")]
    fn tokens(&self, prompt: &str) -> impl Stream<Item = String> + Unpin + '_ {
        let words: Vec<String> = prompt.split(' ').map(str::to_owned).collect();
        stream::iter(words).map(move |word| format!("{}:{word}", self.name))
    }

    #[observe]
    fn shared(&self) -> Pin<Box<dyn Stream<Item = u8> + Send + Sync + '_>> {
        Box::pin(stream::iter(self.name.bytes()))
    }
}

fn assert_send<T: Send>(value: T) -> T {
    value
}

pub fn main() {
    let joined: Vec<String> = block_on(assert_send(tokens("hello streaming world")).collect());
    assert_eq!(joined.concat(), "hello streaming world");
    let words = ["a", "b"];
    assert_eq!(block_on(borrowed(&words).collect::<Vec<_>>()), ["a", "b"]);
    assert_eq!(block_on(assert_send(pinned("a b")).count()), 2);
    let items: Vec<_> = block_on(assert_send(boxed("a b")).collect());
    assert!(items.last().is_some_and(Result::is_err));
    assert_eq!(block_on(local("a b c").count()), 3);
    assert_eq!(block_on(quiet(3).count()), 3);
    assert_eq!(block_on(early(true).count()), 0);
    assert_eq!(block_on(early(false).count()), 2);
    assert_eq!(block_on(generic(&[1, 2, 3]).collect::<Vec<_>>()), [1, 2, 3]);
    assert_eq!(block_on(aliased("x y").count()), 2);
    assert_eq!(media::Stream::bitrate(&video()), 5_000);
    let model = Model {
        name: "m".to_owned(),
    };
    let mut tokens = model.tokens("a b");
    assert_eq!(block_on(tokens.next()).as_deref(), Some("m:a"));
    assert_eq!(block_on(model.shared().count()), 1);
}
