//! What generated code uses. Not a public API: it may change in any release.

pub use serde;
pub use serde_bytes;

pub use crate::connection::{HandlerFuture, RemoteError};
pub use crate::host::{Client, ServiceHandle};
pub use crate::plugin::Service;
pub use crate::wire::frame::FrameBuf;
pub use crate::{ContractInfo, Error, RemoteCode};

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::wire::{codec, Kind};

/// Decodes the arguments of method number `method` of `contract`.
pub fn decode_args<T: DeserializeOwned>(
    args: &[u8],
    contract: &ContractInfo,
    method: u32,
) -> Result<T, RemoteError> {
    codec::decode(args).map_err(|e| {
        RemoteError::new(
            RemoteCode::BadRequest,
            format!(
                "the arguments of {} do not decode: {e}",
                contract.method_path(method)
            ),
        )
    })
}

/// Encodes a handler's answer into a RESPONSE frame (its id is set later).
pub fn respond<T: Serialize + ?Sized>(value: &T) -> Result<FrameBuf, RemoteError> {
    let mut frame = FrameBuf::new(Kind::Response, 0);
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
