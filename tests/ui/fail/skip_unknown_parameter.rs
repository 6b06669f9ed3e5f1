use langfuse::observe;

#[observe(skip(client, token))]
fn fetch(client: &str, url: &str) -> usize {
    client.len() + url.len()
}

fn main() {
    fetch("c", "u");
}
