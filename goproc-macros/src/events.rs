//! Rust code for an event contract (`#[plugin_interface(events)]`): one
//! struct, `<Trait>Events`, with a `publish_<event>` and a
//! `subscribe_<event>` per kind of event. There is no trait to implement:
//! events are published and received, never served.

use goproc_codegen::model::Contract;
use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::ext::IdentExt;
use syn::spanned::Spanned;

pub(crate) fn expand(
    c: &Contract,
    errors: Option<TokenStream>,
    krate: &TokenStream,
) -> TokenStream {
    let (vis, attrs) = (&c.vis, &c.attrs);
    let name = c.name.unraw().to_string();
    // `Telemetry` -> `TelemetryEvents`; a name that says `Events` already
    // (`SensorEvents`) stays as it is, as in Python and TypeScript.
    let events = if name.ends_with("Events") {
        format_ident!("{}", name)
    } else {
        format_ident!("{}Events", name)
    };
    let fingerprint = &c.fingerprint;
    let channel = c.channel();
    let kinds = c.methods.iter().map(|m| m.name.unraw().to_string());
    let private = quote!(#krate::__private);
    let intro = format!(
        "The events of contract `{name}`: publish and subscribe to them on a `goproc::Bus` \
         (`{events}::on(&bus)`)."
    );
    let trait_docs = docs(&c.docs);

    let methods = c.methods.iter().enumerate().filter_map(|(index, m)| {
        let index = index as u32;
        let arg = m.args.first()?;
        let kind = m.name.unraw().to_string();
        let ty = &arg.ty;
        // The payload's name, unless it would clash with the topic's.
        let payload = if arg.name == "topic" {
            format_ident!("payload")
        } else {
            arg.name.clone()
        };
        let publish = format_ident!("publish_{}", kind);
        let subscribe = format_ident!("subscribe_{}", kind);
        let docs = docs(&m.docs);
        let publish_doc = format!(
            "Publishes `{kind}` on `topic`, to every subscription whose pattern matches it \
             (a plugin's own are left out). Never waits: a subscriber that does not keep up \
             loses its oldest events. Fails when the topic is invalid (empty, longer than \
             65,535 bytes, or with `+`, `#` or NUL), when the payload does not encode, or \
             when a plugin's connection to its host has ended."
        );
        let subscribe_doc = format!(
            "Subscribes to `{kind}` on topics that match `pattern` (`+` matches one level, \
             `#` the rest: `home/+/temperature`, `home/kitchen/#`). The subscription is a \
             stream of `goproc::Event`s and ends when dropped. Fails when the pattern is \
             invalid."
        );
        let attrs = &m.attrs;
        Some(quote! {
            #[doc = #publish_doc]
            #[doc = ""]
            #docs
            #(#attrs)*
            #[allow(clippy::ptr_arg)]
            pub fn #publish(
                &self,
                topic: &str,
                #payload: &#ty,
            ) -> ::core::result::Result<(), #private::Error>
            where
                for<'__w> #ty: #private::serde::Serialize,
            {
                #private::publish_event::<Self, #ty>(&self.bus, #index, topic, #payload)
            }

            #[doc = #subscribe_doc]
            #[doc = ""]
            #docs
            #(#attrs)*
            pub fn #subscribe(
                &self,
                pattern: &str,
            ) -> ::core::result::Result<#private::Subscription<#ty>, #private::Error>
            where
                for<'__de> #ty: #private::serde::de::DeserializeOwned,
            {
                #private::subscribe_event::<Self, #ty>(&self.bus, #index, pattern)
            }
        })
    });

    let checks = type_checks(c, &private);
    let schema = crate::schema::schema_fn(c, krate);
    quote! {
        #errors

        #[doc = #intro]
        #[doc = ""]
        #trait_docs
        #(#attrs)*
        #[derive(Clone, Debug)]
        #vis struct #events {
            bus: #private::Bus,
        }

        impl #private::EventContract for #events {
            const NAME: &'static str = #name;
            const FINGERPRINT: &'static str = #fingerprint;
            const CHANNEL: u64 = #channel;
            const EVENTS: &'static [&'static str] = &[#(#kinds),*];
            const SCHEMA: fn() -> &'static ::core::result::Result<
                #private::ContractSchema,
                ::std::string::String,
            > = #schema;
        }

        impl #events {
            /// These events on `bus`: a host's (`goproc::Bus::new()`,
            /// `goproc::Bus::global()`), or, in a plugin, the one that reaches
            /// its host (`goproc::host_bus()`).
            pub fn on(bus: &#private::Bus) -> Self {
                #events { bus: ::core::clone::Clone::clone(bus) }
            }

            #(#methods)*
        }

        #checks
    }
}

fn docs(lines: &[String]) -> TokenStream {
    quote!(#(#[doc = #lines])*)
}

/// One assertion per payload type, spanned on the type as written, so that
/// a type without serde is reported at the user's code (as for methods).
fn type_checks(c: &Contract, private: &TokenStream) -> TokenStream {
    let checks = c.methods.iter().flat_map(|m| &m.args).map(|a| {
        let ty = &a.ty;
        quote_spanned! {ty.span()=>
            assert_wire_type::<#ty>();
        }
    });
    quote! {
        const _: () = {
            #[diagnostic::on_unimplemented(
                message = "`{Self}` cannot cross the process boundary: an event's payload must \
                           implement `serde::Serialize` and `serde::Deserialize`",
                label = "used in an event contract here",
                note = "add `#[derive(serde::Serialize, serde::Deserialize)]` to the type; for a \
                        type from another crate, enable its `serde` feature or wrap it in a type \
                        of your own"
            )]
            trait WireType {}
            impl<T: #private::serde::Serialize + #private::serde::de::DeserializeOwned> WireType
                for T
            {
            }
            fn assert_wire_type<T: WireType>() {}

            #[allow(dead_code)]
            fn assert_every_payload_crosses_the_wire() {
                #(#checks)*
            }
        };
    }
}
