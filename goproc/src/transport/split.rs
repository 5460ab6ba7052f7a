//! A connection's stream as its tasks use it once the handshake is done:
//! the reader task's end and the writers' end.

use std::io;
use std::pin::Pin;
#[cfg(unix)]
use std::sync::Arc;
use std::task::{Context, Poll};

#[cfg(unix)]
use interprocess::local_socket::tokio::Stream;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

#[cfg(unix)]
use super::unix_halves;
use super::SharedStream;

/// A connection's stream once its handshake is done, as its tasks use it:
/// the reader's end, which one task reads, and the writers' end, cheap to
/// clone.
pub(crate) trait Split: Send + 'static {
    /// What the reader task reads.
    type Reader: AsyncRead + Send + Unpin + 'static;
    /// What the writer task (and the reader, for answers) writes.
    type Writer: AsyncWrite + Clone + Send + Unpin + 'static;

    /// The reader's end and the writers' end.
    fn split(self) -> (Self::Reader, Self::Writer);
}

impl Split for SharedStream {
    type Reader = StreamReader;
    type Writer = StreamWriter;

    /// On Unix the socket is taken from `interprocess`, whose stream is
    /// registered for writing too and makes a failing read after every
    /// read: see `unix_halves`.
    fn split(self) -> (StreamReader, StreamWriter) {
        #[cfg(unix)]
        let this = match Arc::try_unwrap(self.0) {
            Ok(Stream::UdSocket(socket)) => match unix_halves::split(socket) {
                Ok((reader, writer)) => {
                    return (StreamReader::Unix(reader), StreamWriter::Unix(writer))
                }
                // The socket could not be registered: reading it fails at
                // once, and the connection ends with that error.
                Err(e) => return (StreamReader::Failed(Some(e)), StreamWriter::Closed),
            },
            #[allow(unreachable_patterns)]
            Ok(other) => SharedStream::new(other),
            // Still shared (it never is here): read it the shared way.
            Err(shared) => SharedStream(shared),
        };
        #[cfg(not(unix))]
        let this = self;
        (
            StreamReader::Shared(this.clone()),
            StreamWriter::Shared(this),
        )
    }
}

/// The reader task's end of a connection's stream.
pub(crate) enum StreamReader {
    #[cfg(unix)]
    Unix(unix_halves::Reader),
    Shared(SharedStream),
    /// The stream could not be set up; the error is the first read's.
    #[cfg(unix)]
    Failed(Option<io::Error>),
}

/// The writers' end of a connection's stream.
#[derive(Clone)]
pub(crate) enum StreamWriter {
    #[cfg(unix)]
    Unix(unix_halves::Writer),
    Shared(SharedStream),
    /// The stream could not be set up: nothing can be written.
    #[cfg(unix)]
    Closed,
}

impl AsyncRead for StreamReader {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            #[cfg(unix)]
            StreamReader::Unix(r) => Pin::new(r).poll_read(cx, buf),
            StreamReader::Shared(s) => Pin::new(s).poll_read(cx, buf),
            #[cfg(unix)]
            StreamReader::Failed(e) => Poll::Ready(Err(e
                .take()
                .unwrap_or_else(|| io::ErrorKind::NotConnected.into()))),
        }
    }
}

impl AsyncWrite for StreamWriter {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            #[cfg(unix)]
            StreamWriter::Unix(w) => w.poll_write(cx, buf),
            StreamWriter::Shared(s) => Pin::new(s).poll_write(cx, buf),
            #[cfg(unix)]
            StreamWriter::Closed => Poll::Ready(Err(io::ErrorKind::NotConnected.into())),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            #[cfg(unix)]
            StreamWriter::Unix(w) => w.poll_write_vectored(cx, bufs),
            StreamWriter::Shared(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            #[cfg(unix)]
            StreamWriter::Closed => Poll::Ready(Err(io::ErrorKind::NotConnected.into())),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            #[cfg(unix)]
            StreamWriter::Unix(_) => true,
            StreamWriter::Shared(s) => s.is_write_vectored(),
            #[cfg(unix)]
            StreamWriter::Closed => false,
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            #[cfg(unix)]
            StreamWriter::Unix(_) | StreamWriter::Closed => Poll::Ready(Ok(())),
            StreamWriter::Shared(s) => Pin::new(s).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            // As `interprocess`'s stream: the socket closes when both ends
            // are dropped.
            #[cfg(unix)]
            StreamWriter::Unix(_) | StreamWriter::Closed => Poll::Ready(Ok(())),
            StreamWriter::Shared(s) => Pin::new(s).poll_shutdown(cx),
        }
    }
}
