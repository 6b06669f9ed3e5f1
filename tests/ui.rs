//! Compile-time behaviour of `#[observe]`: every file in `tests/ui/fail` fails with the
//! committed `.stderr`. Bless changed messages with `TRYBUILD=overwrite cargo test --test ui`.
//!
//! The files in `tests/ui/pass` are built and run by `tests/ui_pass.rs`, as modules of an
//! ordinary test (so that clippy lints the generated code too); building each again as a
//! crate of its own here would only double the time this test takes.

#[test]
fn ui() {
    trybuild::TestCases::new().compile_fail("tests/ui/fail/*.rs");
}
