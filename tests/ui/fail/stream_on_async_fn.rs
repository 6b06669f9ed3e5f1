use futures::stream::{self, Stream};
use langfuse::observe;

#[observe(stream = true)]
async fn numbers() -> impl Stream<Item = u8> {
    stream::iter([1, 2])
}

fn main() {
    drop(numbers());
}
