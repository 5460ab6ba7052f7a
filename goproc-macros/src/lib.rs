//! The `#[plugin_interface]` attribute. Parsing lives in the contract model
//! of `goproc-codegen`; this crate only prints Rust from it.

mod expand;

use proc_macro::TokenStream;

/// Turns a trait into a goproc plugin contract: the trait (made `Send +
/// Sync + 'static`, with `Send` futures), a typed client `<Trait>Client`
/// and a dispatcher `<Trait>Server`. See the `goproc` crate for the rules.
#[proc_macro_attribute]
pub fn plugin_interface(args: TokenStream, input: TokenStream) -> TokenStream {
    let args = match syn::parse::<goproc_codegen::model::InterfaceArgs>(args) {
        Ok(args) => args,
        Err(err) => {
            // Still emit the trait, so the only error is the one about the arguments.
            let input = proc_macro2::TokenStream::from(input);
            let err = err.to_compile_error();
            return quote::quote!(#err #input).into();
        }
    };
    let item = match syn::parse::<syn::ItemTrait>(input) {
        Ok(item) => item,
        Err(err) => {
            let err = syn::Error::new(
                err.span(),
                format!("#[plugin_interface] goes on a trait: {err}"),
            );
            return err.to_compile_error().into();
        }
    };
    expand::expand(&args, &item).into()
}
