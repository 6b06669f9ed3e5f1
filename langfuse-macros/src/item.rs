//! Parses the annotated function. A body that does not parse is kept as raw tokens, so the
//! function is still expanded and rustc reports the syntax error where the user wrote it, while
//! rust-analyzer keeps completing inside it (tokio-rs/tracing#1634).

use proc_macro2::TokenStream;
use syn::parse::{Parse, ParseStream, Parser as _};
use syn::{Attribute, Block, Signature, Stmt, Token, Visibility, braced, token};

/// A function item whose body may not parse.
pub(crate) struct ItemFn {
    pub(crate) outer_attrs: Vec<Attribute>,
    pub(crate) vis: Visibility,
    pub(crate) sig: Signature,
    pub(crate) brace_token: token::Brace,
    pub(crate) inner_attrs: Vec<Attribute>,
    pub(crate) body: Body,
}

pub(crate) enum Body {
    Parsed(Vec<Stmt>),
    Raw(TokenStream),
}

impl Parse for ItemFn {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let outer_attrs = input.call(Attribute::parse_outer)?;
        let vis: Visibility = input.parse()?;
        let starts_fn = input.peek(Token![fn])
            || input.peek(Token![const])
            || input.peek(Token![async])
            || input.peek(Token![unsafe])
            || input.peek(Token![extern]);
        if !starts_fn {
            return Err(input.error("`#[observe]` can only be applied to functions"));
        }
        let sig: Signature = input.parse()?;
        if input.peek(Token![;]) {
            return Err(input.error(
                "`#[observe]` needs the function's body: put it on the implementation, \
                 or on a default body in the trait",
            ));
        }
        let content;
        let brace_token = braced!(content in input);
        let inner_attrs = content.call(Attribute::parse_inner)?;
        let rest: TokenStream = content.parse()?;
        let body = match Block::parse_within.parse2(rest.clone()) {
            Ok(stmts) => Body::Parsed(stmts),
            Err(_) => Body::Raw(rest),
        };
        Ok(Self {
            outer_attrs,
            vis,
            sig,
            brace_token,
            inner_attrs,
            body,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(tokens: &str) -> syn::Result<ItemFn> {
        syn::parse_str(tokens)
    }

    #[test]
    fn parsed_and_raw_bodies() {
        let f = parse("#[inline] pub async fn f(a: u8) -> u8 { #![allow(unused)] a }").unwrap();
        assert_eq!(f.outer_attrs.len(), 1);
        assert_eq!(f.inner_attrs.len(), 1);
        assert!(f.sig.asyncness.is_some());
        assert!(matches!(f.body, Body::Parsed(ref stmts) if stmts.len() == 1));

        let f = parse("fn f() { let x = ; }").unwrap();
        assert!(matches!(f.body, Body::Raw(ref tokens) if tokens.to_string() == "let x = ;"));
    }

    #[test]
    fn not_a_function_with_a_body() {
        let err = |tokens| parse(tokens).err().unwrap().to_string();
        assert_eq!(
            err("struct S;"),
            "`#[observe]` can only be applied to functions"
        );
        assert!(err("fn f(&self);").starts_with("`#[observe]` needs the function's body"));
        assert_eq!(err("fn f() {} fn g() {}"), "unexpected token");
    }
}
