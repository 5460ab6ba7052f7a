//! Rust code from the contract IR: the trait, the client and the server.

use goproc_codegen::model::{parse_contract_partial, Contract, InterfaceArgs, Method, Ty};
use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;

pub(crate) fn expand(args: &InterfaceArgs, item: &syn::ItemTrait) -> TokenStream {
    let krate = match &args.krate {
        Some(path) => quote!(#path),
        None => quote!(::goproc),
    };
    let (contract, errors) = parse_contract_partial(item, args.events);
    let errors = errors.err().map(|e| e.to_compile_error());
    if contract.events {
        return crate::events::expand(&contract, errors, &krate);
    }
    let trait_item = expand_trait(&contract);
    let client = expand_client(&contract, &krate);
    let blocking = crate::blocking::expand_blocking_client(&contract, &krate);
    let server = expand_server(&contract, &krate);
    let checks = expand_type_checks(&contract, &krate);
    quote! {
        #errors
        #trait_item
        #client
        #blocking
        #server
        #checks
    }
}

pub(crate) fn docs(lines: &[String]) -> TokenStream {
    quote!(#(#[doc = #lines])*)
}

pub(crate) fn ret_type(m: &Method) -> TokenStream {
    match &m.output {
        Some(ty) => quote!(#ty),
        None => quote!(()),
    }
}

fn expand_trait(c: &Contract) -> TokenStream {
    let (vis, name, attrs, doc) = (&c.vis, &c.name, &c.attrs, docs(&c.docs));
    let methods = c.methods.iter().map(|m| {
        let (mname, mattrs, mdoc, ret) = (&m.name, &m.attrs, docs(&m.docs), ret_type(m));
        let args = m.args.iter().map(|a| {
            let (n, t) = (&a.name, &a.ty);
            quote!(#n: #t)
        });
        quote! {
            #mdoc
            #(#mattrs)*
            fn #mname(&self, #(#args),*)
                -> impl ::core::future::Future<Output = #ret> + ::core::marker::Send;
        }
    });
    quote! {
        #doc
        #(#attrs)*
        #vis trait #name: ::core::marker::Send + ::core::marker::Sync + 'static {
            #(#methods)*
        }
    }
}

/// `Vec<u8>` written as such: sent through serde_bytes, which gives the same
/// bytes as element by element, about ten times faster.
fn is_plain_byte_vec(ty: &syn::Type, shape: &Ty) -> bool {
    if *shape != Ty::Bytes {
        return false;
    }
    matches!(ty, syn::Type::Path(p) if p.path.segments.last().is_some_and(|s| s.ident == "Vec"))
}

/// The item type of a `Stream<T>` as the user wrote it.
pub(crate) fn stream_item(ty: &syn::Type) -> syn::Type {
    if let syn::Type::Path(p) = ty {
        if let Some(seg) = p.path.segments.last() {
            if let syn::PathArguments::AngleBracketed(a) = &seg.arguments {
                if let Some(syn::GenericArgument::Type(t)) = a.args.first() {
                    return t.clone();
                }
            }
        }
    }
    ty.clone()
}

/// The type a contract position carries on the wire as the user wrote it:
/// a stream's item, or the type itself.
fn wire_type(ty: &syn::Type, shape: &Ty) -> syn::Type {
    match shape {
        Ty::Stream(_) => stream_item(ty),
        _ => ty.clone(),
    }
}

/// A stream method's client: the answer is a `goproc::Stream`, returned at
/// once (nothing is sent until it is polled); or the method only takes a
/// stream, and is awaited for its one answer.
fn stream_client_method(index: u32, m: &Method, krate: &TokenStream) -> TokenStream {
    let (mname, mdoc, ret) = (&m.name, docs(&m.docs), ret_type(m));
    let params = m.args.iter().map(|a| {
        let (n, t) = (&a.name, &a.ty);
        quote!(#n: #t)
    });
    let sent: Vec<_> = m.request_args().map(|a| &a.name).collect();
    let bounds = client_bounds(m, krate);
    let arg = m.args.iter().find(|a| matches!(a.shape, Ty::Stream(_)));
    match (&m.output, arg) {
        (Some(out), arg) if matches!(m.ret, Ty::Stream(_)) => {
            let item = stream_item(out);
            let decode = item_decoder(out, &m.ret, krate);
            let (arg_item, arg_value) = match arg {
                Some(a) => {
                    let (n, t) = (&a.name, stream_item(&a.ty));
                    let encode = item_encoder(&a.ty, &a.shape, krate);
                    (
                        quote!(#t),
                        quote!(::core::option::Option::Some((#n, #encode))),
                    )
                }
                None => (quote!(()), quote!(::core::option::Option::None)),
            };
            quote! {
                #mdoc
                #[doc = ""]
                #[doc = "Returns at once: the request goes out when the stream is first polled. Items are `Ok` until the last, which is the error when the call failed; dropping the stream stops the producer."]
                pub fn #mname(&self, #(#params),*) -> #ret
                #bounds
                {
                    self.handle.call_stream::<_, #arg_item, #item>(#index, (#(#sent,)*), #arg_value, #decode)
                }
            }
        }
        (_, Some(a)) => {
            let (n, t) = (&a.name, stream_item(&a.ty));
            let encode = item_encoder(&a.ty, &a.shape, krate);
            quote! {
                #mdoc
                pub async fn #mname(&self, #(#params),*) -> ::core::result::Result<#ret, #krate::__private::Error>
                #bounds
                {
                    self.handle.call_with_stream::<_, #t, #ret>(#index, &(#(#sent,)*), #n, #encode).await
                }
            }
        }
        _ => unreachable!("called for stream methods only"),
    }
}

/// A stream method's arm in the server's dispatch.
fn stream_server_arm(
    index: u32,
    m: &Method,
    trait_name: &syn::Ident,
    krate: &TokenStream,
) -> TokenStream {
    let mname = &m.name;
    let names: Vec<_> = m.args.iter().map(|a| &a.name).collect();
    let req: Vec<_> = m.request_args().collect();
    let req_names = req.iter().map(|a| &a.name);
    let req_types = req.iter().map(|a| &a.ty);
    let open_arg = m
        .args
        .iter()
        .find(|a| matches!(a.shape, Ty::Stream(_)))
        .map(|a| {
            let (n, t) = (&a.name, stream_item(&a.ty));
            let decode = item_decoder(&a.ty, &a.shape, krate);
            quote! {
                let #n = #krate::__private::arg_stream::<#t>(&args, Self::CONTRACT, method, #decode)?;
            }
        });
    let answers_stream = matches!(m.ret, Ty::Stream(_));
    let open_sink = answers_stream.then(|| {
        quote! {
            let sink = #krate::__private::answer_stream(&args, Self::CONTRACT, method)?;
        }
    });
    let answer = if answers_stream {
        let out_ty = m.output.as_ref().expect("a stream method returns a stream");
        let encode = item_encoder(out_ty, &m.ret, krate);
        quote!(#krate::__private::respond_stream(sink, out, #encode).await)
    } else {
        quote!(#krate::__private::respond(&out))
    };
    quote! {
        #index => {
            let (#(#req_names,)*): (#(#req_types,)*) =
                #krate::__private::decode_args_ref(&args, Self::CONTRACT, method)?;
            #open_arg
            #open_sink
            let this = ::std::sync::Arc::clone(&self.0);
            ::core::result::Result::Ok(::std::boxed::Box::pin(async move {
                let out = <T as #trait_name>::#mname(&this, #(#names),*).await;
                #answer
            }))
        }
    }
}

/// The encoder of a stream's items (`ty` is the stream as written).
fn item_encoder(ty: &syn::Type, shape: &Ty, krate: &TokenStream) -> TokenStream {
    let item = stream_item(ty);
    match shape.stream_item() {
        Some(item_shape) if is_plain_byte_vec(&item, item_shape) => {
            quote!(#krate::__private::encode_bytes_item)
        }
        _ => quote!(#krate::__private::encode_item::<#item>),
    }
}

/// The decoder of a stream's items (`ty` is the stream as written).
fn item_decoder(ty: &syn::Type, shape: &Ty, krate: &TokenStream) -> TokenStream {
    let item = stream_item(ty);
    match shape.stream_item() {
        Some(item_shape) if is_plain_byte_vec(&item, item_shape) => {
            quote!(#krate::__private::decode_bytes_item)
        }
        _ => quote!(#krate::__private::decode_item::<#item>),
    }
}

fn is_stream_method(m: &Method) -> bool {
    matches!(m.ret, Ty::Stream(_)) || m.stream_arg().is_some()
}

fn contract_info(c: &Contract, krate: &TokenStream) -> TokenStream {
    let name = syn::ext::IdentExt::unraw(&c.name).to_string();
    let fingerprint = &c.fingerprint;
    let methods = c
        .methods
        .iter()
        .map(|m| syn::ext::IdentExt::unraw(&m.name).to_string());
    let schema = crate::schema::schema_fn(c, krate);
    quote! {
        &#krate::__private::ContractInfo {
            name: #name,
            fingerprint: #fingerprint,
            methods: &[#(#methods),*],
            schema: #schema,
        }
    }
}

fn expand_client(c: &Contract, krate: &TokenStream) -> TokenStream {
    let (vis, name) = (&c.vis, &c.name);
    let client = format_ident!("{}Client", name);
    let info = contract_info(c, krate);
    let intro = format!(
        "Calls contract [`{name}`] in a plugin process; get one with `Plugin::client`.\n\n\
         Cheap to clone; clones share one connection and may call concurrently. A method \
         declared `-> Result<T, E>` returns `Result<Result<T, E>, goproc::Error>`: the outer \
         error says the call failed, the inner one is the plugin's own."
    );
    let trait_docs = docs(&c.docs);
    let methods = c.methods.iter().enumerate().map(|(index, m)| {
        let index = index as u32;
        if is_stream_method(m) {
            return stream_client_method(index, m, krate);
        }
        let (mname, mdoc, ret) = (&m.name, docs(&m.docs), ret_type(m));
        let params = m.args.iter().map(|a| {
            let (n, t) = (&a.name, &a.ty);
            quote!(#n: #t)
        });
        let sent = m.args.iter().map(|a| {
            let n = &a.name;
            if is_plain_byte_vec(&a.ty, &a.shape) {
                quote!(#krate::__private::serde_bytes::Bytes::new(&#n))
            } else {
                quote!(&#n)
            }
        });
        let bounds = client_bounds(m, krate);
        // Room in the request for the byte arguments, whose sizes are known.
        let byte_lens = m
            .args
            .iter()
            .filter(|a| is_plain_byte_vec(&a.ty, &a.shape))
            .map(|a| {
                let n = &a.name;
                quote!(+ #n.len())
            });
        let size = quote!(0usize #(#byte_lens)*);
        // A trailing `Vec<u8>` is handed over and sent from its own buffer.
        let last_bytes = m
            .args
            .last()
            .filter(|a| is_plain_byte_vec(&a.ty, &a.shape))
            .map(|a| &a.name);
        if let Some(last) = last_bytes {
            let leading = m.args[..m.args.len() - 1].iter().map(|a| {
                let n = &a.name;
                if is_plain_byte_vec(&a.ty, &a.shape) {
                    quote!(#krate::__private::serde_bytes::Bytes::new(&#n))
                } else {
                    quote!(&#n)
                }
            });
            let call = match &m.output {
                Some(ty) if is_plain_byte_vec(ty, &m.ret) => quote! {
                    self.handle.call_bytes_bytes_last(#index, &(#(#leading,)*), #last).await
                },
                _ if m.domain_result().is_some() => quote! {
                    self.handle.call_result_bytes_last::<_, #ret>(#index, &(#(#leading,)*), #last).await
                },
                _ => quote! {
                    self.handle.call_sized_bytes_last::<_, #ret>(#index, &(#(#leading,)*), #last).await
                },
            };
            return quote! {
                #mdoc
                pub async fn #mname(&self, #(#params),*) -> ::core::result::Result<#ret, #krate::__private::Error>
                #bounds
                {
                    #call
                }
            };
        }
        let call = match &m.output {
            Some(ty) if is_plain_byte_vec(ty, &m.ret) => quote! {
                self.handle.call_bytes(#index, &(#(#sent,)*), #size).await
            },
            // Counted as a domain error when the plugin answers `Err(e)`.
            _ if m.domain_result().is_some() => quote! {
                self.handle.call_result::<_, #ret>(#index, &(#(#sent,)*), #size).await
            },
            _ => quote! {
                self.handle.call_sized::<_, #ret>(#index, &(#(#sent,)*), #size).await
            },
        };
        quote! {
            #mdoc
            pub async fn #mname(&self, #(#params),*) -> ::core::result::Result<#ret, #krate::__private::Error>
            #bounds
            {
                #call
            }
        }
    });
    quote! {
        #[doc = #intro]
        #[doc = ""]
        #trait_docs
        #[derive(Clone, Debug)]
        #vis struct #client {
            handle: #krate::__private::ClientHandle,
        }

        impl #krate::__private::Client for #client {
            const CONTRACT: &'static #krate::__private::ContractInfo = #info;

            fn from_handle(handle: #krate::__private::ClientHandle) -> Self {
                #client { handle }
            }
        }

        impl #client {
            /// A copy of this client whose calls fail with `goproc::Error::Timeout` after
            /// `timeout`; the deadline travels with each call, so the plugin stops too.
            pub fn with_timeout(&self, timeout: ::core::time::Duration) -> Self {
                #client { handle: self.handle.with_timeout(::core::option::Option::Some(timeout)) }
            }

            /// A copy of this client whose calls wait as long as the plugin takes.
            pub fn without_timeout(&self) -> Self {
                #client { handle: self.handle.with_timeout(::core::option::Option::None) }
            }

            /// A copy of this client whose answer streams get a credit window
            /// of `bytes`: the plugin never sends more than this ahead of the
            /// code that reads the stream.
            pub fn with_stream_window(&self, bytes: u32) -> Self {
                #client { handle: self.handle.with_stream_window(bytes) }
            }

            #(#methods)*
        }
    }
}

fn expand_server(c: &Contract, krate: &TokenStream) -> TokenStream {
    let (vis, name) = (&c.vis, &c.name);
    let client = format_ident!("{}Client", name);
    let server = format_ident!("{}Server", name);
    let doc = format!(
        "Serves contract [`{name}`] with an implementation: hand it to `goproc::serve` or \
         `goproc::Server::add` in the plugin process."
    );
    let arms = c.methods.iter().enumerate().map(|(index, m)| {
        let index = index as u32;
        if is_stream_method(m) {
            return stream_server_arm(index, m, name, krate);
        }
        let mname = &m.name;
        let names: Vec<_> = m.args.iter().map(|a| &a.name).collect();
        // A trailing `Vec<u8>` takes the request's buffer instead of a copy.
        let bytes_last = m
            .args
            .last()
            .is_some_and(|a| is_plain_byte_vec(&a.ty, &a.shape));
        let (leading, last) = if bytes_last {
            m.args.split_at(m.args.len() - 1)
        } else {
            (&m.args[..], &[][..])
        };
        let leading_names = leading.iter().map(|a| &a.name);
        let types = leading.iter().map(|a| {
            let t = &a.ty;
            if is_plain_byte_vec(&a.ty, &a.shape) {
                quote!(#krate::__private::serde_bytes::ByteBuf)
            } else {
                quote!(#t)
            }
        });
        let decode = match last.first() {
            Some(last) => {
                let n = &last.name;
                quote! {
                    let ((#(#leading_names,)*), #n): ((#(#types,)*), ::std::vec::Vec<u8>) =
                        #krate::__private::decode_args_bytes_last(args, Self::CONTRACT, method)?;
                }
            }
            None => quote! {
                let (#(#leading_names,)*): (#(#types,)*) =
                    #krate::__private::decode_args(args, Self::CONTRACT, method)?;
            },
        };
        let unwrap = leading
            .iter()
            .filter(|a| is_plain_byte_vec(&a.ty, &a.shape))
            .map(|a| {
                let n = &a.name;
                quote!(let #n = #n.into_vec();)
            });
        let answer = match &m.output {
            Some(ty) if is_plain_byte_vec(ty, &m.ret) => {
                quote!(#krate::__private::respond_bytes_owned(out))
            }
            _ => quote!(#krate::__private::respond(&out)),
        };
        quote! {
            #index => {
                #decode
                #(#unwrap)*
                let this = ::std::sync::Arc::clone(&self.0);
                ::core::result::Result::Ok(::std::boxed::Box::pin(async move {
                    // Fully qualified: a method named like one of `Arc`'s
                    // (`clone`, `as_ref`, `into`) must still reach the contract.
                    let out = <T as #name>::#mname(&this, #(#names),*).await;
                    #answer
                }))
            }
        }
    });
    let bounds = server_bounds(c, krate);
    quote! {
        #[doc = #doc]
        #vis struct #server<T: #name>(::std::sync::Arc<T>);

        impl<T: #name> #server<T> {
            const CONTRACT: &'static #krate::__private::ContractInfo =
                <#client as #krate::__private::Client>::CONTRACT;

            /// Wraps an implementation of the contract.
            pub fn new(implementation: T) -> Self {
                #server(::std::sync::Arc::new(implementation))
            }

            /// Wraps an implementation that is shared with other code.
            pub fn from_arc(implementation: ::std::sync::Arc<T>) -> Self {
                #server(implementation)
            }
        }

        impl<T: #name> #krate::testing::TypedService for #server<T> #bounds {
            type Client = #client;
        }

        impl<T: #name> #krate::__private::Service for #server<T> #bounds {
            fn contract(&self) -> &'static #krate::__private::ContractInfo {
                Self::CONTRACT
            }

            #[allow(unused_variables)]
            fn call(
                &self,
                method: u32,
                args: #krate::__private::Args,
            ) -> ::core::result::Result<#krate::__private::HandlerFuture, #krate::__private::RemoteError> {
                match method {
                    #(#arms)*
                    _ => ::core::result::Result::Err(
                        #krate::__private::unknown_method(Self::CONTRACT, method),
                    ),
                }
            }
        }
    }
}

/// Whether the serde traits of a type with this shape can be missing: user
/// types, arrays (serde stops at 32), maps (keys need `Eq + Hash` or `Ord`)
/// and tuples longer than serde's 16.
fn may_lack_serde(shape: &Ty) -> bool {
    match shape {
        Ty::Named { .. } | Ty::Array(..) | Ty::Map(..) => true,
        Ty::Tuple(ts) => ts.len() > 16 || ts.iter().any(may_lack_serde),
        Ty::Seq(t) | Ty::Option(t) | Ty::Stream(t) => may_lack_serde(t),
        Ty::Result(a, b) => may_lack_serde(a) || may_lack_serde(b),
        _ => false,
    }
}

/// The serde bounds a client method relies on, as a `where` clause.
///
/// A type without `Serialize`/`Deserialize` is reported once, by
/// [`expand_type_checks`], at the user's type. The generated bodies would
/// report it again at the macro; with the bound in a `where` clause they
/// assume it instead. The unused `for<'__w>` keeps rustc from checking the
/// bound where it is declared (a bound without generics is otherwise an
/// error there); it is checked where the method is called.
pub(crate) fn client_bounds(m: &Method, krate: &TokenStream) -> TokenStream {
    let serde = quote!(#krate::__private::serde);
    let args = m.args.iter().filter(|a| may_lack_serde(&a.shape)).map(|a| {
        let t = wire_type(&a.ty, &a.shape);
        quote!(for<'__w> #t: #serde::Serialize,)
    });
    let ret = m
        .output
        .iter()
        .filter(|_| may_lack_serde(&m.ret))
        .map(|t| wire_type(t, &m.ret))
        .map(|t| quote!(for<'__de> #t: #serde::Deserialize<'__de>,));
    let preds: Vec<TokenStream> = args.chain(ret).collect();
    if preds.is_empty() {
        TokenStream::new()
    } else {
        quote!(where #(#preds)*)
    }
}

/// The serde bounds the server relies on (see [`client_bounds`]): the
/// server is a `Service` exactly when its types cross the wire.
fn server_bounds(c: &Contract, krate: &TokenStream) -> TokenStream {
    let serde = quote!(#krate::__private::serde);
    let mut preds = Vec::new();
    for m in &c.methods {
        for a in m.args.iter().filter(|a| may_lack_serde(&a.shape)) {
            let t = wire_type(&a.ty, &a.shape);
            preds.push(quote!(for<'__de> #t: #serde::Deserialize<'__de>,));
        }
        if let Some(t) = m.output.as_ref().filter(|_| may_lack_serde(&m.ret)) {
            let t = wire_type(t, &m.ret);
            preds.push(quote!(for<'__w> #t: #serde::Serialize,));
        }
    }
    if preds.is_empty() {
        TokenStream::new()
    } else {
        quote!(where #(#preds)*)
    }
}

/// One assertion per argument and return type, spanned on the type as the
/// user wrote it, so "cannot cross the process boundary" points at their
/// code, and says what to add.
fn expand_type_checks(c: &Contract, krate: &TokenStream) -> TokenStream {
    let mut types: Vec<syn::Type> = Vec::new();
    for m in &c.methods {
        types.extend(m.args.iter().map(|a| wire_type(&a.ty, &a.shape)));
        types.extend(m.output.iter().map(|t| wire_type(t, &m.ret)));
    }
    let checks = types.iter().map(|ty| {
        quote_spanned! {ty.span()=>
            assert_wire_type::<#ty>();
        }
    });
    let serde = quote!(#krate::__private::serde);
    quote! {
        const _: () = {
            #[diagnostic::on_unimplemented(
                message = "`{Self}` cannot cross the process boundary: a contract type must \
                           implement `serde::Serialize` and `serde::Deserialize`",
                label = "used in a contract here",
                note = "add `#[derive(serde::Serialize, serde::Deserialize)]` to the type; for a \
                        type from another crate, enable its `serde` feature or wrap it in a type \
                        of your own"
            )]
            trait WireType {}
            impl<T: #serde::Serialize + #serde::de::DeserializeOwned> WireType for T {}
            fn assert_wire_type<T: WireType>() {}

            #[allow(dead_code)]
            fn assert_every_type_crosses_the_wire() {
                #(#checks)*
            }
        };
    }
}
