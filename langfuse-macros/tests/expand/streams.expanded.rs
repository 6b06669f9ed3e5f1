// `streams.rs` expanded by #[observe]. Regenerate with `LANGFUSE_BLESS=1 cargo test -p langfuse-rust-macros`.

use langfuse::observe;
fn tokens(prompt: &str) -> impl Stream<Item = String> + Send {
    #[allow(unused_imports)]
    use ::langfuse::__private::autoref::*;
    static __LANGFUSE_DESCRIPTOR: ::langfuse::__private::Descriptor = ::langfuse::__private::Descriptor::new(
        "tokens",
        ::langfuse::__private::ObservationType::Generation,
        ::langfuse::__private::CaptureSetting::Inherit,
        ::langfuse::__private::CaptureSetting::Inherit,
    );
    let __langfuse_observation = ::langfuse::__private::SyncObservation::start(
            &__LANGFUSE_DESCRIPTOR,
        )
        .with_input(|__langfuse_input| {
            (&&&::langfuse::__private::Wrap(&prompt))
                .__langfuse_capture(__langfuse_input.arg("prompt"));
        });
    let __langfuse_result = ::langfuse::__private::call_once(move || {
        llm.stream(prompt)
    });
    #[allow(clippy::implicit_return)]
    __langfuse_observation
        .stream(
            __langfuse_result,
            |__langfuse_item, __langfuse_recorder| {
                match (&&::langfuse::__private::Wrap(__langfuse_item)).__langfuse_split()
                {
                    ::core::result::Result::Ok(__langfuse_value) => {
                        __langfuse_recorder
                            .item(|__langfuse_sink| {
                                (&&&::langfuse::__private::Wrap(__langfuse_value))
                                    .__langfuse_capture(__langfuse_sink)
                            })
                    }
                    ::core::result::Result::Err(__langfuse_error) => {
                        __langfuse_recorder
                            .error(|__langfuse_sink| {
                                (&&&::langfuse::__private::Wrap(__langfuse_error))
                                    .__langfuse_describe(__langfuse_sink)
                            })
                    }
                }
            },
        )
}
fn chat(
    request: ChatRequest,
) -> Pin<Box<dyn Stream<Item = Result<ChatChunk, ApiError>> + Send>> {
    #[allow(unused_imports)]
    use ::langfuse::__private::autoref::*;
    static __LANGFUSE_DESCRIPTOR: ::langfuse::__private::Descriptor = ::langfuse::__private::Descriptor::new(
        "chat",
        ::langfuse::__private::ObservationType::Generation,
        ::langfuse::__private::CaptureSetting::Inherit,
        ::langfuse::__private::CaptureSetting::Inherit,
    );
    fn __langfuse_map_item<'a, T: ?Sized, U>(
        map: impl FnOnce(&'a T) -> U,
        item: &'a T,
    ) -> U {
        map(item)
    }
    let __langfuse_observation = ::langfuse::__private::SyncObservation::start(
            &__LANGFUSE_DESCRIPTOR,
        )
        .with_input(|__langfuse_input| {
            (&&&::langfuse::__private::Wrap(&request))
                .__langfuse_capture(__langfuse_input.arg("request"));
        });
    let __langfuse_result = ::langfuse::__private::call_once(move || -> Pin<
        Box<dyn Stream<Item = Result<ChatChunk, ApiError>> + Send>,
    > { Box::pin(client.chat_stream(request)) });
    #[allow(clippy::implicit_return)]
    ::std::boxed::Box::pin(
        __langfuse_observation
            .stream(
                __langfuse_result,
                |__langfuse_item, __langfuse_recorder| {
                    match (&&::langfuse::__private::Wrap(__langfuse_item))
                        .__langfuse_split()
                    {
                        ::core::result::Result::Ok(__langfuse_value) => {
                            __langfuse_recorder
                                .item(|__langfuse_sink| {
                                    (&&&::langfuse::__private::Wrap(
                                        &__langfuse_map_item(
                                            |chunk: &ChatChunk| chunk.delta.clone(),
                                            __langfuse_value,
                                        ),
                                    ))
                                        .__langfuse_capture(__langfuse_sink)
                                })
                        }
                        ::core::result::Result::Err(__langfuse_error) => {
                            __langfuse_recorder
                                .error(|__langfuse_sink| {
                                    (&&&::langfuse::__private::Wrap(__langfuse_error))
                                        .__langfuse_describe(__langfuse_sink)
                                })
                        }
                    }
                },
            ),
    )
}
fn rows<'a>(query: &'a str) -> BoxStream<'a, Row> {
    #[allow(unused_imports)]
    use ::langfuse::__private::autoref::*;
    static __LANGFUSE_DESCRIPTOR: ::langfuse::__private::Descriptor = ::langfuse::__private::Descriptor::new(
        "rows",
        ::langfuse::__private::ObservationType::Span,
        ::langfuse::__private::CaptureSetting::Inherit,
        ::langfuse::__private::CaptureSetting::Off,
    );
    let __langfuse_observation = ::langfuse::__private::SyncObservation::start(
            &__LANGFUSE_DESCRIPTOR,
        )
        .with_input(|__langfuse_input| {
            (&&&::langfuse::__private::Wrap(&query))
                .__langfuse_capture(__langfuse_input.arg("query"));
        });
    let __langfuse_result = ::langfuse::__private::call_once(move || -> BoxStream<
        'a,
        Row,
    > { db.query(query).boxed() });
    #[allow(clippy::implicit_return)]
    ::std::boxed::Box::pin(
        __langfuse_observation
            .stream(
                __langfuse_result,
                |__langfuse_item, __langfuse_recorder| {
                    match (&&::langfuse::__private::Wrap(__langfuse_item))
                        .__langfuse_split()
                    {
                        ::core::result::Result::Ok(_) => {}
                        ::core::result::Result::Err(__langfuse_error) => {
                            __langfuse_recorder
                                .error(|__langfuse_sink| {
                                    (&&&::langfuse::__private::Wrap(__langfuse_error))
                                        .__langfuse_describe(__langfuse_sink)
                                })
                        }
                    }
                },
            ),
    )
}
