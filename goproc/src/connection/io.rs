//! The reader and writer tasks of a connection.

use std::sync::{Arc, Weak};

use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;

use super::dispatch::Batch;
use super::{Connection, Ended, Outgoing};
use crate::wire::frame::{FrameReader, ReadError};
use crate::Error;

/// Frames smaller than this are gathered into one write.
const BATCH_BYTES: usize = 64 * 1024;

/// Reads frames until the stream ends or breaks a rule.
pub(super) async fn read_loop<R: AsyncRead + Unpin>(mut reader: R, conn: Arc<Connection>) {
    let mut frames = FrameReader::new(conn.max_frame);
    let mut batch = Batch::default();
    let why = loop {
        // The answers of the frames read in one go leave in one write.
        if !frames.has_frame() || batch.out.len() >= BATCH_BYTES {
            conn.send_batch(&mut batch);
        }
        match frames.next_spinning(&mut reader, conn.busy_poll()).await {
            Ok((header, body)) => {
                if let Err(why) = conn.on_frame(header, body, &mut batch) {
                    conn.send_batch(&mut batch);
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
    pub(super) fn send_batch(&self, batch: &mut Batch) {
        if !batch.out.is_empty() {
            let _ = self.send(std::mem::take(&mut batch.out));
        }
        batch.reset();
    }
}

/// Writes queued frames, gathering whatever is queued into one write and
/// flushing when the queue is empty.
pub(super) async fn write_loop<W: AsyncWrite + Unpin>(
    mut writer: W,
    mut queue: mpsc::UnboundedReceiver<Outgoing>,
    conn: Weak<Connection>,
) {
    // Grows with use; an idle connection holds no batch buffer.
    let mut batch: Vec<u8> = Vec::new();
    let mut closing = false;
    while !closing {
        let Some(first) = queue.recv().await else {
            break;
        };
        let mut next = Some(first);
        while let Some(item) = next.take() {
            match item {
                Outgoing::Close => {
                    closing = true;
                    break;
                }
                Outgoing::Frame(frame) if frame.len() >= BATCH_BYTES => {
                    if let Err(e) = flush(&mut writer, &mut batch).await {
                        return failed(&conn, e);
                    }
                    if let Err(e) = writer.write_all(&frame).await {
                        return failed(&conn, e);
                    }
                }
                Outgoing::Frame(frame) => batch.extend_from_slice(&frame),
            }
            if batch.len() < BATCH_BYTES {
                next = queue.try_recv().ok();
            }
        }
        if let Err(e) = flush(&mut writer, &mut batch).await {
            return failed(&conn, e);
        }
    }
}

async fn flush<W: AsyncWrite + Unpin>(writer: &mut W, batch: &mut Vec<u8>) -> std::io::Result<()> {
    if !batch.is_empty() {
        writer.write_all(batch).await?;
        batch.clear();
        if batch.capacity() > 4 * BATCH_BYTES {
            batch.shrink_to(BATCH_BYTES);
        }
    }
    writer.flush().await
}

fn failed(conn: &Weak<Connection>, e: std::io::Error) {
    if let Some(conn) = conn.upgrade() {
        let err = Error::transport(format!("writing to `{}`", conn.peer), e);
        conn.set_ended(Ended::Failed(err));
    }
}
