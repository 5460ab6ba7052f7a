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
pub const PROTOCOL_MAX: u32 = 4;

/// The contract number of the built-in introspection contract, reserved on
/// every plugin whatever its HELLO lists (protocol 4 on).
pub const INTROSPECTION_CONTRACT: u32 = 0xFFFF_FFFF;
/// Method 0 of the introspection contract: describe. No arguments; the
/// answer is a `Vec<String>`, the documented schema text of each contract
/// the plugin serves, in HELLO order.
pub const DESCRIBE_METHOD: u32 = 0;
/// The first protocol version with schemas and describe.
pub const SCHEMAS_SINCE: u32 = messages::HELLO_SCHEMAS_SINCE;
