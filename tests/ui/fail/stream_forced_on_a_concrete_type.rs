// `stream = true` on a named type that is not a boxed stream: the observed stream cannot be
// returned as that type.
use futures::stream::{self, Iter};
use langfuse::observe;

#[observe(stream = true)]
fn numbers() -> Iter<std::vec::IntoIter<u8>> {
    stream::iter(vec![1, 2])
}

fn main() {
    drop(numbers());
}
