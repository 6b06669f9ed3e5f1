//! Observations without the macro: `start_observation` with a type, explicit times (importing
//! past work), explicit parents (another observation, a remote `traceparent`), `enter()` to
//! make one current, ending on drop; and `create_event` for points in time.
//!
//! Read from the in-memory recorder (`langfuse::testing`), except the test of what happens
//! before `init()`: it sets the keys in the environment and starts the process-wide client,
//! so it runs in a process of its own (`own_process!`) against its own receiver.

mod support;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use langfuse::testing::{self, Recorder};
use langfuse::{
    Level, ObservationContext, ObservationType, create_event, observe, start_observation,
    update_current_generation, update_current_span, update_current_trace,
};
use serde_json::json;
use support::Receiver;
use support::recorded::{self, Attributes as _};
use support::setup::{self, Tree, WAIT};

#[test]
fn imported_work_arrives_with_its_type_and_exact_nanosecond_times() {
    // 2023-11-14T22:13:20.123456789Z, a day-old batch job that ran for 42 s and 1 ns.
    const STARTED: u64 = 1_700_000_000_123_456_789;
    const ENDED: u64 = STARTED + 42_000_000_001;
    let recording = testing::record(|| {
        let started = UNIX_EPOCH + Duration::from_nanos(STARTED);
        let mut import = start_observation("nightly-embedding")
            .as_type(ObservationType::Embedding)
            .start_time(started)
            .start();
        import.update(|embedding| {
            embedding
                .model("text-embedding-3-small")
                .usage_details(&json!({ "input": 9000 }));
        });
        import.end_at(UNIX_EPOCH + Duration::from_nanos(ENDED));
    });

    assert_eq!(recording.len(), 1);
    let span = &recording.observations()[0];
    assert_eq!(span.name(), "nightly-embedding");
    assert_eq!(
        span.str_attr("langfuse.observation.type"),
        Some("embedding")
    );
    assert_eq!(recorded::unix_nanos(span), (STARTED, ENDED));
    assert_eq!(
        span.str_attr("langfuse.observation.model.name"),
        Some("text-embedding-3-small")
    );
    assert_eq!(span.parent_id(), None, "a new trace");
}

#[test]
fn every_type_is_sent_as_its_lowercase_name() {
    let recording = testing::record(|| {
        for kind in ObservationType::ALL {
            start_observation(format!("a {kind}"))
                .as_type(kind)
                .start()
                .end();
        }
    });

    assert_eq!(recording.len(), ObservationType::ALL.len());
    for kind in ObservationType::ALL {
        assert_eq!(
            recording
                .one(&format!("a {kind}"))
                .str_attr("langfuse.observation.type"),
            Some(kind.as_str())
        );
    }
}

#[test]
fn a_context_from_another_observation_makes_a_child_and_a_traceparent_a_remote_root() {
    const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
    const CALLER: &str = "00f067aa0ba902b7";
    let recorder = Recorder::new();
    let (batch_trace, batch_id) = recorder.in_scope(|| {
        let batch = start_observation("batch").start();
        let item = start_observation("item").parent(batch.context()).start();
        let batch_trace = batch.trace_id().unwrap().to_string();
        let batch_id = batch.id().unwrap().to_string();
        item.end();
        batch.end();

        let remote =
            ObservationContext::from_traceparent(&format!("00-{TRACE}-{CALLER}-01")).unwrap();
        let job = start_observation("job").parent(remote).start();
        let step = start_observation("step").parent(job.context()).start();
        step.end();
        job.end();
        (batch_trace, batch_id)
    });

    let recording = recorder.recording();
    assert_eq!(recording.len(), 4);
    let item = recording.one("item");
    assert_eq!(item.trace_id().to_string(), batch_trace);
    assert_eq!(item.parent_id().map(|id| id.to_string()), Some(batch_id));
    recorded::assert_child(&recording, "item", "batch");
    for local in ["batch", "item"] {
        assert!(!recording.one(local).has_attr("langfuse.internal.as_root"));
    }

    let job = recording.one("job");
    assert_eq!(job.trace_id().to_string(), TRACE, "the caller's trace");
    assert_eq!(
        job.parent_id().map(|id| id.to_string()).as_deref(),
        Some(CALLER)
    );
    for key in ["langfuse.internal.as_root", "langfuse.internal.is_app_root"] {
        assert_eq!(
            job.bool_attr(key),
            Some(true),
            "the first observation under a remote parent is this service's root ({key})"
        );
    }
    recorded::assert_child(&recording, "step", "job");
    assert!(
        !recording.one("step").has_attr("langfuse.internal.as_root"),
        "only the first one"
    );
}

#[observe(capture_input = false, capture_output = false)]
fn observed_child() {}

#[test]
fn an_entered_observation_is_current_for_observe_children_and_updates() {
    let recording = testing::record(|| {
        let mut generation = start_observation("llm-callback")
            .as_type(ObservationType::Generation)
            .start();
        let id = generation.id();
        assert!(id.is_some());
        {
            let _current = generation.enter();
            assert_eq!(langfuse::current_observation_id(), id);
            observed_child();
            update_current_span(|span| {
                span.metadata(&json!({ "entered": true }))
                    .level(Level::Debug);
            });
            update_current_generation(|generation| {
                generation.model("gpt-4o-mini");
            });
            update_current_trace(|trace| {
                trace.user_id("user-42");
            });
        }
        assert_eq!(langfuse::current_observation_id(), None, "left on drop");
        // Updates after the guard dropped go nowhere; the handle still updates directly.
        update_current_span(|span| {
            span.name("not applied");
        });
        generation.update(|generation| {
            generation.output("done");
        });
        generation.end();
    });

    assert_eq!(recording.len(), 2);
    recorded::assert_child(&recording, "observed_child", "llm-callback");
    let generation = recording.one("llm-callback");
    assert_eq!(
        generation.json_attr("langfuse.observation.metadata"),
        json!({ "entered": true })
    );
    assert_eq!(
        generation.str_attr("langfuse.observation.level"),
        Some("DEBUG")
    );
    assert_eq!(
        generation.str_attr("langfuse.observation.model.name"),
        Some("gpt-4o-mini")
    );
    assert_eq!(
        generation.str_attr("langfuse.observation.output"),
        Some("done")
    );
    assert_eq!(generation.str_attr("user.id"), Some("user-42"));
    assert_eq!(
        recording.one("observed_child").str_attr("user.id"),
        None,
        "it ended before the trace update"
    );
}

#[test]
fn an_observation_ends_when_dropped_on_any_thread() {
    let before = SystemTime::now();
    let recording = testing::record(|| {
        {
            let _scoped = start_observation("dropped-here").start();
        }
        let moved = start_observation("dropped-on-another-thread").start();
        std::thread::spawn(move || drop(moved)).join().unwrap();
    });
    let after = SystemTime::now();

    assert_eq!(recording.len(), 2);
    let unix = |t: SystemTime| t.duration_since(UNIX_EPOCH).unwrap().as_nanos() as u64;
    // The exporter converts clock readings to Unix time; its calibration gets a generous margin.
    let (low, high) = (unix(before) - 1_000_000_000, unix(after) + 1_000_000_000);
    for name in ["dropped-here", "dropped-on-another-thread"] {
        let (start, end) = recorded::unix_nanos(recording.one(name));
        assert!(start <= end, "{name}");
        assert!(low <= start && end <= high, "{name} ended when dropped");
    }
    assert_eq!(recording.traces().len(), 2, "two separate roots");
}

#[observe(capture_input = false, capture_output = false)]
fn handler_with_events() {
    create_event("cache-miss", |event| {
        event
            .input(&json!({ "key": "user:42" }))
            .metadata(&json!({ "cache": "redis", "ttl_s": 60 }))
            .level(Level::Warning)
            .status_message("cold cache");
    });
    create_event("plain", |_| {});
}

#[test]
fn create_event_records_a_point_in_time_under_the_current_observation() {
    let recording = testing::record(handler_with_events);

    assert_eq!(recording.len(), 3);
    recorded::assert_child(&recording, "cache-miss", "handler_with_events");
    recorded::assert_child(&recording, "plain", "handler_with_events");
    let event = recording.one("cache-miss");
    assert_eq!(event.str_attr("langfuse.observation.type"), Some("event"));
    assert_eq!(
        event.start_time(),
        event.end_time(),
        "an event has no duration"
    );
    assert_eq!(
        event.json_attr("langfuse.observation.input"),
        json!({ "key": "user:42" })
    );
    assert_eq!(
        event.json_attr("langfuse.observation.metadata"),
        json!({ "cache": "redis", "ttl_s": 60 })
    );
    assert_eq!(
        event.str_attr("langfuse.observation.level"),
        Some("WARNING")
    );
    assert_eq!(
        event.str_attr("langfuse.observation.status_message"),
        Some("cold cache")
    );
    let plain = recording.one("plain");
    assert_eq!(plain.str_attr("langfuse.observation.type"), Some("event"));
    assert_eq!(plain.start_time(), plain.end_time());
}

#[observe(capture_input = false, capture_output = false)]
fn early_work() {}

#[test]
fn events_and_observations_before_init_are_recorded_and_shipped_once_the_client_is_up() {
    own_process!();
    let receiver = Receiver::start();
    // SAFETY: the test runs in its own process; the receiver's thread reads no environment
    // variables.
    unsafe {
        std::env::set_var("LANGFUSE_PUBLIC_KEY", setup::PUBLIC_KEY);
        std::env::set_var("LANGFUSE_SECRET_KEY", setup::SECRET_KEY);
        std::env::set_var("LANGFUSE_BASE_URL", receiver.base_url());
    }

    // A library's event at startup, before the application calls init().
    create_event("early-event", |event| {
        event.input("before init");
    });
    early_work();
    start_observation("early-manual").start().end();

    let langfuse = setup::init(&receiver);
    assert!(langfuse.flush(WAIT).is_complete());
    let tree = Tree::new(receiver.wait_for_spans(3, WAIT));
    let event = tree.one("early-event");
    assert_eq!(event.str_attr("langfuse.observation.type"), Some("event"));
    assert_eq!(
        event.str_attr("langfuse.observation.input"),
        Some("before init")
    );
    tree.one("early_work");
    tree.one("early-manual");
}
