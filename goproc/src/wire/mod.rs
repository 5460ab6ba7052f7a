//! The wire: frames, message bodies and the bincode codec. `docs/WIRE.md`
//! is the specification; this module is its Rust implementation.

pub mod codec;
pub mod frame;
pub mod messages;
pub mod stream;

pub use frame::{FrameHeader, Kind, DEFAULT_MAX_FRAME, HEADER_LEN};

/// The oldest protocol version a host accepts (version 1 plugins cannot
/// call the host, and are otherwise served as before).
pub const PROTOCOL_MIN: u32 = 1;
/// The oldest protocol version a plugin of this runtime speaks.
pub const PLUGIN_PROTOCOL_MIN: u32 = 2;
/// The newest protocol version this runtime speaks.
pub const PROTOCOL_MAX: u32 = 3;
