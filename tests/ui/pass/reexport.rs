//! `crate = path` reaches the runtime through a re-export.
#![deny(warnings, unused)]

mod telemetry {
    pub use langfuse as lf;
}

use langfuse::observe;

#[observe(crate = self::telemetry::lf, name = "via-reexport")]
fn handle(request: u32) -> u32 {
    request + 1
}

#[observe(crate = ::langfuse)]
async fn absolute() -> u8 {
    1
}

#[tokio::main(flavor = "current_thread")]
pub async fn main() {
    assert_eq!(handle(1), 2);
    assert_eq!(absolute().await, 1);
}
