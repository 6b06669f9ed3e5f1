//! Generates the observed function. Arguments are parsed in `args`, the function in `item`.
//!
//! Every path into the runtime is absolute (`::langfuse::__private::...`, or the `crate = ..`
//! override) and every generated local starts with `__langfuse_`, so nothing the user names can
//! capture them. The original body always runs in a scope of its own (a closure or an async
//! block), which keeps `return` and `?` local to it and its `use` items out of our code.

use proc_macro2::{Delimiter, Group, Span, TokenStream};
use quote::{ToTokens, quote, quote_spanned};
use syn::ext::IdentExt as _;
use syn::punctuated::Punctuated;
use syn::spanned::Spanned as _;
use syn::token::Brace;
use syn::visit_mut::VisitMut;
use syn::{
    Expr, ExprAsync, FnArg, GenericArgument, Ident, LitStr, Pat, Path, PathArguments, ReturnType,
    Stmt, Token, Type, TypeParamBound, parse_quote,
};

use crate::args::{AsType, ObserveArgs};
use crate::item::{Body, ItemFn};

/// Expands `item` as an observed function, or explains why it cannot be.
pub(crate) fn gen_function(args: &ObserveArgs, item: &ItemFn) -> syn::Result<TokenStream> {
    check_signature(item)?;
    let stream = stream_shape(args, &item.sig)?;
    let mut ctx = Observation::new(args, &item.sig.ident);
    let ItemFn {
        outer_attrs,
        vis,
        sig,
        brace_token,
        inner_attrs,
        body,
    } = item;

    // A plain function returning a future built by its last expression is observed as async.
    let shape = match body {
        Body::Parsed(stmts) if sig.asyncness.is_none() && stream.is_none() => {
            AsyncShape::find(stmts)
        }
        _ => None,
    };
    let stmts = match (body, shape) {
        (Body::Parsed(stmts), Some(AsyncShape::Block { index, call })) => {
            let captured = ctx.captured(&sig.inputs, false)?;
            ctx.async_block_fn(stmts, index, call, &sig.output, &captured)
        }
        (Body::Parsed(stmts), Some(AsyncShape::InnerFn { index, inner })) => {
            // The inner function is the real body: observe it under the outer name.
            let captured = ctx.captured(&inner.sig.inputs, true)?;
            if let Some(parent) = &mut ctx.parent {
                rename_self(parent);
            }
            let inner_body = Body::Parsed(inner.block.stmts.clone());
            let body = ctx.async_body(
                &inner.sig.output,
                inner.block.brace_token,
                &inner_body,
                &captured,
            );
            // syn keeps a function's inner attributes (`#![..]`) with its outer ones.
            let (inner_attrs, outer_attrs): (Vec<_>, Vec<_>) = inner
                .attrs
                .iter()
                .partition(|attr| matches!(attr.style, syn::AttrStyle::Inner(_)));
            let (vis, sig) = (&inner.vis, &inner.sig);
            let mut stmts: Vec<TokenStream> = stmts.iter().map(ToTokens::to_token_stream).collect();
            stmts[index] = quote!(#(#outer_attrs)* #vis #sig { #(#inner_attrs)* #body });
            quote!(#(#stmts)*)
        }
        _ => {
            let captured = ctx.captured(&sig.inputs, false)?;
            if sig.asyncness.is_some() {
                ctx.async_body(&sig.output, *brace_token, body, &captured)
            } else {
                let block = user_block(*brace_token, body);
                ctx.sync_body(&sig.output, block, &captured, stream)
            }
        }
    };

    let mut out = quote!(#(#outer_attrs)* #vis #sig);
    brace_token.surround(&mut out, |out| {
        out.extend(quote!(#(#inner_attrs)*));
        out.extend(stmts);
    });
    Ok(out)
}

/// Rejects functions that cannot be observed, pointing at the offending token.
fn check_signature(item: &ItemFn) -> syn::Result<()> {
    if let Some(constness) = &item.sig.constness {
        return Err(syn::Error::new(
            constness.span,
            "`#[observe]` cannot be applied to a `const fn`: observations are recorded at run \
             time",
        ));
    }
    if let Some(variadic) = &item.sig.variadic {
        return Err(syn::Error::new(
            variadic.span(),
            "`#[observe]` cannot be applied to a C-variadic function",
        ));
    }
    Ok(())
}

/// The user's body as a block with its own braces, so its items stay in its own scope.
fn user_block(brace_token: Brace, body: &Body) -> TokenStream {
    let mut block = TokenStream::new();
    brace_token.surround(&mut block, |block| match body {
        Body::Parsed(stmts) => block.extend(quote!(#(#stmts)*)),
        Body::Raw(tokens) => block.extend(tokens.clone()),
    });
    block
}

/// What the generated code needs to know about the observation, whatever the function's shape.
struct Observation<'a> {
    args: &'a ObserveArgs,
    krate: Path,
    name: LitStr,
    /// `parent = ..`, as it is evaluated in the expansion.
    parent: Option<Expr>,
}

impl<'a> Observation<'a> {
    fn new(args: &'a ObserveArgs, ident: &Ident) -> Self {
        let krate = args
            .krate
            .clone()
            .unwrap_or_else(|| parse_quote!(::langfuse));
        let name = args
            .name
            .clone()
            .unwrap_or_else(|| LitStr::new(&ident.unraw().to_string(), ident.span()));
        let parent = args.parent.clone();
        Self {
            args,
            krate,
            name,
            parent,
        }
    }

    /// The identifiers bound by the parameters that are captured: every one but `self` and the
    /// skipped ones. `self_alias` treats a parameter named `_self` as `self` (old async-trait).
    fn captured(
        &self,
        inputs: &Punctuated<FnArg, Token![,]>,
        self_alias: bool,
    ) -> syn::Result<Vec<Ident>> {
        let mut bound = Vec::new();
        for input in inputs {
            if let FnArg::Typed(arg) = input {
                let is_self_alias = matches!(&*arg.pat, Pat::Ident(p) if p.ident == "_self");
                if !(self_alias && is_self_alias) {
                    collect_bindings(&arg.pat, &mut bound);
                }
            }
        }
        let mut errors: Option<syn::Error> = None;
        for skip in self.args.skipped() {
            let message = if skip == "self" {
                "`self` is never captured: remove it from `skip`".to_owned()
            } else if !bound.iter().any(|b| same_name(b, skip)) {
                format!("cannot skip `{skip}`: no parameter of this function is named so")
            } else {
                continue;
            };
            let error = syn::Error::new(skip.span(), message);
            match &mut errors {
                Some(errors) => errors.combine(error),
                None => errors = Some(error),
            }
        }
        if let Some(errors) = errors {
            return Err(errors);
        }
        if self.args.capture_input == Some(false) {
            return Ok(Vec::new());
        }
        bound.retain(|b| !self.args.skipped().iter().any(|s| same_name(b, s)));
        Ok(bound)
    }

    /// The items every expansion starts with: the capture traits (when `captures`: only
    /// capture calls use them) and the static descriptor.
    fn prelude(&self, captures: bool) -> TokenStream {
        let Self {
            krate, name, args, ..
        } = self;
        let kind = Ident::new(
            args.as_type.unwrap_or(AsType::Span).variant(),
            Span::call_site(),
        );
        let setting = |value: Option<bool>| {
            let variant = match value {
                None => "Inherit",
                Some(true) => "On",
                Some(false) => "Off",
            };
            let variant = Ident::new(variant, Span::call_site());
            quote!(#krate::__private::CaptureSetting::#variant)
        };
        let capture_input = setting(args.capture_input);
        let capture_output = setting(args.capture_output);
        // Calling the mapper through a function gives an unannotated closure its parameter
        // type (the item's), which a direct call `(|chunk| ..)(item)` would not.
        // Spanned at `stream_item`, where a mapper that does not fit the items is reported.
        let map_item = args.stream_item.as_ref().map(|keyed| {
            quote_spanned! {keyed.key=>
                fn __langfuse_map_item<'a, T: ?Sized, U>(
                    map: impl FnOnce(&'a T) -> U,
                    item: &'a T,
                ) -> U {
                    map(item)
                }
            }
        });
        let autoref = captures.then(|| {
            quote! {
                #[allow(unused_imports)]
                use #krate::__private::autoref::*;
            }
        });
        quote! {
            #autoref
            static __LANGFUSE_DESCRIPTOR: #krate::__private::Descriptor =
                #krate::__private::Descriptor::new(
                    #name,
                    #krate::__private::ObservationType::#kind,
                    #capture_input,
                    #capture_output,
                );
            #map_item
        }
    }

    /// `let __langfuse_observation = <guard>::start(..).with_input(..);`, or `start_under` with
    /// the `parent` expression.
    fn start(&self, guard: &str, captured: &[Ident]) -> TokenStream {
        let krate = &self.krate;
        let guard = Ident::new(guard, Span::call_site());
        let with_input = (!captured.is_empty()).then(|| {
            let names = captured
                .iter()
                .map(|ident| LitStr::new(&ident.unraw().to_string(), ident.span()));
            quote! {
                .with_input(|__langfuse_input| {
                    #(
                        (&&&#krate::__private::Wrap(&#captured))
                            .__langfuse_capture(__langfuse_input.arg(#names));
                    )*
                })
            }
        });
        let start = match &self.parent {
            None => quote!(start(&__LANGFUSE_DESCRIPTOR)),
            Some(parent) => quote!(start_under(&__LANGFUSE_DESCRIPTOR, #parent)),
        };
        quote! {
            let __langfuse_observation = #krate::__private::#guard::#start #with_input;
        }
    }

    /// The closure given to `end`: an `Err` sets the error, anything else is the output.
    fn outcome(&self) -> TokenStream {
        let outcome = Ident::new("__langfuse_outcome", Span::call_site());
        let split = self.split(quote!(&__langfuse_result), &outcome, "output", None);
        quote!(|__langfuse_outcome| { #split })
    }

    /// The closure given to `instrument_with`, called with a reference to the future's
    /// output: as `outcome`. `output` is the output's type, when the signature names it.
    fn future_outcome(&self, output: Option<&Type>) -> TokenStream {
        let outcome = Ident::new("__langfuse_outcome", Span::call_site());
        let split = self.split(quote!(__langfuse_result), &outcome, "output", None);
        let result = match output {
            Some(ty) => quote!(__langfuse_result: &#ty),
            None => quote!(__langfuse_result),
        };
        quote!(|#result, __langfuse_outcome| { #split })
    }

    /// The closure given to `stream`, called with each item: as `outcome`, for one item.
    fn stream_item(&self) -> TokenStream {
        let map = self.args.stream_item.as_ref().map(|keyed| &keyed.value);
        let recorder = Ident::new("__langfuse_recorder", Span::call_site());
        let split = self.split(quote!(__langfuse_item), &recorder, "item", map);
        quote!(|__langfuse_item, __langfuse_recorder| { #split })
    }

    /// Matches `value` (a reference) as a `Result`, or as `Ok` when it is not one: `Ok` is
    /// captured with `recorder.<record>` (through `map`, if given), `Err` with `recorder.error`.
    fn split(
        &self,
        value: TokenStream,
        recorder: &Ident,
        record: &str,
        map: Option<&Expr>,
    ) -> TokenStream {
        let krate = &self.krate;
        let ok = if self.args.capture_output == Some(false) {
            // Nothing to serialize: leave the capture code out of the binary.
            quote!(::core::result::Result::Ok(_) => {})
        } else {
            let captured = match map {
                Some(map) => {
                    // The call spans the mapper, so that a mismatch with the items points at it.
                    let mut tokens = map.to_token_stream().into_iter();
                    let first = tokens.next().map_or_else(Span::call_site, |t| t.span());
                    let last = tokens.last().map_or(first, |t| t.span());
                    let call = Ident::new("__langfuse_map_item", first);
                    let mut args =
                        Group::new(Delimiter::Parenthesis, quote!(#map, __langfuse_value));
                    args.set_span(last);
                    quote!(&#call #args)
                }
                None => quote!(__langfuse_value),
            };
            let record = Ident::new(record, Span::call_site());
            quote! {
                ::core::result::Result::Ok(__langfuse_value) => {
                    #recorder.#record(|__langfuse_sink| {
                        (&&&#krate::__private::Wrap(#captured))
                            .__langfuse_capture(__langfuse_sink)
                    })
                }
            }
        };
        quote! {
            match (&&#krate::__private::Wrap(#value)).__langfuse_split() {
                #ok
                ::core::result::Result::Err(__langfuse_error) => {
                    #recorder.error(|__langfuse_sink| {
                        (&&&#krate::__private::Wrap(__langfuse_error))
                            .__langfuse_describe(__langfuse_sink)
                    })
                }
            }
        }
    }

    /// The body of a synchronous function: a guard around the body run as a closure. A
    /// returned stream takes the guard with it.
    fn sync_body(
        &self,
        output: &ReturnType,
        block: TokenStream,
        captured: &[Ident],
        stream: Option<StreamShape>,
    ) -> TokenStream {
        let krate = &self.krate;
        let declared = declared_return(output);
        let unit = stream.is_none() && returns_unit(output);
        // `()` and `-> !` have no outcome to split: only the input, if any, is captured.
        let splits = !unit && declared.is_some();
        let prelude = self.prelude(splits || !captured.is_empty());
        let start = self.start("SyncObservation", captured);
        if unit {
            // `end_unit` records `null`, what capturing the `()` would write. The closure still
            // declares `()`, so that the body's inference (`Default::default()`) is unchanged.
            return quote! {
                #prelude
                #start
                #krate::__private::call_once(move || -> () #block);
                __langfuse_observation.end_unit();
            };
        }
        let Some(declared) = declared else {
            // `-> !` never returns: the guard's drop on unwind is the only end.
            return quote! {
                #prelude
                #start
                #krate::__private::call_once(move || #block)
            };
        };
        // The closure declares the function's return type, so the body's `return`s and tail
        // get the same expected type, hence the same coercions, as in the original function.
        let declared = declared.map(|ty| quote!(-> #ty));
        let tail = match stream {
            None => {
                let outcome = self.outcome();
                quote! {
                    __langfuse_observation.end(#outcome);
                    #[allow(clippy::implicit_return)]
                    __langfuse_result
                }
            }
            Some(shape) => {
                let record = self.stream_item();
                let observed = quote!(__langfuse_observation.stream(__langfuse_result, #record));
                let observed = match shape {
                    StreamShape::Opaque => observed,
                    // Where `stream = true` forced it on a type that is not a boxed stream, the
                    // mismatch points at the argument.
                    StreamShape::Boxed => {
                        let span = self
                            .args
                            .stream
                            .as_ref()
                            .map_or_else(Span::call_site, |s| s.key);
                        quote_spanned!(span=> ::std::boxed::Box::pin(#observed))
                    }
                };
                quote! {
                    #[allow(clippy::implicit_return)]
                    #observed
                }
            }
        };
        quote! {
            #prelude
            #start
            let __langfuse_result = #krate::__private::call_once(move || #declared #block);
            #tail
        }
    }

    /// The body of an `async fn`: the original body in an async block, wrapped in the
    /// observation's future, which records the outcome when the block completes.
    fn async_body(
        &self,
        output: &ReturnType,
        brace_token: Brace,
        body: &Body,
        captured: &[Ident],
    ) -> TokenStream {
        let declared = declared_return(output);
        let unit = returns_unit(output);
        // `()` and `-> !` have no outcome to split: only the input, if any, is captured.
        let splits = !unit && declared.is_some();
        let prelude = self.prelude(splits || !captured.is_empty());
        let start = self.start("AsyncObservation", captured);
        let (declare, future) = match declared {
            // `-> !` never returns: the future's drop on unwind is the only end.
            None => {
                let block = user_block(brace_token, body);
                (
                    None,
                    quote!(__langfuse_observation.instrument(async move #block)),
                )
            }
            // `instrument_unit` records `null`, and its bound fixes the block's output to `()`:
            // no type to declare, nothing to split.
            Some(_) if unit => {
                let block = user_block(brace_token, body);
                (
                    None,
                    quote!(__langfuse_observation.instrument_unit(async move #block)),
                )
            }
            Some(Some(ty)) => {
                // Unlike a function's, an async block's output type is inferred from its
                // body. Returning a value of the declared type before the body fixes it, so
                // the body's `return`s and tail get their coercions (`Box<dyn Error>`, ...).
                // The type is named in a closure outside the body, where the body's own `use`
                // items cannot shadow its names.
                let body = match body {
                    Body::Parsed(stmts) => quote!(#(#stmts)*),
                    Body::Raw(tokens) => tokens.clone(),
                };
                let outcome = self.future_outcome(None);
                let declare = quote! {
                    let __langfuse_declared_return = || -> #ty { loop {} };
                };
                let future = quote! {
                    __langfuse_observation.instrument_with(
                        async move {
                            if false {
                                return __langfuse_declared_return();
                            }
                            #body
                        },
                        #outcome,
                    )
                };
                (Some(declare), future)
            }
            Some(None) => {
                let block = user_block(brace_token, body);
                let outcome = self.future_outcome(None);
                let future =
                    quote!(__langfuse_observation.instrument_with(async move #block, #outcome));
                (None, future)
            }
        };
        quote! {
            #prelude
            #start
            #declare
            #[allow(clippy::implicit_return)]
            #future.await
        }
    }

    /// A function returning a future built by its last expression (async-trait, or a
    /// hand-written `Box::pin(async move { .. })`): the observation starts when the function
    /// is called, and follows the future.
    fn async_block_fn(
        &self,
        stmts: &[Stmt],
        index: usize,
        call: FutureExpr<'_>,
        output: &ReturnType,
        captured: &[Ident],
    ) -> TokenStream {
        let output = future_output(output).map(erase_impl_trait);
        let unit = output.as_ref().is_some_and(is_unit);
        let prelude = self.prelude(!unit || !captured.is_empty());
        let start = self.start("AsyncObservation", captured);
        let block = call.future;
        let future = if unit {
            quote!(__langfuse_observation.instrument_unit(#block))
        } else {
            // The output's type, where the signature names it, is known before the recorder
            // looks at it, as the block's own inference might leave it open until the return.
            let outcome = self.future_outcome(output.as_ref());
            quote!(__langfuse_observation.instrument_with(#block, #outcome))
        };
        let future = match call.pinned_by {
            Some((attrs, func)) => quote!(#(#attrs)* #func(#future)),
            None => future,
        };
        let tail = quote! {
            #[allow(clippy::implicit_return)]
            #future
        };
        let before = &stmts[..index];
        // The user's own statements get a scope of their own, as in the other shapes.
        let tail = if before.is_empty() {
            tail
        } else {
            quote!({ #(#before)* #tail })
        };
        quote! {
            #prelude
            #start
            #tail
        }
    }
}

/// How a synchronous function returns the stream that carries its observation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StreamShape {
    /// `impl Stream<Item = T>`: the observed stream is returned as is.
    Opaque,
    /// `Pin<Box<dyn Stream<Item = T>>>`, `BoxStream<'a, T>`: the observed stream is boxed.
    Boxed,
}

/// Whether the function's return value is an observed stream, and how it is returned: from
/// the return type, unless `stream = bool` says otherwise. Rejects `stream` arguments that
/// cannot apply to this function.
fn stream_shape(args: &ObserveArgs, sig: &syn::Signature) -> syn::Result<Option<StreamShape>> {
    let forced = args.stream.as_ref();
    if sig.asyncness.is_some() {
        let misplaced = match (forced, &args.stream_item) {
            (Some(forced), _) if forced.value => Some(forced.key),
            (_, Some(item)) => Some(item.key),
            _ => None,
        };
        if let Some(key) = misplaced {
            return Err(syn::Error::new(
                key,
                "an `async fn` is observed until its future completes, not until the stream \
                 it returns ends: to observe the stream, make the function synchronous and \
                 return `impl Stream`",
            ));
        }
        return Ok(None);
    }
    let returned = match &sig.output {
        ReturnType::Type(_, ty) if !is_never(ty) => Some(&**ty),
        _ => None,
    };
    let detected = returned.and_then(stream_return);
    let shape = match forced {
        None => detected,
        Some(forced) if !forced.value => None,
        Some(forced) => match returned {
            // A type alias or another trait (`impl TryStream`): an opaque type can be any
            // stream; a named one must be a boxed stream, the only kind that can be swapped.
            Some(ty) => detected.or(Some(match ty {
                Type::ImplTrait(_) => StreamShape::Opaque,
                _ => StreamShape::Boxed,
            })),
            None => {
                return Err(syn::Error::new(
                    forced.key,
                    "`stream = true` needs a function that returns a stream",
                ));
            }
        },
    };
    if let Some(item) = &args.stream_item {
        let message = if shape.is_none() {
            Some(match forced {
                Some(_) => "`stream_item` has no effect with `stream = false`",
                None => {
                    "`stream_item` needs a function that returns a stream (`impl Stream`, \
                     `Pin<Box<dyn Stream>>`, `BoxStream`); for a type alias of one, add \
                     `stream = true`"
                }
            })
        } else if args.capture_output == Some(false) {
            Some(
                "`stream_item` maps the items captured as output: `capture_output = false` captures none",
            )
        } else {
            None
        };
        if let Some(message) = message {
            return Err(syn::Error::new(item.key, message));
        }
    }
    Ok(shape)
}

/// The stream shape a return type names: `impl Stream<..>` (with any further bounds),
/// `Pin<Box<dyn Stream<..> + ..>>`, `BoxStream<..>` or `LocalBoxStream<..>`, however
/// qualified. Only names are seen: `stream = false` opts out for another trait named `Stream`.
fn stream_return(ty: &Type) -> Option<StreamShape> {
    fn bounds_stream(bounds: &Punctuated<TypeParamBound, Token![+]>) -> bool {
        bounds.iter().any(|bound| {
            matches!(bound, TypeParamBound::Trait(bound)
                if bound.path.segments.last().is_some_and(|last| last.ident == "Stream"))
        })
    }
    /// The first type argument of the last segment, if it is named `name`.
    fn argument_of<'t>(ty: &'t Type, name: &str) -> Option<&'t Type> {
        let Type::Path(path) = ty else { return None };
        let last = path.path.segments.last()?;
        let PathArguments::AngleBracketed(args) = &last.arguments else {
            return None;
        };
        if last.ident != name {
            return None;
        }
        args.args.iter().find_map(|arg| match arg {
            GenericArgument::Type(ty) => Some(ty),
            _ => None,
        })
    }
    match ty {
        Type::ImplTrait(t) => bounds_stream(&t.bounds).then_some(StreamShape::Opaque),
        Type::Paren(t) => stream_return(&t.elem),
        Type::Group(t) => stream_return(&t.elem),
        Type::Path(path) => {
            let last = path.path.segments.last()?;
            if last.ident == "BoxStream" || last.ident == "LocalBoxStream" {
                return Some(StreamShape::Boxed);
            }
            let boxed = argument_of(ty, "Pin").and_then(|pinned| argument_of(pinned, "Box"))?;
            match boxed {
                Type::TraitObject(object) if bounds_stream(&object.bounds) => {
                    Some(StreamShape::Boxed)
                }
                _ => None,
            }
        }
        _ => None,
    }
}

/// In the legacy async-trait shape the body runs in an inner function whose receiver is
/// named `_self`: `self` in the `parent` expression is renamed to match.
fn rename_self(expr: &mut Expr) {
    struct Renamer;
    impl VisitMut for Renamer {
        fn visit_expr_path_mut(&mut self, path: &mut syn::ExprPath) {
            if path.qself.is_none() && path.path.is_ident("self") {
                let span = path.path.segments[0].ident.span();
                path.path.segments[0].ident = Ident::new("_self", span);
            }
        }
        // A nested item has a `self` of its own.
        fn visit_item_mut(&mut self, _: &mut syn::Item) {}
    }
    Renamer.visit_expr_mut(expr);
}

/// Whether two identifiers name the same binding, `r#` or not.
fn same_name(a: &Ident, b: &Ident) -> bool {
    a.unraw() == b.unraw()
}

/// Every identifier a parameter pattern binds, in order: `(a, Point { x, y: mut z }, _)`
/// binds `a`, `x` and `z`.
fn collect_bindings(pat: &Pat, out: &mut Vec<Ident>) {
    match pat {
        Pat::Ident(p) => {
            out.push(p.ident.clone());
            if let Some((_, sub)) = &p.subpat {
                collect_bindings(sub, out);
            }
        }
        Pat::Reference(p) => collect_bindings(&p.pat, out),
        Pat::Paren(p) => collect_bindings(&p.pat, out),
        Pat::Type(p) => collect_bindings(&p.pat, out),
        Pat::Struct(p) => p.fields.iter().for_each(|f| collect_bindings(&f.pat, out)),
        Pat::TupleStruct(p) => p.elems.iter().for_each(|p| collect_bindings(p, out)),
        Pat::Tuple(p) => p.elems.iter().for_each(|p| collect_bindings(p, out)),
        Pat::Slice(p) => p.elems.iter().for_each(|p| collect_bindings(p, out)),
        // Every alternative binds the same names.
        Pat::Or(p) => {
            if let Some(first) = p.cases.first() {
                collect_bindings(first, out);
            }
        }
        // `_`, `..`, literals, ranges, paths, macros: nothing we can see is bound.
        _ => {}
    }
}

/// The declared return type, for the closure or block that runs the body: `None` for `-> !`
/// (nothing is returned), `Some(None)` when the type is all `impl Trait` (left to inference).
#[allow(clippy::option_option)]
fn declared_return(output: &ReturnType) -> Option<Option<Type>> {
    let ty = match output {
        ReturnType::Default => return Some(Some(parse_quote!(()))),
        ReturnType::Type(_, ty) => ty,
    };
    if is_never(ty) {
        return None;
    }
    // `impl Trait` cannot be named in a closure's return type; `_` keeps the rest of the type.
    let ty = erase_impl_trait(ty);
    if matches!(ty, Type::Infer(_)) {
        return Some(None);
    }
    Some(Some(ty))
}

fn is_never(ty: &Type) -> bool {
    match ty {
        Type::Never(_) => true,
        Type::Paren(p) => is_never(&p.elem),
        Type::Group(g) => is_never(&g.elem),
        _ => false,
    }
}

/// Whether the function returns `()`: no return type, or `-> ()` written out (a type alias of
/// `()` cannot be seen, and takes the general path).
fn returns_unit(output: &ReturnType) -> bool {
    match output {
        ReturnType::Default => true,
        ReturnType::Type(_, ty) => is_unit(ty),
    }
}

fn is_unit(ty: &Type) -> bool {
    match ty {
        Type::Tuple(t) => t.elems.is_empty(),
        Type::Paren(p) => is_unit(&p.elem),
        Type::Group(g) => is_unit(&g.elem),
        _ => false,
    }
}

fn erase_impl_trait(ty: &Type) -> Type {
    struct Eraser;
    impl VisitMut for Eraser {
        fn visit_type_mut(&mut self, ty: &mut Type) {
            if let Type::ImplTrait(impl_trait) = ty {
                *ty = Type::Infer(syn::TypeInfer {
                    underscore_token: Token![_](impl_trait.impl_token.span),
                });
            } else {
                syn::visit_mut::visit_type_mut(self, ty);
            }
        }
    }
    let mut ty = ty.clone();
    Eraser.visit_type_mut(&mut ty);
    ty
}

/// `X` in a return type such as `Pin<Box<dyn Future<Output = X> + Send + 'a>>` or
/// `impl Future<Output = X>`.
fn future_output(output: &ReturnType) -> Option<&Type> {
    fn in_bounds(bounds: &Punctuated<TypeParamBound, Token![+]>) -> Option<&Type> {
        bounds.iter().find_map(|bound| {
            let TypeParamBound::Trait(bound) = bound else {
                return None;
            };
            let last = bound.path.segments.last()?;
            let PathArguments::AngleBracketed(args) = &last.arguments else {
                return None;
            };
            if last.ident != "Future" {
                return None;
            }
            args.args.iter().find_map(|arg| match arg {
                GenericArgument::AssocType(assoc) if assoc.ident == "Output" => Some(&assoc.ty),
                _ => None,
            })
        })
    }
    fn in_type(ty: &Type) -> Option<&Type> {
        match ty {
            Type::TraitObject(t) => in_bounds(&t.bounds),
            Type::ImplTrait(t) => in_bounds(&t.bounds),
            Type::Paren(t) => in_type(&t.elem),
            Type::Group(t) => in_type(&t.elem),
            // `Pin<Box<..>>` and the like: look through the generic arguments.
            Type::Path(t) => t.path.segments.iter().find_map(|segment| {
                let PathArguments::AngleBracketed(args) = &segment.arguments else {
                    return None;
                };
                args.args.iter().find_map(|arg| match arg {
                    GenericArgument::Type(ty) => in_type(ty),
                    _ => None,
                })
            }),
            _ => None,
        }
    }
    match output {
        ReturnType::Type(_, ty) => in_type(ty),
        ReturnType::Default => None,
    }
}

/// The future-returning shapes of a non-async function that are observed as async.
enum AsyncShape<'a> {
    /// The last expression is `Box::pin(async move { .. })` (async-trait >= 0.1.44, and
    /// hand-written boxed futures) or a bare `async move { .. }` (`-> impl Future`).
    Block { index: usize, call: FutureExpr<'a> },
    /// `async fn __f(..) { .. }` followed by `Box::pin(__f(..))` (async-trait <= 0.1.43):
    /// the inner function is the one to observe.
    InnerFn {
        index: usize,
        inner: &'a syn::ItemFn,
    },
}

/// An async block, and the `Box::pin` call (attributes and function) around it, if any.
struct FutureExpr<'a> {
    future: &'a ExprAsync,
    pinned_by: Option<(&'a [syn::Attribute], &'a Expr)>,
}

impl<'a> AsyncShape<'a> {
    fn find(stmts: &'a [Stmt]) -> Option<Self> {
        let (last, stmt) = stmts.iter().enumerate().next_back()?;
        let Stmt::Expr(expr, None) = stmt else {
            return None;
        };
        if let Expr::Async(future) = expr {
            let call = FutureExpr {
                future,
                pinned_by: None,
            };
            return Some(Self::Block { index: last, call });
        }
        let Expr::Call(call) = expr else {
            return None;
        };
        if !is_box_pin(&call.func) || call.args.len() != 1 {
            return None;
        }
        match &call.args[0] {
            Expr::Async(future) => Some(Self::Block {
                index: last,
                call: FutureExpr {
                    future,
                    pinned_by: Some((&call.attrs, &call.func)),
                },
            }),
            Expr::Call(inner_call) => {
                let Expr::Path(callee) = &*inner_call.func else {
                    return None;
                };
                let callee = callee.path.get_ident()?;
                stmts
                    .iter()
                    .enumerate()
                    .find_map(|(index, stmt)| match stmt {
                        Stmt::Item(syn::Item::Fn(inner))
                            if inner.sig.asyncness.is_some() && inner.sig.ident == *callee =>
                        {
                            Some(Self::InnerFn { index, inner })
                        }
                        _ => None,
                    })
            }
            _ => None,
        }
    }
}

/// `Box::pin`, however qualified (`::std::boxed::Box::pin`, `Box::pin`, ...).
fn is_box_pin(func: &Expr) -> bool {
    let Expr::Path(path) = func else {
        return false;
    };
    let mut segments = path.path.segments.iter().rev();
    matches!(
        (segments.next(), segments.next()),
        (Some(pin), Some(boxed)) if pin.ident == "pin" && boxed.ident == "Box"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bindings(pat: &str) -> Vec<String> {
        let pat = Pat::parse_single.parse_str(pat).unwrap();
        let mut out = Vec::new();
        collect_bindings(&pat, &mut out);
        out.iter().map(ToString::to_string).collect()
    }

    use syn::parse::Parser as _;

    #[test]
    fn bindings_of_patterns() {
        assert_eq!(bindings("a"), ["a"]);
        assert_eq!(bindings("mut a"), ["a"]);
        assert_eq!(bindings("ref mut a"), ["a"]);
        assert_eq!(bindings("r#type"), ["r#type"]);
        assert_eq!(bindings("_"), Vec::<String>::new());
        assert_eq!(bindings("(a, _, mut b)"), ["a", "b"]);
        assert_eq!(bindings("Point { x, y: mut z, .. }"), ["x", "z"]);
        assert_eq!(bindings("Wrapper(inner)"), ["inner"]);
        assert_eq!(bindings("&(a, b)"), ["a", "b"]);
        assert_eq!(bindings("[first, .., last]"), ["first", "last"]);
        assert_eq!(bindings("whole @ Pair(a, _)"), ["whole", "a"]);
        assert_eq!(bindings("(A(x) | B(x))"), ["x"]);
    }

    fn captured(args: &str, sig: &str) -> syn::Result<Vec<String>> {
        let args: ObserveArgs = syn::parse_str(args).unwrap();
        let sig: syn::Signature = syn::parse_str(sig).unwrap();
        let ctx = Observation::new(&args, &sig.ident);
        let captured = ctx.captured(&sig.inputs, false)?;
        Ok(captured.iter().map(ToString::to_string).collect())
    }

    #[test]
    fn captured_parameters() {
        let sig = "fn f(&self, a: u8, (b, _): (u8, u8), _: u8, mut c: u8)";
        assert_eq!(captured("", sig).unwrap(), ["a", "b", "c"]);
        assert_eq!(captured("skip(b)", sig).unwrap(), ["a", "c"]);
        assert!(captured("capture_input = false", sig).unwrap().is_empty());
        assert_eq!(
            captured("skip(r#type)", "fn f(r#type: u8, b: u8)").unwrap(),
            ["b"]
        );
        assert_eq!(
            captured("skip(type)", "fn f(r#type: u8)").unwrap(),
            Vec::<String>::new()
        );
    }

    #[test]
    fn skip_must_name_a_parameter() {
        let err = captured("skip(self, nope, a)", "fn f(&self, a: u8)").unwrap_err();
        let messages: Vec<String> = err.into_iter().map(|e| e.to_string()).collect();
        assert_eq!(
            messages,
            [
                "`self` is never captured: remove it from `skip`",
                "cannot skip `nope`: no parameter of this function is named so",
            ]
        );
    }

    #[test]
    fn names_default_to_the_function() {
        let args = ObserveArgs::default();
        let ident: Ident = syn::parse_str("r#match").unwrap();
        assert_eq!(Observation::new(&args, &ident).name.value(), "match");
        let args: ObserveArgs = syn::parse_str(r#"name = "custom""#).unwrap();
        assert_eq!(Observation::new(&args, &ident).name.value(), "custom");
    }

    fn annotation(output: &str) -> Option<Option<String>> {
        let sig: syn::Signature = syn::parse_str(&format!("fn f() {output}")).unwrap();
        declared_return(&sig.output).map(|ty| ty.map(|ty| ty.to_token_stream().to_string()))
    }

    #[test]
    fn declared_return_types() {
        assert_eq!(annotation(""), Some(Some("()".into())));
        assert_eq!(annotation("-> u8"), Some(Some("u8".into())));
        assert_eq!(annotation("-> !"), None);
        assert_eq!(annotation("-> impl Iterator<Item = u8>"), Some(None));
        assert_eq!(
            annotation("-> Result<impl Display, Error>"),
            Some(Some("Result < _ , Error >".into()))
        );
    }

    #[test]
    fn unit_returns() {
        let returns = |output: &str| {
            let sig: syn::Signature = syn::parse_str(&format!("fn f() {output}")).unwrap();
            returns_unit(&sig.output)
        };
        assert!(returns(""));
        assert!(returns("-> ()"));
        assert!(returns("-> (())"));
        assert!(
            !returns("-> ((), ())"),
            "a pair of units is a value to capture"
        );
        assert!(
            !returns("-> Nothing"),
            "an alias of () takes the general path"
        );
        assert!(!returns("-> impl Sized"));
        assert!(!returns("-> !"));
    }

    fn output_of(output: &str) -> Option<String> {
        let sig: syn::Signature = syn::parse_str(&format!("fn f() {output}")).unwrap();
        future_output(&sig.output).map(|ty| ty.to_token_stream().to_string())
    }

    #[test]
    fn future_outputs() {
        assert_eq!(
            output_of("-> Pin<Box<dyn Future<Output = Result<u8, E>> + Send + 'async_trait>>"),
            Some("Result < u8 , E >".into())
        );
        assert_eq!(
            output_of("-> impl std::future::Future<Output = u8> + Send"),
            Some("u8".into())
        );
        assert_eq!(output_of("-> BoxFuture<'static, u8>"), None);
        assert_eq!(output_of(""), None);
    }

    fn shape(body: &str) -> Option<&'static str> {
        let block: syn::Block = syn::parse_str(body).unwrap();
        let stmts = Box::leak(Box::new(block.stmts));
        AsyncShape::find(stmts).map(|shape| match shape {
            AsyncShape::Block {
                call: FutureExpr {
                    pinned_by: Some(_), ..
                },
                ..
            } => "pinned block",
            AsyncShape::Block { .. } => "block",
            AsyncShape::InnerFn { .. } => "inner fn",
        })
    }

    #[test]
    fn async_shapes() {
        assert_eq!(
            shape("{ Box::pin(async move { 1 }) }"),
            Some("pinned block")
        );
        assert_eq!(
            shape("{ let a = 1; ::std::boxed::Box::pin(async move { a }) }"),
            Some("pinned block")
        );
        assert_eq!(shape("{ async move { 1 } }"), Some("block"));
        assert_eq!(
            shape("{ async fn __f(_self: &S) {} Box::pin(__f(self)) }"),
            Some("inner fn")
        );
        assert_eq!(shape("{ Box::pin(async move { 1 }); }"), None);
        assert_eq!(shape("{ Pin::new(async move { 1 }) }"), None);
        assert_eq!(shape("{ Box::pin(other()) }"), None);
        assert_eq!(shape("{ fn __f() {} Box::pin(__f()) }"), None);
        assert_eq!(shape("{ 1 }"), None);
    }

    fn stream_of(args: &str, sig: &str) -> syn::Result<Option<StreamShape>> {
        let args: ObserveArgs = syn::parse_str(args).unwrap();
        let sig: syn::Signature = syn::parse_str(sig).unwrap();
        stream_shape(&args, &sig)
    }

    #[test]
    fn streams_are_detected_from_the_return_type() {
        use StreamShape::{Boxed, Opaque};
        for (output, shape) in [
            ("impl Stream<Item = String>", Some(Opaque)),
            ("impl futures::Stream<Item = u8> + Send + 'a", Some(Opaque)),
            ("impl Send + Stream<Item = u8>", Some(Opaque)),
            (
                "Pin<Box<dyn Stream<Item = Result<Chunk, E>> + Send>>",
                Some(Boxed),
            ),
            (
                "std::pin::Pin<Box<dyn futures_core::Stream<Item = u8> + 'a>>",
                Some(Boxed),
            ),
            ("BoxStream<'a, u8>", Some(Boxed)),
            ("futures::stream::LocalBoxStream<'static, u8>", Some(Boxed)),
            ("impl Iterator<Item = u8>", None),
            ("impl TryStream<Ok = u8, Error = E>", None),
            ("Pin<Box<dyn Future<Output = u8>>>", None),
            ("Box<dyn Stream<Item = u8>>", None),
            ("ReceiverStream<u8>", None),
            ("Result<impl Stream<Item = u8>, E>", None),
            ("!", None),
        ] {
            let sig = format!("fn f() -> {output}");
            assert_eq!(stream_of("", &sig).unwrap(), shape, "{output}");
        }
        assert_eq!(stream_of("", "fn f()").unwrap(), None);
        assert_eq!(
            stream_of("", "async fn f() -> impl Stream<Item = u8>").unwrap(),
            None,
            "an async fn is observed until its future completes"
        );
    }

    #[test]
    fn stream_overrides_detection() {
        use StreamShape::{Boxed, Opaque};
        let forced = |output: &str| stream_of("stream = true", &format!("fn f() -> {output}"));
        assert_eq!(forced("ChatStream").unwrap(), Some(Boxed));
        assert_eq!(
            forced("impl TryStream<Ok = u8, Error = E>").unwrap(),
            Some(Opaque)
        );
        assert_eq!(forced("BoxStream<'static, u8>").unwrap(), Some(Boxed));
        assert_eq!(
            stream_of("stream = false", "fn f() -> impl Stream<Item = u8>").unwrap(),
            None
        );
        assert_eq!(
            stream_of("stream = false", "async fn f() -> u8").unwrap(),
            None
        );
    }

    #[test]
    fn stream_arguments_that_cannot_apply() {
        let error = |args: &str, sig: &str| stream_of(args, sig).unwrap_err().to_string();
        assert_eq!(
            error("stream = true", "fn f()"),
            "`stream = true` needs a function that returns a stream"
        );
        assert_eq!(
            error("stream = true", "fn f() -> !"),
            "`stream = true` needs a function that returns a stream"
        );
        assert!(
            error("stream = true", "async fn f() -> ChatStream")
                .starts_with("an `async fn` is observed until its future completes")
        );
        assert!(
            error("stream_item = f", "async fn f() -> impl Stream<Item = u8>")
                .starts_with("an `async fn` is observed until its future completes")
        );
        assert!(
            error("stream_item = f", "fn f() -> Vec<u8>")
                .starts_with("`stream_item` needs a function that returns a stream")
        );
        assert_eq!(
            error(
                "stream = false, stream_item = f",
                "fn f() -> impl Stream<Item = u8>"
            ),
            "`stream_item` has no effect with `stream = false`"
        );
        assert!(
            error(
                "capture_output = false, stream_item = f",
                "fn f() -> impl Stream<Item = u8>"
            )
            .contains("`capture_output = false` captures none")
        );
    }

    #[test]
    fn parent_follows_self_into_a_legacy_async_trait_body() {
        let mut expr: Expr =
            syn::parse_str("self.header(|h| self.pick(h), { fn f(&self) {} })").unwrap();
        rename_self(&mut expr);
        assert_eq!(
            expr.to_token_stream().to_string(),
            "_self . header (| h | _self . pick (h) , { fn f (& self) { } })"
        );
    }

    #[test]
    fn legacy_async_trait_observes_the_inner_function() {
        let item = quote! {
            fn get<'a>(&'a self, key: u8) -> Pin<Box<dyn Future<Output = u8> + Send + 'a>> {
                async fn __get(_self: &Store, key: u8) -> u8 {
                    #![allow(unused)]
                    key
                }
                Box::pin(__get(self, key))
            }
        };
        let expanded = crate::observe_tokens(TokenStream::new(), item.clone());
        let outer: syn::ItemFn = syn::parse2(expanded).unwrap();
        let Stmt::Item(syn::Item::Fn(inner)) = &outer.block.stmts[0] else {
            panic!("the inner function comes first");
        };
        assert!(inner.sig.asyncness.is_some());
        assert_eq!(inner.attrs.len(), 1);
        assert!(matches!(inner.attrs[0].style, syn::AttrStyle::Inner(_)));
        let body = inner.block.to_token_stream().to_string();
        assert!(body.contains(r#"Descriptor :: new ("get""#), "{body}");
        assert!(body.contains(r#"arg ("key")"#), "{body}");
        assert!(!body.contains(r#"arg ("_self")"#), "{body}");
        assert!(body.contains("AsyncObservation :: start (&"), "{body}");

        let args = quote!(parent = self.traceparent(key));
        let expanded = crate::observe_tokens(args, item);
        assert!(
            expanded.to_string().contains(
                "AsyncObservation :: start_under (& __LANGFUSE_DESCRIPTOR , _self . traceparent (key))"
            ),
            "{expanded}"
        );
    }
}
