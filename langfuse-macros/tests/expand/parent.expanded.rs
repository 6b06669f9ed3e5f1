// `parent.rs` expanded by #[observe]. Regenerate with `LANGFUSE_BLESS=1 cargo test -p langfuse-rust-macros`.

use langfuse::observe;
fn handle(traceparent: Option<&str>, body: String) -> usize {
    #[allow(unused_imports)]
    use ::langfuse::__private::autoref::*;
    static __LANGFUSE_DESCRIPTOR: ::langfuse::__private::Descriptor = ::langfuse::__private::Descriptor::new(
        "handle",
        ::langfuse::__private::ObservationType::Span,
        ::langfuse::__private::CaptureSetting::Inherit,
        ::langfuse::__private::CaptureSetting::Inherit,
    );
    let __langfuse_observation = ::langfuse::__private::SyncObservation::start_under(
            &__LANGFUSE_DESCRIPTOR,
            traceparent,
        )
        .with_input(|__langfuse_input| {
            (&&&::langfuse::__private::Wrap(&traceparent))
                .__langfuse_capture(__langfuse_input.arg("traceparent"));
            (&&&::langfuse::__private::Wrap(&body))
                .__langfuse_capture(__langfuse_input.arg("body"));
        });
    let __langfuse_result = ::langfuse::__private::call_once(move || -> usize {
        body.len()
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
async fn serve(request: Request) -> Response {
    #[allow(unused_imports)]
    use ::langfuse::__private::autoref::*;
    static __LANGFUSE_DESCRIPTOR: ::langfuse::__private::Descriptor = ::langfuse::__private::Descriptor::new(
        "serve",
        ::langfuse::__private::ObservationType::Span,
        ::langfuse::__private::CaptureSetting::Off,
        ::langfuse::__private::CaptureSetting::Inherit,
    );
    let __langfuse_observation = ::langfuse::__private::AsyncObservation::start_under(
        &__LANGFUSE_DESCRIPTOR,
        request.header("traceparent"),
    );
    let __langfuse_declared_return = || -> Response { loop {} };
    #[allow(clippy::implicit_return)]
    __langfuse_observation
        .instrument_with(
            async move {
                if false {
                    return __langfuse_declared_return();
                }
                route(request).await
            },
            |__langfuse_result, __langfuse_outcome| {
                match (&&::langfuse::__private::Wrap(__langfuse_result))
                    .__langfuse_split()
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
            },
        )
        .await
}
