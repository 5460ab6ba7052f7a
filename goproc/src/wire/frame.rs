//! Frame layout: `u32 LE length | u8 kind | u64 LE id | body`. Reading and
//! writing frames on a stream is `super::stream`.
//!
//! `length` counts the bytes after itself (kind, id and body), so it is at
//! least 9. A reader checks it against the maximum *before* allocating.

/// Bytes before the body: length (4), kind (1), id (8).
pub const HEADER_LEN: usize = 13;
/// The smallest legal `length` field: kind and id, no body.
pub const MIN_LENGTH: u32 = 9;
/// The default largest `length` field either side accepts: 16 MiB.
pub const DEFAULT_MAX_FRAME: u32 = 16 * 1024 * 1024;
/// The smallest maximum frame size a host may set: below it a side could
/// not even send an error message.
pub const MIN_MAX_FRAME: u32 = 4096;

/// The kind byte of a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Kind {
    /// Plugin to host, first frame: who the plugin is and what it serves.
    Hello = 0x01,
    /// Host to plugin: the handshake succeeded.
    Welcome = 0x02,
    /// Host to plugin: the handshake failed; the body says why.
    Refuse = 0x03,
    /// A call.
    Request = 0x10,
    /// The successful answer to a call.
    Response = 0x11,
    /// A call that failed for a reason other than a domain error.
    Error = 0x12,
    /// The caller no longer wants the answer to a call.
    Cancel = 0x13,
    /// Are you alive?
    Ping = 0x20,
    /// Yes.
    Pong = 0x21,
    /// Host to plugin: finish the calls in flight, take no new ones, then close.
    Shutdown = 0x30,
    /// The sender will write nothing more on this connection.
    Close = 0x31,
    /// Host to plugin (version 3): an event for one of the plugin's subscriptions.
    Event = 0x40,
    /// Callee to caller (version 3): one item of the call's answer stream.
    StreamItem = 0x41,
    /// Caller to callee (version 3): credit for more answer items.
    StreamCredit = 0x42,
    /// Caller to callee (version 3): one item of the call's argument stream.
    ArgItem = 0x43,
    /// Caller to callee (version 3): the argument stream ended (or failed).
    ArgEnd = 0x44,
    /// Callee to caller (version 3): credit for more argument items.
    ArgCredit = 0x45,
    /// Plugin to host (version 3): an event to route.
    Publish = 0x46,
    /// Plugin to host (version 3): start a subscription.
    Subscribe = 0x47,
    /// Plugin to host (version 3): end a subscription.
    Unsubscribe = 0x48,
}

impl Kind {
    /// The name docs/WIRE.md gives the kind, for messages.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Hello => "HELLO",
            Kind::Welcome => "WELCOME",
            Kind::Refuse => "REFUSE",
            Kind::Request => "REQUEST",
            Kind::Response => "RESPONSE",
            Kind::Error => "ERROR",
            Kind::Cancel => "CANCEL",
            Kind::Ping => "PING",
            Kind::Pong => "PONG",
            Kind::Shutdown => "SHUTDOWN",
            Kind::Close => "CLOSE",
            Kind::Event => "EVENT",
            Kind::StreamItem => "STREAM_ITEM",
            Kind::StreamCredit => "STREAM_CREDIT",
            Kind::ArgItem => "ARG_ITEM",
            Kind::ArgEnd => "ARG_END",
            Kind::ArgCredit => "ARG_CREDIT",
            Kind::Publish => "PUBLISH",
            Kind::Subscribe => "SUBSCRIBE",
            Kind::Unsubscribe => "UNSUBSCRIBE",
        }
    }

    /// Whether frames of this kind carry nothing after the header.
    pub fn has_empty_body(self) -> bool {
        matches!(
            self,
            Kind::Cancel
                | Kind::Ping
                | Kind::Pong
                | Kind::Shutdown
                | Kind::Close
                | Kind::Unsubscribe
        )
    }

    /// The first protocol version that has frames of this kind.
    pub fn since_version(self) -> u32 {
        match self {
            Kind::Event
            | Kind::StreamItem
            | Kind::StreamCredit
            | Kind::ArgItem
            | Kind::ArgEnd
            | Kind::ArgCredit
            | Kind::Publish
            | Kind::Subscribe
            | Kind::Unsubscribe => 3,
            _ => 1,
        }
    }

    /// Whether frames of this kind always carry id 0.
    pub fn has_id_zero(self) -> bool {
        matches!(
            self,
            Kind::Hello
                | Kind::Welcome
                | Kind::Refuse
                | Kind::Shutdown
                | Kind::Close
                | Kind::Publish
        )
    }

    /// The kind for a byte, or `None` for a byte no version defines.
    pub fn from_byte(b: u8) -> Option<Kind> {
        Some(match b {
            0x01 => Kind::Hello,
            0x02 => Kind::Welcome,
            0x03 => Kind::Refuse,
            0x10 => Kind::Request,
            0x11 => Kind::Response,
            0x12 => Kind::Error,
            0x13 => Kind::Cancel,
            0x20 => Kind::Ping,
            0x21 => Kind::Pong,
            0x30 => Kind::Shutdown,
            0x31 => Kind::Close,
            0x40 => Kind::Event,
            0x41 => Kind::StreamItem,
            0x42 => Kind::StreamCredit,
            0x43 => Kind::ArgItem,
            0x44 => Kind::ArgEnd,
            0x45 => Kind::ArgCredit,
            0x46 => Kind::Publish,
            0x47 => Kind::Subscribe,
            0x48 => Kind::Unsubscribe,
            _ => return None,
        })
    }
}

/// The fixed part of a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameHeader {
    /// The kind byte, checked.
    pub kind: Kind,
    /// The call id (0 for handshake frames).
    pub id: u64,
    /// The body's length in bytes.
    pub body_len: usize,
}

/// A frame being built: header space first, the body appended after it.
/// [`FrameBuf::finish`] writes the length; the id can be patched later,
/// which lets a handler encode its answer before it knows the call id.
///
/// The body may end in a large buffer of its own ([`FrameBuf::set_tail`]),
/// sent after the rest without being copied into it.
pub struct FrameBuf {
    buf: Vec<u8>,
    tail: Vec<u8>,
}

impl FrameBuf {
    /// Starts a frame of `kind` for call `id`.
    pub fn new(kind: Kind, id: u64) -> Self {
        Self::with_capacity(kind, id, 64)
    }

    /// Starts a frame with room for `body` bytes.
    pub fn with_capacity(kind: Kind, id: u64, body: usize) -> Self {
        let mut v = Vec::with_capacity(HEADER_LEN + body);
        start_frame(&mut v, kind, id);
        FrameBuf {
            buf: v,
            tail: Vec::new(),
        }
    }

    /// The buffer the body is appended to (before the tail, if any).
    pub fn body_mut(&mut self) -> &mut Vec<u8> {
        debug_assert!(self.tail.is_empty(), "the body already has its tail");
        &mut self.buf
    }

    /// Ends the body with `tail`, kept in its own buffer. Nothing may be
    /// appended after it.
    pub(crate) fn set_tail(&mut self, tail: Vec<u8>) {
        self.tail = tail;
    }

    /// Writes the length and returns the finished frame, or an error if the
    /// frame is longer than `max_frame`.
    pub fn finish(self, max_frame: u32) -> Result<Vec<u8>, FrameTooLarge> {
        let (mut frame, tail) = self.finish_parts(max_frame)?;
        frame.extend_from_slice(&tail);
        Ok(frame)
    }

    /// Writes the length and returns the finished frame as its first bytes
    /// and its tail (empty if it has none), which are sent one after the
    /// other; or an error if the frame is longer than `max_frame`.
    pub(crate) fn finish_parts(
        mut self,
        max_frame: u32,
    ) -> Result<(Vec<u8>, Vec<u8>), FrameTooLarge> {
        let total = self.buf.len() + self.tail.len();
        set_length(&mut self.buf, total, max_frame)?;
        Ok((self.buf, self.tail))
    }
}

/// Empties `buf` and writes a frame's header into it (its length is
/// written last, by [`set_length`]); the body is appended after it. For a
/// buffer reused from frame to frame; [`FrameBuf`] is the owned form.
pub(crate) fn start_frame(buf: &mut Vec<u8>, kind: Kind, id: u64) {
    buf.clear();
    buf.extend_from_slice(&[0; 4]);
    buf.push(kind as u8);
    buf.extend_from_slice(&id.to_le_bytes());
}

/// Writes the `length` field of the frame whose header starts `head`, a
/// frame of `total` bytes in all (its body may lie partly elsewhere), or
/// says it is longer than `max_frame`.
pub(crate) fn set_length(
    head: &mut [u8],
    total: usize,
    max_frame: u32,
) -> Result<(), FrameTooLarge> {
    let length = total - 4;
    if length > max_frame as usize {
        return Err(FrameTooLarge {
            length,
            max: max_frame,
        });
    }
    head[..4].copy_from_slice(&(length as u32).to_le_bytes());
    Ok(())
}

/// A frame would exceed the maximum frame size.
#[derive(Debug, Clone, Copy)]
pub struct FrameTooLarge {
    /// The frame's `length` field.
    pub length: usize,
    /// The maximum.
    pub max: u32,
}

/// Rewrites the id of a finished frame.
pub fn set_id(frame: &mut [u8], id: u64) {
    frame[5..HEADER_LEN].copy_from_slice(&id.to_le_bytes());
}

/// Parses the 13 header bytes, enforcing the length rules.
pub fn parse_header(bytes: &[u8; HEADER_LEN], max_frame: u32) -> Result<FrameHeader, String> {
    let length = u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
    check_length(length, max_frame)?;
    let kind = Kind::from_byte(bytes[4])
        .ok_or_else(|| format!("unknown frame kind 0x{:02x}", bytes[4]))?;
    let mut id = [0u8; 8];
    id.copy_from_slice(&bytes[5..HEADER_LEN]);
    Ok(FrameHeader {
        kind,
        id: u64::from_le_bytes(id),
        body_len: (length - MIN_LENGTH) as usize,
    })
}

/// The rules for a frame's `length` field.
pub(crate) fn check_length(length: u32, max_frame: u32) -> Result<(), String> {
    if length < MIN_LENGTH {
        return Err(format!(
            "frame length {length} is shorter than the 9 bytes of kind and id"
        ));
    }
    if length > max_frame {
        return Err(format!(
            "frame length {length} exceeds the maximum frame size {max_frame}"
        ));
    }
    Ok(())
}

/// A frame with an empty body (CANCEL, PING, PONG, SHUTDOWN, CLOSE).
pub fn control_frame(kind: Kind, id: u64) -> Vec<u8> {
    FrameBuf::new(kind, id).finish(u32::MAX).unwrap_or_default()
}
