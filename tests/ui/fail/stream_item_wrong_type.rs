// A mapper that does not take the stream's items: the error points at it.
use futures::stream::{self, Stream};
use langfuse::observe;

#[observe(stream_item = |token: &String| token.len())]
fn numbers() -> impl Stream<Item = u8> {
    stream::iter([1, 2])
}

fn main() {
    drop(numbers());
}
