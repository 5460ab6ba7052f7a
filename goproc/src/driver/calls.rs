//! This side's calls: register, send, wait, and clean up when the caller
//! gives up (a dropped future or a deadline sends CANCEL).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::time::Instant;

use super::outbox::Queued;
use super::room::Room;
use super::{lock, Connection};
use crate::session::{Asked, Reply, Settled};
use crate::wire::frame::{control_frame, set_id, FrameBuf, FrameTooLarge, HEADER_LEN};
use crate::wire::messages::{ErrorBody, RequestHead};
use crate::wire::{codec, Kind};
use crate::Error;

/// Why a call did not produce an answer body.
#[derive(Debug)]
pub(crate) enum CallFailure {
    /// The arguments could not be encoded, or the frame is too large.
    Encode(String),
    /// The peer answered with an ERROR frame.
    Remote(ErrorBody),
    /// The deadline passed.
    Timeout(Duration),
    /// The connection is gone.
    Connection(Error),
    /// The connection was already closed: the call was never sent, so it
    /// is safe to send the frame (given back) elsewhere.
    NotSent(Box<Unsent>),
}

/// A request that was never sent, and why. (Boxed in [`CallFailure`]: the
/// failure is rare, and every call's future carries room for its result.)
#[derive(Debug)]
pub(crate) struct Unsent {
    pub(crate) error: Error,
    pub(crate) frame: Vec<u8>,
}

impl CallFailure {
    fn not_sent(error: Error, frame: Vec<u8>) -> Self {
        CallFailure::NotSent(Box::new(Unsent { error, frame }))
    }
}

impl Connection {
    /// Builds a request frame: the head, then the arguments `encode_args`
    /// writes (`args_size` bytes are reserved for them).
    pub(crate) fn request_frame(
        &self,
        head: RequestHead,
        encode_args: impl FnOnce(&mut Vec<u8>) -> Result<(), String>,
        args_size: usize,
    ) -> Result<Vec<u8>, CallFailure> {
        // Room for the request head and small arguments, and for large ones.
        request_start(head, encode_args, 48 + args_size)?
            .finish(self.max_frame)
            .map_err(request_too_large)
    }

    /// `frame` (a request some connection did not send) with a new head:
    /// another contract index, the deadline left.
    pub(crate) fn readdress(
        &self,
        frame: Vec<u8>,
        head: RequestHead,
    ) -> Result<Vec<u8>, CallFailure> {
        let body = frame.get(HEADER_LEN..).unwrap_or_default();
        let (_, used) = RequestHead::decode(body).map_err(CallFailure::Encode)?;
        let args = &body[used..];
        let copy_args = |out: &mut Vec<u8>| {
            out.extend_from_slice(args);
            Ok(())
        };
        self.request_frame(head, copy_args, args.len())
    }

    /// Sends a request and waits for its answer body.
    pub(crate) async fn call(
        self: &Arc<Self>,
        head: RequestHead,
        encode_args: impl FnOnce(&mut Vec<u8>) -> Result<(), String>,
        args_size: usize,
        timeout: Option<Duration>,
    ) -> Result<Vec<u8>, CallFailure> {
        let frame = self.request_frame(head, encode_args, args_size)?;
        self.round_trip(frame, timeout).await
    }

    /// Sends a request whose arguments end in the byte string `tail`, and
    /// waits for its answer body: the frame's first bytes (head, the other
    /// arguments as `encode_args` writes them, the tail's length) are built
    /// here, and the tail is sent from its own buffer, not copied.
    pub(crate) async fn call_with_tail(
        self: &Arc<Self>,
        head: RequestHead,
        encode_args: impl FnOnce(&mut Vec<u8>) -> Result<(), String>,
        tail: Vec<u8>,
        timeout: Option<Duration>,
    ) -> Result<Vec<u8>, CallFailure> {
        let mut frame = request_start(head, encode_args, 48)?;
        // A byte string: its length, then the bytes.
        codec::encode_into(&(tail.len() as u64), frame.body_mut()).map_err(CallFailure::Encode)?;
        frame.set_tail(tail);
        let (frame, tail) = frame
            .finish_parts(self.max_frame)
            .map_err(request_too_large)?;
        self.round_trip_parts(frame, tail, timeout).await
    }

    /// Registers a call id, sends `frame` with it, and waits. The deadline
    /// covers the whole call: waiting for room to send (a peer that does not
    /// read) as well as waiting for the answer.
    pub(crate) async fn round_trip(
        &self,
        frame: Vec<u8>,
        timeout: Option<Duration>,
    ) -> Result<Vec<u8>, CallFailure> {
        self.round_trip_parts(frame, Vec::new(), timeout).await
    }

    /// [`Connection::round_trip`] for a frame given as its first bytes and
    /// the rest, sent from its own buffer.
    async fn round_trip_parts(
        &self,
        mut frame: Vec<u8>,
        rest: Vec<u8>,
        timeout: Option<Duration>,
    ) -> Result<Vec<u8>, CallFailure> {
        let deadline = timeout.map(|t| Instant::now() + t);
        let len = frame.len() + rest.len();
        let room = match self.outbox.try_reserve(len) {
            Some(room) => room,
            // Boxed: the wait is rare (a peer that does not read), and its
            // timer would otherwise enlarge every call's future.
            None => match Box::pin(self.wait_for_room(len, deadline, timeout)).await {
                Ok(room) => room,
                Err(WaitFailed::Timeout(limit)) => return Err(CallFailure::Timeout(limit)),
                Err(WaitFailed::Stopped) => {
                    return Err(CallFailure::not_sent(
                        self.closed_error(),
                        join(frame, rest),
                    ))
                }
            },
        };
        let asked = if frame[4] == Kind::Request as u8 {
            Asked::Request
        } else {
            Asked::Ping
        };
        // The deadline goes in the call table, which the connection's one
        // timer watches: no timer per call.
        let begun = lock(&self.session).begin_call_until(asked, deadline);
        let id = match begun {
            Ok((id, arm)) => {
                if arm {
                    self.expiry.rearm();
                }
                id
            }
            Err(err) => return Err(CallFailure::not_sent(err, join(frame, rest))),
        };
        set_id(&mut frame, id);
        let mut guard = Pending {
            conn: self,
            id,
            cancel_on_drop: asked == Asked::Request,
            queued: None,
            registered: true,
        };
        match self.outbox.push_request_parts_queued(frame, rest, room) {
            Ok(queued) => guard.queued = Some(queued),
            Err((frame, rest)) => {
                // Never queued: the peer needs no CANCEL.
                guard.cancel_on_drop = false;
                return Err(CallFailure::not_sent(
                    self.closed_error(),
                    join(frame, rest),
                ));
            }
        }

        if let Some(spin) = self.busy_poll() {
            self.spin_until_answered(id, spin).await;
        }
        let answer = Answer { conn: self, id }.await;
        let result = match answer {
            // The guard removes the call and tells the peer to stop.
            Settled::Expired => return Err(CallFailure::Timeout(timeout.unwrap_or_default())),
            Settled::Answered(Reply::Ok(body)) => Ok(body),
            Settled::Answered(Reply::Err(body)) => Err(CallFailure::Remote(body)),
            Settled::Failed => Err(CallFailure::Connection(self.closed_error())),
        };
        // The answer (or a failed connection) already removed the entry.
        guard.registered = false;
        result
    }

    /// Waits for room to send a request of `len` bytes, until `deadline`.
    pub(super) async fn wait_for_room(
        &self,
        len: usize,
        deadline: Option<Instant>,
        timeout: Option<Duration>,
    ) -> Result<Room<'_>, WaitFailed> {
        let wait = self.outbox.reserve(len);
        let reserved = match (deadline, timeout) {
            (Some(d), Some(limit)) => tokio::time::timeout_at(d, wait)
                .await
                .map_err(|_| WaitFailed::Timeout(limit))?,
            _ => wait.await,
        };
        reserved.map_err(|_| WaitFailed::Stopped)
    }

    /// Low-latency mode: polls for the answer for up to `spin`, yielding to
    /// the runtime in between (tokio then polls the OS for I/O without
    /// sleeping), so an answer that comes back within `spin` wakes no thread.
    async fn spin_until_answered(&self, id: u64, spin: Duration) {
        let until = std::time::Instant::now() + spin;
        while std::time::Instant::now() < until {
            if !lock(&self.session).is_waiting(id) {
                return;
            }
            super::busy_poll::spin_pause().await;
        }
    }
}

/// A request frame (`capacity` bytes reserved for its body) holding its head,
/// then the arguments `encode_args` writes.
fn request_start(
    head: RequestHead,
    encode_args: impl FnOnce(&mut Vec<u8>) -> Result<(), String>,
    capacity: usize,
) -> Result<FrameBuf, CallFailure> {
    let mut frame = FrameBuf::with_capacity(Kind::Request, 0, capacity);
    codec::encode_into(&head, frame.body_mut()).map_err(CallFailure::Encode)?;
    encode_args(frame.body_mut()).map_err(CallFailure::Encode)?;
    Ok(frame)
}

fn request_too_large(e: FrameTooLarge) -> CallFailure {
    CallFailure::Encode(format!(
        "the request is {} bytes, more than the maximum frame size {}",
        e.length, e.max
    ))
}

/// A frame given as its first bytes and the rest, in one buffer.
fn join(mut frame: Vec<u8>, rest: Vec<u8>) -> Vec<u8> {
    frame.extend_from_slice(&rest);
    frame
}

/// Why a request found no room to be sent.
pub(super) enum WaitFailed {
    Timeout(Duration),
    Stopped,
}

/// Waits for call `id` to be answered, expire or fail.
struct Answer<'a> {
    conn: &'a Connection,
    id: u64,
}

impl Future for Answer<'_> {
    type Output = Settled;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Settled> {
        lock(&self.conn.session).poll_call(self.id, cx.waker())
    }
}

/// A call waiting for its answer. If the waiting stops early (the future is
/// dropped, or its deadline passes), the call is forgotten: a request still
/// in the outbox is withdrawn, one already written is cancelled.
struct Pending<'a> {
    conn: &'a Connection,
    id: u64,
    cancel_on_drop: bool,
    /// Where the frame waits to be written, once queued.
    queued: Option<Queued>,
    /// Whether the entry may still be in the table.
    registered: bool,
}

impl Drop for Pending<'_> {
    fn drop(&mut self) {
        if !self.registered {
            return;
        }
        let was_waiting = lock(&self.conn.session).abandon(self.id);
        let Some(queued) = self.queued else {
            return;
        };
        if was_waiting && !self.conn.outbox.withdraw(self.id, queued) && self.cancel_on_drop {
            let _ = self.conn.send_control(control_frame(Kind::Cancel, self.id));
        }
    }
}
