// A body that does not parse is still expanded, and rustc reports its own error, once.
use langfuse::observe;

#[observe]
fn broken(a: u32) -> u32 {
    let b = ;
    a + b
}

fn main() {
    broken(1);
}
