// Type errors in the body point at the user's code, not at the attribute.
use langfuse::observe;

#[observe]
fn count(items: &[u8]) -> u32 {
    items.len()
}

#[observe]
async fn fetch(url: &str) -> Result<String, std::io::Error> {
    if url.is_empty() {
        return Err("empty url");
    }
    Ok(url.to_owned())
}

fn main() {
    count(&[]);
    drop(fetch("u"));
}
