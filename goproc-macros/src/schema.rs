//! The contract's schema function: traces every argument and answer type
//! from its serde impls the first time it is called, keeps the result in a
//! `static`, and is stored in the contract's `ContractInfo` (or its
//! `EventContract`) as a function pointer.

use goproc_codegen::model::{Contract, Ty};
use proc_macro2::TokenStream;
use quote::quote;
use syn::ext::IdentExt;

/// An expression whose value is the schema function (`fn() -> &'static
/// Result<ContractSchema, String>`): a block holding the function item.
pub(crate) fn schema_fn(c: &Contract, krate: &TokenStream) -> TokenStream {
    let private = quote!(#krate::__private);
    let name = c.name.unraw().to_string();
    let docs = &c.docs;
    let events = c.events;
    let methods = c.methods.iter().map(|m| {
        let mname = m.name.unraw().to_string();
        let mdocs = &m.docs;
        let args = m.args.iter().map(|a| {
            let aname = a.name.unraw().to_string();
            let trace = trace_of(&a.ty, &a.shape, &private);
            quote!((#aname, #trace))
        });
        let ret = match &m.output {
            None => quote!(::core::result::Result::Ok(
                <#private::Traced as ::core::default::Default>::default()
            )),
            Some(ty) => trace_of(ty, &m.ret, &private),
        };
        quote! {
            #private::MethodSketch {
                name: #mname,
                docs: &[#(#mdocs),*],
                args: ::std::vec![#(#args),*],
                ret: #ret,
            }
        }
    });
    quote! {{
        fn schema() -> &'static ::core::result::Result<#private::ContractSchema, ::std::string::String> {
            #[allow(unused_imports)]
            use #private::{TraceNothing as _, TraceSerde as _};
            static SCHEMA: ::std::sync::OnceLock<
                ::core::result::Result<#private::ContractSchema, ::std::string::String>,
            > = ::std::sync::OnceLock::new();
            SCHEMA.get_or_init(|| {
                #private::contract_schema(
                    #name,
                    &[#(#docs),*],
                    #events,
                    ::std::vec![#(#methods),*],
                )
            })
        }
        schema
    }}
}

/// The trace of one argument or answer: `Result<T, E>` and `Stream<T>` are
/// taken apart (their parts are what serde sees), anything else is traced
/// whole.
fn trace_of(ty: &syn::Type, shape: &Ty, private: &TokenStream) -> TokenStream {
    let probe = |t: &syn::Type| quote!((&#private::SchemaProbe::<#t>::new()).trace());
    let args = generic_args(ty);
    match (shape, args.as_slice()) {
        (Ty::Result(..), [ok, err]) => {
            let (ok, err) = (probe(ok), probe(err));
            quote!(#private::result_trace(#ok, #err))
        }
        (Ty::Stream(_), [item]) => {
            let item = probe(item);
            quote!(#private::stream_trace(#item))
        }
        _ => probe(ty),
    }
}

/// The type arguments of `Path<A, B>` as written.
fn generic_args(ty: &syn::Type) -> Vec<syn::Type> {
    let syn::Type::Path(p) = ty else {
        return Vec::new();
    };
    let Some(seg) = p.path.segments.last() else {
        return Vec::new();
    };
    let syn::PathArguments::AngleBracketed(a) = &seg.arguments else {
        return Vec::new();
    };
    a.args
        .iter()
        .filter_map(|g| match g {
            syn::GenericArgument::Type(t) => Some(t.clone()),
            _ => None,
        })
        .collect()
}
