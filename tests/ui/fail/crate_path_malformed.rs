use langfuse::observe;

#[observe(crate = langfuse::)]
fn handle() {}

fn main() {
    handle();
}
