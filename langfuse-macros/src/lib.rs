//! `#[observe]`: see the `langfuse` crate.
use proc_macro::TokenStream;
/// Placeholder until the macro branch lands.
#[proc_macro_attribute]
pub fn observe(_args: TokenStream, item: TokenStream) -> TokenStream {
    item
}
