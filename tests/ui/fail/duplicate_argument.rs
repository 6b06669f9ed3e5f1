use langfuse::observe;

#[observe(name = "first", as_type = "tool", name = "second")]
fn handle() {}

fn main() {
    handle();
}
