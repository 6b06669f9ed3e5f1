use langfuse::observe;

#[observe(stream = true)]
fn numbers() {}

fn main() {
    numbers();
}
