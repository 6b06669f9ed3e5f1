//! The return value and error of an observed call, recorded into its observation when it
//! ends.

use crate::capture::{self, CaptureViaSerialize as _, JsonSink, STATUS_MAX_BYTES, TextSink, Wrap};
use crate::model::{Level, Record};

/// The return value and error of an observed call, filled by the expansion.
#[doc(hidden)]
pub struct Outcome {
    capture_output: bool,
    output: Option<JsonSink>,
    error: Option<TextSink>,
}

impl Outcome {
    pub(crate) fn new(capture_output: bool) -> Self {
        Self {
            capture_output,
            output: None,
            error: None,
        }
    }

    /// Records the successful value with `write`, if output capture is on.
    #[inline]
    pub fn output(&mut self, write: impl FnOnce(&mut JsonSink)) {
        if self.capture_output {
            let sink = self.output.insert(JsonSink::new(capture::max_bytes()));
            write(sink);
        }
    }

    /// Records the `()` a function returned: `null`, as the expansion would capture it.
    #[inline]
    pub fn unit(&mut self) {
        self.output(|sink| (&&&Wrap(&())).__langfuse_capture(sink));
    }

    /// Records an error: the observation's level becomes ERROR and `describe` writes its
    /// status message.
    #[inline]
    pub fn error(&mut self, describe: impl FnOnce(&mut TextSink)) {
        describe(self.error.insert(TextSink::new(STATUS_MAX_BYTES)));
    }

    /// Whether there is nothing to record (no output captured, no error).
    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.output.is_none() && self.error.is_none()
    }

    pub(crate) fn apply(self, observation: &mut Record) {
        if let Some(output) = self.output {
            // An output set explicitly (`update_current_span`) is what the user meant to show:
            // it wins over the captured return value.
            let data = observation.data_mut();
            if data.output.is_none() {
                data.output = Some(output.into_payload());
            }
        }
        if let Some(error) = self.error {
            let message = error.into_string();
            observation.fail(Level::Error, || message);
        }
    }
}
