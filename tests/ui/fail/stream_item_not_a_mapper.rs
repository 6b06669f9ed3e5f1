use futures::stream::{self, Stream};
use langfuse::observe;

fn mapper() -> fn(&u8) -> u8 {
    |n| n + 1
}

#[observe(stream_item = mapper())]
fn numbers() -> impl Stream<Item = u8> {
    stream::iter([1, 2])
}

fn main() {
    drop(numbers());
}
