//! Every encode and decode of a body goes through here, so that the
//! encoding can be swapped in one place.
//!
//! Bodies are bincode 2.0.1 with serde and `config::standard()`: little
//! endian, variable-length integers. bincode encodes; [`de::Decoder`]
//! decodes the same bytes with the limits of docs/WIRE.md section 3.1 (a
//! peer's bytes can cost neither unbounded memory nor unbounded stack), and
//! a body must be consumed whole: bincode itself accepts trailing bytes,
//! the wire does not.

pub mod de;

use bincode::config;
use serde::de::{DeserializeOwned, DeserializeSeed};
use serde::Serialize;

pub use de::{DecodeError, NESTING_LIMIT};

/// Appends the encoding of `value` to `out`.
pub fn encode_into<T: Serialize + ?Sized>(value: &T, out: &mut Vec<u8>) -> Result<(), String> {
    bincode::serde::encode_into_std_write(value, out, config::standard())
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// Encodes `value` into a new buffer.
pub fn encode<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    encode_into(value, &mut out)?;
    Ok(out)
}

/// Decodes one value that must fill `bytes` exactly; `bytes` is a whole
/// frame body (its length is the item budget).
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, String> {
    decode_in_body(bytes, bytes.len())
}

/// Decodes one value that must fill `bytes` exactly, where `bytes` is the
/// tail of a frame body of `body_len` bytes (the arguments after a request
/// head, say).
pub fn decode_in_body<T: DeserializeOwned>(bytes: &[u8], body_len: usize) -> Result<T, String> {
    let (value, used) = decode_prefix_in_body(bytes, body_len)?;
    if used != bytes.len() {
        return Err(trailing(used, bytes.len()));
    }
    Ok(value)
}

fn trailing(used: usize, total: usize) -> String {
    format!(
        "{} trailing byte(s) after the value ({used} of {total} bytes used)",
        total - used
    )
}

/// Decodes one value from the front of a whole frame body; returns it and
/// the bytes used.
pub fn decode_prefix<T: DeserializeOwned>(bytes: &[u8]) -> Result<(T, usize), String> {
    decode_prefix_in_body(bytes, bytes.len())
}

/// Decodes one value from the front of `bytes`, the tail of a frame body of
/// `body_len` bytes; returns it and the bytes used.
pub fn decode_prefix_in_body<T: DeserializeOwned>(
    bytes: &[u8],
    body_len: usize,
) -> Result<(T, usize), String> {
    let mut decoder = de::Decoder::new(bytes, body_len);
    let value = T::deserialize(&mut decoder).map_err(|e| e.0)?;
    Ok((value, decoder.position()))
}

/// Decodes one value read by `seed` (a reader driven by a schema rather
/// than by a Rust type) that must fill `bytes`, a whole frame body, exactly.
pub fn decode_seed<'de, S: DeserializeSeed<'de>>(
    seed: S,
    bytes: &'de [u8],
) -> Result<S::Value, String> {
    let mut decoder = de::Decoder::new(bytes, bytes.len());
    let value = seed.deserialize(&mut decoder).map_err(|e| e.0)?;
    if decoder.position() != bytes.len() {
        return Err(trailing(decoder.position(), bytes.len()));
    }
    Ok(value)
}

/// Decodes a byte string (a length, then the bytes) that starts at `at` and
/// runs to the end of `body`, reusing `body`'s allocation for the result:
/// one move of the bytes instead of a new buffer and a copy.
pub fn decode_bytes_in_place(mut body: Vec<u8>, at: usize) -> Result<Vec<u8>, String> {
    let rest = body.get(at..).unwrap_or_default();
    let mut decoder = de::Decoder::new(rest, rest.len());
    let len = decoder
        .u64_varint("a byte string's length")
        .map_err(|e| e.0)?;
    let used = decoder.position();
    let available = (rest.len() - used) as u64;
    if len != available {
        return Err(if len > available {
            format!("a byte string of {len} bytes where only {available} remain")
        } else {
            trailing(at + used + len as usize, body.len())
        });
    }
    body.drain(..at + used);
    Ok(body)
}

#[cfg(test)]
mod tests;
