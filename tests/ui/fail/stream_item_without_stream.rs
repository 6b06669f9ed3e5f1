use langfuse::observe;

#[observe(stream_item = |token: &String| token.len())]
fn tokens() -> Vec<String> {
    vec!["a".to_owned()]
}

fn main() {
    tokens();
}
