//! `syn::ItemTrait` -> [`Contract`]: the one place a contract is parsed.

use std::collections::HashMap;

use proc_macro2::Span;
use syn::ext::IdentExt;
use syn::spanned::Spanned;

use super::ty::parse_type;
use super::{doc_lines, fingerprint, Arg, Contract, Errors, InterfaceArgs, Method, Ty};

/// Names the generated client and server define themselves; a method may not take them.
pub const RESERVED_METHOD_NAMES: &[&str] = &[
    "new",
    "clone",
    "from_service",
    "with_timeout",
    "without_timeout",
    "service",
    "contract",
    "into_inner",
];

/// The most arguments a contract method may take (after `&self`).
const MAX_ARGS: usize = 16;

/// Reads a contract trait. Every mistake is reported on its own tokens, all
/// of them at once, combined into one `syn::Error`.
///
/// Whether it is an event contract is read from its own
/// `#[plugin_interface(events)]` attribute (a source file as `goproc-codegen`
/// reads it); the macro, which receives its arguments apart, calls
/// [`parse_contract_partial`].
pub fn parse_contract(item: &syn::ItemTrait) -> syn::Result<Contract> {
    let args = match item.attrs.iter().find(|a| is_interface_attr(a)) {
        Some(attr) if matches!(attr.meta, syn::Meta::List(_)) => {
            attr.parse_args::<InterfaceArgs>()?
        }
        _ => InterfaceArgs::default(),
    };
    let (contract, errors) = parse_contract_partial(item, args.events);
    errors.map(|()| contract)
}

/// Whether an attribute is `#[plugin_interface]` (under any path).
pub fn is_interface_attr(attr: &syn::Attribute) -> bool {
    attr.path()
        .segments
        .last()
        .is_some_and(|s| s.ident == "plugin_interface")
}

/// Like [`parse_contract`], but also returns what could be read when there
/// are errors (the methods without mistakes), so the macro can still emit
/// the generated items and a mistake yields one error, not a cascade.
pub fn parse_contract_partial(item: &syn::ItemTrait, events: bool) -> (Contract, syn::Result<()>) {
    let mut errors = Errors::default();
    check_trait_header(item, &mut errors);

    // A generic trait is already reported; its methods that name the trait's
    // parameters are left out of the partial contract, so the generated code
    // does not add "cannot find type `T`" to that one error.
    let trait_params: Vec<String> = item
        .generics
        .type_params()
        .map(|p| p.ident.to_string())
        .chain(item.generics.const_params().map(|p| p.ident.to_string()))
        .collect();

    let mut methods = Vec::new();
    let mut seen: HashMap<String, Span> = HashMap::new();
    for trait_item in &item.items {
        match trait_item {
            syn::TraitItem::Fn(f) => {
                let Some(method) = parse_method(f, events, &mut errors) else {
                    continue;
                };
                if uses_any(&method, &trait_params) {
                    continue;
                }
                let name = method.name.unraw().to_string();
                if seen.insert(name.clone(), method.name.span()).is_some() {
                    errors.push(syn::Error::new(
                        method.name.span(),
                        format!("method `{name}` is declared twice; each method needs its own name"),
                    ));
                    continue;
                }
                methods.push(method);
            }
            syn::TraitItem::Type(t) => errors.push(syn::Error::new_spanned(
                t,
                "a contract cannot have associated types: other languages must know every type; \
                 name the concrete type in the methods instead",
            )),
            syn::TraitItem::Const(c) => errors.push(syn::Error::new_spanned(
                c,
                "a contract cannot have associated consts: they do not cross a process boundary; \
                 use a method that returns the value, or a const outside the trait",
            )),
            syn::TraitItem::Macro(m) => errors.push(syn::Error::new_spanned(
                m,
                "a macro inside a contract cannot be read by the contract model; write the methods out",
            )),
            other => errors.push(syn::Error::new_spanned(
                other,
                "only `async fn` methods are allowed in a contract",
            )),
        }
    }

    let name = item.ident.unraw().to_string();
    let contract = Contract {
        name: item.ident.clone(),
        vis: item.vis.clone(),
        docs: doc_lines(&item.attrs),
        attrs: item
            .attrs
            .iter()
            .filter(|a| !a.path().is_ident("doc"))
            .cloned()
            .collect(),
        fingerprint: fingerprint(&name, events, &methods),
        events,
        methods,
    };
    (contract, errors.finish())
}

/// Whether a method's types name one of `params` (a trait's generic parameters).
fn uses_any(method: &Method, params: &[String]) -> bool {
    let named = |t: &Ty| {
        t.named_types()
            .iter()
            .any(|n| params.iter().any(|p| p == n))
    };
    method.args.iter().any(|a| named(&a.shape)) || named(&method.ret)
}

/// The tokens to point at for generics: `<...>` if there are parameters,
/// else the `where` clause (`Generics` prints without its `where` clause).
fn generics_tokens(generics: &syn::Generics) -> proc_macro2::TokenStream {
    use quote::ToTokens;
    match &generics.where_clause {
        Some(w) if generics.params.is_empty() => w.to_token_stream(),
        _ => generics.to_token_stream(),
    }
}

fn check_trait_header(item: &syn::ItemTrait, errors: &mut Errors) {
    if let Some(u) = &item.unsafety {
        errors.push(syn::Error::new_spanned(
            u,
            "a contract trait cannot be `unsafe`",
        ));
    }
    if let Some(a) = &item.auto_token {
        errors.push(syn::Error::new_spanned(
            a,
            "a contract trait cannot be an auto trait",
        ));
    }
    if !item.generics.params.is_empty() || item.generics.where_clause.is_some() {
        errors.push(syn::Error::new_spanned(
            generics_tokens(&item.generics),
            "a contract trait cannot be generic: plugins in other languages need concrete types; \
             write one contract per concrete type",
        ));
    }
    if !item.supertraits.is_empty() {
        errors.push(syn::Error::new_spanned(
            &item.supertraits,
            "a contract trait cannot have supertraits: a plugin process implements only the \
             contract (the generated trait is already `Send + Sync + 'static`); put the other \
             methods in this trait or in a second contract",
        ));
    }
}

fn parse_method(f: &syn::TraitItemFn, events: bool, errors: &mut Errors) -> Option<Method> {
    let sig = &f.sig;
    let mut errs = Errors::default();

    if events {
        if let Some(a) = &sig.asyncness {
            errs.push(syn::Error::new_spanned(
                a,
                format!(
                    "event `{}` is published, not called: declare it without `async`, as \
                     `fn {}(&self, payload: T);`",
                    sig.ident, sig.ident
                ),
            ));
        }
    } else if sig.asyncness.is_none() {
        let (fn_token, ident) = (&sig.fn_token, &sig.ident);
        errs.push(syn::Error::new_spanned(
            quote::quote!(#fn_token #ident),
            format!(
                "contract method `{ident}` must be `async fn`: every call crosses a process \
                 boundary and is awaited; write `async fn {ident}`"
            ),
        ));
    }
    if let Some(c) = &sig.constness {
        errs.push(syn::Error::new_spanned(
            c,
            "a contract method cannot be `const`",
        ));
    }
    if let Some(u) = &sig.unsafety {
        errs.push(syn::Error::new_spanned(
            u,
            "a contract method cannot be `unsafe`",
        ));
    }
    if let Some(abi) = &sig.abi {
        errs.push(syn::Error::new_spanned(
            abi,
            "a contract method cannot declare an ABI",
        ));
    }
    if let Some(v) = &sig.variadic {
        errs.push(syn::Error::new_spanned(
            v,
            "a contract method cannot be variadic",
        ));
    }
    if !sig.generics.params.is_empty() || sig.generics.where_clause.is_some() {
        errs.push(syn::Error::new_spanned(
            generics_tokens(&sig.generics),
            format!(
                "contract method `{}` cannot be generic: each method needs concrete types that \
                 other languages can read; write one method per concrete type",
                sig.ident
            ),
        ));
    }
    if let Some(body) = &f.default {
        errs.push(syn::Error::new_spanned(
            body,
            "a contract method cannot have a default body: the plugin implements every method, \
             and plugins in other languages cannot run Rust code; remove the body",
        ));
    }
    let name_str = sig.ident.unraw().to_string();
    if RESERVED_METHOD_NAMES.contains(&name_str.as_str()) {
        errs.push(syn::Error::new_spanned(
            &sig.ident,
            format!(
                "`{name_str}` is a name the generated client or server already uses; rename the \
                 method (reserved: {})",
                RESERVED_METHOD_NAMES.join(", ")
            ),
        ));
    }

    let mut inputs = sig.inputs.iter();
    match inputs.next() {
        Some(syn::FnArg::Receiver(r))
            if r.reference.is_some() && r.mutability.is_none() && r.colon_token.is_none() =>
        {
            if let Some((_, Some(lt))) = &r.reference {
                errs.push(syn::Error::new_spanned(
                    lt,
                    "a contract method takes plain `&self`, without a lifetime",
                ));
            }
        }
        Some(syn::FnArg::Receiver(r)) => errs.push(syn::Error::new_spanned(
            r,
            if r.colon_token.is_some() {
                "a contract method takes plain `&self`, not a typed receiver: the generated \
                 server holds the implementation in an `Arc`; write `&self`"
            } else if r.reference.is_some() {
                "a contract method takes `&self`, not `&mut self`: calls run concurrently; keep \
                 mutable state behind a `Mutex` in the plugin and write `&self`"
            } else {
                "a contract method takes `&self`, not `self`: the plugin keeps serving after \
                 each call, so a call cannot consume it; write `&self`"
            },
        )),
        _ => errs.push(syn::Error::new(
            sig.paren_token.span.join(),
            format!(
                "contract method `{}` needs a `&self` receiver: write `async fn {}(&self, ...)`",
                sig.ident, sig.ident
            ),
        )),
    }

    let mut args = Vec::new();
    let mut arg_names = std::collections::HashSet::new();
    for input in sig.inputs.iter().skip(usize::from(matches!(
        sig.inputs.first(),
        Some(syn::FnArg::Receiver(_))
    ))) {
        let syn::FnArg::Typed(pt) = input else {
            continue;
        };
        let name = match &*pt.pat {
            syn::Pat::Ident(pi) if pi.by_ref.is_none() && pi.subpat.is_none() => {
                if pi.mutability.is_some() {
                    errs.push(syn::Error::new_spanned(
                        pi.mutability,
                        "write the argument without `mut`: the contract only names it; an implementation \
                         may still take it as `mut`",
                    ));
                }
                Some(pi.ident.clone())
            }
            other => {
                errs.push(syn::Error::new_spanned(
                    other,
                    "a contract argument must be a plain name, like `value: T`: generated clients \
                     and stubs in other languages name each argument",
                ));
                None
            }
        };
        if let Some(n) = &name {
            if !arg_names.insert(n.unraw().to_string()) {
                errs.push(syn::Error::new_spanned(
                    n,
                    format!("argument `{n}` is named twice"),
                ));
            }
        }
        match parse_type(&pt.ty) {
            Ok(shape) => {
                if let Some(name) = name {
                    args.push(Arg {
                        name,
                        ty: (*pt.ty).clone(),
                        shape,
                    });
                }
            }
            Err(e) => errs.push(e),
        }
    }

    // The arguments travel as one tuple, and serde implements tuples of up to 16.
    if let Some(extra) = sig
        .inputs
        .iter()
        .filter(|a| matches!(a, syn::FnArg::Typed(_)))
        .nth(MAX_ARGS)
    {
        errs.push(syn::Error::new_spanned(
            extra,
            format!(
                "contract method `{}` takes more than {MAX_ARGS} arguments: they travel as one \
                 tuple and serde implements tuples of up to {MAX_ARGS}; group them in a struct",
                sig.ident
            ),
        ));
    }

    let (output, ret) = match &sig.output {
        syn::ReturnType::Default => (None, Ty::Unit),
        syn::ReturnType::Type(_, ty) => match parse_type(ty) {
            Ok(shape) => (Some((**ty).clone()), shape),
            Err(e) => {
                errs.push(e);
                (Some((**ty).clone()), Ty::Unit)
            }
        },
    };

    if events {
        check_event(sig, &args, &mut errs);
    } else {
        check_streams(sig, &args, &ret, &mut errs);
    }

    match errs.finish() {
        Ok(()) => Some(Method {
            name: sig.ident.clone(),
            docs: doc_lines(&f.attrs),
            attrs: f
                .attrs
                .iter()
                .filter(|a| !a.path().is_ident("doc"))
                .cloned()
                .collect(),
            args,
            output,
            ret,
            span: sig.span(),
        }),
        Err(e) => {
            errors.push(e);
            None
        }
    }
}

/// An event declares one payload and returns nothing: it is published, and
/// nobody answers it.
fn check_event(sig: &syn::Signature, args: &[Arg], errs: &mut Errors) {
    let ident = &sig.ident;
    if args.len() != 1 {
        errs.push(syn::Error::new(
            sig.paren_token.span.join(),
            format!(
                "event `{ident}` must take exactly one payload after `&self`, found {}; group \
                 several values in a struct: `fn {ident}(&self, payload: T);`",
                args.len()
            ),
        ));
    }
    if let syn::ReturnType::Type(_, ty) = &sig.output {
        errs.push(syn::Error::new_spanned(
            ty,
            format!("event `{ident}` cannot return a value: an event is never answered"),
        ));
    }
    for a in args
        .iter()
        .filter(|a| matches!(a.shape, Ty::Stream(_)) || a.shape.has_inner_stream())
    {
        errs.push(syn::Error::new_spanned(
            &a.ty,
            "an event's payload is one value; it cannot be a stream",
        ));
    }
}

/// Streams stand at the top of a signature: the answer, or one argument.
fn check_streams(sig: &syn::Signature, args: &[Arg], ret: &Ty, errs: &mut Errors) {
    for a in args.iter().filter(|a| a.shape.has_inner_stream()) {
        errs.push(syn::Error::new_spanned(
            &a.ty,
            "a stream cannot be nested inside another type; take `goproc::Stream<T>` as an \
             argument of its own",
        ));
    }
    let streams: Vec<&Arg> = args
        .iter()
        .filter(|a| matches!(a.shape, Ty::Stream(_)))
        .collect();
    for extra in streams.iter().skip(1) {
        errs.push(syn::Error::new_spanned(
            &extra.ty,
            format!(
                "contract method `{}` takes more than one stream; a method takes at most one \
                 (send several kinds of items as an enum)",
                sig.ident
            ),
        ));
    }
    if ret.has_inner_stream() {
        if let syn::ReturnType::Type(_, ty) = &sig.output {
            errs.push(syn::Error::new_spanned(
                ty,
                "a stream cannot be nested inside another type; return `goproc::Stream<T>` \
                 itself (to end a stream with a domain error, make its items `Result<T, E>`)",
            ));
        }
    }
}
