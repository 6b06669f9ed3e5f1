// `shapes.rs` expanded by #[observe]. Regenerate with `LANGFUSE_BLESS=1 cargo test -p langfuse-rust-macros`.

use langfuse::observe;
fn distance(Point { x, y }: Point, (scale, _): (f64, f64)) -> f64 {
    #[allow(unused_imports)]
    use ::langfuse::__private::autoref::*;
    static __LANGFUSE_DESCRIPTOR: ::langfuse::__private::Descriptor = ::langfuse::__private::Descriptor::new(
        "distance",
        ::langfuse::__private::ObservationType::Span,
        ::langfuse::__private::CaptureSetting::Inherit,
        ::langfuse::__private::CaptureSetting::Inherit,
    );
    let __langfuse_observation = ::langfuse::__private::SyncObservation::start(
            &__LANGFUSE_DESCRIPTOR,
        )
        .with_input(|__langfuse_input| {
            (&&&::langfuse::__private::Wrap(&x))
                .__langfuse_capture(__langfuse_input.arg("x"));
            (&&&::langfuse::__private::Wrap(&y))
                .__langfuse_capture(__langfuse_input.arg("y"));
            (&&&::langfuse::__private::Wrap(&scale))
                .__langfuse_capture(__langfuse_input.arg("scale"));
        });
    let __langfuse_result = ::langfuse::__private::call_once(move || -> f64 {
        (x * x + y * y).sqrt() * scale
    });
    __langfuse_observation
        .end(|__langfuse_outcome| {
            match (&&::langfuse::__private::Wrap(&__langfuse_result)).__langfuse_split()
            {
                ::core::result::Result::Ok(__langfuse_value) => {
                    __langfuse_outcome
                        .output(|__langfuse_sink| {
                            (&&&::langfuse::__private::Wrap(__langfuse_value))
                                .__langfuse_capture(__langfuse_sink)
                        })
                }
                ::core::result::Result::Err(__langfuse_error) => {
                    __langfuse_outcome
                        .error(|__langfuse_sink| {
                            (&&&::langfuse::__private::Wrap(__langfuse_error))
                                .__langfuse_describe(__langfuse_sink)
                        })
                }
            }
        });
    #[allow(clippy::implicit_return)] __langfuse_result
}
fn evens(limit: u32) -> impl Iterator<Item = u32> {
    #[allow(unused_imports)]
    use ::langfuse::__private::autoref::*;
    static __LANGFUSE_DESCRIPTOR: ::langfuse::__private::Descriptor = ::langfuse::__private::Descriptor::new(
        "evens",
        ::langfuse::__private::ObservationType::Span,
        ::langfuse::__private::CaptureSetting::Inherit,
        ::langfuse::__private::CaptureSetting::Inherit,
    );
    let __langfuse_observation = ::langfuse::__private::SyncObservation::start(
            &__LANGFUSE_DESCRIPTOR,
        )
        .with_input(|__langfuse_input| {
            (&&&::langfuse::__private::Wrap(&limit))
                .__langfuse_capture(__langfuse_input.arg("limit"));
        });
    let __langfuse_result = ::langfuse::__private::call_once(move || {
        (0..limit).filter(|n| n % 2 == 0)
    });
    __langfuse_observation
        .end(|__langfuse_outcome| {
            match (&&::langfuse::__private::Wrap(&__langfuse_result)).__langfuse_split()
            {
                ::core::result::Result::Ok(__langfuse_value) => {
                    __langfuse_outcome
                        .output(|__langfuse_sink| {
                            (&&&::langfuse::__private::Wrap(__langfuse_value))
                                .__langfuse_capture(__langfuse_sink)
                        })
                }
                ::core::result::Result::Err(__langfuse_error) => {
                    __langfuse_outcome
                        .error(|__langfuse_sink| {
                            (&&&::langfuse::__private::Wrap(__langfuse_error))
                                .__langfuse_describe(__langfuse_sink)
                        })
                }
            }
        });
    #[allow(clippy::implicit_return)] __langfuse_result
}
fn fail(reason: &str) -> ! {
    #[allow(unused_imports)]
    use ::langfuse::__private::autoref::*;
    static __LANGFUSE_DESCRIPTOR: ::langfuse::__private::Descriptor = ::langfuse::__private::Descriptor::new(
        "fail",
        ::langfuse::__private::ObservationType::Span,
        ::langfuse::__private::CaptureSetting::Inherit,
        ::langfuse::__private::CaptureSetting::Inherit,
    );
    let __langfuse_observation = ::langfuse::__private::SyncObservation::start(
            &__LANGFUSE_DESCRIPTOR,
        )
        .with_input(|__langfuse_input| {
            (&&&::langfuse::__private::Wrap(&reason))
                .__langfuse_capture(__langfuse_input.arg("reason"));
        });
    ::langfuse::__private::call_once(move || { panic!("{reason}") })
}
fn reexported() {
    static __LANGFUSE_DESCRIPTOR: my_app::telemetry::langfuse::__private::Descriptor = my_app::telemetry::langfuse::__private::Descriptor::new(
        "reexported",
        my_app::telemetry::langfuse::__private::ObservationType::Span,
        my_app::telemetry::langfuse::__private::CaptureSetting::Inherit,
        my_app::telemetry::langfuse::__private::CaptureSetting::Inherit,
    );
    let __langfuse_observation = my_app::telemetry::langfuse::__private::SyncObservation::start(
        &__LANGFUSE_DESCRIPTOR,
    );
    my_app::telemetry::langfuse::__private::call_once(move || -> () {});
    __langfuse_observation.end_unit();
}
fn log(event: &str) {
    #[allow(unused_imports)]
    use ::langfuse::__private::autoref::*;
    static __LANGFUSE_DESCRIPTOR: ::langfuse::__private::Descriptor = ::langfuse::__private::Descriptor::new(
        "log",
        ::langfuse::__private::ObservationType::Span,
        ::langfuse::__private::CaptureSetting::Inherit,
        ::langfuse::__private::CaptureSetting::Inherit,
    );
    let __langfuse_observation = ::langfuse::__private::SyncObservation::start(
            &__LANGFUSE_DESCRIPTOR,
        )
        .with_input(|__langfuse_input| {
            (&&&::langfuse::__private::Wrap(&event))
                .__langfuse_capture(__langfuse_input.arg("event"));
        });
    ::langfuse::__private::call_once(move || -> () {
        println!("{event}");
    });
    __langfuse_observation.end_unit();
}
