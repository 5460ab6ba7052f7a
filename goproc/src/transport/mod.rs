//! Local sockets through `interprocess`: a Unix domain socket file in a
//! private folder on Unix, a named pipe on Windows, behind the same calls.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use interprocess::local_socket::tokio::{prelude::*, Listener, Stream};
use interprocess::local_socket::ListenerOptions;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

mod split;
#[cfg(unix)]
mod unix_halves;

pub(crate) use split::Split;

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
