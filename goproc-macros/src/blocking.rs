//! The blocking client: `<Trait>BlockingClient`, one plain `fn` per method
//! that runs the async client's call on the plugin's runtime.

use goproc_codegen::model::{Contract, Method, Ty};
use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use crate::expand::{client_bounds, docs, ret_type, stream_item};

pub(crate) fn expand_blocking_client(c: &Contract, krate: &TokenStream) -> TokenStream {
    let (vis, name) = (&c.vis, &c.name);
    let client = format_ident!("{}Client", name);
    let blocking = format_ident!("{}BlockingClient", name);
    let contract = syn::ext::IdentExt::unraw(name).to_string();
    let instead = format!("use the async client `{client}`");
    let intro = format!(
        "Calls contract [`{name}`] from a thread without an async runtime: the methods of \
         [`{client}`] as plain `fn`s that block until the answer. Get one from \
         `goproc::blocking::Plugin::client` or `goproc::blocking::Pool::client`.\n\n\
         Cheap to clone, and callable from any number of threads at once. Called from inside \
         an async runtime, each method fails at once with `goproc::Error::BlockingInAsync`: \
         use [`{client}`] there."
    );
    let methods = c
        .methods
        .iter()
        .map(|m| blocking_method(&contract, &instead, m, krate));
    quote! {
        #[doc = #intro]
        #[derive(Clone, Debug)]
        // A host that only calls the async client is not told that the
        // blocking one, which it never asked for, goes unused.
        #[allow(dead_code)]
        #vis struct #blocking {
            client: #client,
            blocking: #krate::__private::BlockingHandle,
        }

        impl #krate::blocking::BlockingClient for #blocking {
            type Async = #client;

            fn from_parts(client: #client, blocking: #krate::__private::BlockingHandle) -> Self {
                #blocking { client, blocking }
            }
        }

        impl #blocking {
            /// A copy of this client whose calls fail with `goproc::Error::Timeout` after
            /// `timeout`; the deadline travels with each call, so the plugin stops too.
            pub fn with_timeout(&self, timeout: ::core::time::Duration) -> Self {
                #blocking { client: self.client.with_timeout(timeout), blocking: self.blocking.clone() }
            }

            /// A copy of this client whose calls wait as long as the plugin takes.
            pub fn without_timeout(&self) -> Self {
                #blocking { client: self.client.without_timeout(), blocking: self.blocking.clone() }
            }

            /// A copy of this client whose answer streams get a credit window of `bytes`.
            pub fn with_stream_window(&self, bytes: u32) -> Self {
                #blocking { client: self.client.with_stream_window(bytes), blocking: self.blocking.clone() }
            }

            #(#methods)*
        }
    }
}

fn blocking_method(contract: &str, instead: &str, m: &Method, krate: &TokenStream) -> TokenStream {
    let (mname, mdoc, ret) = (&m.name, docs(&m.docs), ret_type(m));
    let path = format!("{contract}.{}", syn::ext::IdentExt::unraw(mname));
    let params = m.args.iter().map(|a| {
        let (n, t) = (&a.name, &a.ty);
        quote!(#n: #t)
    });
    let names: Vec<_> = m.args.iter().map(|a| &a.name).collect();
    let bounds = client_bounds(m, krate);
    if let (Ty::Stream(_), Some(out)) = (&m.ret, &m.output) {
        let item = stream_item(out);
        return quote! {
            #mdoc
            #[doc = ""]
            #[doc = "Returns at once: the request goes out on the first `next`, which blocks until an item arrives. Items are `Ok` until the last, which is the error when the call failed; dropping the iterator stops the producer."]
            pub fn #mname(&self, #(#params),*) -> #krate::blocking::Iter<#item>
            #bounds
            {
                self.blocking.iter(#path, #instead, self.client.#mname(#(#names),*))
            }
        };
    }
    quote! {
        #mdoc
        pub fn #mname(&self, #(#params),*) -> ::core::result::Result<#ret, #krate::__private::Error>
        #bounds
        {
            self.blocking.call(#path, #instead, self.client.#mname(#(#names),*))
        }
    }
}
