//! Every call into bincode goes through here, so that a bincode-compatible
//! successor can replace it in one place.
//!
//! Bodies are bincode 2.0.1 with serde and `config::standard()`: little
//! endian, variable-length integers. Decoding is bounded by the maximum frame
//! size (bincode refuses a length prefix past the limit instead of
//! allocating it) and must consume the whole input: bincode itself accepts
//! trailing bytes, the wire does not.

use bincode::config::{self, Config};
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::frame::DEFAULT_MAX_FRAME;

/// No value may claim more bytes than a whole frame can hold.
const LIMIT: usize = DEFAULT_MAX_FRAME as usize;

fn config() -> impl Config {
    config::standard().with_limit::<LIMIT>()
}

/// Appends the encoding of `value` to `out`.
pub fn encode_into<T: Serialize + ?Sized>(value: &T, out: &mut Vec<u8>) -> Result<(), String> {
    bincode::serde::encode_into_std_write(value, out, config())
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// Encodes `value` into a new buffer.
pub fn encode<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    encode_into(value, &mut out)?;
    Ok(out)
}

/// Decodes one value that must fill `bytes` exactly.
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, String> {
    let (value, used) = decode_prefix(bytes)?;
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

/// Decodes one value from the front of `bytes`; returns it and the bytes used.
pub fn decode_prefix<T: DeserializeOwned>(bytes: &[u8]) -> Result<(T, usize), String> {
    bincode::serde::decode_from_slice(bytes, config()).map_err(|e| e.to_string())
}

/// Decodes a byte string (a length, then the bytes) that starts at `at` and
/// runs to the end of `body`, reusing `body`'s allocation for the result:
/// one move of the bytes instead of a new buffer and a copy.
pub fn decode_bytes_in_place(mut body: Vec<u8>, at: usize) -> Result<Vec<u8>, String> {
    let rest = body.get(at..).unwrap_or_default();
    let (len, used) = decode_prefix::<u64>(rest)?;
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
