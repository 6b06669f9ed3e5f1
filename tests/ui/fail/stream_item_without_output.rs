use futures::stream::{self, Stream};
use langfuse::observe;

#[observe(capture_output = false, stream_item = |n: &u8| n + 1)]
fn numbers() -> impl Stream<Item = u8> {
    stream::iter([1, 2])
}

fn main() {
    drop(numbers());
}
