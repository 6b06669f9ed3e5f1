// A parent that is not a traceparent, a context or an Option of those: the error points at it.
use langfuse::observe;

#[observe(parent = request_id)]
fn handle(request_id: u64) -> u64 {
    request_id
}

fn main() {
    handle(7);
}
