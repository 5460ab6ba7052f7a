//! The reader and writer tasks of a connection.

use std::io::IoSlice;
use std::sync::{Arc, Weak};
use std::task::Poll;

use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};

use super::busy_poll::BusyPoll;
use super::outbox::{Outbox, Taken, WriteBatch};
use super::serve::ReadTurn;
use super::{Connection, Ended};
use crate::wire::stream::{FrameReader, ReadError, Spare};
use crate::Error;

/// The reader spends a unit of the task's cooperative budget every this
/// many frames: tokio then yields after ~128 units, however many frames
/// arrive at once.
const BUDGET_EVERY: u32 = 32;

/// Frames smaller than this are gathered into one write.
const BATCH_BYTES: usize = 64 * 1024;

/// Reads frames until the stream ends or breaks a rule.
pub(super) async fn read_loop<R: AsyncRead + Unpin + Send, W: AsyncWrite + Unpin + Send>(
    mut reader: R,
    mut writer: W,
    conn: Arc<Connection>,
) {
    let mut frames = FrameReader::with_spare(conn.max_frame, conn.outbox.spare.clone());
    let mut turn = ReadTurn::default();
    let mut read = 0u32;
    let why = loop {
        // The answers of the frames read in one go leave in one write.
        if !frames.has_frame() || turn.out.len() >= BATCH_BYTES {
            turn.flush(|answers| {
                let _ = conn.outbox.write_or_push(&mut writer, answers);
            });
        }
        // A peer that does not read its answers gets no more read from it
        // until it does (docs/WIRE.md, "Backpressure").
        if conn.outbox.answers_over_limit() {
            conn.send_turn(&mut turn);
            conn.outbox.answers_drained().await;
        }
        // However many frames arrive in one read, let the runtime's other
        // tasks (timers with deadlines among them) run between them.
        read += 1;
        if read % BUDGET_EVERY == 0 {
            tokio::task::consume_budget().await;
        }
        match frames
            .next_with(&mut reader, &BusyPoll(conn.busy_poll()))
            .await
        {
            Ok((header, body)) => {
                if let Err(why) = conn.on_frame(header, body, &mut turn) {
                    conn.send_turn(&mut turn);
                    break why;
                }
            }
            Err(ReadError::Eof) => break Ended::Eof,
            Err(e) => break Ended::Failed(e.into_error(&conn.peer)),
        }
    };
    conn.set_ended(why);
}

impl Connection {
    /// Queues the answers gathered by the reader, if any.
    pub(super) fn send_turn(&self, turn: &mut ReadTurn) {
        turn.flush(|answers| {
            let _ = self.outbox.push_answers(answers);
        });
    }
}

/// Writes queued frames: everything queued since the last write leaves in
/// one go, small frames gathered into one buffer.
pub(super) async fn write_loop<W: AsyncWrite + Unpin>(
    mut writer: W,
    outbox: Arc<Outbox>,
    conn: Weak<Connection>,
) {
    let mut batch = WriteBatch::default();
    loop {
        match outbox.take(&mut batch) {
            Taken::Done => return,
            Taken::Empty => {
                outbox.ready().await;
                // With other calls under way, this frame is likely the first
                // of a burst: let the tasks that are ready to run (often
                // more callers) queue theirs first, so the burst leaves in
                // one write. Without this, tokio runs a task woken this way
                // right after the waker, and every frame costs a write of
                // its own. A lone call is written at once.
                if conn.upgrade().is_some_and(|c| c.calls_under_way() > 1) {
                    to_back_of_run_queue().await;
                }
                continue;
            }
            Taken::Frames => {}
        }
        if let Err(e) = write_batch(&mut writer, &mut batch, &outbox.spare).await {
            outbox.stop();
            return failed(&conn, e);
        }
        outbox.written(&mut batch);
    }
}

/// Lets every task already queued on this worker run first. Unlike
/// `tokio::task::yield_now`, which waits for the worker to poll the OS (and
/// may hand the task to another thread), a task that wakes itself goes
/// straight to the back of its worker's queue.
async fn to_back_of_run_queue() {
    let mut requeued = false;
    std::future::poll_fn(|cx| {
        if requeued {
            return Poll::Ready(());
        }
        requeued = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    })
    .await
}

/// The most buffers handed to one vectored write (Linux takes up to 1024).
const MAX_SLICES: usize = 64;

/// Writes a batch, large buffers and the small frames gathered around
/// them, with as few writes as the stream allows: one `writev` for all of
/// them on a Unix socket, so a large frame's head and its body leave
/// together.
async fn write_batch<W: AsyncWrite + Unpin>(
    writer: &mut W,
    batch: &mut WriteBatch,
    spare: &Spare,
) -> std::io::Result<()> {
    // Bytes of the first unwritten buffer (the front of `ordered`, then
    // `tail`) already written.
    let mut offset = 0;
    loop {
        let mut slices = [IoSlice::new(&[]); MAX_SLICES];
        let mut count = 0;
        let mut skip = offset;
        for buf in batch.ordered.iter().chain(std::iter::once(&batch.tail)) {
            if count == MAX_SLICES {
                break;
            }
            if buf.len() > skip {
                slices[count] = IoSlice::new(&buf[skip..]);
                count += 1;
            }
            skip = 0;
        }
        if count == 0 {
            break;
        }
        let n = writer.write_vectored(&slices[..count]).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::WriteZero.into());
        }
        offset = advance(batch, offset + n, spare);
    }
    writer.flush().await
}

/// Drops the buffers of `batch` that `written` bytes (counted from the
/// start of its first buffer) cover; returns how much of the next one they
/// cover. A large frame's buffer becomes the reader's next large body.
fn advance(batch: &mut WriteBatch, mut written: usize, spare: &Spare) -> usize {
    while let Some(front) = batch.ordered.front() {
        if written < front.len() {
            return written;
        }
        written -= front.len();
        if let Some(buf) = batch.ordered.pop_front() {
            spare.put(buf);
        }
    }
    written
}

fn failed(conn: &Weak<Connection>, e: std::io::Error) {
    if let Some(conn) = conn.upgrade() {
        let err = Error::transport(format!("writing to `{}`", conn.peer), e);
        conn.set_ended(Ended::Failed(err));
    }
}

#[cfg(test)]
mod tests {
    use std::pin::Pin;
    use std::task::Context;

    use super::*;

    /// Takes at most `limit` bytes per write, from as many buffers as it is
    /// given (or only the first, if not `vectored`).
    struct Trickle {
        out: Vec<u8>,
        limit: usize,
        vectored: bool,
        writes: usize,
    }

    impl AsyncWrite for Trickle {
        fn poll_write(
            self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<std::io::Result<usize>> {
            self.poll_write_vectored(cx, &[IoSlice::new(buf)])
        }

        fn poll_write_vectored(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
            bufs: &[IoSlice<'_>],
        ) -> Poll<std::io::Result<usize>> {
            let this = &mut *self;
            this.writes += 1;
            let mut n = 0;
            let bufs = if this.vectored { bufs } else { &bufs[..1] };
            for buf in bufs {
                let take = buf.len().min(this.limit - n);
                this.out.extend_from_slice(&buf[..take]);
                n += take;
            }
            Poll::Ready(Ok(n))
        }

        fn is_write_vectored(&self) -> bool {
            self.vectored
        }

        fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
            Poll::Ready(Ok(()))
        }

        fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
            Poll::Ready(Ok(()))
        }
    }

    #[tokio::test]
    async fn a_batch_is_written_whole_however_little_each_write_takes() {
        let large = vec![7u8; 100_000];
        let mut buffers = vec![vec![1, 2, 3], large, vec![4; 9], Vec::new()];
        buffers.extend((0..100).map(|i| vec![i as u8; i % 5 + 1]));
        let tail = vec![5u8; 1000];
        let expected: Vec<u8> = buffers.iter().flatten().chain(&tail).copied().collect();
        for (limit, vectored) in [
            (1, true),
            (7, true),
            (4096, true),
            (1 << 20, true),
            (13, false),
        ] {
            let mut batch = WriteBatch::default();
            batch.ordered = buffers.clone().into();
            batch.tail = tail.clone();
            let spare = Spare::default();
            let mut w = Trickle {
                out: Vec::new(),
                limit,
                vectored,
                writes: 0,
            };
            write_batch(&mut w, &mut batch, &spare)
                .await
                .expect("written");
            assert_eq!(w.out, expected, "limit {limit}");
            assert!(batch.ordered.is_empty());
            if limit == 1 << 20 {
                // A hundred and five buffers: two writes of at most 64.
                assert_eq!(w.writes, 2);
            }
        }
    }
}
