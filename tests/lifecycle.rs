//! Starting, flushing and stopping the client: configuration errors, disabled mode, the
//! guard, idempotent shutdown, refusal after shutdown, and flushing from every kind of
//! thread and runtime without deadlock.

mod support;

use std::time::{Duration, Instant};

use langfuse::{ConfigError, DisabledReason, Error, Langfuse, TraceId, observe};
use support::Receiver;
use support::setup::{self, WAIT};

#[observe]
fn work(n: u32) -> u32 {
    n + 1
}

#[test]
fn without_keys_tracing_is_disabled_and_costs_nothing() {
    own_process!();
    let guard = Langfuse::builder().ignore_environment().init().unwrap();
    assert!(!guard.is_enabled());
    assert_eq!(
        Langfuse::builder()
            .ignore_environment()
            .build()
            .unwrap()
            .disabled_reason(),
        Some(DisabledReason::MissingKeys {
            public_key_missing: true,
            secret_key_missing: true
        })
    );
    assert_eq!(work(1), 2);
    assert_eq!(langfuse::current_trace_id(), None);
    let stats = guard.stats();
    assert_eq!((stats.started, stats.dropped_sampling), (0, 0));
    assert!(guard.flush(Duration::from_secs(1)).is_complete());
}

#[test]
fn an_invalid_value_is_a_typed_error_naming_the_variable() {
    own_process!();
    // SAFETY: this test runs in a process of its own (`own_process!`), where no other thread
    // exists yet.
    unsafe { std::env::set_var("LANGFUSE_FLUSH_AT", "lots") };
    match langfuse::init() {
        Err(Error::Config(ConfigError::InvalidEnv { var, value, .. })) => {
            assert_eq!(var, "LANGFUSE_FLUSH_AT");
            assert_eq!(value, "lots");
        }
        other => panic!("expected an InvalidEnv error, got {other:?}"),
    }
    // Nothing records after a failed init.
    assert_eq!(work(1), 2);
    assert_eq!(langfuse::get_client().stats().started, 0);
}

#[test]
fn a_second_init_is_refused() {
    own_process!();
    let receiver = Receiver::start();
    let first_line = line!() + 1;
    let _guard = setup::config_for(&receiver).init().unwrap();
    let second = setup::config_for(&receiver).init().unwrap_err();
    let Error::AlreadyInitialized { first_call } = &second else {
        panic!("{second}");
    };
    // The error names the call that started the client, in the caller's code.
    assert_eq!(first_call.function(), "init");
    assert_eq!(first_call.location().file(), file!());
    assert_eq!(first_call.location().line(), first_line);
    let message = second.to_string();
    assert!(
        message.contains(&format!("init() at {}:{first_line}:", file!())),
        "{message}"
    );
    // The running client is the first one: a second init started no exporter of its own.
    assert!(langfuse::get_client().is_enabled());
}

#[test]
fn get_client_then_init_names_get_client() {
    own_process!();
    let line = line!() + 1;
    let _client = langfuse::get_client();
    let err = langfuse::init().unwrap_err();
    let Error::AlreadyInitialized { first_call } = &err else {
        panic!("{err}");
    };
    assert_eq!(first_call.function(), "get_client");
    assert_eq!(first_call.location().line(), line);
}

#[test]
fn dropping_the_guard_flushes() {
    own_process!();
    let receiver = Receiver::start();
    let guard = setup::config_for(&receiver)
        .flush_interval(Duration::from_secs(3600))
        .init()
        .unwrap();
    work(1);
    drop(guard);
    assert_eq!(receiver.spans().len(), 1, "shipped before drop returned");
    assert!(!langfuse::get_client().is_enabled());
}

#[test]
fn shutdown_is_idempotent_and_later_work_is_refused_and_counted() {
    own_process!();
    let receiver = Receiver::start();
    let guard = setup::init(&receiver);
    work(1);
    let first = guard.shutdown(WAIT);
    assert!(first.is_complete(), "{first:?}");
    assert_eq!(first.exported, 1);
    let again = Instant::now();
    let second = guard.shutdown(WAIT);
    // At once: the second call does no work and waits for nothing; the bound only leaves room
    // for a busy machine's scheduling.
    assert!(
        again.elapsed() < Duration::from_secs(1),
        "{:?}",
        again.elapsed()
    );
    assert_eq!(second.exported, 0);

    work(2);
    work(3);
    let stats = guard.stats();
    assert_eq!(stats.refused_after_shutdown, 2);
    assert_eq!(stats.exported, 1);
    assert_eq!(receiver.spans().len(), 1);
}

#[test]
fn flush_never_deadlocks_wherever_it_is_called() {
    own_process!();
    let receiver = Receiver::start();
    let guard = setup::init(&receiver);
    let client = guard.client().clone();

    // A plain thread.
    work(1);
    let c = client.clone();
    std::thread::spawn(move || assert!(c.flush(WAIT).is_complete()))
        .join()
        .unwrap();

    // Inside a current-thread runtime: blocking and async forms.
    let current = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    current.block_on(async {
        work(2);
        assert!(client.flush(WAIT).is_complete());
        work(3);
        assert!(client.flush_async(WAIT).await.is_complete());
    });

    // Inside a multi-threaded runtime, and from spawn_blocking.
    let multi = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    multi.block_on(async {
        work(4);
        assert!(client.flush_async(WAIT).await.is_complete());
        let c = client.clone();
        tokio::task::spawn_blocking(move || {
            work(5);
            assert!(c.flush(WAIT).is_complete());
        })
        .await
        .unwrap();
        work(6);
        assert!(client.flush(WAIT).is_complete());
    });

    assert_eq!(receiver.spans().len(), 6);
    assert_eq!(guard.stats().exported, 6);
}

#[test]
fn flush_returns_by_its_deadline_when_the_server_hangs() {
    own_process!();
    let receiver = Receiver::start();
    receiver.respond_with(|_| Some(support::Reply::ok().after(Duration::from_secs(30))));
    let guard = setup::config_for(&receiver)
        .timeout(Duration::from_secs(20))
        .init()
        .unwrap();
    work(1);
    let started = Instant::now();
    let report = guard.flush(Duration::from_millis(300));
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert!(report.timed_out);
    assert_eq!(report.pending, 1);
    let started = Instant::now();
    let report = guard.shutdown(Duration::from_millis(300));
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert!(!report.is_complete());
    assert_eq!(guard.stats().dropped_after_shutdown, 1);
}

#[test]
fn observations_made_before_init_are_shipped_once_the_client_is_up() {
    own_process!();
    // SAFETY: this test runs in a process of its own (`own_process!`), where no other thread
    // exists yet.
    unsafe {
        std::env::set_var("LANGFUSE_PUBLIC_KEY", setup::PUBLIC_KEY);
        std::env::set_var("LANGFUSE_SECRET_KEY", setup::SECRET_KEY);
    }
    // No client yet: the first observation decides from the environment, and records.
    work(1);
    work(2);
    let receiver = Receiver::start();
    let guard = setup::init(&receiver);
    assert!(guard.flush(WAIT).is_complete());
    assert_eq!(receiver.wait_for_spans(2, WAIT).len(), 2);
    assert_eq!(guard.stats().exported, 2);
}

#[test]
fn without_keys_observations_before_init_cost_nothing_and_are_not_kept() {
    own_process!();
    // SAFETY: this test runs in a process of its own (`own_process!`), where no other thread
    // exists yet.
    unsafe {
        std::env::remove_var("LANGFUSE_PUBLIC_KEY");
        std::env::remove_var("LANGFUSE_SECRET_KEY");
    }
    work(1);
    assert_eq!(langfuse::current_trace_id(), None);
    let receiver = Receiver::start();
    let guard = setup::init(&receiver);
    assert!(guard.flush(WAIT).is_complete());
    work(2);
    assert!(guard.flush(WAIT).is_complete());
    assert_eq!(
        receiver.wait_for_spans(1, WAIT).len(),
        1,
        "only the one made after init"
    );
}

/// The `nice` value of this process's thread named `name`, and of the calling thread, read
/// from `/proc` (field 19 of `stat`, after the parenthesized command name).
#[cfg(target_os = "linux")]
fn niceness_of_thread(name: &str) -> (i64, i64) {
    let nice = |stat: &str| -> i64 {
        let after_name = &stat[stat.rfind(')').unwrap() + 2..];
        after_name.split(' ').nth(16).unwrap().parse().unwrap()
    };
    let own = nice(&std::fs::read_to_string("/proc/thread-self/stat").unwrap());
    for task in std::fs::read_dir("/proc/self/task").unwrap() {
        let path = task.unwrap().path();
        let comm = std::fs::read_to_string(path.join("comm")).unwrap();
        // The kernel keeps the first 15 bytes of a thread's name.
        if comm.trim_end() == &name[..name.len().min(15)] {
            return (
                nice(&std::fs::read_to_string(path.join("stat")).unwrap()),
                own,
            );
        }
    }
    panic!("no thread named {name}");
}

#[cfg(target_os = "linux")]
#[test]
fn the_exporter_thread_runs_below_the_service_on_linux() {
    // The binary's shared client has the default niceness; this process has no other exporter.
    let receiver = setup::shared();
    let (exporter, service) = niceness_of_thread("langfuse-exporter");
    assert_eq!(
        exporter,
        (service + 10).min(19),
        "exporter {exporter}, service {service}"
    );
    // Still delivers: a root and its child, found by their trace id.
    #[observe]
    fn request() -> Option<TraceId> {
        assert_eq!(work(1), 2);
        langfuse::current_trace_id()
    }
    let trace_id = request().expect("recorded");
    assert_eq!(receiver.wait_for_trace(trace_id, 2, WAIT).len(), 2);
}

#[cfg(target_os = "linux")]
#[test]
fn exporter_niceness_zero_keeps_the_service_priority() {
    own_process!();
    let receiver = Receiver::start();
    let _guard = setup::config_for(&receiver)
        .exporter_niceness(0)
        .init()
        .unwrap();
    let (exporter, service) = niceness_of_thread("langfuse-exporter");
    assert_eq!(exporter, service);
}
