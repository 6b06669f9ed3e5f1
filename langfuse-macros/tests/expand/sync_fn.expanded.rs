// `sync_fn.rs` expanded by #[observe]. Regenerate with `LANGFUSE_BLESS=1 cargo test -p langfuse-rust-macros`.

use langfuse::observe;
fn add(a: u32, b: u32) -> u32 {
    #[allow(unused_imports)]
    use ::langfuse::__private::autoref::*;
    static __LANGFUSE_DESCRIPTOR: ::langfuse::__private::Descriptor = ::langfuse::__private::Descriptor::new(
        "add",
        ::langfuse::__private::ObservationType::Span,
        ::langfuse::__private::CaptureSetting::Inherit,
        ::langfuse::__private::CaptureSetting::Inherit,
    );
    let __langfuse_observation = ::langfuse::__private::SyncObservation::start(
            &__LANGFUSE_DESCRIPTOR,
        )
        .with_input(|__langfuse_input| {
            (&&&::langfuse::__private::Wrap(&a))
                .__langfuse_capture(__langfuse_input.arg("a"));
            (&&&::langfuse::__private::Wrap(&b))
                .__langfuse_capture(__langfuse_input.arg("b"));
        });
    let __langfuse_result = ::langfuse::__private::call_once(move || -> u32 { a + b });
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
pub fn parse(text: &str, radix: u32) -> Result<u64, std::num::ParseIntError> {
    #[allow(unused_imports)]
    use ::langfuse::__private::autoref::*;
    static __LANGFUSE_DESCRIPTOR: ::langfuse::__private::Descriptor = ::langfuse::__private::Descriptor::new(
        "parse-number",
        ::langfuse::__private::ObservationType::Tool,
        ::langfuse::__private::CaptureSetting::Inherit,
        ::langfuse::__private::CaptureSetting::Off,
    );
    let __langfuse_observation = ::langfuse::__private::SyncObservation::start(
            &__LANGFUSE_DESCRIPTOR,
        )
        .with_input(|__langfuse_input| {
            (&&&::langfuse::__private::Wrap(&text))
                .__langfuse_capture(__langfuse_input.arg("text"));
        });
    let __langfuse_result = ::langfuse::__private::call_once(move || -> Result<
        u64,
        std::num::ParseIntError,
    > { u64::from_str_radix(text, radix) });
    __langfuse_observation
        .end(|__langfuse_outcome| {
            match (&&::langfuse::__private::Wrap(&__langfuse_result)).__langfuse_split()
            {
                ::core::result::Result::Ok(_) => {}
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
