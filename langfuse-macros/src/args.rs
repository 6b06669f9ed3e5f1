//! Parses the arguments of `#[observe(...)]` into [`ObserveArgs`]. Nothing here generates code.

use proc_macro2::{Span, TokenStream, TokenTree};
use syn::ext::IdentExt as _;
use syn::parse::{Parse, ParseStream, Parser as _};
use syn::punctuated::Punctuated;
use syn::{Expr, Ident, LitBool, LitStr, Path, Token, token};

/// The attribute's arguments, as written. `None` means "not given".
#[derive(Default)]
pub(crate) struct ObserveArgs {
    pub(crate) name: Option<LitStr>,
    pub(crate) as_type: Option<AsType>,
    pub(crate) capture_input: Option<bool>,
    pub(crate) capture_output: Option<bool>,
    /// Parameter names as written, `self` included: whether each names a parameter is a
    /// question about the function, answered in `expand`.
    pub(crate) skip: Option<Vec<Ident>>,
    /// Evaluated in the function, so it may use the arguments; its type is checked there too.
    pub(crate) parent: Option<Expr>,
    /// `stream = bool`: whether the function's return value is an observed stream, overriding
    /// detection from the return type.
    pub(crate) stream: Option<Keyed<bool>>,
    /// A closure or function path mapping each item of a stream to what is captured.
    pub(crate) stream_item: Option<Keyed<Expr>>,
    pub(crate) krate: Option<Path>,
}

/// An argument's value with the span of its key, for errors about the argument as a whole
/// that can only be raised once the function is known.
pub(crate) struct Keyed<T> {
    pub(crate) key: Span,
    pub(crate) value: T,
}

/// The observation types a function can be. `event` is not one: an event has no duration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AsType {
    Span,
    Generation,
    Agent,
    Tool,
    Chain,
    Retriever,
    Evaluator,
    Embedding,
    Guardrail,
}

impl AsType {
    const ALL: [AsType; 9] = [
        Self::Span,
        Self::Generation,
        Self::Agent,
        Self::Tool,
        Self::Chain,
        Self::Retriever,
        Self::Evaluator,
        Self::Embedding,
        Self::Guardrail,
    ];

    /// The value written in the attribute.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Span => "span",
            Self::Generation => "generation",
            Self::Agent => "agent",
            Self::Tool => "tool",
            Self::Chain => "chain",
            Self::Retriever => "retriever",
            Self::Evaluator => "evaluator",
            Self::Embedding => "embedding",
            Self::Guardrail => "guardrail",
        }
    }

    /// The matching variant of the runtime's `ObservationType`.
    pub(crate) fn variant(self) -> &'static str {
        match self {
            Self::Span => "Span",
            Self::Generation => "Generation",
            Self::Agent => "Agent",
            Self::Tool => "Tool",
            Self::Chain => "Chain",
            Self::Retriever => "Retriever",
            Self::Evaluator => "Evaluator",
            Self::Embedding => "Embedding",
            Self::Guardrail => "Guardrail",
        }
    }

    fn from_lit(lit: &LitStr) -> syn::Result<Self> {
        let value = lit.value();
        if let Some(found) = Self::ALL.into_iter().find(|t| t.as_str() == value) {
            return Ok(found);
        }
        let valid = Self::ALL
            .iter()
            .map(|t| format!("\"{}\"", t.as_str()))
            .collect::<Vec<_>>()
            .join(", ");
        let lowercase = value.to_ascii_lowercase();
        let message = if value == "event" {
            format!(
                "a function cannot be an `event`: an event marks a point in time and has no \
                 duration. Expected one of: {valid}"
            )
        } else if Self::ALL.iter().any(|t| t.as_str() == lowercase) {
            format!("observation types are lowercase: use \"{lowercase}\"")
        } else {
            format!("unknown observation type \"{value}\"; expected one of: {valid}")
        };
        Err(syn::Error::new(lit.span(), message))
    }
}

mod kw {
    syn::custom_keyword!(name);
    syn::custom_keyword!(as_type);
    syn::custom_keyword!(capture_input);
    syn::custom_keyword!(capture_output);
    syn::custom_keyword!(skip);
    syn::custom_keyword!(parent);
    syn::custom_keyword!(stream);
    syn::custom_keyword!(stream_item);
}

impl Parse for ObserveArgs {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let mut args = Self::default();
        while !input.is_empty() {
            // One lookahead for the key, so an unknown argument's error lists every known one.
            let lookahead = input.lookahead1();
            if lookahead.peek(kw::name) {
                let key = input.parse::<kw::name>()?;
                let name = str_value(input)?;
                if name.value().is_empty() {
                    return Err(syn::Error::new(name.span(), "`name` must not be empty"));
                }
                set_once(&mut args.name, name, key.span, "name")?;
            } else if lookahead.peek(kw::as_type) {
                let key = input.parse::<kw::as_type>()?;
                let as_type = AsType::from_lit(&str_value(input)?)?;
                set_once(&mut args.as_type, as_type, key.span, "as_type")?;
            } else if lookahead.peek(kw::capture_input) {
                let key = input.parse::<kw::capture_input>()?;
                let value = bool_value(input)?;
                set_once(&mut args.capture_input, value, key.span, "capture_input")?;
            } else if lookahead.peek(kw::capture_output) {
                let key = input.parse::<kw::capture_output>()?;
                let value = bool_value(input)?;
                set_once(&mut args.capture_output, value, key.span, "capture_output")?;
            } else if lookahead.peek(kw::skip) {
                let key = input.parse::<kw::skip>()?;
                let names = skip_list(input)?;
                set_once(&mut args.skip, names, key.span, "skip")?;
            } else if lookahead.peek(kw::parent) {
                let key = input.parse::<kw::parent>()?;
                input.parse::<Token![=]>()?;
                let parent = input.parse::<Expr>()?;
                set_once(&mut args.parent, parent, key.span, "parent")?;
            } else if lookahead.peek(kw::stream) {
                let key = input.parse::<kw::stream>()?;
                let value = bool_value(input)?;
                let keyed = Keyed {
                    key: key.span,
                    value,
                };
                set_once(&mut args.stream, keyed, key.span, "stream")?;
            } else if lookahead.peek(kw::stream_item) {
                let key = input.parse::<kw::stream_item>()?;
                let value = item_mapper(input)?;
                let keyed = Keyed {
                    key: key.span,
                    value,
                };
                set_once(&mut args.stream_item, keyed, key.span, "stream_item")?;
            } else if lookahead.peek(Token![crate]) {
                let key = input.parse::<Token![crate]>()?;
                let path = crate_path(input)?;
                set_once(&mut args.krate, path, key.span, "crate")?;
            } else {
                return Err(lookahead.error());
            }
            if input.is_empty() {
                break;
            }
            input.parse::<Token![,]>()?;
        }
        Ok(args)
    }
}

impl ObserveArgs {
    /// The names in `skip(..)`, if any.
    pub(crate) fn skipped(&self) -> &[Ident] {
        self.skip.as_deref().unwrap_or_default()
    }
}

/// Stores an argument's value, or rejects a second occurrence of `key` at its span.
fn set_once<T>(slot: &mut Option<T>, value: T, key: Span, name: &str) -> syn::Result<()> {
    if slot.is_some() {
        return Err(syn::Error::new(
            key,
            format!("duplicate `{name}` argument: give it once"),
        ));
    }
    *slot = Some(value);
    Ok(())
}

/// `= "text"`
fn str_value(input: ParseStream<'_>) -> syn::Result<LitStr> {
    input.parse::<Token![=]>()?;
    let lookahead = input.lookahead1();
    if lookahead.peek(LitStr) {
        input.parse()
    } else {
        Err(lookahead.error())
    }
}

/// `= true` or `= false`
fn bool_value(input: ParseStream<'_>) -> syn::Result<bool> {
    input.parse::<Token![=]>()?;
    let lookahead = input.lookahead1();
    if lookahead.peek(LitBool) {
        Ok(input.parse::<LitBool>()?.value)
    } else {
        Err(lookahead.error())
    }
}

/// `= |item| ..` or `= some::function`. The mapper is called on each item where it is
/// captured, so anything but a closure or a path would be evaluated again for every item.
fn item_mapper(input: ParseStream<'_>) -> syn::Result<Expr> {
    input.parse::<Token![=]>()?;
    let mapper = input.parse::<Expr>()?;
    match mapper {
        Expr::Closure(_) | Expr::Path(_) => Ok(mapper),
        other => Err(syn::Error::new_spanned(
            other,
            "`stream_item` takes a closure or the path of a function, such as \
             `stream_item = |chunk: &Chunk| chunk.text.clone()`",
        )),
    }
}

/// `(a, b, ...)`. Keywords are accepted so that `skip(self)` reaches `expand`, which explains
/// why it is not needed.
fn skip_list(input: ParseStream<'_>) -> syn::Result<Vec<Ident>> {
    let lookahead = input.lookahead1();
    if !lookahead.peek(token::Paren) {
        return Err(lookahead.error());
    }
    let content;
    syn::parenthesized!(content in input);
    let names = Punctuated::<Ident, Token![,]>::parse_terminated_with(&content, Ident::parse_any)?;
    let mut skip: Vec<Ident> = Vec::with_capacity(names.len());
    for name in names {
        if skip.contains(&name) {
            return Err(syn::Error::new(
                name.span(),
                format!("`{name}` is already in `skip`"),
            ));
        }
        skip.push(name);
    }
    Ok(skip)
}

/// `= some::path`, in the form `use` accepts.
fn crate_path(input: ParseStream<'_>) -> syn::Result<Path> {
    input.parse::<Token![=]>()?;
    if input.peek(LitStr) {
        let lit = input.parse::<LitStr>()?;
        return Err(syn::Error::new(
            lit.span(),
            format!(
                "`crate` takes a path, not a string: write `crate = {}`",
                lit.value()
            ),
        ));
    }
    let lookahead = input.lookahead1();
    if !(lookahead.peek(Token![::]) || lookahead.peek(Ident::peek_any)) {
        return Err(lookahead.error());
    }
    // Parsed on its own, so that an error at its end (`a::`) points at the path rather than
    // at the whole attribute.
    let tokens = input.step(|cursor| {
        let mut tokens = TokenStream::new();
        let mut rest = *cursor;
        while let Some((tt, next)) = rest.token_tree() {
            if matches!(&tt, TokenTree::Punct(p) if p.as_char() == ',') {
                break;
            }
            tokens.extend([tt]);
            rest = next;
        }
        Ok((tokens, rest))
    })?;
    Path::parse_mod_style
        .parse2(tokens.clone())
        .map_err(|e| syn::Error::new_spanned(tokens, format!("invalid `crate` path: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::ToTokens;

    fn parse(tokens: &str) -> syn::Result<ObserveArgs> {
        syn::parse_str(tokens)
    }

    fn error(tokens: &str) -> String {
        match parse(tokens) {
            Ok(_) => panic!("`{tokens}` parsed"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn no_arguments() {
        let args = parse("").unwrap();
        assert!(args.name.is_none());
        assert!(args.as_type.is_none());
        assert!(args.capture_input.is_none());
        assert!(args.capture_output.is_none());
        assert!(args.skip.is_none());
        assert!(args.parent.is_none());
        assert!(args.stream.is_none());
        assert!(args.stream_item.is_none());
        assert!(args.krate.is_none());
    }

    #[test]
    fn every_argument() {
        let args = parse(
            r#"name = "retrieve", as_type = "retriever", capture_input = false,
               capture_output = true, skip(client, self), parent = headers.get("traceparent"),
               stream = true, stream_item = |chunk: &Chunk| chunk.text.len(),
               crate = ::my_app::langfuse,"#,
        )
        .unwrap();
        assert_eq!(args.name.as_ref().unwrap().value(), "retrieve");
        assert_eq!(args.as_type, Some(AsType::Retriever));
        assert_eq!(args.capture_input, Some(false));
        assert_eq!(args.capture_output, Some(true));
        let skip: Vec<String> = args.skipped().iter().map(ToString::to_string).collect();
        assert_eq!(skip, ["client", "self"]);
        let tokens = |t: &dyn ToTokens| t.to_token_stream().to_string();
        assert_eq!(
            tokens(args.parent.as_ref().unwrap()),
            r#"headers . get ("traceparent")"#
        );
        assert!(args.stream.as_ref().unwrap().value);
        assert_eq!(
            tokens(&args.stream_item.as_ref().unwrap().value),
            "| chunk : & Chunk | chunk . text . len ()"
        );
        assert_eq!(
            args.krate.unwrap().to_token_stream().to_string(),
            ":: my_app :: langfuse"
        );
    }

    #[test]
    fn every_type_but_event() {
        for t in AsType::ALL {
            let args = parse(&format!("as_type = \"{}\"", t.as_str())).unwrap();
            assert_eq!(args.as_type, Some(t));
        }
        assert!(error(r#"as_type = "event""#).starts_with("a function cannot be an `event`"));
        assert!(error(r#"as_type = "llm""#).starts_with(
            "unknown observation type \"llm\"; expected one of: \"span\", \"generation\""
        ));
        assert!(error(r#"as_type = "Tool""#).contains("use \"tool\""));
        assert_eq!(error("as_type = tool"), "expected string literal");
    }

    #[test]
    fn unknown_arguments_list_the_known_ones() {
        assert_eq!(
            error("level = 1"),
            "expected one of: `name`, `as_type`, `capture_input`, `capture_output`, `skip`, \
             `parent`, `stream`, `stream_item`, `crate`"
        );
        assert_eq!(
            error(r#""name""#),
            "expected one of: `name`, `as_type`, `capture_input`, `capture_output`, `skip`, \
             `parent`, `stream`, `stream_item`, `crate`"
        );
    }

    #[test]
    fn duplicates_are_rejected_at_the_second_occurrence() {
        for (tokens, name) in [
            (r#"name = "a", name = "b""#, "name"),
            (r#"as_type = "tool", as_type = "tool""#, "as_type"),
            (
                "capture_input = true, capture_input = false",
                "capture_input",
            ),
            (
                "capture_output = true, capture_output = true",
                "capture_output",
            ),
            ("skip(a), skip(b)", "skip"),
            ("crate = a, crate = b", "crate"),
            ("parent = a, parent = b", "parent"),
            ("stream = true, stream = false", "stream"),
            ("stream_item = f, stream_item = g", "stream_item"),
        ] {
            let err = parse(tokens).err().unwrap();
            assert_eq!(
                err.to_string(),
                format!("duplicate `{name}` argument: give it once")
            );
        }
        assert_eq!(error("skip(a, b, a)"), "`a` is already in `skip`");
    }

    #[test]
    fn values_of_the_wrong_type() {
        assert_eq!(error("name = retrieve"), "expected string literal");
        assert_eq!(error(r#"name = """#), "`name` must not be empty");
        assert_eq!(error(r#"capture_input = "no""#), "expected boolean literal");
        assert_eq!(error("capture_output = 0"), "expected boolean literal");
        assert_eq!(error("skip = a"), "expected parentheses");
        assert_eq!(error("skip(a::b)"), "expected `,`");
        assert_eq!(
            error(r#"crate = "langfuse""#),
            "`crate` takes a path, not a string: write `crate = langfuse`"
        );
        assert_eq!(error("crate = 3"), "expected `::` or identifier");
        assert_eq!(
            error("crate = a::"),
            "invalid `crate` path: unexpected end of input, expected path segment after `::`"
        );
        assert_eq!(
            error("crate = a::<b>"),
            "invalid `crate` path: expected path segment after `::`"
        );
        assert_eq!(
            error("crate = a b"),
            "invalid `crate` path: unexpected token"
        );
        assert!(parse("crate = ::a::b, name = \"x\"").is_ok());
        assert_eq!(error("stream = 1"), "expected boolean literal");
        assert_eq!(error("stream"), "expected `=`");
        assert_eq!(
            error("parent = "),
            "unexpected end of input, expected an expression"
        );
        let not_a_mapper = "`stream_item` takes a closure or the path of a function, such as \
                            `stream_item = |chunk: &Chunk| chunk.text.clone()`";
        assert_eq!(error("stream_item = make_mapper()"), not_a_mapper);
        assert_eq!(error(r#"stream_item = "delta""#), not_a_mapper);
        assert!(parse("stream_item = Chunk::delta").is_ok());
        assert!(parse("stream_item = |c| c.delta.clone(), name = \"x\"").is_ok());
    }

    #[test]
    fn separators() {
        assert_eq!(error(r#"name = "a" as_type = "tool""#), "expected `,`");
        assert_eq!(error(r#"name "a""#), "expected `=`");
        assert!(parse(r#"name = "a","#).is_ok());
        assert!(parse("skip(a, b,)").is_ok());
    }
}
