use langfuse::observe;

#[observe(skip(a), skip(b))]
fn handle(a: u8, b: u8) -> u8 {
    a + b
}

fn main() {
    handle(1, 2);
}
