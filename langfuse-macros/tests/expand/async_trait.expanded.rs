// `async_trait.rs` expanded by #[observe]. Regenerate with `LANGFUSE_BLESS=1 cargo test -p langfuse-rust-macros`.

use langfuse::observe;
#[async_trait::async_trait]
impl Store for Redis {
    fn lookup<'life0, 'async_trait>(
        &'life0 self,
        key: String,
    ) -> Pin<Box<dyn Future<Output = Option<Value>> + Send + 'async_trait>>
    where
        'life0: 'async_trait,
        Self: 'async_trait,
    {
        #[allow(unused_imports)]
        use ::langfuse::__private::autoref::*;
        static __LANGFUSE_DESCRIPTOR: ::langfuse::__private::Descriptor = ::langfuse::__private::Descriptor::new(
            "lookup",
            ::langfuse::__private::ObservationType::Span,
            ::langfuse::__private::CaptureSetting::Inherit,
            ::langfuse::__private::CaptureSetting::Inherit,
        );
        let __langfuse_observation = ::langfuse::__private::AsyncObservation::start(
                &__LANGFUSE_DESCRIPTOR,
            )
            .with_input(|__langfuse_input| {
                (&&&::langfuse::__private::Wrap(&key))
                    .__langfuse_capture(__langfuse_input.arg("key"));
            });
        #[allow(clippy::implicit_return)]
        Box::pin(
            __langfuse_observation
                .instrument_with(
                    async move {
                        let __self = self;
                        let key = key;
                        let __ret: Option<Value> = { __self.get(&key).await };
                        #[allow(unreachable_code)] __ret
                    },
                    |__langfuse_result: &Option<Value>, __langfuse_outcome| {
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
                ),
        )
    }
    fn evict<'life0, 'async_trait>(
        &'life0 self,
        key: String,
    ) -> Pin<Box<dyn Future<Output = ()> + Send + 'async_trait>>
    where
        'life0: 'async_trait,
        Self: 'async_trait,
    {
        #[allow(unused_imports)]
        use ::langfuse::__private::autoref::*;
        static __LANGFUSE_DESCRIPTOR: ::langfuse::__private::Descriptor = ::langfuse::__private::Descriptor::new(
            "evict",
            ::langfuse::__private::ObservationType::Span,
            ::langfuse::__private::CaptureSetting::Inherit,
            ::langfuse::__private::CaptureSetting::Inherit,
        );
        let __langfuse_observation = ::langfuse::__private::AsyncObservation::start(
                &__LANGFUSE_DESCRIPTOR,
            )
            .with_input(|__langfuse_input| {
                (&&&::langfuse::__private::Wrap(&key))
                    .__langfuse_capture(__langfuse_input.arg("key"));
            });
        #[allow(clippy::implicit_return)]
        Box::pin(
            __langfuse_observation
                .instrument_unit(async move {
                    let __self = self;
                    let key = key;
                    let _: () = {
                        __self.delete(&key).await;
                    };
                }),
        )
    }
}
