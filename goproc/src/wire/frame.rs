//! Frame layout: `u32 LE length | u8 kind | u64 LE id | body`.
//!
//! `length` counts the bytes after itself (kind, id and body), so it is at
//! least 9. A reader checks it against the maximum *before* allocating.

use std::pin::Pin;
use std::task::Poll;
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};

use crate::Error;

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
    /// Reserved: a one-way event.
    Event = 0x40,
    /// Reserved: one item of a streamed answer.
    StreamItem = 0x41,
    /// Reserved: the end of a streamed answer.
    StreamEnd = 0x42,
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
            Kind::StreamEnd => "STREAM_END",
        }
    }

    /// Whether frames of this kind carry nothing after the header.
    pub fn has_empty_body(self) -> bool {
        matches!(
            self,
            Kind::Cancel | Kind::Ping | Kind::Pong | Kind::Shutdown | Kind::Close
        )
    }

    /// Whether frames of this kind always carry id 0.
    pub fn has_id_zero(self) -> bool {
        matches!(
            self,
            Kind::Hello | Kind::Welcome | Kind::Refuse | Kind::Shutdown | Kind::Close
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
            0x42 => Kind::StreamEnd,
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
pub struct FrameBuf(Vec<u8>);

impl FrameBuf {
    /// Starts a frame of `kind` for call `id`.
    pub fn new(kind: Kind, id: u64) -> Self {
        Self::with_capacity(kind, id, 64)
    }

    /// Starts a frame with room for `body` bytes.
    pub fn with_capacity(kind: Kind, id: u64, body: usize) -> Self {
        let mut v = Vec::with_capacity(HEADER_LEN + body);
        v.extend_from_slice(&[0; 4]);
        v.push(kind as u8);
        v.extend_from_slice(&id.to_le_bytes());
        FrameBuf(v)
    }

    /// The buffer the body is appended to.
    pub fn body_mut(&mut self) -> &mut Vec<u8> {
        &mut self.0
    }

    /// Writes the length and returns the finished frame, or an error if the
    /// frame is longer than `max_frame`.
    pub fn finish(mut self, max_frame: u32) -> Result<Vec<u8>, FrameTooLarge> {
        let length = self.0.len() - 4;
        if length > max_frame as usize {
            return Err(FrameTooLarge {
                length,
                max: max_frame,
            });
        }
        self.0[..4].copy_from_slice(&(length as u32).to_le_bytes());
        Ok(self.0)
    }
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
fn check_length(length: u32, max_frame: u32) -> Result<(), String> {
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

/// What reading one frame can end in.
#[derive(Debug)]
pub enum ReadError {
    /// The peer closed the stream cleanly between frames.
    Eof,
    /// The stream failed, or closed in the middle of a frame.
    Io(std::io::Error),
    /// The bytes broke the frame rules.
    Malformed(String),
}

impl ReadError {
    /// Turns the failure into an [`Error`] about the connection to `peer`.
    pub fn into_error(self, peer: &str) -> Error {
        match self {
            ReadError::Eof => Error::Closed {
                peer: peer.to_string(),
                reason: "the peer closed the connection".into(),
            },
            ReadError::Io(e) => Error::transport(format!("reading from `{peer}`"), e),
            ReadError::Malformed(reason) => Error::Protocol {
                peer: peer.to_string(),
                reason,
            },
        }
    }
}

/// Reads one frame: the header, then exactly the body it announces. The
/// body buffer is only allocated once the length passed the checks.
pub async fn read_frame<R: AsyncRead + Unpin>(
    reader: &mut R,
    max_frame: u32,
) -> Result<(FrameHeader, Vec<u8>), ReadError> {
    let mut head = [0u8; HEADER_LEN];
    // The first byte decides between a clean end and a torn frame.
    match reader.read(&mut head[..1]).await {
        Ok(0) => return Err(ReadError::Eof),
        Ok(_) => {}
        Err(e) => return Err(ReadError::Io(e)),
    }
    reader
        .read_exact(&mut head[1..4])
        .await
        .map_err(ReadError::Io)?;
    check_length(
        u32::from_le_bytes([head[0], head[1], head[2], head[3]]),
        max_frame,
    )
    .map_err(ReadError::Malformed)?;
    reader
        .read_exact(&mut head[4..])
        .await
        .map_err(ReadError::Io)?;
    let header = parse_header(&head, max_frame).map_err(ReadError::Malformed)?;
    let mut body = vec![0u8; header.body_len];
    reader.read_exact(&mut body).await.map_err(ReadError::Io)?;
    Ok((header, body))
}

/// A [`FrameReader`]'s first buffer: enough for a batch of small frames,
/// and small enough that an idle connection costs little.
const READ_FIRST: usize = 8 * 1024;
/// The most a [`FrameReader`] buffers: a read that fills the buffer doubles
/// it, up to this.
const READ_MAX: usize = 64 * 1024;

/// Reads frames through a buffer: one read from the stream brings in every
/// frame that has arrived, where [`read_frame`] costs two or three reads
/// per frame. The length rules are checked exactly as [`read_frame`] does,
/// before a body is allocated; a body larger than what is buffered is read
/// straight into its own allocation.
pub struct FrameReader {
    buf: Box<[u8]>,
    start: usize,
    end: usize,
    max_frame: u32,
}

impl FrameReader {
    /// A reader that refuses frames longer than `max_frame`.
    pub fn new(max_frame: u32) -> Self {
        FrameReader {
            buf: Box::default(),
            start: 0,
            end: 0,
            max_frame,
        }
    }

    /// Whether a whole frame is buffered, so [`FrameReader::next`] will
    /// return without reading from the stream.
    pub fn has_frame(&self) -> bool {
        let buffered = &self.buf[self.start..self.end];
        if buffered.len() < 4 {
            return false;
        }
        let length = u32::from_le_bytes([buffered[0], buffered[1], buffered[2], buffered[3]]);
        // A malformed length is reported by `next` without reading more.
        length < MIN_LENGTH
            || length > self.max_frame
            || (buffered.len() >= HEADER_LEN && buffered.len() - 4 >= length as usize)
    }

    /// The length field of the buffered frame, checked, once its 4 bytes
    /// are in: a peer that sends a bad length and then nothing more is
    /// answered at once, not after a header that never comes.
    fn check_length(&self) -> Result<(), ReadError> {
        let b = &self.buf[self.start..self.end];
        if b.len() < 4 {
            return Ok(());
        }
        let length = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
        check_length(length, self.max_frame).map_err(ReadError::Malformed)
    }

    /// Reads the next frame: the same results and errors as [`read_frame`].
    pub async fn next<R: AsyncRead + Unpin>(
        &mut self,
        reader: &mut R,
    ) -> Result<(FrameHeader, Vec<u8>), ReadError> {
        self.next_spinning(reader, None).await
    }

    /// [`FrameReader::next`], but when no byte is waiting, keeps polling the
    /// stream for up to `spin` (yielding to the runtime in between, which
    /// polls the OS without sleeping) before waiting to be woken.
    pub async fn next_spinning<R: AsyncRead + Unpin>(
        &mut self,
        reader: &mut R,
        spin: Option<Duration>,
    ) -> Result<(FrameHeader, Vec<u8>), ReadError> {
        while self.end - self.start < HEADER_LEN {
            self.check_length()?;
            self.fill(reader, spin).await?;
        }
        let mut head = [0u8; HEADER_LEN];
        head.copy_from_slice(&self.buf[self.start..self.start + HEADER_LEN]);
        let header = parse_header(&head, self.max_frame).map_err(ReadError::Malformed)?;
        let body_start = self.start + HEADER_LEN;
        let buffered = self.end - body_start;
        if buffered >= header.body_len {
            let body = self.buf[body_start..body_start + header.body_len].to_vec();
            self.start = body_start + header.body_len;
            return Ok((header, body));
        }
        // The rest of the body is still on its way: read it straight into
        // the body's own allocation (not zeroed first: a large body is
        // written once, by the reads).
        let mut body = Vec::with_capacity(header.body_len);
        body.extend_from_slice(&self.buf[body_start..self.end]);
        self.start = 0;
        self.end = 0;
        while body.len() < header.body_len {
            // Never a byte of the next frame.
            let missing = (header.body_len - body.len()) as u64;
            let n = (&mut *reader)
                .take(missing)
                .read_buf(&mut body)
                .await
                .map_err(ReadError::Io)?;
            if n == 0 {
                return Err(ReadError::Io(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "early eof",
                )));
            }
        }
        Ok((header, body))
    }

    /// Reads more bytes after the ones buffered.
    async fn fill<R: AsyncRead + Unpin>(
        &mut self,
        reader: &mut R,
        spin: Option<Duration>,
    ) -> Result<(), ReadError> {
        if self.buf.is_empty() {
            self.buf = vec![0u8; READ_FIRST].into_boxed_slice();
        }
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        } else if self.buf.len() - self.end < HEADER_LEN {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        let n = match spin {
            Some(spin) => read_spinning(reader, &mut self.buf[self.end..], spin).await,
            None => reader.read(&mut self.buf[self.end..]).await,
        }
        .map_err(ReadError::Io)?;
        if n == 0 {
            // Between frames, a clean end; inside one, a torn frame.
            return Err(if self.start == self.end {
                ReadError::Eof
            } else {
                ReadError::Io(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "early eof",
                ))
            });
        }
        self.end += n;
        if self.end == self.buf.len() && self.buf.len() < READ_MAX {
            // The stream had more to give: read more at once next time.
            let mut bigger = vec![0u8; self.buf.len() * 2].into_boxed_slice();
            bigger[..self.end - self.start].copy_from_slice(&self.buf[self.start..self.end]);
            self.end -= self.start;
            self.start = 0;
            self.buf = bigger;
        }
        Ok(())
    }
}

/// Reads into `buf`, polling for up to `spin` before sleeping.
async fn read_spinning<R: AsyncRead + Unpin>(
    reader: &mut R,
    buf: &mut [u8],
    spin: Duration,
) -> std::io::Result<usize> {
    let until = Instant::now() + spin;
    loop {
        let polled = std::future::poll_fn(|cx| {
            let mut read = ReadBuf::new(buf);
            match Pin::new(&mut *reader).poll_read(cx, &mut read) {
                Poll::Ready(Ok(())) => Poll::Ready(Some(Ok(read.filled().len()))),
                Poll::Ready(Err(e)) => Poll::Ready(Some(Err(e))),
                Poll::Pending => Poll::Ready(None),
            }
        })
        .await;
        if let Some(done) = polled {
            return done;
        }
        if Instant::now() >= until {
            return reader.read(buf).await;
        }
        // Let a process that shares this core run (the peer may be it),
        // then let the runtime poll the OS for I/O without sleeping.
        std::thread::yield_now();
        tokio::task::yield_now().await;
    }
}

/// A frame with an empty body (CANCEL, PING, PONG, SHUTDOWN, CLOSE).
pub fn control_frame(kind: Kind, id: u64) -> Vec<u8> {
    FrameBuf::new(kind, id).finish(u32::MAX).unwrap_or_default()
}

/// Encodes `body` into one frame with id 0 and writes it (used by the
/// handshake, before a connection's writer task exists).
pub async fn write_frame<W: AsyncWrite + Unpin, T: serde::Serialize>(
    stream: &mut W,
    kind: Kind,
    body: &T,
) -> std::io::Result<()> {
    let body = super::codec::encode(body).map_err(std::io::Error::other)?;
    write_body(stream, kind, &body).await
}

/// Writes one frame with id 0 and an encoded `body`.
pub async fn write_body<W: AsyncWrite + Unpin>(
    stream: &mut W,
    kind: Kind,
    body: &[u8],
) -> std::io::Result<()> {
    let mut frame = FrameBuf::with_capacity(kind, 0, body.len());
    frame.body_mut().extend_from_slice(body);
    let frame = frame.finish(DEFAULT_MAX_FRAME).map_err(|e| {
        std::io::Error::other(format!(
            "a {kind:?} frame of {} bytes is too large",
            e.length
        ))
    })?;
    stream.write_all(&frame).await?;
    stream.flush().await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(id: u64, body_len: usize) -> Vec<u8> {
        let mut f = FrameBuf::new(Kind::Request, id);
        f.body_mut()
            .extend((0..body_len).map(|i| (i as u64 ^ id) as u8));
        f.finish(u32::MAX).expect("small frame")
    }

    /// Writes `bytes` in pieces of `piece` bytes, then closes.
    async fn feed(bytes: Vec<u8>, piece: usize) -> tokio::io::DuplexStream {
        let (mut tx, rx) = tokio::io::duplex(1 << 20);
        tokio::spawn(async move {
            for chunk in bytes.chunks(piece) {
                tx.write_all(chunk).await.expect("duplex write");
                tokio::task::yield_now().await;
            }
        });
        rx
    }

    #[tokio::test]
    async fn frame_reader_returns_every_frame_whatever_the_read_sizes() {
        // Small frames, one larger than the buffer, and sizes around it.
        let sizes = [0usize, 1, 16, 5000, 100_000, 3, 8192, 8179, 65_536, 7];
        let mut wire = Vec::new();
        for (id, len) in sizes.iter().enumerate() {
            wire.extend(frame(id as u64, *len));
        }
        for piece in [1, 7, 13, 4096, 1 << 20] {
            let mut rx = feed(wire.clone(), piece).await;
            let mut reader = FrameReader::new(DEFAULT_MAX_FRAME);
            for (id, len) in sizes.iter().enumerate() {
                let (header, body) = reader.next(&mut rx).await.expect("a frame");
                assert_eq!(
                    (header.id, header.kind, body.len()),
                    (id as u64, Kind::Request, *len)
                );
                assert_eq!(body, frame(id as u64, *len)[HEADER_LEN..]);
            }
            assert!(matches!(reader.next(&mut rx).await, Err(ReadError::Eof)));
        }
    }

    #[tokio::test]
    async fn frame_reader_reports_torn_and_oversized_frames() {
        let mut torn = frame(1, 10);
        torn.truncate(HEADER_LEN + 4);
        let mut rx = feed(torn, 5).await;
        let err = FrameReader::new(DEFAULT_MAX_FRAME).next(&mut rx).await;
        assert!(
            matches!(&err, Err(ReadError::Io(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof),
            "{err:?}"
        );

        let mut rx = feed(frame(2, 100), 1 << 20).await;
        let err = FrameReader::new(50).next(&mut rx).await;
        assert!(
            matches!(&err, Err(ReadError::Malformed(m)) if m.contains("exceeds the maximum frame size 50")),
            "{err:?}"
        );
    }
}
