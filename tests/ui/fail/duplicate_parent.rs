use langfuse::observe;

#[observe(parent = traceparent, parent = None::<&str>)]
fn handle(traceparent: Option<&str>) -> bool {
    traceparent.is_some()
}

fn main() {
    handle(None);
}
