//! Local sockets through `interprocess`: a Unix domain socket file in a
//! private folder on Unix, a named pipe on Windows, behind the same calls.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use interprocess::local_socket::tokio::{prelude::*, Listener, Stream};
use interprocess::local_socket::ListenerOptions;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

#[cfg(unix)]
mod unix_halves;

/// A listening endpoint for one plugin, and the address handed to it.
pub(crate) struct Endpoint {
    listener: Listener,
    address: String,
    /// The private folder that holds the socket file; removed on drop.
    #[cfg(unix)]
    _dir: tempfile::TempDir,
}

impl Endpoint {
    /// Creates a fresh, private endpoint.
    #[cfg(unix)]
    pub(crate) fn create() -> io::Result<Endpoint> {
        use interprocess::local_socket::{GenericFilePath, ToFsName};
        use std::os::unix::fs::PermissionsExt;

        // sun_path holds 108 bytes: prefer a short base folder.
        let base = std::env::temp_dir();
        let base = if base.as_os_str().len() > 60 {
            std::path::PathBuf::from("/tmp")
        } else {
            base
        };
        let dir = tempfile::Builder::new()
            .prefix("goproc-")
            .permissions(std::fs::Permissions::from_mode(0o700))
            .tempdir_in(base)?;
        let path = dir.path().join("s");
        let address = path.to_string_lossy().into_owned();
        let name = path.as_path().to_fs_name::<GenericFilePath>()?;
        let listener = ListenerOptions::new().name(name).create_tokio()?;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
        Ok(Endpoint {
            listener,
            address,
            _dir: dir,
        })
    }

    /// Creates a fresh named pipe with an unguessable name.
    #[cfg(windows)]
    pub(crate) fn create() -> io::Result<Endpoint> {
        use interprocess::local_socket::{GenericNamespaced, ToNsName};

        let mut random = [0u8; 16];
        getrandom::fill(&mut random).map_err(io::Error::other)?;
        let suffix: String = random.iter().map(|b| format!("{b:02x}")).collect();
        let address = format!("goproc-{}-{suffix}", std::process::id());
        let name = address.clone().to_ns_name::<GenericNamespaced>()?;
        let listener = ListenerOptions::new().name(name).create_tokio()?;
        Ok(Endpoint { listener, address })
    }

    /// The address the plugin connects to (`GOPROC_ADDR`).
    pub(crate) fn address(&self) -> &str {
        &self.address
    }

    /// Waits for the next connection.
    pub(crate) async fn accept(&self) -> io::Result<SharedStream> {
        self.listener.accept().await.map(SharedStream::new)
    }
}

/// Connects to the address a host gave in `GOPROC_ADDR`.
pub(crate) async fn connect(address: &str) -> io::Result<SharedStream> {
    #[cfg(unix)]
    let name = {
        use interprocess::local_socket::{GenericFilePath, ToFsName};
        address.to_fs_name::<GenericFilePath>()?
    };
    #[cfg(windows)]
    let name = {
        use interprocess::local_socket::{GenericNamespaced, ToNsName};
        address.to_ns_name::<GenericNamespaced>()?
    };
    Stream::connect(name).await.map(SharedStream::new)
}

/// A stream that a reader task and a writer task use at once. `interprocess`
/// implements the I/O traits on `&Stream`, so sharing it needs no lock (its
/// `split` is deprecated).
#[derive(Clone)]
pub(crate) struct SharedStream(Arc<Stream>);

impl SharedStream {
    fn new(stream: Stream) -> Self {
        SharedStream(Arc::new(stream))
    }

    /// Who is on the other end, as far as the OS tells.
    pub(crate) fn peer(&self) -> io::Result<Peer> {
        use interprocess::local_socket::traits::StreamCommon;
        let creds = self.0.peer_creds()?;
        Ok(Peer {
            pid: creds.pid().and_then(|pid| u32::try_from(pid).ok()),
            #[cfg(unix)]
            uid: creds.euid(),
        })
    }
}

/// A connection's stream once its handshake is done, as its tasks use it:
/// the reader's end, which one task reads, and the writers' end, cheap to
/// clone.
pub(crate) trait Split: Send + 'static {
    /// What the reader task reads.
    type Reader: AsyncRead + Send + Unpin + 'static;
    /// What the writer task (and the reader, for answers) writes.
    type Writer: AsyncWrite + Clone + Send + Unpin + 'static;

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

/// The process on the other end of a connection, from the OS.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Peer {
    /// Its process id, where the OS tells (Linux, Windows; not macOS).
    pub(crate) pid: Option<u32>,
    /// Its effective user id.
    #[cfg(unix)]
    pub(crate) uid: Option<u32>,
}

impl AsyncRead for SharedStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut &*self.0).poll_read(cx, buf)
    }
}

impl AsyncWrite for SharedStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut &*self.0).poll_write(cx, buf)
    }

    // `interprocess`'s stream enum writes only the first buffer of a
    // vectored write; its Unix socket writes them all with one `writev`.
    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match &*self.0 {
            #[cfg(unix)]
            Stream::UdSocket(s) => Pin::new(&mut &*s).poll_write_vectored(cx, bufs),
            #[allow(unreachable_patterns)]
            _ => Pin::new(&mut &*self.0).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match &*self.0 {
            #[cfg(unix)]
            Stream::UdSocket(s) => AsyncWrite::is_write_vectored(&s),
            #[allow(unreachable_patterns)]
            _ => false,
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut &*self.0).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut &*self.0).poll_shutdown(cx)
    }
}
