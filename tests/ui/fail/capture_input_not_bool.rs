use langfuse::observe;

#[observe(capture_input = "no")]
fn handle(secret: &str) -> usize {
    secret.len()
}

fn main() {
    handle("x");
}
