//! What generated code uses. Not a public API: it may change in any release.

pub use serde;
pub use serde_bytes;

pub use crate::blocking::BlockingHandle;
pub use crate::client::{Client, ClientHandle, DomainResult};
pub use crate::driver::{AnswerSink, Args, DecodeItem, EncodeItem, HandlerFuture, RemoteError};
pub use crate::events::{publish_event, subscribe_event, Bus, EventContract, Subscription};
pub use crate::schema::{
    contract_schema, result_trace, stream_trace, ContractSchema, MethodSketch, SchemaProbe,
    TraceNothing, TraceSerde, Traced,
};
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

/// [`decode_args`] for arguments that stay with the call (a stream
/// method's handler opens its streams on them after).
pub fn decode_args_ref<T: DeserializeOwned>(
    args: &Args,
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

/// What keeps a value from round-tripping through bincode, for errors.
pub(crate) const ROUND_TRIP: &str = "`skip_serializing_if`, `skip_*`, `flatten`, untagged or \
     tagged enums, or a hand-written `Serialize` that `Deserialize` does not read back; \
     docs/CONTRACTS.md lists them";

fn bad_args(contract: &ContractInfo, method: u32, e: String) -> RemoteError {
    RemoteError::new(
        RemoteCode::BadRequest,
        format!(
            "the arguments of {} do not decode: {e}; either the host was built from another \
             version of the contract, or one of the arguments' types has a serde attribute or \
             impl that does not round-trip through bincode ({ROUND_TRIP})",
            contract.method_path(method)
        ),
    )
}

/// Encodes a `Vec<u8>` answer into a RESPONSE frame sized for it.
pub fn respond_bytes(value: &[u8]) -> Result<FrameBuf, RemoteError> {
    respond_sized(serde_bytes::Bytes::new(value), value.len() + 9)
}

/// Encodes a `Vec<u8>` answer into a RESPONSE frame that keeps the
/// vector: a large one is sent from its own buffer, not copied.
pub fn respond_bytes_owned(value: Vec<u8>) -> Result<FrameBuf, RemoteError> {
    if value.len() < crate::driver::LARGE_FRAME {
        return respond_bytes(&value);
    }
    // The byte string's length, then the bytes themselves.
    let mut frame = respond_sized(&(value.len() as u64), 9)?;
    frame.set_tail(value);
    Ok(frame)
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

/// Opens the argument stream of the call `args` came with (method number
/// `method` of `contract`), typed.
pub fn arg_stream<T: Send + 'static>(
    args: &Args,
    contract: &ContractInfo,
    method: u32,
    decode: DecodeItem<T>,
) -> Result<crate::Stream<T>, RemoteError> {
    let link = args.link().ok_or_else(|| no_link(contract, method))?;
    let what = format!("the stream argument of {}", contract.method_path(method));
    Ok(link.open_args().typed(what, decode))
}

/// Encodes a stream item with serde.
pub fn encode_item<T: Serialize>(item: &T, out: &mut Vec<u8>) -> Result<(), String> {
    codec::encode_into(item, out)
}

/// Encodes a `Vec<u8>` stream item: a length and the bytes, copied at once.
// `&Vec<u8>`: it is an `EncodeItem<Vec<u8>>`.
#[allow(clippy::ptr_arg)]
pub fn encode_bytes_item(item: &Vec<u8>, out: &mut Vec<u8>) -> Result<(), String> {
    out.reserve(item.len() + 9);
    codec::encode_into(serde_bytes::Bytes::new(item), out)
}

/// Decodes a stream item with serde.
pub fn decode_item<T: DeserializeOwned>(body: Vec<u8>) -> Result<T, String> {
    codec::decode(&body)
}

/// Decodes a `Vec<u8>` stream item in the frame's own buffer.
pub fn decode_bytes_item(body: Vec<u8>) -> Result<Vec<u8>, String> {
    codec::decode_bytes_in_place(body, 0)
}

/// Opens the answer stream of the call `args` came with.
pub fn answer_stream(
    args: &Args,
    contract: &ContractInfo,
    method: u32,
) -> Result<AnswerSink, RemoteError> {
    let link = args.link().ok_or_else(|| no_link(contract, method))?;
    Ok(link.open_answer())
}

/// Sends a handler's answer stream; the RESPONSE that ends it.
pub async fn respond_stream<T: 'static>(
    sink: AnswerSink,
    items: crate::Stream<T>,
    encode: EncodeItem<T>,
) -> Result<FrameBuf, RemoteError> {
    sink.send_all(items, encode).await
}

fn no_link(contract: &ContractInfo, method: u32) -> RemoteError {
    RemoteError::new(
        RemoteCode::BadRequest,
        format!(
            "{} streams, and its arguments did not come with a call to stream on",
            contract.method_path(method)
        ),
    )
}
