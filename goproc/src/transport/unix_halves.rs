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
//!
//! That wake-up is not always wasted. When the peer runs on another CPU
//! that has gone idle, waking a thread there takes tens of µs (about 30 on
//! a small VM), and a side woken when the peer *reads* its frame is
//! already awake when the peer's answer comes: sequential calls across
//! cores are about 10% faster with it. On a shared CPU it costs two
//! context switches a call instead. So a connection whose reads wait long
//! for the peer (a slow wake-up, or a slow peer, where one more wake-up is
//! cheap beside the wait) stays registered for writing, and one whose
//! reads wait briefly does not.

use std::io::{self, Write};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{ready, Context, Poll};
use std::time::{Duration, Instant};

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
        writable: Mutex::default(),
        registered_for_writing: AtomicBool::new(false),
    });
    let reader = Reader {
        shared: shared.clone(),
        waits: Waits::default(),
    };
    Ok((reader, Writer(shared)))
}

/// A connection whose reads wait longer than this on average wakes early
/// (see the module's documentation)...
const WAKE_EARLY_ABOVE: Duration = Duration::from_micros(20);
/// ...until they wait less than this.
const WAKE_EARLY_BELOW: Duration = Duration::from_micros(10);

struct Shared {
    /// The socket, registered for reading.
    readable: AsyncFd<UnixStream>,
    /// The socket's registration for writing, when it has one.
    writable: Mutex<ForWriting>,
    /// Whether `writable` holds a registration (read without the lock).
    registered_for_writing: AtomicBool,
}

/// A duplicate of the socket registered for writing, and why it is kept.
#[derive(Default)]
struct ForWriting {
    registration: Option<AsyncFd<OwnedFd>>,
    /// A write waits for room.
    waiting: bool,
    /// The connection wakes early.
    wake_early: bool,
}

impl Shared {
    fn stream(&self) -> &UnixStream {
        self.readable.get_ref()
    }

    fn for_writing(&self) -> MutexGuard<'_, ForWriting> {
        self.writable.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Registers the duplicate for writing if it is not.
    fn register(&self, slot: &mut ForWriting) -> io::Result<()> {
        if slot.registration.is_none() {
            let duplicate = self.stream().as_fd().try_clone_to_owned()?;
            // SAFETY: as in `split`.
            let registration =
                unsafe { AsyncFd::register_with_interest(duplicate, Interest::WRITABLE)? };
            slot.registration = Some(registration);
            self.registered_for_writing.store(true, Ordering::Release);
        }
        Ok(())
    }

    /// Drops the registration for writing unless a write waits for room
    /// or the connection wakes early.
    fn unregister_if_unused(&self, slot: &mut ForWriting) {
        if !slot.waiting && !slot.wake_early {
            self.registered_for_writing.store(false, Ordering::Release);
            // Deregisters the duplicate and closes it.
            slot.registration = None;
        }
    }

    fn set_wake_early(&self, on: bool) {
        let mut slot = self.for_writing();
        slot.wake_early = on;
        if on {
            // Without it the connection only loses the head start.
            let _ = self.register(&mut slot);
        } else {
            self.unregister_if_unused(&mut slot);
        }
    }
}

/// The reader task's end.
pub(crate) struct Reader {
    shared: Arc<Shared>,
    waits: Waits,
}

/// How long the reader's reads wait for the peer.
#[derive(Default)]
struct Waits {
    /// When the read that waits now began to wait.
    since: Option<Instant>,
    /// The mean of recent waits, in ns (each new one weighs an eighth).
    mean_ns: u64,
    /// Whether the connection wakes early now.
    wake_early: bool,
}

impl Waits {
    /// Counts a wait of `waited`; `Some(on)` when the connection should
    /// start or stop waking early.
    fn waited(&mut self, waited: Duration) -> Option<bool> {
        let ns = u64::try_from(waited.as_nanos()).unwrap_or(u64::MAX);
        self.mean_ns = self.mean_ns - self.mean_ns / 8 + ns / 8;
        let mean = Duration::from_nanos(self.mean_ns);
        let wake_early = if self.wake_early {
            mean >= WAKE_EARLY_BELOW
        } else {
            mean > WAKE_EARLY_ABOVE
        };
        (wake_early != self.wake_early).then(|| {
            self.wake_early = wake_early;
            wake_early
        })
    }
}

impl AsyncRead for Reader {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        loop {
            let mut guard = match this.shared.readable.poll_read_ready(cx) {
                Poll::Ready(ready) => ready?,
                Poll::Pending => {
                    this.waits.since.get_or_insert_with(Instant::now);
                    return Poll::Pending;
                }
            };
            if let Some(since) = this.waits.since.take() {
                if let Some(on) = this.waits.waited(since.elapsed()) {
                    this.shared.set_wake_early(on);
                }
            }
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
                        // The wait for room is over.
                        let mut slot = shared.for_writing();
                        slot.waiting = false;
                        shared.unregister_if_unused(&mut slot);
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
        let mut slot = shared.for_writing();
        shared.register(&mut slot)?;
        slot.waiting = true;
        let Some(registration) = slot.registration.as_ref() else {
            unreachable!("registered above")
        };
        let mut guard = ready!(registration.poll_write_ready(cx))?;
        // The next write finds out whether there is room; if there is
        // not, the wait starts over from the next edge.
        guard.clear_ready();
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::Ordering;
    use std::time::Duration;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::Waits;

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

    #[test]
    fn long_waits_turn_early_wake_ups_on_and_short_ones_off() {
        let mut waits = Waits::default();
        for _ in 0..50 {
            assert_eq!(waits.waited(Duration::from_micros(5)), None);
        }
        // Waits for a thread woken on an idle CPU turn it on, after a few.
        let on = (0..50).position(|_| waits.waited(Duration::from_micros(60)) == Some(true));
        assert!(
            on.is_some_and(|n| n < 10),
            "turned on after {on:?} long waits"
        );
        // Between the two limits nothing changes...
        for _ in 0..50 {
            assert_eq!(waits.waited(Duration::from_micros(15)), None);
        }
        // ...and short waits turn it off again.
        let off = (0..50).position(|_| waits.waited(Duration::from_micros(2)) == Some(false));
        assert!(off.is_some(), "short waits did not turn it off");
    }

    #[tokio::test]
    async fn a_connection_that_wakes_early_stays_registered_for_writing() {
        let endpoint = Endpoint::create().unwrap();
        let (accepted, connected) = tokio::join!(endpoint.accept(), connect(endpoint.address()));
        let (_host_reader, mut host_writer) = accepted.unwrap().split();
        let (mut plugin_reader, _plugin_writer) = connected.unwrap().split();
        let StreamWriter::Unix(writer) = host_writer.clone() else {
            panic!("not split")
        };
        let registered = || writer.0.registered_for_writing.load(Ordering::Acquire);
        writer.0.set_wake_early(true);
        assert!(registered());
        // A write that takes all it is given keeps it: it is not there
        // for a write.
        host_writer.write_all(b"call").await.unwrap();
        let mut got = [0u8; 4];
        plugin_reader.read_exact(&mut got).await.unwrap();
        assert!(registered(), "a write dropped the early wake-up");
        writer.0.set_wake_early(false);
        assert!(!registered());
    }
}
