//! Compile-time behaviour of `#[observe]`: every file in `tests/ui/pass` builds and runs, every
//! file in `tests/ui/fail` fails with the committed `.stderr`. Bless changed messages with
//! `TRYBUILD=overwrite cargo test --test ui`.

#[test]
fn ui() {
    let cases = trybuild::TestCases::new();
    cases.pass("tests/ui/pass/*.rs");
    cases.compile_fail("tests/ui/fail/*.rs");
}
