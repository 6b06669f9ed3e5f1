use langfuse::observe;

#[observe(name = retrieve)]
fn search(query: &str) -> usize {
    query.len()
}

fn main() {
    search("x");
}
