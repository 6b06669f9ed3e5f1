//! The `#[observe]` attribute of the [`langfuse`](https://docs.rs/langfuse-rust) crate, which
//! re-exports it: depend on `langfuse` and write `use langfuse::observe;`.

mod args;
mod expand;
mod item;
#[cfg(test)]
mod snapshots;

use proc_macro2::TokenStream;

/// Records every call of the function as a Langfuse observation.
///
/// ```
/// use langfuse::observe;
///
/// #[observe]
/// fn add(a: u32, b: u32) -> u32 {
///     a + b
/// }
///
/// assert_eq!(add(2, 3), 5);
/// ```
///
/// Each call starts an observation named after the function, runs the body, and ends the
/// observation with the outcome. An observed function called inside another one becomes its
/// child, in the same trace; a call outside any observation starts a new trace. The input is a
/// JSON object of the arguments (`{"a": 2, "b": 3}`), the output the return value.
///
/// Without `LANGFUSE_PUBLIC_KEY` and `LANGFUSE_SECRET_KEY` (or with
/// `LANGFUSE_TRACING_ENABLED=false`) tracing is disabled and an observed call costs about a
/// nanosecond more than a plain one; nothing is captured for a trace that is sampled out.
///
/// # Arguments
///
/// All are optional, in any order, each at most once.
///
/// ## `name = "..."`
///
/// The observation's name. By default, the function's name (without `r#`).
///
/// ```
/// # use langfuse::observe;
/// #[observe(name = "vector-search")]
/// fn search(query: &str) -> Vec<String> {
///     vec![format!("a document about {query}")]
/// }
/// # assert_eq!(search("rust").len(), 1);
/// ```
///
/// ## `as_type = "..."`
///
/// The observation's type, as Langfuse shows it: `"span"` (the default), `"generation"`,
/// `"agent"`, `"tool"`, `"chain"`, `"retriever"`, `"evaluator"`, `"embedding"` or
/// `"guardrail"`. Generations and embeddings carry a model, usage and cost. A function cannot
/// be an `"event"`: an event has no duration.
///
/// ```
/// # use langfuse::observe;
/// #[observe(as_type = "generation")]
/// fn complete(prompt: &str) -> String {
///     format!("an answer to {prompt}")
/// }
/// # complete("hi");
/// ```
///
/// ## `capture_input = bool`, `capture_output = bool`
///
/// Whether to record the arguments and the return value. By default both follow
/// `LANGFUSE_OBSERVE_DECORATOR_IO_CAPTURE_ENABLED` (on unless it is `false`); `true` or `false`
/// here overrides it for this function. An error's message is recorded either way.
///
/// ```
/// # use langfuse::observe;
/// #[observe(capture_input = false)]
/// fn sign(secret: &[u8], payload: &str) -> String {
///     format!("{}:{payload}", secret.len())
/// }
/// # sign(b"key", "body");
/// ```
///
/// ## `skip(a, b, ...)`
///
/// Leaves these arguments out of the input. Name them as they are bound: a destructured
/// parameter `(left, right): (u8, u8)` binds `left` and `right`. `self` is never captured.
///
/// ```
/// # use langfuse::observe;
/// # struct Client;
/// #[observe(skip(client))]
/// fn fetch(client: &Client, url: &str) -> usize {
///     url.len()
/// }
/// # fetch(&Client, "https://example.com");
/// ```
///
/// ## `parent = expr`
///
/// The observation's parent, in place of the current observation: any expression whose type
/// implements [`IntoParent`](https://docs.rs/langfuse-rust/latest/langfuse/trait.IntoParent.html),
/// that is a W3C `traceparent` value (`&str`, `String` or `Traceparent`), an
/// `ObservationContext`, or an `Option` of one of those. It may use the function's arguments,
/// and is evaluated when the observation starts, before the body runs (for an `async fn`, at
/// its first poll).
///
/// Given the `traceparent` header of a request from another service, the observation joins
/// that service's trace as a child of its span, and is marked as this service's root
/// (`langfuse.internal.as_root`); its own children are ordinary children. `None`, or a header
/// that does not parse (logged at debug level), falls back to the current context: the
/// observation is a child of the current observation, or starts a new trace. A bad header
/// never fails a request. The calling side sends
/// [`current_traceparent()`](https://docs.rs/langfuse-rust/latest/langfuse/fn.current_traceparent.html).
///
/// ```
/// # use langfuse::observe;
/// // An HTTP handler; in axum, for instance, the header is
/// // `headers.get("traceparent").and_then(|value| value.to_str().ok())`.
/// #[observe(parent = traceparent)]
/// async fn handle(traceparent: Option<&str>, body: String) -> usize {
///     body.len()
/// }
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let header = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
/// handle(Some(header), "{}".into()).await; // in the caller's trace
/// handle(None, "{}".into()).await; // as without `parent`
/// # }
/// ```
///
/// The expression takes what it names as any expression does: to keep using a `String`
/// argument in the body, write `parent = &header`.
///
/// ## `stream = bool`
///
/// Whether the function returns an observed stream (see [Streams](#streams)), which is
/// otherwise decided from the return type. `stream = false` opts out, for a trait of your own
/// that happens to be named `Stream`; `stream = true` opts in, for a type alias of
/// `Pin<Box<dyn Stream<..>>>` or an `impl` of another stream trait (`impl TryStream<..>`).
///
/// ## `stream_item = mapper`
///
/// What is captured of each item of an observed stream: a closure, or the path of a function,
/// that takes the item (the `Ok` value, for a stream of `Result`s) by reference and returns
/// the value to capture, captured as any output is. Mapping chat completion chunks to their
/// text makes the output the completion's text rather than a list of chunks.
///
/// ```
/// # use langfuse::observe;
/// use futures::stream::{self, Stream};
///
/// struct ChatChunk {
///     delta: String,
///     logprobs: Vec<f32>,
/// }
///
/// #[observe(as_type = "generation", stream_item = |chunk: &ChatChunk| chunk.delta.clone())]
/// fn chat(prompt: &str) -> impl Stream<Item = ChatChunk> + use<> {
///     let words: Vec<String> = prompt.split_inclusive(' ').map(str::to_owned).collect();
///     stream::iter(words.into_iter().map(|delta| ChatChunk { delta, logprobs: vec![] }))
/// }
/// # use futures::StreamExt as _;
/// # let chunks: Vec<ChatChunk> = futures::executor::block_on(chat("Hello there").collect());
/// # assert_eq!(chunks.len(), 2);
/// # assert!(chunks[0].logprobs.is_empty());
/// ```
///
/// ## `crate = path`
///
/// Where the `langfuse` crate is, for code that reaches it through a re-export. By default
/// `::langfuse`.
///
/// ```
/// mod telemetry {
///     pub use langfuse;
/// }
///
/// #[langfuse::observe(crate = crate::telemetry::langfuse)]
/// fn handle() {}
/// # fn main() { handle(); }
/// ```
///
/// # Inputs and outputs
///
/// Each argument and the return value is recorded by the first that applies to its type, chosen
/// at compile time, so no type can make the macro fail to compile:
///
/// 1. `serde::Serialize`: as JSON;
/// 2. `Debug`: as its `Debug` text;
/// 3. otherwise, as a marker with its type name, such as `"<my_app::Connection>"`.
///
/// Serialization stops at a byte budget per field (`LANGFUSE_CAPTURE_MAX_BYTES`, 32 KiB), so a
/// huge argument costs what one at the budget costs. A cut field is still valid JSON: a string
/// cut in the middle ends with `… [truncated by langfuse]`, an array or object cut there gets
/// a final marker entry (`[1,2,"… [truncated by langfuse]"]`,
/// `{"a":1,"… [truncated by langfuse]":null}`), and everything open is closed; the builder's
/// `capture_max_bytes` gives the exact shape.
///
/// The choice is made from what the function's own signature says, so a generic argument is
/// serialized only when its bound says it can be:
///
/// ```
/// # use langfuse::observe;
/// #[observe]
/// fn first<T: serde::Serialize + Clone>(items: &[T]) -> Option<T> {
///     items.first().cloned() // input {"items": [..]}, output the item as JSON
/// }
///
/// #[observe]
/// fn count<T>(items: &[T]) -> usize {
///     items.len() // `count(&[1])` has input {"items": "<&[i32]>"}: `T` may be anything
/// }
/// # first(&[1]); count(&[1]);
/// ```
///
/// # Errors, panics and cancellation
///
/// A function returning `Result` that returns `Err` ends its observation with level `ERROR`
/// and the error's `Display` (else its `Debug`, else its type name) as status message; `?` and
/// early `return`s behave as in the original function. A panic ends the observation with level
/// `ERROR` and the panic's message, and goes on unwinding. An async function whose future is
/// dropped before it completes ends its observation with level `WARNING`, "cancelled".
///
/// ```
/// # use langfuse::observe;
/// #[observe]
/// fn parse(text: &str) -> Result<u32, std::num::ParseIntError> {
///     let n: u32 = text.trim().parse()?; // an `Err` here is recorded, then returned
///     Ok(n * 2)
/// }
/// # assert!(parse("x").is_err());
/// # assert_eq!(parse("21"), Ok(42));
/// ```
///
/// # Streams
///
/// A synchronous function that returns a stream is observed until the stream ends, not until
/// it returns: its observation moves into the stream, which makes it current while it is
/// polled (so what runs to produce an item is its child), and ends it when the stream yields
/// its last item, or when the stream is dropped before that (level `WARNING`, "cancelled").
/// The return types recognized are `impl Stream<Item = T>` (with any further bounds),
/// `Pin<Box<dyn Stream<Item = T> + ..>>`, and the `futures` aliases `BoxStream<'a, T>` and
/// `LocalBoxStream<'a, T>`; `stream = bool` overrides the choice. A boxed stream is boxed
/// once more to carry the observation.
///
/// Items are captured as they pass, within the capture budget: the output is their text
/// joined when every item is a string (a stream of tokens), otherwise the list of items. In a
/// stream of `Result`s, an `Err` item sets level `ERROR` with its `Display` as status message,
/// and the `Ok` values are the items. For a generation (and the other generation-like types),
/// the time of the first item that carries content is recorded as the completion start time,
/// from which Langfuse shows the time to first token. An item captured as `null` or `""` (a
/// `stream_item` mapper returning `None` or an empty string, as for OpenAI's first chunk,
/// which only names the role) carries no content: it neither starts the completion nor
/// appears in the output. With `capture_output = false`, every item that is not an `Err`
/// counts.
///
/// ```
/// # use langfuse::observe;
/// use futures::stream::{self, BoxStream, StreamExt};
///
/// #[observe(as_type = "generation")]
/// fn complete(prompt: &str) -> BoxStream<'static, Result<String, std::io::Error>> {
///     let tokens: Vec<_> = prompt.split_inclusive(' ').map(|t| Ok(t.to_uppercase())).collect();
///     stream::iter(tokens).boxed() // output "HELLO WORLD", once the stream is read
/// }
///
/// # futures::executor::block_on(async {
/// let mut tokens = complete("hello world");
/// let mut text = String::new();
/// while let Some(token) = tokens.next().await {
///     text.push_str(&token?);
/// } // the observation ends here, when the stream does
/// # assert_eq!(text, "HELLO WORLD");
/// # Ok::<(), std::io::Error>(())
/// # }).unwrap();
/// ```
///
/// An `async fn` that returns a stream is observed until its future completes, as any other
/// `async fn`, and the stream it returns is not observed. Build the stream in a synchronous
/// function returning `impl Stream` (with `futures::stream::unfold`, an `async_stream`
/// block, ...) to observe it to its end.
///
/// That includes an `async fn` returning `Result<impl Stream, E>`, such as async-openai's
/// `create_stream`: make the call the stream's first step with `stream::once(..)` and
/// `try_flatten`, so that the request's error becomes the stream's first (`Err`) item:
///
/// ```
/// # use langfuse::observe;
/// use futures::stream::{self, BoxStream, Stream, TryStreamExt};
///
/// struct Chunk {
///     content: Option<String>,
/// }
///
/// // Stands in for `client.chat().create_stream(request)`.
/// async fn create_stream(prompt: String) -> Result<BoxStream<'static, Result<Chunk, std::io::Error>>, std::io::Error> {
///     let chunks = [None, Some(prompt)].map(|content| Ok(Chunk { content }));
///     Ok(Box::pin(stream::iter(chunks)))
/// }
///
/// #[observe(as_type = "generation", stream_item = |c: &Chunk| c.content.clone())]
/// fn chat(prompt: String) -> impl Stream<Item = Result<Chunk, std::io::Error>> {
///     stream::once(create_stream(prompt)).try_flatten()
/// }
/// # futures::executor::block_on(async {
/// #     let chunks: Vec<Chunk> = chat("hi".into()).try_collect().await.unwrap();
/// #     assert_eq!(chunks.len(), 2);
/// # });
/// ```
///
/// (`langfuse::openai`, feature `async-openai`, does this for async-openai's client.)
///
/// # Async functions and methods
///
/// An `async fn` is observed while its future runs: the observation is current on every poll,
/// so observed functions it awaits are its children, whichever thread polls it. This works in
/// any runtime, for free functions, methods, trait implementations (`async fn` in traits) and
/// `#[async_trait]` methods (put `#[observe]` below `#[async_trait]`, on the method). A plain
/// function returning `Box::pin(async move { .. })` or `async move { .. }` is observed from
/// the call until its future completes.
///
/// ```
/// # use langfuse::observe;
/// # struct Index;
/// # impl Index { async fn lookup(&self, _: &str) -> Vec<String> { vec![] } }
/// struct Agent {
///     index: Index,
/// }
///
/// impl Agent {
///     #[observe(as_type = "retriever")]
///     async fn retrieve(&self, question: &str) -> Vec<String> {
///         self.index.lookup(question).await
///     }
///
///     #[observe(as_type = "agent")]
///     async fn answer(&self, question: String) -> String {
///         let documents = self.retrieve(&question).await; // a child of `answer`
///         format!("{} documents", documents.len())
///     }
/// }
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// #     let agent = Agent { index: Index };
/// #     assert_eq!(agent.answer("why?".into()).await, "0 documents");
/// # }
/// ```
///
/// Context does not follow `tokio::spawn` or `std::thread::spawn` by itself: spawn with
/// [`langfuse::spawn`](https://docs.rs/langfuse-rust/latest/langfuse/fn.spawn.html), or wrap the
/// future with
/// [`in_current_observation()`](https://docs.rs/langfuse-rust/latest/langfuse/trait.ObservationExt.html).
///
/// # What it expands to
///
/// The signature is kept as written. The body becomes: a static descriptor (name, type, capture
/// settings); a start call (`start_under` with `parent`) that captures the arguments only if
/// the observation is recorded; the original body, in a closure (sync) or an async block
/// (async) so that `return` and `?` stay inside it; and an end call that records the outcome
/// (for an async block, the future wrapping it records the outcome when the block completes),
/// or, for a returned stream, a wrapper that records each item and ends with the stream. A
/// function returning `()` has nothing to split into output and error: its end records `null`.
/// `cargo expand` shows it; it reads like this for a synchronous function:
///
/// ```text
/// fn add(a: u32, b: u32) -> u32 {
///     static __LANGFUSE_DESCRIPTOR: Descriptor = Descriptor::new("add", Span, Inherit, Inherit);
///     let __langfuse_observation = SyncObservation::start(&__LANGFUSE_DESCRIPTOR)
///         .with_input(|input| { /* "a", "b" */ });
///     let __langfuse_result = call_once(move || -> u32 { a + b });
///     __langfuse_observation.end(|outcome| { /* output, or error */ });
///     __langfuse_result
/// }
/// ```
///
/// # Compile errors
///
/// Unknown, duplicated or ill-typed arguments, a `skip` naming no parameter, a `parent` that is
/// no parent, `stream_item` on a function that returns no stream, and functions that cannot be
/// observed are compile errors that point at the offending token. The function is
/// still emitted as written, so its callers keep compiling while the error is fixed.
///
/// ```compile_fail
/// # use langfuse::observe;
/// #[observe] // error: `#[observe]` cannot be applied to a `const fn`
/// const fn answer() -> u32 {
///     42
/// }
/// ```
///
/// ```compile_fail
/// # use langfuse::observe;
/// #[observe(as_type = "event")] // error: a function cannot be an `event`
/// fn happened() {}
/// ```
///
/// ```compile_fail
/// # use langfuse::observe;
/// #[observe(stream_item = |n: &u32| n * 2)] // error: `stream_item` needs a function that
/// fn double(n: u32) -> u32 {                 // returns a stream
///     n * 2
/// }
/// ```
#[proc_macro_attribute]
pub fn observe(
    args: proc_macro::TokenStream,
    item: proc_macro::TokenStream,
) -> proc_macro::TokenStream {
    observe_tokens(args.into(), item.into()).into()
}

/// The macro on `proc_macro2` tokens, so that tests can run it.
fn observe_tokens(args: TokenStream, item: TokenStream) -> TokenStream {
    let expanded = syn::parse2::<args::ObserveArgs>(args).and_then(|args| {
        let function = syn::parse2::<item::ItemFn>(item.clone())?;
        expand::gen_function(&args, &function)
    });
    match expanded {
        Ok(tokens) => tokens,
        // Keep the function as written beside the error, so its callers still compile and
        // rust-analyzer still understands it.
        Err(error) => {
            let mut tokens = error.into_compile_error();
            tokens.extend(item);
            tokens
        }
    }
}
