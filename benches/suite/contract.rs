//! The contract the Rust benchmark plugin serves: one echo of bytes.

/// Echoes bytes; `Vec<u8>` crosses the wire through the `serde_bytes` path.
#[goproc::plugin_interface]
pub trait BenchEcho {
    /// Returns `data` unchanged.
    async fn echo(&self, data: Vec<u8>) -> Vec<u8>;
}

/// The plugin side.
pub struct Echo;

impl BenchEcho for Echo {
    async fn echo(&self, data: Vec<u8>) -> Vec<u8> {
        data
    }
}
