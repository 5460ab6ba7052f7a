//! Frames waiting for the writer task. Senders append their bytes to one
//! buffer under a short lock and wake the writer only when it sleeps, so a
//! burst of calls costs one wake-up and one write, and no allocation or
//! channel node per frame.

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::{Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

use tokio::io::AsyncWrite;
use tokio::sync::Notify;

use super::lock;

/// Frames at least this large are queued as they are, not copied.
pub(super) const LARGE_FRAME: usize = 16 * 1024;

/// A buffer this much larger than its use is given back when it empties.
const KEEP_CAPACITY: usize = 256 * 1024;

/// Why a frame was not queued.
#[derive(Debug)]
pub(super) struct Stopped;

#[derive(Default)]
struct Queue {
    /// Buffers to write, in order, before `tail`: large frames, and the
    /// small frames gathered before each of them.
    ordered: VecDeque<Vec<u8>>,
    /// Small frames gathered since the last large one.
    tail: Vec<u8>,
    /// Write what is queued, then stop.
    closing: bool,
    /// The writer is gone: nothing more will be written.
    stopped: bool,
    /// The writer is waiting for frames and needs a wake-up.
    writer_asleep: bool,
    /// Another task is writing to the stream in the writer's stead.
    claimed: bool,
}

impl Queue {
    fn is_empty(&self) -> bool {
        self.ordered.is_empty() && self.tail.is_empty()
    }

    /// Whether frames are no longer taken.
    fn refuses(&self) -> bool {
        self.stopped || self.closing
    }
}

/// What the writer takes in one go.
#[derive(Default)]
pub(super) struct Batch {
    pub(super) ordered: VecDeque<Vec<u8>>,
    pub(super) tail: Vec<u8>,
}

/// What [`Outbox::take`] found.
pub(super) enum Taken {
    /// Frames to write (the batch was filled).
    Frames,
    /// Nothing yet: wait on [`Outbox::ready`] and try again.
    Empty,
    /// Everything was written and the connection is closing.
    Done,
}

#[derive(Default)]
pub(super) struct Outbox {
    queue: Mutex<Queue>,
    ready: Notify,
}

impl Outbox {
    /// Queues one finished frame.
    pub(super) fn push(&self, frame: Vec<u8>) -> Result<(), Stopped> {
        let mut q = lock(&self.queue);
        if q.refuses() {
            return Err(Stopped);
        }
        if frame.len() >= LARGE_FRAME {
            if !q.tail.is_empty() {
                let gathered = std::mem::take(&mut q.tail);
                q.ordered.push_back(gathered);
            }
            q.ordered.push_back(frame);
        } else {
            q.tail.extend_from_slice(&frame);
        }
        self.wake_writer(q);
        Ok(())
    }

    /// Queues small frames already laid end to end.
    pub(super) fn push_bytes(&self, frames: &[u8]) -> Result<(), Stopped> {
        self.push_small(lock(&self.queue), frames)
    }

    fn push_small(&self, mut q: MutexGuard<'_, Queue>, frames: &[u8]) -> Result<(), Stopped> {
        if q.refuses() {
            return Err(Stopped);
        }
        q.tail.extend_from_slice(frames);
        self.wake_writer(q);
        Ok(())
    }

    /// Writes `frames` straight to the stream when the writer sleeps with
    /// nothing queued, which saves waking it (often on another thread);
    /// otherwise, or for what the stream does not take at once, queues them.
    pub(super) fn write_or_push<W: AsyncWrite + Unpin>(
        &self,
        stream: &mut W,
        frames: &[u8],
    ) -> Result<(), Stopped> {
        {
            let mut q = lock(&self.queue);
            if !(q.writer_asleep && !q.claimed && q.is_empty()) || q.refuses() {
                return self.push_small(q, frames);
            }
            q.claimed = true;
        }
        // The writer sleeps on `ready`, not on the stream, so polling the
        // stream here (with a waker that does nothing) cannot steal its
        // wake-up; a stream that is not ready leaves the rest to the writer,
        // and one that failed lets the writer find and report the error.
        let mut cx = Context::from_waker(Waker::noop());
        let mut written = 0;
        while written < frames.len() {
            match Pin::new(&mut *stream).poll_write(&mut cx, &frames[written..]) {
                Poll::Ready(Ok(n)) if n > 0 => written += n,
                _ => break,
            }
        }
        let mut q = lock(&self.queue);
        q.claimed = false;
        if written < frames.len() {
            q.ordered.push_front(frames[written..].to_vec());
        }
        if !q.is_empty() {
            self.wake_writer(q);
        }
        Ok(())
    }

    fn wake_writer(&self, mut q: MutexGuard<'_, Queue>) {
        if q.claimed {
            // Whoever writes in the writer's stead wakes it when done.
            return;
        }
        if q.writer_asleep {
            q.writer_asleep = false;
            drop(q);
            self.ready.notify_one();
        }
    }

    /// Queues `last` (if any), then lets the writer stop once everything
    /// queued is written. Later frames are refused.
    pub(super) fn close(&self, last: Option<Vec<u8>>) {
        let mut q = lock(&self.queue);
        if q.refuses() {
            return;
        }
        if let Some(frame) = last {
            q.tail.extend_from_slice(&frame);
        }
        q.closing = true;
        q.writer_asleep = false;
        drop(q);
        self.ready.notify_one();
    }

    /// The writer is gone; later frames are refused.
    pub(super) fn stop(&self) {
        let mut q = lock(&self.queue);
        q.stopped = true;
        q.ordered.clear();
        q.tail = Vec::new();
    }

    /// Moves everything queued into `batch` (whose buffers were written and
    /// are reused, so a steady stream of frames allocates nothing).
    pub(super) fn take(&self, batch: &mut Batch) -> Taken {
        let mut q = lock(&self.queue);
        if q.claimed {
            // Woken while another task writes: it wakes the writer again.
            q.writer_asleep = true;
            return Taken::Empty;
        }
        if q.is_empty() {
            if q.closing {
                q.stopped = true;
                return Taken::Done;
            }
            q.writer_asleep = true;
            return Taken::Empty;
        }
        std::mem::swap(&mut q.ordered, &mut batch.ordered);
        batch.tail.clear();
        if batch.tail.capacity() > KEEP_CAPACITY {
            batch.tail = Vec::new();
        }
        std::mem::swap(&mut q.tail, &mut batch.tail);
        Taken::Frames
    }

    /// Waits until a sender wakes the writer.
    pub(super) async fn ready(&self) {
        self.ready.notified().await;
    }
}
