// Synchronous functions returning streams: the observation moves into the stream, which
// captures each item and ends it when the stream ends or is dropped.
use langfuse::observe;

#[observe(as_type = "generation")]
fn tokens(prompt: &str) -> impl Stream<Item = String> + Send {
    llm.stream(prompt)
}

#[observe(as_type = "generation", stream_item = |chunk: &ChatChunk| chunk.delta.clone())]
fn chat(request: ChatRequest) -> Pin<Box<dyn Stream<Item = Result<ChatChunk, ApiError>> + Send>> {
    Box::pin(client.chat_stream(request))
}

#[observe(capture_output = false)]
fn rows<'a>(query: &'a str) -> BoxStream<'a, Row> {
    db.query(query).boxed()
}
