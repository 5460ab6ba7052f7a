//! A contract whose types drift in the schema tests (tests/python_schema.rs,
//! tests/typescript_schema.rs): copies of this file with a field or variant
//! changed keep the trait, so the fingerprint, and differ only in their types.

use serde::{Deserialize, Serialize};

/// Counts what a service did.
#[goproc::plugin_interface]
pub trait Counter {
    /// The counts so far.
    async fn stats(&self) -> Stats;
    /// Starts counting again; answers the calls counted before.
    async fn reset(&self, mode: Mode) -> u64;
}

/// Totals since the last reset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stats {
    /// Calls answered.
    pub calls: u64,
    /// Bytes read from callers.
    pub bytes_in: u64,
    /// Bytes written to callers.
    pub bytes_out: u64,
}

/// How to reset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Mode {
    /// Zero every count.
    Soft,
    /// Zero every count, and forget the history.
    Hard {
        /// Keep the call count.
        keep_calls: bool,
    },
}
