//! A process of its own for the tests that need one: those that start the process-wide client
//! with a configuration of their own, shut it down, or look at the state before `init()`.
//!
//! Under plain `cargo test` the tests of one binary share a process. A test that begins with
//! [`own_process!`](crate::own_process) re-runs the test binary for itself alone
//! (`--exact <name>`), with an environment variable telling the child that it is the one to
//! run the body, and passes when the child passes; the child's output is shown when it does
//! not. Under cargo-nextest, which already runs every test in its own process, the body runs
//! in place.

use std::process::Command;

/// Set in the child process to the name of the test it runs.
const CHILD_VAR: &str = "LANGFUSE_TEST_OWN_PROCESS";

/// Makes the calling test run in a process of its own; see the module documentation. In the
/// parent, returns from the test once the child has passed (and fails it otherwise).
#[macro_export]
macro_rules! own_process {
    () => {{
        fn here() {}
        if !$crate::support::process::enter(::std::any::type_name_of_val(&here)) {
            return;
        }
    }};
}

/// Whether the body of the test whose marker function is `marker` (a path like
/// `shutdown::deadline_holds::here`) runs in this process. Runs it in a child otherwise.
pub fn enter(marker: &str) -> bool {
    let test = test_name(marker);
    if std::env::var(CHILD_VAR).is_ok_and(|name| name == test) {
        return true;
    }
    if std::env::var_os("NEXTEST").is_some() {
        // nextest runs each test in a process of its own already.
        return true;
    }
    run_in_child(&test);
    false
}

/// The test's name as the harness knows it (the path without the crate and the marker):
/// `shutdown::deadline_holds::here` is `deadline_holds`; `a::b::{{closure}}::here` is `a::b`.
pub fn test_name(marker: &str) -> String {
    let path: Vec<&str> = marker
        .split("::")
        .skip(1) // the test binary's crate
        .filter(|segment| !segment.starts_with("{{"))
        .collect();
    let (_marker, test) = path.split_last().expect("a test path");
    test.join("::")
}

fn run_in_child(test: &str) {
    let executable = std::env::current_exe().expect("the test binary's path");
    let output = Command::new(executable)
        .args([test, "--exact", "--test-threads=1", "--nocapture"])
        .env(CHILD_VAR, test)
        .output()
        .expect("the test binary runs again");
    let ran = String::from_utf8_lossy(&output.stdout).contains("1 passed");
    if !output.status.success() || !ran {
        panic!(
            "`{test}` failed in its own process ({}):\n--- stdout\n{}\n--- stderr\n{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr),
        );
    }
}
