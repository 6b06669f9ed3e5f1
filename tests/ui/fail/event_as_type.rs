use langfuse::observe;

#[observe(as_type = "event")]
fn happened() {}

fn main() {
    happened();
}
