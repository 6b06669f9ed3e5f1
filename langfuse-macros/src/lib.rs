//! `#[observe]`: see the `langfuse` crate.

mod args;
mod expand;
mod item;
#[cfg(test)]
mod snapshots;

use proc_macro2::TokenStream;

#[proc_macro_attribute]
pub fn observe(
    args: proc_macro::TokenStream,
    item: proc_macro::TokenStream,
) -> proc_macro::TokenStream {
    observe_tokens(args.into(), item.into()).into()
}

/// The macro on `proc_macro2` tokens, so that tests can run it.
fn observe_tokens(args: TokenStream, item: TokenStream) -> TokenStream {
    let expanded = syn::parse2::<args::ObserveArgs>(args).and_then(|args| {
        let function = syn::parse2::<item::ItemFn>(item.clone())?;
        expand::gen_function(&args, function)
    });
    match expanded {
        Ok(tokens) => tokens,
        // Keep the function as written beside the error, so its callers still compile and
        // rust-analyzer still understands it.
        Err(error) => {
            let mut tokens = error.into_compile_error();
            tokens.extend(item);
            tokens
        }
    }
}
