//! The trybuild pass cases, built again as modules of an ordinary test so that
//! `cargo clippy --all-targets -- -D warnings` lints the code `#[observe]` generates in every
//! shape, as it would in a user's crate.

#[path = "ui/pass/async_fn.rs"]
mod async_fn;
#[path = "ui/pass/async_trait.rs"]
mod async_trait;
#[path = "ui/pass/generics.rs"]
mod generics;
#[path = "ui/pass/methods.rs"]
mod methods;
#[path = "ui/pass/never.rs"]
mod never;
#[path = "ui/pass/opaque.rs"]
mod opaque;
#[path = "ui/pass/parent.rs"]
mod parent;
#[path = "ui/pass/patterns.rs"]
mod patterns;
#[path = "ui/pass/reexport.rs"]
mod reexport;
#[path = "ui/pass/streams.rs"]
mod streams;
#[path = "ui/pass/sync_fn.rs"]
mod sync_fn;
#[path = "ui/pass/unsafe_extern.rs"]
mod unsafe_extern;

#[test]
fn pass_cases_run() {
    async_fn::main();
    async_trait::main();
    generics::main();
    methods::main();
    never::main();
    opaque::main();
    parent::main();
    patterns::main();
    reexport::main();
    streams::main();
    sync_fn::main();
    unsafe_extern::main();
}
