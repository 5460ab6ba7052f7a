//! Frames on a byte stream: reading one (the handshake), reading many
//! through a buffer (a connection), writing one.

use std::future::Future;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::frame::{
    check_length, parse_header, FrameBuf, FrameHeader, Kind, DEFAULT_MAX_FRAME, HEADER_LEN,
    MIN_LENGTH,
};
use crate::Error;

/// How a [`FrameReader`] waits for the bytes of its next frame: a plain
/// read ([`PlainRead`]), or a connection's busy-polling read.
pub trait ReadSome<R> {
    /// Reads at least one byte into `buf` (0: end of stream).
    fn read_some<'a>(
        &'a self,
        reader: &'a mut R,
        buf: &'a mut [u8],
    ) -> impl Future<Output = std::io::Result<usize>> + Send + 'a;
}

/// Waits for bytes the usual way.
pub struct PlainRead;

impl<R: AsyncRead + Unpin + Send> ReadSome<R> for PlainRead {
    fn read_some<'a>(
        &'a self,
        reader: &'a mut R,
        buf: &'a mut [u8],
    ) -> impl Future<Output = std::io::Result<usize>> + Send + 'a {
        reader.read(buf)
    }
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

/// The smallest buffer worth keeping in a [`Spare`]: bodies below it are
/// cheap to allocate.
const SPARE_MIN: usize = 64 * 1024;
/// The largest buffer a [`Spare`] keeps, so an idle connection holds at
/// most this much for its next large body.
const SPARE_MAX: usize = 4 * 1024 * 1024;

/// One large buffer kept between frames: a connection's writer puts back
/// the buffer of a large frame once it is written, and its reader reads
/// the next large body into it. A megabyte echoed back and forth then
/// lives in the same pages call after call, where a fresh allocation per
/// body costs a page fault per 4 KiB (the allocator hands large freed
/// blocks back to the OS).
#[derive(Default)]
pub(crate) struct Spare(std::sync::Mutex<Option<Vec<u8>>>);

impl Spare {
    /// Keeps `buf` (emptied) for a later body if its size is worth it and
    /// it is larger than the one kept.
    pub(crate) fn put(&self, mut buf: Vec<u8>) {
        let cap = buf.capacity();
        if !(SPARE_MIN..=SPARE_MAX).contains(&cap) {
            return;
        }
        let mut slot = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if slot.as_ref().is_none_or(|kept| kept.capacity() < cap) {
            buf.clear();
            *slot = Some(buf);
        }
    }

    /// The kept buffer, empty, if it has room for `len` bytes.
    fn take(&self, len: usize) -> Option<Vec<u8>> {
        let mut slot = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if slot.as_ref()?.capacity() >= len {
            slot.take()
        } else {
            None
        }
    }
}

/// Reads frames through a buffer: one read from the stream brings in every
/// frame that has arrived, where [`read_frame`] costs two or three reads
/// per frame. The length rules are checked exactly as [`read_frame`] does,
/// before a body is allocated; a body larger than what is buffered is read
/// straight into its own allocation (or the reader's [`Spare`] buffer).
pub struct FrameReader {
    buf: Box<[u8]>,
    start: usize,
    end: usize,
    max_frame: u32,
    spare: Option<std::sync::Arc<Spare>>,
}

impl FrameReader {
    /// A reader that refuses frames longer than `max_frame`.
    pub fn new(max_frame: u32) -> Self {
        FrameReader {
            buf: Box::default(),
            start: 0,
            end: 0,
            max_frame,
            spare: None,
        }
    }

    /// A reader that reads large bodies into `spare`'s buffer when it has
    /// one big enough.
    pub(crate) fn with_spare(max_frame: u32, spare: std::sync::Arc<Spare>) -> Self {
        FrameReader {
            spare: Some(spare),
            ..FrameReader::new(max_frame)
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
    pub async fn next<R: AsyncRead + Unpin + Send>(
        &mut self,
        reader: &mut R,
    ) -> Result<(FrameHeader, Vec<u8>), ReadError> {
        self.next_with(reader, &PlainRead).await
    }

    /// [`FrameReader::next`], waiting for the first bytes of the frame the
    /// way `wait` does.
    pub async fn next_with<R: AsyncRead + Unpin, W: ReadSome<R>>(
        &mut self,
        reader: &mut R,
        wait: &W,
    ) -> Result<(FrameHeader, Vec<u8>), ReadError> {
        while self.end - self.start < HEADER_LEN {
            self.check_length()?;
            self.fill(reader, wait).await?;
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
        let mut body = match self.spare.as_ref().and_then(|s| s.take(header.body_len)) {
            Some(kept) => kept,
            None => Vec::with_capacity(header.body_len),
        };
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
    async fn fill<R: AsyncRead + Unpin, W: ReadSome<R>>(
        &mut self,
        reader: &mut R,
        wait: &W,
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
        let n = wait
            .read_some(reader, &mut self.buf[self.end..])
            .await
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
    use crate::wire::frame::{FrameBuf, Kind, DEFAULT_MAX_FRAME, HEADER_LEN};

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
