//! The raw server's and raw client's socket: a Unix stream registered with
//! the runtime for reading only, as goproc's own is. A stream registered
//! for writing too (tokio's `UnixStream`) is woken each time the peer
//! reads what it was sent; a floor must not pay for a wake-up goproc does
//! not. Writes go straight to the socket and wait for room on a duplicate
//! registered for writing, only while the socket is full.

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
    pub fn new(stream: UnixStream) -> io::Result<Self> {
        let stream = stream.into_std()?;
        stream.set_nonblocking(true)?;
        // SAFETY: the `AsyncFd` owns the descriptor until it is dropped.
        let readable = unsafe { AsyncFd::register_with_interest(stream, Interest::READABLE)? };
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
