//! A Unix socket split into tokio's halves: the reader's own, and one the
//! writers share.

use std::io;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use tokio::net::unix::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::UnixStream;

type Socket = interprocess::os::unix::uds_local_socket::tokio::Stream;

/// Splits `socket` into the reader's half and the writers' half.
pub(super) fn split(socket: Socket) -> (OwnedReadHalf, Writer) {
    let (reader, writer) = UnixStream::from(socket).into_split();
    (reader, Writer(Arc::new(KeepOpen(Some(writer)))))
}

/// The write half, shared by the tasks that write.
#[derive(Clone)]
pub(crate) struct Writer(Arc<KeepOpen>);

/// Dropping tokio's write half would shut the socket's writing down at
/// once; this leaves that to the socket's closing, when the read half is
/// dropped too, as before the split.
struct KeepOpen(Option<OwnedWriteHalf>);

impl Drop for KeepOpen {
    fn drop(&mut self) {
        if let Some(half) = self.0.take() {
            half.forget();
        }
    }
}

impl Writer {
    fn socket(&self) -> &UnixStream {
        self.0 .0.as_ref().expect("taken only on drop").as_ref()
    }

    pub(super) fn poll_write(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let socket = self.socket();
        loop {
            match socket.try_write(buf) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    ready!(socket.poll_write_ready(cx))?
                }
                done => return Poll::Ready(done),
            }
        }
    }

    pub(super) fn poll_write_vectored(
        &self,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let socket = self.socket();
        loop {
            match socket.try_write_vectored(bufs) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    ready!(socket.poll_write_ready(cx))?
                }
                done => return Poll::Ready(done),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use crate::transport::{connect, Endpoint, Split, StreamReader, StreamWriter};

    #[tokio::test]
    async fn a_connection_is_read_and_written_through_the_split_halves() {
        let endpoint = Endpoint::create().unwrap();
        let (accepted, connected) = tokio::join!(endpoint.accept(), connect(endpoint.address()));
        let (mut host_reader, host_writer) = accepted.unwrap().split();
        let (mut plugin_reader, mut plugin_writer) = connected.unwrap().split();
        assert!(matches!(host_reader, StreamReader::Unix(_)));
        assert!(matches!(plugin_writer, StreamWriter::Unix(_)));

        // Two writers share the host's half; both reach the plugin.
        let mut first = host_writer.clone();
        let mut second = host_writer;
        first.write_all(b"one ").await.unwrap();
        second.write_all(b"two").await.unwrap();
        let mut got = [0u8; 7];
        plugin_reader.read_exact(&mut got).await.unwrap();
        assert_eq!(&got, b"one two");

        // Dropping every writer does not end the stream for the peer while
        // the reader's half is open; dropping that too does.
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
}
