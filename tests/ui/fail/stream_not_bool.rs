use futures::stream::{self, Stream};
use langfuse::observe;

#[observe(stream = "yes")]
fn tokens() -> impl Stream<Item = u8> {
    stream::iter([1, 2])
}

fn main() {
    drop(tokens());
}
