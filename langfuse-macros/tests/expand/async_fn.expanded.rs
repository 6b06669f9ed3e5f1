// `async_fn.rs` expanded by #[observe]. Regenerate with `LANGFUSE_BLESS=1 cargo test -p langfuse-rust-macros`.

use langfuse::observe;
async fn retrieve(query: String, limit: usize) -> Result<Vec<String>, Error> {
    #[allow(unused_imports)]
    use ::langfuse::__private::autoref::*;
    static __LANGFUSE_DESCRIPTOR: ::langfuse::__private::Descriptor = ::langfuse::__private::Descriptor::new(
        "retrieve",
        ::langfuse::__private::ObservationType::Retriever,
        ::langfuse::__private::CaptureSetting::Inherit,
        ::langfuse::__private::CaptureSetting::Inherit,
    );
    let __langfuse_observation = ::langfuse::__private::AsyncObservation::start(
            &__LANGFUSE_DESCRIPTOR,
        )
        .with_input(|__langfuse_input| {
            (&&&::langfuse::__private::Wrap(&query))
                .__langfuse_capture(__langfuse_input.arg("query"));
            (&&&::langfuse::__private::Wrap(&limit))
                .__langfuse_capture(__langfuse_input.arg("limit"));
        });
    let __langfuse_declared_return = || -> Result<Vec<String>, Error> { loop {} };
    #[allow(clippy::implicit_return)]
    __langfuse_observation
        .instrument_with(
            async move {
                if false {
                    return __langfuse_declared_return();
                }
                let documents = search(&query).await?;
                Ok(documents.into_iter().take(limit).collect())
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
impl Agent {
    async fn run(&self, task: Task) {
        static __LANGFUSE_DESCRIPTOR: ::langfuse::__private::Descriptor = ::langfuse::__private::Descriptor::new(
            "run",
            ::langfuse::__private::ObservationType::Agent,
            ::langfuse::__private::CaptureSetting::Off,
            ::langfuse::__private::CaptureSetting::Inherit,
        );
        let __langfuse_observation = ::langfuse::__private::AsyncObservation::start(
            &__LANGFUSE_DESCRIPTOR,
        );
        #[allow(clippy::implicit_return)]
        __langfuse_observation
            .instrument_unit(async move {
                self.plan(task).await;
            })
            .await
    }
}
