//! The raw server's and raw client's socket, registered with the runtime
//! the way goproc's own is. Registered for writing, a socket is woken each
//! time the peer reads what it was sent: a wake-up that costs two context
//! switches a call when the processes share a CPU, and across CPUs starts
//! the wake-up before the peer's answer comes. goproc turns it on when its
//! reads wait long and off when they do not; the floor, which knows its
//! placement, has it off when the processes share a CPU (`pinned`) and on
//! elsewhere, so that it is the faster of the two each time. Writes go
//! straight to the socket and wait for room on a duplicate registered for
//! writing, only while the socket is full.

use std::io::{self, Read, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::net::UnixStream as StdStream;

use tokio::io::unix::AsyncFd;
use tokio::io::Interest;
use tokio::net::UnixStream;

pub struct FloorStream {
    readable: AsyncFd<StdStream>,
}

impl FloorStream {
    /// `stream`, registered for writing too when it is to `wake_early`.
    pub fn new(stream: UnixStream, wake_early: bool) -> io::Result<Self> {
        let stream = stream.into_std()?;
        stream.set_nonblocking(true)?;
        let interest = if wake_early {
            Interest::READABLE | Interest::WRITABLE
        } else {
            Interest::READABLE
        };
        // SAFETY: the `AsyncFd` owns the descriptor until it is dropped.
        let readable = unsafe { AsyncFd::register_with_interest(stream, interest)? };
        Ok(FloorStream { readable })
    }

    /// Reads what is there (0 at the end of the stream).
    pub async fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            let mut guard = self.readable.readable().await?;
            match guard.try_io(|s| s.get_ref().read(buf)) {
                Ok(Ok(n)) => {
                    if n > 0 && n < buf.len() {
                        // Drained: the next read waits for the next edge.
                        guard.clear_ready();
                    }
                    return Ok(n);
                }
                Ok(Err(e)) if e.kind() == io::ErrorKind::Interrupted => continue,
                Ok(Err(e)) => return Err(e),
                Err(_would_block) => continue,
            }
        }
    }

    /// Fills `buf`; fails at the end of the stream.
    pub async fn read_exact(&self, buf: &mut [u8]) -> io::Result<()> {
        let mut have = 0;
        while have < buf.len() {
            match self.read(&mut buf[have..]).await? {
                0 => return Err(io::ErrorKind::UnexpectedEof.into()),
                n => have += n,
            }
        }
        Ok(())
    }

    /// Writes all of `buf`.
    pub async fn write_all(&self, mut buf: &[u8]) -> io::Result<()> {
        let mut room: Option<AsyncFd<OwnedFd>> = None;
        while !buf.is_empty() {
            match self.readable.get_ref().write(buf) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => buf = &buf[n..],
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    let writable = match &room {
                        Some(w) => w,
                        None => {
                            let duplicate = self.readable.get_ref().as_fd().try_clone_to_owned()?;
                            // SAFETY: as in `new`.
                            room.insert(unsafe {
                                AsyncFd::register_with_interest(duplicate, Interest::WRITABLE)?
                            })
                        }
                    };
                    writable.writable().await?.clear_ready();
                }
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}
