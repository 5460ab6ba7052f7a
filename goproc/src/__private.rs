//! What generated code uses. Not a public API: it may change in any release.

pub use serde;
pub use serde_bytes;

pub use crate::client::{Client, ClientHandle};
pub use crate::driver::{Args, HandlerFuture, RemoteError};
pub use crate::events::{publish_event, subscribe_event, Bus, EventContract, Subscription};
pub use crate::service::Service;
pub use crate::wire::frame::FrameBuf;
pub use crate::{ContractInfo, Error, RemoteCode};

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::wire::{codec, Kind};

/// Decodes the arguments of method number `method` of `contract`.
pub fn decode_args<T: DeserializeOwned>(
    args: Args,
    contract: &ContractInfo,
    method: u32,
) -> Result<T, RemoteError> {
    codec::decode_in_body(args.bytes(), args.body_len()).map_err(|e| bad_args(contract, method, e))
}

/// Decodes the arguments of a method whose last argument is a `Vec<u8>`:
/// the others as `T`, then the bytes, which keep the request's buffer.
pub fn decode_args_bytes_last<T: DeserializeOwned>(
    args: Args,
    contract: &ContractInfo,
    method: u32,
) -> Result<(T, Vec<u8>), RemoteError> {
    let (first, used) = codec::decode_prefix_in_body::<T>(args.bytes(), args.body_len())
        .map_err(|e| bad_args(contract, method, e))?;
    let (body, at) = args.into_parts();
    let last =
        codec::decode_bytes_in_place(body, at + used).map_err(|e| bad_args(contract, method, e))?;
    Ok((first, last))
}

fn bad_args(contract: &ContractInfo, method: u32, e: String) -> RemoteError {
    RemoteError::new(
        RemoteCode::BadRequest,
        format!(
            "the arguments of {} do not decode: {e}",
            contract.method_path(method)
        ),
    )
}

/// Encodes a `Vec<u8>` answer into a RESPONSE frame sized for it.
pub fn respond_bytes(value: &[u8]) -> Result<FrameBuf, RemoteError> {
    respond_sized(serde_bytes::Bytes::new(value), value.len() + 9)
}

/// Encodes a handler's answer into a RESPONSE frame (its id is set later).
pub fn respond<T: Serialize + ?Sized>(value: &T) -> Result<FrameBuf, RemoteError> {
    respond_sized(value, 64)
}

fn respond_sized<T: Serialize + ?Sized>(
    value: &T,
    capacity: usize,
) -> Result<FrameBuf, RemoteError> {
    let mut frame = FrameBuf::with_capacity(Kind::Response, 0, capacity);
    codec::encode_into(value, frame.body_mut()).map_err(|e| {
        RemoteError::new(
            RemoteCode::HandlerFailed,
            format!("the answer could not be encoded: {e}"),
        )
    })?;
    Ok(frame)
}

/// The error for a method number the contract does not have.
pub fn unknown_method(contract: &ContractInfo, method: u32) -> RemoteError {
    RemoteError::new(
        RemoteCode::UnknownMethod,
        format!(
            "contract {} has {} method(s); there is no method number {method} (is the host \
             built from a newer contract?)",
            contract.name,
            contract.methods.len()
        ),
    )
}
