use langfuse::observe;

#[observe(as_type = "llm")]
fn complete(prompt: &str) -> String {
    prompt.to_owned()
}

fn main() {
    complete("hi");
}
