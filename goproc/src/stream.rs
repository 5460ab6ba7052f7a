//! [`Stream`]: a contract's stream of items, the answer of a method
//! declared `-> goproc::Stream<T>` or one of its arguments.

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures::StreamExt;
use tokio::io::{AsyncRead, AsyncReadExt, ReadBuf};

use crate::driver::ItemSource;
use crate::Error;

/// The default size of the chunks [`Stream::from_reader`] reads.
pub const DEFAULT_CHUNK: usize = 64 * 1024;

/// A stream of `T` that crosses a process boundary, item by item, under
/// credit (docs/WIRE.md, "Streams"): the sender never gets more than a
/// window ahead of the receiver, whatever the consumer's speed.
///
/// A host gets one from a method declared `-> goproc::Stream<T>`; it is a
/// [`futures::Stream`] of `Result<T, goproc::Error>` whose last item is the
/// error when the call failed (the handler failed, the plugin exited, the
/// deadline passed). Dropping it stops the producer in the plugin.
///
/// A handler returns one, built from any stream ([`Stream::new`]), any
/// iterator ([`Stream::iter`]), a fallible stream ([`Stream::from_results`])
/// or a reader ([`Stream::from_reader`], for bytes). The same
/// constructors build a stream argument.
pub struct Stream<T> {
    inner: ItemSource<T>,
}

impl<T: Send + 'static> Stream<T> {
    /// The items of any stream.
    pub fn new<S>(items: S) -> Self
    where
        S: futures::Stream<Item = T> + Send + 'static,
    {
        Stream {
            inner: Box::pin(items.map(Ok)),
        }
    }

    /// The items of a fallible stream: an `Err` ends the stream, and the
    /// receiver gets it (as [`Error::StreamSource`] on the other side) as
    /// its last item.
    pub fn from_results<S>(items: S) -> Self
    where
        S: futures::Stream<Item = Result<T, Error>> + Send + 'static,
    {
        let mut failed = false;
        Stream {
            inner: Box::pin(items.take_while(move |item| {
                let go = !failed;
                failed |= item.is_err();
                futures::future::ready(go)
            })),
        }
    }

    /// The items of an iterator.
    pub fn iter<I>(items: I) -> Self
    where
        I: IntoIterator<Item = T>,
        I::IntoIter: Send + 'static,
    {
        Stream::new(futures::stream::iter(items))
    }

    /// A stream without items.
    pub fn empty() -> Self {
        Stream::new(futures::stream::empty())
    }
}

impl Stream<Vec<u8>> {
    /// The bytes of `reader`, in chunks of at most `chunk` bytes (at least
    /// 1): a body of any size, never all in memory. A read error ends the
    /// stream with that error.
    pub fn from_reader<R>(reader: R, chunk: usize) -> Self
    where
        R: AsyncRead + Send + Unpin + 'static,
    {
        let chunk = chunk.max(1);
        let items = futures::stream::unfold(Some(reader), move |reader| async move {
            let mut reader = reader?;
            let mut buf = Vec::with_capacity(chunk);
            match (&mut reader).take(chunk as u64).read_to_end(&mut buf).await {
                Ok(0) => None,
                Ok(_) => Some((Ok(buf), Some(reader))),
                Err(e) => Some((Err(Error::stream_source(format!("reading: {e}"))), None)),
            }
        });
        Stream {
            inner: Box::pin(items),
        }
    }
}

impl Stream<Vec<u8>> {
    /// The stream's bytes as an [`AsyncRead`], chunk after chunk (to
    /// `tokio::io::copy` a downloaded body into a file, say). An error item
    /// is a read error of kind `Other` carrying the [`Error`].
    pub fn into_reader(self) -> StreamReader {
        StreamReader {
            chunks: self,
            chunk: Vec::new(),
            at: 0,
            done: false,
        }
    }
}

/// A byte stream read as an [`AsyncRead`]: see [`Stream::into_reader`].
pub struct StreamReader {
    chunks: Stream<Vec<u8>>,
    chunk: Vec<u8>,
    at: usize,
    done: bool,
}

impl AsyncRead for StreamReader {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = &mut *self;
        while this.at == this.chunk.len() && !this.done {
            match std::task::ready!(this.chunks.poll_next_unpin(cx)) {
                Some(Ok(chunk)) => {
                    this.chunk = chunk;
                    this.at = 0;
                }
                Some(Err(e)) => {
                    this.done = true;
                    return Poll::Ready(Err(std::io::Error::other(e)));
                }
                None => this.done = true,
            }
        }
        let n = buf.remaining().min(this.chunk.len() - this.at);
        buf.put_slice(&this.chunk[this.at..this.at + n]);
        this.at += n;
        Poll::Ready(Ok(()))
    }
}

impl<T> Stream<T> {
    /// A stream of items that may fail on their way (what the runtime
    /// builds for a received stream).
    pub(crate) fn from_source(inner: ItemSource<T>) -> Self {
        Stream { inner }
    }
}

impl<T> futures::Stream for Stream<T> {
    type Item = Result<T, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.inner.as_mut().poll_next(cx)
    }
}

impl<T> fmt::Debug for Stream<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("goproc::Stream")
    }
}

impl<T: Send + 'static> From<Vec<T>> for Stream<T>
where
    std::vec::IntoIter<T>: Send,
{
    fn from(items: Vec<T>) -> Self {
        Stream::iter(items)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_byte_stream_reads_as_its_bytes_in_order() {
        let chunks = vec![vec![1u8, 2], Vec::new(), vec![3, 4, 5]];
        let mut out = Vec::new();
        Stream::iter(chunks)
            .into_reader()
            .read_to_end(&mut out)
            .await
            .unwrap();
        assert_eq!(out, [1, 2, 3, 4, 5]);
    }

    #[tokio::test]
    async fn a_failed_chunk_is_a_read_error() {
        let items = futures::stream::iter(vec![Ok(vec![1u8]), Err(Error::stream_source("gone"))]);
        let mut out = Vec::new();
        let err = Stream::from_results(items)
            .into_reader()
            .read_to_end(&mut out)
            .await
            .unwrap_err();
        assert_eq!(out, [1]);
        assert!(err.to_string().contains("gone"), "{err}");
    }

    #[tokio::test]
    async fn from_reader_and_into_reader_round_trip() {
        let body: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        let stream = Stream::from_reader(std::io::Cursor::new(body.clone()), 4096);
        let mut out = Vec::new();
        stream.into_reader().read_to_end(&mut out).await.unwrap();
        assert_eq!(out, body);
    }
}
