//! Low-latency mode: keep polling the socket for a while before sleeping,
//! so an answer or a call that comes back within the spin wakes no thread.

use std::pin::Pin;
use std::task::Poll;
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncReadExt, ReadBuf};

use crate::wire::stream::ReadSome;

/// How the reader waits for the next frame: polling for up to `spin`
/// first when set, as a plain read otherwise.
pub(super) struct BusyPoll(pub(super) Option<Duration>);

impl<R: AsyncRead + Unpin + Send> ReadSome<R> for BusyPoll {
    async fn read_some(&self, reader: &mut R, buf: &mut [u8]) -> std::io::Result<usize> {
        match self.0 {
            Some(spin) => read_spinning(reader, buf, spin).await,
            None => reader.read(buf).await,
        }
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
        spin_pause().await;
    }
}

/// One turn of a busy-poll loop: let a process sharing this core run (the
/// peer may be it), then let the runtime poll the OS for I/O without
/// sleeping.
pub(super) async fn spin_pause() {
    std::thread::yield_now();
    tokio::task::yield_now().await;
}
