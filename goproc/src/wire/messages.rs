//! The bodies of handshake, request and error frames (see `docs/WIRE.md`).

use serde::{Deserialize, Serialize};

use super::codec;

/// A contract a plugin serves: its name and fingerprint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContractRef {
    /// The trait's name, e.g. `Calculator`.
    pub name: String,
    /// Lowercase hex SHA-256 of the contract's canonical text.
    pub fingerprint: String,
}

/// The body of a HELLO frame: plugin to host, the first frame on a connection.
///
/// `requires` is on the wire from protocol version 2 on: it is present when
/// `protocol_max >= 2` ([`Hello::decode`] reads both forms).
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
    /// The contracts it serves; the host's requests' `contract` is an index
    /// into this list.
    pub contracts: Vec<ContractRef>,
    /// The host contracts it calls (protocol 2 on).
    pub requires: Vec<ContractRef>,
}

/// The fields of a HELLO that every protocol version has.
#[derive(Deserialize)]
struct HelloV1 {
    protocol_min: u32,
    protocol_max: u32,
    token: String,
    language: String,
    runtime: String,
    pid: u32,
    contracts: Vec<ContractRef>,
}

impl Hello {
    /// Decodes a HELLO body of any protocol version: `requires` only
    /// follows when the plugin speaks version 2 or newer.
    pub fn decode(body: &[u8]) -> Result<Hello, String> {
        let ((_, protocol_max), _) = codec::decode_prefix::<(u32, u32)>(body)?;
        if protocol_max >= 2 {
            return codec::decode(body);
        }
        let v1: HelloV1 = codec::decode(body)?;
        Ok(Hello {
            protocol_min: v1.protocol_min,
            protocol_max: v1.protocol_max,
            token: v1.token,
            language: v1.language,
            runtime: v1.runtime,
            pid: v1.pid,
            contracts: v1.contracts,
            requires: Vec::new(),
        })
    }
}

/// The body of a WELCOME frame: host to plugin, the handshake succeeded.
///
/// `contracts` is on the wire from protocol version 2 on (see
/// [`Welcome::encode`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Welcome {
    /// The protocol version both sides now speak.
    pub protocol: u32,
    /// The largest frame `length` the host accepts; the plugin must not exceed it.
    pub max_frame: u32,
    /// The host's process id.
    pub host_pid: u32,
    /// The contracts the host serves to this plugin (protocol 2 on); the
    /// plugin's requests' `contract` is an index into this list.
    pub contracts: Vec<ContractRef>,
}

impl Welcome {
    /// The body for the protocol version it names: without `contracts`
    /// for version 1.
    pub fn encode(&self) -> Result<Vec<u8>, String> {
        if self.protocol >= 2 {
            return codec::encode(self);
        }
        codec::encode(&(self.protocol, self.max_frame, self.host_pid))
    }
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
    /// Index of the contract in the callee's list: the plugin's HELLO
    /// `contracts` for the host's calls, the WELCOME's for the plugin's.
    pub contract: u32,
    /// Index of the method in the contract, in declaration order.
    pub method: u32,
    /// Milliseconds the caller still waits for the answer; 0 means no deadline.
    pub deadline_ms: u64,
}

impl RequestHead {
    /// Decodes the head at the front of a REQUEST body; returns it and the
    /// bytes used. (The same bytes as `codec::decode_prefix::<RequestHead>`,
    /// read directly: every call pays for it.)
    pub fn decode(body: &[u8]) -> Result<(RequestHead, usize), String> {
        let mut decoder = codec::de::Decoder::new(body, body.len());
        let head = RequestHead {
            contract: decoder.u32_varint("the head's contract").map_err(|e| e.0)?,
            method: decoder.u32_varint("the head's method").map_err(|e| e.0)?,
            deadline_ms: decoder.u64_varint("the head's deadline").map_err(|e| e.0)?,
        };
        Ok((head, decoder.position()))
    }
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

/// The body of a SUBSCRIBE frame (plugin to host, version 3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subscribe {
    /// The event contract's name, for messages.
    pub contract: String,
    /// The event contract's channel (its fingerprint's first 64 bits).
    pub channel: u64,
    /// The event's position in the contract.
    pub event: u32,
    /// An MQTT 3.1.1 topic pattern.
    pub pattern: String,
}

/// The head of a PUBLISH frame (plugin to host, version 3); the payload follows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Publish {
    /// The event contract's channel.
    pub channel: u64,
    /// The event's position in the contract.
    pub event: u32,
    /// Where it is published.
    pub topic: String,
}

/// The head of an EVENT frame (host to plugin, version 3); the payload follows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    /// Events of this subscription dropped before this one.
    pub lagged: u64,
    /// Where it was published.
    pub topic: String,
}
