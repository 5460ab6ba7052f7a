//! An in-memory stream for a connection: one end of a `tokio::io::duplex`
//! that the connection's reader and writer tasks share, as they share a
//! socket. Only in-process tests use it; the socket path is untouched.

use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, DuplexStream, ReadBuf};

/// How many bytes one direction buffers before the writer waits.
const BUFFER: usize = 256 * 1024;

/// One end of an in-memory pipe, cheap to clone.
#[derive(Clone)]
pub(crate) struct MemoryStream(Arc<Mutex<DuplexStream>>);

/// Two connected ends.
pub(crate) fn pair() -> (MemoryStream, MemoryStream) {
    let (a, b) = tokio::io::duplex(BUFFER);
    (
        MemoryStream(Arc::new(Mutex::new(a))),
        MemoryStream(Arc::new(Mutex::new(b))),
    )
}

impl MemoryStream {
    // Each poll holds the lock only for itself: the reader's and the
    // writer's polls never wait on each other for longer than a copy.
    fn lock(&self) -> MutexGuard<'_, DuplexStream> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl AsyncRead for MemoryStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.lock()).poll_read(cx, buf)
    }
}

impl AsyncWrite for MemoryStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut *self.lock()).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.lock()).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.lock()).poll_shutdown(cx)
    }
}

impl crate::transport::Split for MemoryStream {
    type Reader = MemoryStream;
    type Writer = MemoryStream;

    fn split(self) -> (MemoryStream, MemoryStream) {
        (self.clone(), self)
    }
}
