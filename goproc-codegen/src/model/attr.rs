//! The arguments of `#[plugin_interface(...)]`.

use syn::parse::{Parse, ParseStream};

/// What `#[plugin_interface(...)]` accepts.
///
/// - `crate = "path"`: where the generated code finds the runtime, for crates
///   that re-export goproc under another name (default `::goproc`).
/// - `events`: the trait declares kinds of events, not methods to call.
#[derive(Debug, Clone, Default)]
pub struct InterfaceArgs {
    /// The path given with `crate = "..."`, if any.
    pub krate: Option<syn::Path>,
    /// Whether `events` was given.
    pub events: bool,
}

impl Parse for InterfaceArgs {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let mut args = InterfaceArgs::default();
        let metas = input.parse_terminated(syn::Meta::parse, syn::Token![,])?;
        for meta in metas {
            match &meta {
                syn::Meta::NameValue(nv) if nv.path.is_ident("crate") => {
                    if args.krate.is_some() {
                        return Err(syn::Error::new_spanned(
                            &meta,
                            "`crate` is given twice; keep one `crate = \"...\"`",
                        ));
                    }
                    let syn::Expr::Lit(syn::ExprLit {
                        lit: syn::Lit::Str(s),
                        ..
                    }) = &nv.value
                    else {
                        return Err(syn::Error::new_spanned(
                            &nv.value,
                            "expected a string: `crate = \"path::to::goproc\"`",
                        ));
                    };
                    args.krate = Some(s.parse().map_err(|_| {
                        syn::Error::new_spanned(
                            s,
                            "expected a path: `crate = \"path::to::goproc\"`",
                        )
                    })?);
                }
                syn::Meta::Path(p) if p.is_ident("events") => {
                    if args.events {
                        return Err(syn::Error::new_spanned(&meta, "`events` is given twice"));
                    }
                    args.events = true;
                }
                syn::Meta::Path(p) if p.is_ident("crate") => {
                    return Err(syn::Error::new_spanned(
                        &meta,
                        "`crate` needs a value: `crate = \"path::to::goproc\"`",
                    ));
                }
                _ => {
                    return Err(syn::Error::new_spanned(
                        &meta,
                        "unknown argument to `#[plugin_interface]`; it takes `events` (an \
                         event contract) and `crate = \"path::to::goproc\"`",
                    ));
                }
            }
        }
        Ok(args)
    }
}
