//! The contract IR: what a `#[plugin_interface]` trait says, in a form every
//! generator (the proc macro, Python, TypeScript) reads the same way.

mod attr;
mod fingerprint;
mod parse;
pub mod schema;
pub mod std_types;
mod ty;
pub mod typedefs;

#[cfg(test)]
mod tests;

pub use attr::InterfaceArgs;
pub use fingerprint::{canonical_text, fingerprint};
pub use parse::{is_interface_attr, parse_contract, parse_contract_partial, RESERVED_METHOD_NAMES};
pub use ty::{parse_type, Ty};

use proc_macro2::Span;

/// A parsed plugin contract.
#[derive(Debug, Clone)]
pub struct Contract {
    /// The trait's name, as written (`Calculator`).
    pub name: syn::Ident,
    /// The trait's visibility, reused for the generated items.
    pub vis: syn::Visibility,
    /// Doc comment lines of the trait, without the leading `///`.
    pub docs: Vec<String>,
    /// Attributes on the trait other than docs, passed through unchanged.
    pub attrs: Vec<syn::Attribute>,
    /// Methods in declaration order; a method's index is its wire number.
    pub methods: Vec<Method>,
    /// Hex SHA-256 of [`canonical_text`]; travels in the handshake.
    pub fingerprint: String,
    /// An event contract (`#[plugin_interface(events)]`): each method is a
    /// kind of event whose one argument is the payload; nothing is called.
    pub events: bool,
}

impl Contract {
    /// An event contract's channel on the wire: the fingerprint's first 16
    /// hex digits as a big-endian u64.
    pub fn channel(&self) -> u64 {
        u64::from_str_radix(&self.fingerprint[..16], 16).expect("a fingerprint is hex")
    }
}

/// One method of a contract.
#[derive(Debug, Clone)]
pub struct Method {
    /// The method's name.
    pub name: syn::Ident,
    /// Doc comment lines of the method.
    pub docs: Vec<String>,
    /// Attributes on the method other than docs.
    pub attrs: Vec<syn::Attribute>,
    /// Arguments after `&self`, in order.
    pub args: Vec<Arg>,
    /// The declared return type, `None` for `()`.
    pub output: Option<syn::Type>,
    /// The shape of the return type ([`Ty::Unit`] when there is none).
    pub ret: Ty,
    /// Span of the whole signature, for errors about the method.
    pub span: Span,
}

impl Method {
    /// The item type of the stream this method answers with, if it does.
    pub fn answer_stream(&self) -> Option<&Ty> {
        self.ret.stream_item()
    }

    /// The position (among all arguments) and item type of the stream
    /// argument, if the method takes one. It travels in frames of its own,
    /// not in the REQUEST.
    pub fn stream_arg(&self) -> Option<(usize, &Ty)> {
        self.args
            .iter()
            .enumerate()
            .find_map(|(i, a)| a.shape.stream_item().map(|item| (i, item)))
    }

    /// The arguments the REQUEST carries: all but the stream argument.
    pub fn request_args(&self) -> impl Iterator<Item = &Arg> {
        self.args.iter().filter(|a| a.shape.stream_item().is_none())
    }

    /// For a method declared `-> Result<T, E>`: the shapes of `T` and `E`.
    /// The plugin's `Err(e)` is a domain error and reaches the caller typed.
    pub fn domain_result(&self) -> Option<(&Ty, &Ty)> {
        match &self.ret {
            Ty::Result(ok, err) => Some((ok, err)),
            _ => None,
        }
    }
}

/// One argument of a method.
#[derive(Debug, Clone)]
pub struct Arg {
    /// The argument's name.
    pub name: syn::Ident,
    /// The type as written.
    pub ty: syn::Type,
    /// Its shape.
    pub shape: Ty,
}

/// Folds doc attributes (`/// text`) into lines of text.
pub(crate) fn doc_lines(attrs: &[syn::Attribute]) -> Vec<String> {
    attrs
        .iter()
        .filter(|a| a.path().is_ident("doc"))
        .filter_map(|a| match &a.meta {
            syn::Meta::NameValue(nv) => match &nv.value {
                syn::Expr::Lit(syn::ExprLit {
                    lit: syn::Lit::Str(s),
                    ..
                }) => Some(s.value()),
                _ => None,
            },
            _ => None,
        })
        .map(|line| line.strip_prefix(' ').unwrap_or(&line).to_string())
        .collect()
}

/// Collects several `syn::Error`s into one, so a user sees every mistake at once.
#[derive(Default)]
pub(crate) struct Errors(Option<syn::Error>);

impl Errors {
    pub(crate) fn push(&mut self, err: syn::Error) {
        match &mut self.0 {
            Some(all) => all.combine(err),
            None => self.0 = Some(err),
        }
    }

    pub(crate) fn finish(self) -> Result<(), syn::Error> {
        self.0.map_or(Ok(()), Err)
    }
}
