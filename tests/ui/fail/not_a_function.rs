use langfuse::observe;

#[observe]
struct Handler;

fn main() {
    let _ = Handler;
}
