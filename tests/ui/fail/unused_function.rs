// An observed function that nobody calls is still reported, and only it.
#![deny(dead_code)]

use langfuse::observe;

#[observe]
fn never_called(a: u32) -> u32 {
    a
}

#[observe]
async fn never_awaited() {}

fn main() {}
