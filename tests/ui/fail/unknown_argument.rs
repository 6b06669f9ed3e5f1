use langfuse::observe;

#[observe(level = "debug")]
fn handle() {}

fn main() {
    handle();
}
