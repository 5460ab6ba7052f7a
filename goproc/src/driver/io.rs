//! The reader and writer tasks of a connection.

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
pub(super) async fn read_loop<S: AsyncRead + AsyncWrite + Unpin + Send>(
    mut reader: S,
    mut writer: S,
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

async fn write_batch<W: AsyncWrite + Unpin>(
    writer: &mut W,
    batch: &mut WriteBatch,
    spare: &Spare,
) -> std::io::Result<()> {
    while let Some(frames) = batch.ordered.pop_front() {
        writer.write_all(&frames).await?;
        // A large frame's buffer becomes the reader's next large body.
        spare.put(frames);
    }
    if !batch.tail.is_empty() {
        writer.write_all(&batch.tail).await?;
    }
    writer.flush().await
}

fn failed(conn: &Weak<Connection>, e: std::io::Error) {
    if let Some(conn) = conn.upgrade() {
        let err = Error::transport(format!("writing to `{}`", conn.peer), e);
        conn.set_ended(Ended::Failed(err));
    }
}
