//! Frames waiting for the writer task. Senders append their bytes to one
//! buffer under a short lock and wake the writer only when it sleeps, so a
//! burst of calls costs one wake-up and one write, and no allocation or
//! channel node per frame.
//!
//! What waits here is bounded (docs/WIRE.md, "Backpressure"): this side's
//! requests take room from a byte budget and wait (within their deadline)
//! when it is spent; the answers to the peer's calls are always queued, but
//! the reader stops reading while they are over the budget. A request whose
//! caller gave up before the writer took it is withdrawn, never written.

use std::collections::{HashSet, VecDeque};
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

use tokio::io::AsyncWrite;
use tokio::sync::Notify;

use super::lock;
use super::room::{Closed, RequestRoom, Room};
use crate::wire::frame::{parse_header, HEADER_LEN};
use crate::wire::stream::Spare;
use crate::wire::Kind;

/// Frames at least this large are queued as they are, not copied.
pub(crate) const LARGE_FRAME: usize = 16 * 1024;

/// A buffer this much larger than its use is given back when it empties.
const KEEP_CAPACITY: usize = 256 * 1024;

/// The default budget of unwritten bytes, for requests and for answers each.
pub const DEFAULT_OUTBOX_LIMIT: usize = 1024 * 1024;

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
    /// Request budget held by the requests queued here.
    request_room: usize,
    /// Bytes of answers queued here.
    answer_bytes: usize,
    /// Counts the writer's takes: a request queued at generation `g` is
    /// still here (and can be withdrawn) while this is `g`.
    generation: u64,
    /// Requests withdrawn since the last take, by id.
    withdrawn: HashSet<u64>,
    /// `ordered`'s first buffer is the unwritten rest of a partly written
    /// batch, which starts inside a frame.
    partial_front: bool,
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

    /// Appends a frame given as its first bytes and the rest, which
    /// stays in its own buffer if it is large.
    fn append_parts(&mut self, frame: Vec<u8>, rest: Vec<u8>) {
        if rest.is_empty() {
            return self.append(frame);
        }
        self.tail.extend_from_slice(&frame);
        if rest.len() >= LARGE_FRAME {
            let gathered = std::mem::take(&mut self.tail);
            self.ordered.push_back(gathered);
            self.ordered.push_back(rest);
        } else {
            self.tail.extend_from_slice(&rest);
        }
    }

    fn append(&mut self, frame: Vec<u8>) {
        if frame.len() >= LARGE_FRAME {
            if !self.tail.is_empty() {
                let gathered = std::mem::take(&mut self.tail);
                self.ordered.push_back(gathered);
            }
            self.ordered.push_back(frame);
        } else {
            self.tail.extend_from_slice(&frame);
        }
    }
}

/// What the writer takes in one go, and writes with one or few writes.
#[derive(Default)]
pub(super) struct WriteBatch {
    pub(super) ordered: VecDeque<Vec<u8>>,
    pub(super) tail: Vec<u8>,
    /// Request budget to give back once the batch is written.
    request_room: usize,
    /// Answer bytes to take off the backlog once the batch is written.
    answer_bytes: usize,
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

/// A queued request: enough to withdraw it while the writer has not taken
/// it. (Eight bytes, `Option` included: every call's future holds one.)
#[derive(Debug, Clone, Copy)]
pub(super) struct Queued {
    /// The queue's generation, plus one.
    generation: std::num::NonZeroU64,
}

pub(super) struct Outbox {
    queue: Mutex<Queue>,
    ready: Notify,
    limit: usize,
    /// Room for requests not yet written, in bytes.
    request_room: RequestRoom,
    /// Answers queued or being written, in bytes.
    answer_backlog: AtomicUsize,
    /// Notified when written answers bring the backlog down.
    answers_written: Notify,
    /// The buffer of a large frame once written, for the reader's next
    /// large body.
    pub(super) spare: Arc<Spare>,
}

impl Outbox {
    /// An outbox whose requests, and whose answers, may each hold about
    /// `limit` unwritten bytes.
    pub(super) fn new(limit: usize) -> Self {
        let limit = limit.max(1);
        Outbox {
            queue: Mutex::new(Queue::default()),
            ready: Notify::new(),
            limit,
            request_room: RequestRoom::new(limit),
            answer_backlog: AtomicUsize::new(0),
            answers_written: Notify::new(),
            spare: Arc::default(),
        }
    }

    /// Takes room for a request of `len` bytes if there is some now.
    pub(super) fn try_reserve(&self, len: usize) -> Option<Room<'_>> {
        self.request_room.try_take(len)
    }

    /// Waits for room for a request of `len` bytes; `Err` once the
    /// connection stopped.
    pub(super) async fn reserve(&self, len: usize) -> Result<Room<'_>, Closed> {
        self.request_room.take(len).await
    }

    /// Queues a copy of a small frame (a stream item) that holds `room`:
    /// the sender keeps its buffer for the next one. `Err` if the outbox no
    /// longer takes any.
    pub(super) fn push_request_copy(&self, frame: &[u8], room: Room<'_>) -> Result<(), Stopped> {
        debug_assert!(frame.len() < LARGE_FRAME);
        let mut q = lock(&self.queue);
        if q.refuses() {
            return Err(Stopped);
        }
        q.request_room += room.keep();
        q.tail.extend_from_slice(frame);
        self.wake_writer(q);
        Ok(())
    }

    /// Queues a frame given as its first bytes and a large rest (a byte
    /// chunk of a stream, queued as it is: no copy), together, so no other
    /// frame comes between them. `Err` if the outbox no longer takes any.
    pub(super) fn push_request_parts(
        &self,
        head: &[u8],
        rest: Vec<u8>,
        room: Room<'_>,
    ) -> Result<(), Stopped> {
        let mut q = lock(&self.queue);
        if q.refuses() {
            return Err(Stopped);
        }
        q.request_room += room.keep();
        q.tail.extend_from_slice(head);
        if rest.len() >= LARGE_FRAME {
            let gathered = std::mem::take(&mut q.tail);
            q.ordered.push_back(gathered);
            q.ordered.push_back(rest);
        } else {
            q.tail.extend_from_slice(&rest);
        }
        self.wake_writer(q);
        Ok(())
    }

    /// Queues a request (or ping) frame that holds `room`; gives the frame
    /// back if the outbox no longer takes any.
    pub(super) fn push_request(&self, frame: Vec<u8>, room: Room<'_>) -> Result<Queued, Vec<u8>> {
        self.push_request_parts_queued(frame, Vec::new(), room)
            .map_err(|(frame, _)| frame)
    }

    /// [`Outbox::push_request`] for a frame given as its first bytes and
    /// the rest (sent from its own buffer if it is large); gives both back
    /// if the outbox no longer takes any.
    pub(super) fn push_request_parts_queued(
        &self,
        frame: Vec<u8>,
        rest: Vec<u8>,
        room: Room<'_>,
    ) -> Result<Queued, (Vec<u8>, Vec<u8>)> {
        let mut q = lock(&self.queue);
        if q.refuses() {
            return Err((frame, rest));
        }
        q.request_room += room.keep();
        q.append_parts(frame, rest);
        let queued = Queued {
            generation: std::num::NonZeroU64::MIN.saturating_add(q.generation),
        };
        self.wake_writer(q);
        Ok(queued)
    }

    /// Withdraws request `id` if the writer has not taken it yet: `true`
    /// when it will never be written (so the peer needs no CANCEL).
    pub(super) fn withdraw(&self, id: u64, queued: Queued) -> bool {
        let mut q = lock(&self.queue);
        if queued.generation.get() - 1 != q.generation || q.refuses() {
            return false;
        }
        q.withdrawn.insert(id);
        true
    }

    /// Queues an answer to one of the peer's calls (RESPONSE, ERROR, PONG).
    pub(super) fn push_answer(&self, frame: Vec<u8>) -> Result<(), Stopped> {
        let mut q = lock(&self.queue);
        if q.refuses() {
            return Err(Stopped);
        }
        self.count_answers(&mut q, frame.len());
        q.append(frame);
        self.wake_writer(q);
        Ok(())
    }

    /// Queues an answer given as its first bytes and its large tail, sent
    /// from its own buffer.
    pub(super) fn push_answer_parts(&self, frame: Vec<u8>, tail: Vec<u8>) -> Result<(), Stopped> {
        let mut q = lock(&self.queue);
        if q.refuses() {
            return Err(Stopped);
        }
        self.count_answers(&mut q, frame.len() + tail.len());
        q.append_parts(frame, tail);
        self.wake_writer(q);
        Ok(())
    }

    /// Queues a control frame (CANCEL, SHUTDOWN): at most one per call, so
    /// bounded by the calls in flight.
    pub(super) fn push_control(&self, frame: Vec<u8>) -> Result<(), Stopped> {
        let mut q = lock(&self.queue);
        if q.refuses() {
            return Err(Stopped);
        }
        q.append(frame);
        self.wake_writer(q);
        Ok(())
    }

    /// Queues answers already laid end to end.
    pub(super) fn push_answers(&self, frames: &[u8]) -> Result<(), Stopped> {
        self.push_answers_locked(lock(&self.queue), frames)
    }

    fn push_answers_locked(
        &self,
        mut q: MutexGuard<'_, Queue>,
        frames: &[u8],
    ) -> Result<(), Stopped> {
        if q.refuses() {
            return Err(Stopped);
        }
        self.count_answers(&mut q, frames.len());
        q.tail.extend_from_slice(frames);
        self.wake_writer(q);
        Ok(())
    }

    /// Writes answers straight to the stream when the writer sleeps with
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
                return self.push_answers_locked(q, frames);
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
            self.count_answers(&mut q, frames.len() - written);
            q.ordered.push_front(frames[written..].to_vec());
            q.partial_front = true;
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

    /// Counts `bytes` of answers about to be queued: in the queue, for the
    /// batch that takes them, and in the backlog until they are written.
    fn count_answers(&self, q: &mut Queue, bytes: usize) {
        self.answer_backlog.fetch_add(bytes, Ordering::AcqRel);
        q.answer_bytes += bytes;
    }

    /// Whether unwritten answers are over the budget: the reader then
    /// waits on [`Outbox::answers_drained`] before reading more.
    pub(super) fn answers_over_limit(&self) -> bool {
        self.answer_backlog.load(Ordering::Acquire) > self.limit
    }

    /// Waits until the unwritten answers are back within the budget (or the
    /// writer stopped).
    pub(super) async fn answers_drained(&self) {
        loop {
            let written = self.answers_written.notified();
            if !self.answers_over_limit() || lock(&self.queue).stopped {
                return;
            }
            written.await;
        }
    }

    /// Fails every caller waiting for room, and every later one.
    pub(super) fn refuse_requests(&self) {
        self.request_room.close();
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
        self.request_room.close();
        self.ready.notify_one();
    }

    /// The writer is gone; later frames are refused, and callers waiting
    /// for room are told so.
    pub(super) fn stop(&self) {
        let mut q = lock(&self.queue);
        q.stopped = true;
        q.ordered.clear();
        q.tail = Vec::new();
        drop(q);
        self.request_room.close();
        self.answers_written.notify_waiters();
    }

    /// Moves everything queued into `batch` (whose buffers were written and
    /// are reused, so a steady stream of frames allocates nothing).
    pub(super) fn take(&self, batch: &mut WriteBatch) -> Taken {
        let mut q = lock(&self.queue);
        if q.claimed {
            // Woken while another task writes: it wakes the writer again.
            q.writer_asleep = true;
            return Taken::Empty;
        }
        if !q.withdrawn.is_empty() {
            let freed = self.drop_withdrawn(&mut q);
            self.request_room.give_back(freed);
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
        batch.request_room = std::mem::take(&mut q.request_room);
        batch.answer_bytes = std::mem::take(&mut q.answer_bytes);
        q.partial_front = false;
        q.generation += 1;
        Taken::Frames
    }

    /// Removes the withdrawn requests from the queue; returns the request
    /// budget they held. (Rare: only callers that gave up while their
    /// request waited here.)
    fn drop_withdrawn(&self, q: &mut Queue) -> usize {
        let withdrawn = std::mem::take(&mut q.withdrawn);
        let mut freed = 0;
        // A frame may run on from one buffer into the next (its first bytes
        // and a large rest): how many of its bytes are still to come, and
        // whether they are kept.
        let mut open: Option<(usize, bool)> = None;
        let mut keep = |buf: Vec<u8>, out: &mut VecDeque<Vec<u8>>| {
            let mut kept = Vec::new();
            let mut at = 0;
            if let Some((left, keep_it)) = open.take() {
                if left >= buf.len() {
                    // All of it is the rest of one frame: kept or dropped
                    // whole, without a copy.
                    if left > buf.len() {
                        open = Some((left - buf.len(), keep_it));
                    }
                    if keep_it {
                        out.push_back(buf);
                    }
                    return;
                }
                kept.reserve(buf.len());
                if keep_it {
                    kept.extend_from_slice(&buf[..left]);
                }
                at = left;
            }
            kept.reserve(buf.len() - at);
            keep_frames(
                self,
                &buf[at..],
                &withdrawn,
                &mut freed,
                &mut open,
                &mut kept,
            );
            if !kept.is_empty() {
                out.push_back(kept);
            }
        };
        let mut ordered = VecDeque::with_capacity(q.ordered.len());
        for (i, buf) in std::mem::take(&mut q.ordered).into_iter().enumerate() {
            if i == 0 && q.partial_front {
                // Answers only, and not parseable from its first byte.
                ordered.push_back(buf);
                continue;
            }
            keep(buf, &mut ordered);
        }
        let mut tail = VecDeque::new();
        keep(std::mem::take(&mut q.tail), &mut tail);
        let tail_buf = Vec::from(tail).concat();
        q.ordered = ordered;
        q.tail = tail_buf;
        q.request_room -= freed;
        freed
    }

    /// Called by the writer once `batch` is written: gives the budget its
    /// frames held back.
    pub(super) fn written(&self, batch: &mut WriteBatch) {
        self.request_room
            .give_back(std::mem::take(&mut batch.request_room));
        let answers = std::mem::take(&mut batch.answer_bytes);
        if answers > 0 {
            let before = self.answer_backlog.fetch_sub(answers, Ordering::AcqRel);
            if before > self.limit && before - answers <= self.limit {
                self.answers_written.notify_waiters();
            }
        }
    }

    /// Waits until a sender wakes the writer.
    pub(super) async fn ready(&self) {
        self.ready.notified().await;
    }
}

/// Appends to `kept` the frames of `buf` that are not withdrawn requests;
/// a frame that runs on past the end of `buf` is recorded in `open`.
/// Frames this side built: well formed, but never trusted to be, so a
/// surprise keeps the rest as it is.
fn keep_frames(
    outbox: &Outbox,
    buf: &[u8],
    withdrawn: &HashSet<u64>,
    freed: &mut usize,
    open: &mut Option<(usize, bool)>,
    kept: &mut Vec<u8>,
) {
    let mut at = 0;
    while let Some(Ok(head)) = buf
        .get(at..at + HEADER_LEN)
        .map(<&[u8; HEADER_LEN]>::try_from)
    {
        let Ok(header) = parse_header(head, u32::MAX) else {
            break;
        };
        let len = HEADER_LEN + header.body_len;
        let is_request = matches!(header.kind, Kind::Request | Kind::Ping);
        let drop = is_request && withdrawn.contains(&header.id);
        if drop {
            *freed += outbox.request_room.size_of(len);
        }
        let here = len.min(buf.len() - at);
        if !drop {
            kept.extend_from_slice(&buf[at..at + here]);
        }
        at += here;
        if here < len {
            *open = Some((len - here, !drop));
            return;
        }
    }
    // Never drop a byte of what did not parse.
    kept.extend_from_slice(&buf[at.min(buf.len())..]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::frame::FrameBuf;

    /// A frame of `kind` for `id` whose body is `rest` (sent from its own buffer).
    fn parts(kind: Kind, id: u64, rest: Vec<u8>) -> (Vec<u8>, Vec<u8>) {
        let mut f = FrameBuf::new(kind, id);
        f.body_mut().push(7);
        f.set_tail(rest);
        f.finish_parts(u32::MAX).expect("a frame")
    }

    fn joined((head, rest): &(Vec<u8>, Vec<u8>)) -> Vec<u8> {
        [head.as_slice(), rest].concat()
    }

    fn taken(outbox: &Outbox) -> Vec<u8> {
        let mut batch = WriteBatch::default();
        assert!(matches!(outbox.take(&mut batch), Taken::Frames));
        let mut out: Vec<u8> = batch.ordered.iter().flatten().copied().collect();
        out.extend_from_slice(&batch.tail);
        out
    }

    #[test]
    fn withdrawing_drops_whole_frames_however_they_were_queued() {
        // A large rest made of what looks like frames of the withdrawn call:
        // only the withdrawn request itself may go.
        let lookalike = parts(Kind::Request, 2, vec![1; 10]);
        let mut rest = Vec::new();
        while rest.len() < 2 * LARGE_FRAME {
            rest.extend(joined(&lookalike));
        }
        let outbox = Outbox::new(64 << 20);
        let push = |frame: (Vec<u8>, Vec<u8>)| {
            let room = outbox
                .try_reserve(frame.0.len() + frame.1.len())
                .expect("room");
            outbox
                .push_request_parts_queued(frame.0, frame.1, room)
                .expect("queued")
        };
        let first = parts(Kind::Request, 1, rest.clone());
        let withdrawn = parts(Kind::Request, 2, vec![3; 3 * LARGE_FRAME]);
        let small = parts(Kind::Request, 2, vec![4; 5]);
        let answer = parts(Kind::Response, 9, vec![5; LARGE_FRAME]);
        let last = parts(Kind::Request, 3, vec![6; 20]);
        let expected = [joined(&first), joined(&answer), joined(&last)].concat();
        push(first);
        let queued = push(withdrawn);
        outbox
            .push_answer_parts(answer.0, answer.1)
            .expect("answer queued");
        push(last);
        assert!(outbox.withdraw(2, queued));
        assert_eq!(taken(&outbox), expected);

        // A small frame given in parts is gathered whole, and withdrawn whole.
        let outbox = Outbox::new(64 << 20);
        let room = outbox.try_reserve(100).expect("room");
        let queued = outbox
            .push_request_parts_queued(small.0.clone(), small.1.clone(), room)
            .expect("queued");
        let room = outbox.try_reserve(100).expect("room");
        let kept = parts(Kind::Request, 4, vec![8; 5]);
        outbox
            .push_request_parts_queued(kept.0.clone(), kept.1.clone(), room)
            .expect("queued");
        assert!(outbox.withdraw(2, queued));
        assert_eq!(taken(&outbox), joined(&kept));
    }
}
