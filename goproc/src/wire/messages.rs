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
/// Fields join the wire at the version their comment names, present when
/// `protocol_max` is at least that version. Its serde impls follow that rule
/// (they write and read the exact wire form of its `protocol_max`), so
/// `codec::encode(&hello)` is the frame's body and [`Hello::decode`] reads
/// every form.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
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
    /// The canonical schema text of each contract in `contracts`, then of
    /// each in `requires`; empty for one the plugin cannot state (protocol 4
    /// on).
    pub schemas: Vec<String>,
}

/// The first version whose HELLO has `requires`.
const HELLO_REQUIRES_SINCE: u32 = 2;
/// The first version whose HELLO has `schemas`.
pub const HELLO_SCHEMAS_SINCE: u32 = 4;

impl Hello {
    /// Decodes a HELLO body of any protocol version.
    pub fn decode(body: &[u8]) -> Result<Hello, String> {
        codec::decode(body)
    }

    /// The schema the plugin stated for the contract it serves at `index`
    /// in `contracts`, or for the one it requires at `index` in `requires`:
    /// `None` when it stated none (an older protocol, or an empty text).
    pub fn schema_of(&self, list: HelloList, index: usize) -> Option<&str> {
        let at = match list {
            HelloList::Contracts => index,
            HelloList::Requires => self.contracts.len() + index,
        };
        self.schemas
            .get(at)
            .map(String::as_str)
            .filter(|s| !s.is_empty())
    }
}

/// One of the two contract lists of a HELLO.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HelloList {
    /// What the plugin serves.
    Contracts,
    /// What it calls on the host.
    Requires,
}

impl Serialize for Hello {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeTuple;
        let mut len = 7;
        if self.protocol_max >= HELLO_REQUIRES_SINCE {
            len += 1;
        }
        if self.protocol_max >= HELLO_SCHEMAS_SINCE {
            len += 1;
        }
        let mut t = serializer.serialize_tuple(len)?;
        t.serialize_element(&self.protocol_min)?;
        t.serialize_element(&self.protocol_max)?;
        t.serialize_element(&self.token)?;
        t.serialize_element(&self.language)?;
        t.serialize_element(&self.runtime)?;
        t.serialize_element(&self.pid)?;
        t.serialize_element(&self.contracts)?;
        if self.protocol_max >= HELLO_REQUIRES_SINCE {
            t.serialize_element(&self.requires)?;
        }
        if self.protocol_max >= HELLO_SCHEMAS_SINCE {
            t.serialize_element(&self.schemas)?;
        }
        t.end()
    }
}

impl<'de> Deserialize<'de> for Hello {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Hello, D::Error> {
        // A tuple of up to 9 fields, of which the version read first says
        // how many follow.
        deserializer.deserialize_tuple(9, HelloVisitor)
    }
}

struct HelloVisitor;

impl<'de> serde::de::Visitor<'de> for HelloVisitor {
    type Value = Hello;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a HELLO body")
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Hello, A::Error> {
        fn next<'de, T: Deserialize<'de>, A: serde::de::SeqAccess<'de>>(
            seq: &mut A,
            field: &str,
        ) -> Result<T, A::Error> {
            seq.next_element()?.ok_or_else(|| {
                serde::de::Error::custom(format!("the HELLO ends before its {field}"))
            })
        }
        let mut hello = Hello {
            protocol_min: next(&mut seq, "protocol_min")?,
            protocol_max: next(&mut seq, "protocol_max")?,
            token: next(&mut seq, "token")?,
            language: next(&mut seq, "language")?,
            runtime: next(&mut seq, "runtime")?,
            pid: next(&mut seq, "pid")?,
            contracts: next(&mut seq, "contracts")?,
            ..Hello::default()
        };
        if hello.protocol_max >= HELLO_REQUIRES_SINCE {
            hello.requires = next(&mut seq, "requires")?;
        }
        if hello.protocol_max >= HELLO_SCHEMAS_SINCE {
            hello.schemas = next(&mut seq, "schemas")?;
        }
        Ok(hello)
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
