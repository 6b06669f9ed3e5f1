//! The static part of an observation, emitted once per annotated function by `#[observe]`.

use crate::capture::CaptureSetting;
use crate::model::ObservationType;

/// The static part of an observation, emitted once per annotated function by `#[observe]`.
///
/// Everything known at compile time lives here so that starting an observation copies one
/// pointer instead of a name and flags.
#[doc(hidden)]
#[derive(Debug)]
pub struct Descriptor {
    pub(crate) name: &'static str,
    pub(crate) kind: ObservationType,
    pub(crate) capture_input: CaptureSetting,
    pub(crate) capture_output: CaptureSetting,
}

impl Descriptor {
    /// Used by the macro expansion; not a stable API.
    pub const fn new(
        name: &'static str,
        kind: ObservationType,
        capture_input: CaptureSetting,
        capture_output: CaptureSetting,
    ) -> Self {
        Self {
            name,
            kind,
            capture_input,
            capture_output,
        }
    }

    /// The observation's name.
    pub const fn name(&self) -> &'static str {
        self.name
    }

    /// The observation's type.
    pub const fn kind(&self) -> ObservationType {
        self.kind
    }
}
