//! Expansion snapshots: every `tests/expand/NAME.rs` is expanded, pretty-printed and compared
//! with `tests/expand/NAME.expanded.rs`, which shows what `cargo expand` shows a user.
//! `LANGFUSE_BLESS=1 cargo test -p langfuse-rust-macros` rewrites the snapshots.

use std::fs;
use std::path::Path;

use proc_macro2::TokenStream;
use quote::ToTokens as _;
use syn::visit_mut::{self, VisitMut};
use syn::{Attribute, ImplItem, Item, Meta, TraitItem};

#[test]
fn expansions_match_snapshots() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/expand");
    if !dir.exists()
        && !Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../.git")
            .exists()
    {
        // A published copy of the crate: the snapshots stay in the repository.
        eprintln!("no expansion snapshots here (they are not published)");
        return;
    }
    let bless = std::env::var_os("LANGFUSE_BLESS").is_some();
    let mut inputs: Vec<_> = fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| {
            let name = path.file_name().unwrap().to_str().unwrap();
            name.ends_with(".rs") && !name.ends_with(".expanded.rs")
        })
        .collect();
    inputs.sort();
    assert!(!inputs.is_empty(), "no inputs in {}", dir.display());

    let mut stale = Vec::new();
    for input in &inputs {
        let mut file = syn::parse_file(&fs::read_to_string(input).unwrap()).unwrap();
        Expand.visit_file_mut(&mut file);
        let name = input.file_name().unwrap().to_str().unwrap();
        let expanded = format!(
            "// `{name}` expanded by #[observe]. Regenerate with \
             `LANGFUSE_BLESS=1 cargo test -p langfuse-rust-macros`.\n\n{}",
            prettyplease::unparse(&file)
        );
        let snapshot = input.with_extension("expanded.rs");
        if bless {
            fs::write(&snapshot, expanded).unwrap();
        } else if fs::read_to_string(&snapshot).ok().as_deref() != Some(expanded.as_str()) {
            stale.push(format!(
                "--- {} differs; expansion:\n{expanded}",
                snapshot.display()
            ));
        }
    }
    assert!(
        stale.is_empty(),
        "{}\nrun `LANGFUSE_BLESS=1 cargo test -p langfuse-rust-macros` if the change is intended",
        stale.join("\n")
    );
}

/// Replaces every function carrying `#[observe(..)]` with its expansion.
struct Expand;

impl VisitMut for Expand {
    fn visit_item_mut(&mut self, item: &mut Item) {
        if let Item::Fn(function) = item
            && let Some(args) = take_observe(&mut function.attrs)
        {
            *item = expand(args, function.to_token_stream());
        } else {
            visit_mut::visit_item_mut(self, item);
        }
    }

    fn visit_impl_item_mut(&mut self, item: &mut ImplItem) {
        if let ImplItem::Fn(function) = item
            && let Some(args) = take_observe(&mut function.attrs)
        {
            *item = expand(args, function.to_token_stream());
        }
    }

    fn visit_trait_item_mut(&mut self, item: &mut TraitItem) {
        if let TraitItem::Fn(function) = item
            && let Some(args) = take_observe(&mut function.attrs)
        {
            *item = expand(args, function.to_token_stream());
        }
    }
}

fn take_observe(attrs: &mut Vec<Attribute>) -> Option<TokenStream> {
    let index = attrs.iter().position(|a| a.path().is_ident("observe"))?;
    match attrs.remove(index).meta {
        Meta::Path(_) => Some(TokenStream::new()),
        Meta::List(list) => Some(list.tokens),
        Meta::NameValue(_) => panic!("`#[observe = ..]` is not a form the macro takes"),
    }
}

fn expand<T: syn::parse::Parse>(args: TokenStream, item: TokenStream) -> T {
    let expanded = crate::observe_tokens(args, item);
    syn::parse2(expanded.clone())
        .unwrap_or_else(|e| panic!("expansion does not parse ({e}):\n{expanded}"))
}
