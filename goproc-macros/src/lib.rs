//! The `#[plugin_interface]` attribute. Parsing lives in the contract model
//! of `goproc-codegen`; this crate only prints Rust from it.

mod blocking;
mod events;
mod expand;
mod schema;

use proc_macro::TokenStream;

/// Turns a trait into a goproc plugin contract: the trait (made `Send +
/// Sync + 'static`, with `Send` futures), a typed client `<Trait>Client`
/// and a dispatcher `<Trait>Server`. See the `goproc` crate for the rules.
#[proc_macro_attribute]
pub fn plugin_interface(args: TokenStream, input: TokenStream) -> TokenStream {
    // A mistake in the arguments is reported, and the contract is still
    // expanded with the defaults: code that uses the client or the server
    // then compiles, so the only error is the one about the arguments.
    let (args, args_error) = match syn::parse::<goproc_codegen::model::InterfaceArgs>(args) {
        Ok(args) => (args, None),
        Err(err) => (Default::default(), Some(err.to_compile_error())),
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
    let expanded = expand::expand(&args, &item);
    quote::quote!(#args_error #expanded).into()
}
