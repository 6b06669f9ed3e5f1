//! Functions that never return.
#![deny(warnings, unused)]

use langfuse::observe;

#[observe]
fn fail(reason: &str) -> ! {
    panic!("{reason}")
}

#[observe]
async fn fail_async(reason: String) -> ! {
    panic!("{reason}")
}

#[observe]
fn spin(stop: bool) -> ! {
    loop {
        if stop {
            std::process::exit(0);
        }
    }
}

pub fn main() {
    std::panic::set_hook(Box::new(|_| {}));
    assert!(std::panic::catch_unwind(|| fail("boom")).is_err());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        runtime.block_on(fail_async("boom".to_owned()))
    }));
    assert!(result.is_err());
    let _ = std::panic::take_hook();
    let _: fn(bool) -> ! = spin;
}
