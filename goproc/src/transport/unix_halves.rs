//! A connection's Unix socket as its tasks use it: the reader's end, and an
//! end the writers share.
//!
//! The socket is registered with the runtime for reading only. A socket
//! registered for writing as well is woken (`EPOLLOUT`) each time the peer
//! reads what it was sent: a thread woken for nothing on every call, on
//! both sides. Writes go straight to the socket; only a write that finds
//! the socket's buffer full registers (a duplicate of) the socket for
//! writing, until a write takes all it is given.
//!
//! A read that fills less than its buffer has drained the socket, so the
//! next one waits for the socket to be readable instead of first failing
//! with `EWOULDBLOCK`.

use std::io::{self, Write};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{ready, Context, Poll};

use tokio::io::unix::AsyncFd;
use tokio::io::{AsyncRead, Interest, ReadBuf};

type Socket = interprocess::os::unix::uds_local_socket::tokio::Stream;

/// Splits `socket` into the reader's end and the writers' end.
pub(super) fn split(socket: Socket) -> io::Result<(Reader, Writer)> {
    let fd = OwnedFd::try_from(socket)?;
    let stream = UnixStream::from(fd);
    stream.set_nonblocking(true)?;
    // SAFETY (both registrations): the `AsyncFd` owns its descriptor,
    // which stays open, and the same, until it is dropped.
    let readable = unsafe { AsyncFd::register_with_interest(stream, Interest::READABLE)? };
    let shared = Arc::new(Shared {
        readable,
        writable: Mutex::new(None),
        registered_for_writing: AtomicBool::new(false),
    });
    Ok((Reader(shared.clone()), Writer(shared)))
}

struct Shared {
    /// The socket, registered for reading.
    readable: AsyncFd<UnixStream>,
    /// A duplicate of the socket registered for writing, while a write
    /// waits for room.
    writable: Mutex<Option<AsyncFd<OwnedFd>>>,
    /// Whether `writable` holds a registration (read without the lock).
    registered_for_writing: AtomicBool,
}

impl Shared {
    fn stream(&self) -> &UnixStream {
        self.readable.get_ref()
    }
}

/// The reader task's end.
pub(crate) struct Reader(Arc<Shared>);

impl AsyncRead for Reader {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        loop {
            let mut guard = ready!(self.0.readable.poll_read_ready(cx))?;
            // SAFETY: `recv` only writes into the bytes it reports, which
            // are then marked initialised; none is ever de-initialised.
            let unfilled = unsafe { buf.unfilled_mut() };
            let wanted = unfilled.len();
            let read = guard.try_io(|socket| {
                let n = unsafe {
                    libc::recv(socket.as_raw_fd(), unfilled.as_mut_ptr().cast(), wanted, 0)
                };
                if n < 0 {
                    Err(io::Error::last_os_error())
                } else {
                    Ok(n as usize)
                }
            });
            match read {
                Ok(Ok(n)) => {
                    // SAFETY: `recv` wrote these `n` bytes.
                    unsafe { buf.assume_init(n) };
                    buf.advance(n);
                    if n > 0 && n < wanted {
                        // Drained: wait for the next edge rather than fail
                        // with `EWOULDBLOCK` first.
                        guard.clear_ready();
                    }
                    return Poll::Ready(Ok(()));
                }
                Ok(Err(e)) if e.kind() == io::ErrorKind::Interrupted => continue,
                Ok(Err(e)) => return Poll::Ready(Err(e)),
                // Not readable after all (readiness cleared): wait.
                Err(_would_block) => continue,
            }
        }
    }
}

/// The writers' end, shared by the tasks that write. At most one of them
/// waits for room at a time (the connection's writer task, or the reader
/// writing answers in its stead, never both), so the write that ends a
/// wait may drop the registration that served it.
#[derive(Clone)]
pub(crate) struct Writer(Arc<Shared>);

impl Writer {
    pub(super) fn poll_write(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.poll_write_with(cx, buf.len(), |mut stream| stream.write(buf))
    }

    pub(super) fn poll_write_vectored(
        &self,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let total = bufs.iter().map(|b| b.len()).sum();
        self.poll_write_with(cx, total, |mut stream| stream.write_vectored(bufs))
    }

    /// Writes with `write` (given `total` bytes): at once if the socket
    /// takes it, else once it has room.
    fn poll_write_with(
        &self,
        cx: &mut Context<'_>,
        total: usize,
        write: impl Fn(&UnixStream) -> io::Result<usize>,
    ) -> Poll<io::Result<usize>> {
        let shared = &*self.0;
        loop {
            match write(shared.stream()) {
                Ok(n) => {
                    if n == total && shared.registered_for_writing.load(Ordering::Acquire) {
                        // The wait is over: stop being woken when the peer reads.
                        self.unregister();
                    }
                    return Poll::Ready(Ok(n));
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    ready!(self.poll_room(cx))?;
                }
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }

    /// Waits until the socket may have room, registering it for writing
    /// first if it is not.
    fn poll_room(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let shared = &*self.0;
        let mut slot = shared.writable.lock().unwrap_or_else(|p| p.into_inner());
        if slot.is_none() {
            let duplicate = shared.stream().as_fd().try_clone_to_owned()?;
            // SAFETY: as in `split`.
            let writable =
                unsafe { AsyncFd::register_with_interest(duplicate, Interest::WRITABLE)? };
            *slot = Some(writable);
            shared.registered_for_writing.store(true, Ordering::Release);
        }
        let Some(writable) = slot.as_ref() else {
            unreachable!("registered above")
        };
        let mut guard = ready!(writable.poll_write_ready(cx))?;
        // The next write finds out whether there is room; if there is
        // not, the wait starts over from the next edge.
        guard.clear_ready();
        Poll::Ready(Ok(()))
    }

    fn unregister(&self) {
        let shared = &*self.0;
        let mut slot = shared.writable.lock().unwrap_or_else(|p| p.into_inner());
        shared
            .registered_for_writing
            .store(false, Ordering::Release);
        // Deregisters the duplicate and closes it.
        slot.take();
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use crate::transport::split::{Split, StreamReader, StreamWriter};
    use crate::transport::{connect, Endpoint};

    #[tokio::test]
    async fn a_connection_is_read_and_written_through_the_split_ends() {
        let endpoint = Endpoint::create().unwrap();
        let (accepted, connected) = tokio::join!(endpoint.accept(), connect(endpoint.address()));
        let (mut host_reader, host_writer) = accepted.unwrap().split();
        let (mut plugin_reader, mut plugin_writer) = connected.unwrap().split();
        assert!(matches!(host_reader, StreamReader::Unix(_)));
        assert!(matches!(plugin_writer, StreamWriter::Unix(_)));

        // Two writers share the host's end; both reach the plugin.
        let mut first = host_writer.clone();
        let mut second = host_writer;
        first.write_all(b"one ").await.unwrap();
        second.write_all(b"two").await.unwrap();
        let mut got = [0u8; 7];
        plugin_reader.read_exact(&mut got).await.unwrap();
        assert_eq!(&got, b"one two");

        // Dropping every writer does not end the stream for the peer while
        // the reader's end is open; dropping that too does.
        plugin_writer.write_all(b"answer").await.unwrap();
        drop((first, second));
        let mut answer = [0u8; 6];
        host_reader.read_exact(&mut answer).await.unwrap();
        assert_eq!(&answer, b"answer");
        let nothing_yet = tokio::time::timeout(
            std::time::Duration::from_millis(50),
            plugin_reader.read(&mut got),
        )
        .await;
        assert!(nothing_yet.is_err(), "the peer saw the stream end early");
        drop(host_reader);
        assert_eq!(plugin_reader.read(&mut got).await.unwrap(), 0);
    }

    #[tokio::test]
    async fn a_writer_waits_for_room_while_the_peer_does_not_read_then_finishes() {
        let endpoint = Endpoint::create().unwrap();
        let (accepted, connected) = tokio::join!(endpoint.accept(), connect(endpoint.address()));
        let (_host_reader, mut host_writer) = accepted.unwrap().split();
        let (mut plugin_reader, _plugin_writer) = connected.unwrap().split();
        // Far more than a socket buffers: the writer must wait for room.
        let sent: Vec<u8> = (0..8 << 20).map(|i: u32| (i % 251) as u8).collect();
        let expected = sent.clone();
        let writing = tokio::spawn(async move {
            host_writer.write_all(&sent).await.unwrap();
            host_writer
        });
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        assert!(!writing.is_finished(), "8 MiB fit in the socket's buffer");
        let mut got = vec![0u8; expected.len()];
        plugin_reader.read_exact(&mut got).await.unwrap();
        assert!(got == expected, "the bytes arrived changed");
        let host_writer = writing.await.unwrap();
        let StreamWriter::Unix(writer) = &host_writer else {
            panic!("not split")
        };
        assert!(
            !writer
                .0
                .registered_for_writing
                .load(std::sync::atomic::Ordering::Acquire),
            "still registered for writing after the write ended"
        );
    }
}
