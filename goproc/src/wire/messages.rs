//! The bodies of handshake, request and error frames (see `docs/WIRE.md`).

use serde::{Deserialize, Serialize};

/// A contract a plugin serves: its name and fingerprint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContractRef {
    /// The trait's name, e.g. `Calculator`.
    pub name: String,
    /// Lowercase hex SHA-256 of the contract's canonical text.
    pub fingerprint: String,
}

/// The body of a HELLO frame: plugin to host, the first frame on a connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hello {
    /// Oldest protocol version the plugin speaks.
    pub protocol_min: u32,
    /// Newest protocol version the plugin speaks.
    pub protocol_max: u32,
    /// The one-time token the host put in `GOPROC_TOKEN`.
    pub token: String,
    /// `rust`, `python` or `typescript`.
    pub language: String,
    /// The runtime and its version, e.g. `goproc-rust 0.1.0`.
    pub runtime: String,
    /// The plugin's process id.
    pub pid: u32,
    /// The contracts it serves; a request's `service` is an index into this list.
    pub contracts: Vec<ContractRef>,
}

/// The body of a WELCOME frame: host to plugin, the handshake succeeded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Welcome {
    /// The protocol version both sides now speak.
    pub protocol: u32,
    /// The largest frame `length` the host accepts; the plugin must not exceed it.
    pub max_frame: u32,
    /// The host's process id.
    pub host_pid: u32,
}

/// The body of a REFUSE frame: host to plugin, the handshake failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refuse {
    /// Why, in one sentence that names both sides.
    pub reason: String,
}

/// The start of a REQUEST body; the arguments follow, encoded in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestHead {
    /// Index of the contract in the plugin's HELLO.
    pub service: u32,
    /// Index of the method in the contract, in declaration order.
    pub method: u32,
    /// Milliseconds the caller still waits for the answer; 0 means no deadline.
    pub deadline_ms: u64,
}

/// The body of an ERROR frame.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// What kind of failure (see [`crate::RemoteCode`]).
    pub code: u32,
    /// One line for a person.
    pub message: String,
    /// A traceback or backtrace; may be empty.
    pub detail: String,
}
