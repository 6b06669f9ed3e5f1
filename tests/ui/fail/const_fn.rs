use langfuse::observe;

#[observe]
const fn answer() -> u32 {
    42
}

fn main() {
    answer();
}
