//! [`Mask`], the user's masking hook as [`ConfigBuilder::mask`](super::ConfigBuilder::mask)
//! stores it. The exporter applies it (`export::mask::Masker`).

use std::fmt;
use std::sync::Arc;

use serde_json::Value;

/// The user's mask function. Cloning shares it.
#[derive(Clone)]
pub(crate) struct Mask(Arc<dyn Fn(Value) -> Value + Send + Sync + 'static>);

impl Mask {
    pub(crate) fn new(mask: impl Fn(Value) -> Value + Send + Sync + 'static) -> Self {
        Self(Arc::new(mask))
    }

    /// Calls the function.
    pub(crate) fn call(&self, value: Value) -> Value {
        (self.0)(value)
    }
}

impl fmt::Debug for Mask {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<mask fn>")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_does_not_show_the_function() {
        assert_eq!(format!("{:?}", Mask::new(|v| v)), "<mask fn>");
    }
}
