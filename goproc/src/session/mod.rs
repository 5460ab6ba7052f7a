//! The protocol of one connection, without I/O: which frames may come,
//! what each one means, and the state they change. Frames go in
//! ([`Session::receive`]); what the driver must do comes out ([`Incoming`]:
//! wake a caller, serve a request, stop a handler, answer at once).
//!
//! A session owns this side's call ids and the table of its calls in
//! flight (what each asked, its answer once it came, and the `Waker` to
//! hand back when it does), the table of the peer's calls this side is
//! serving (with whatever the driver uses to stop a handler, `H`), reading
//! a request's head and deadline, which answers are taken and which are
//! dropped (the first wins), whether the connection still takes calls,
//! and the drain a SHUTDOWN starts. It knows nothing of sockets, tasks or
//! clocks, so it is tested alone with scripted frames and random
//! interleavings (`tests.rs`). The driver keeps it behind one lock, the
//! way h2 and quinn keep their protocol state machines.

mod deadlines;
mod ids;
mod streams;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::hash::BuildHasherDefault;
use std::task::{Poll, Waker};
use std::time::Duration;

use deadlines::Deadlines;
use ids::IdHasher;
use streams::Streams;
pub(crate) use streams::{InEnd, Next, Whose};
use tokio::time::Instant;

use crate::error::RemoteCode;
use crate::wire::codec;
use crate::wire::frame::{control_frame, FrameBuf, FrameHeader, Kind};
use crate::wire::messages::{Delivery, ErrorBody, Publish, RequestHead, Subscribe};
use crate::Error;

/// Which end of a connection this process is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Side {
    Host,
    Plugin,
}

impl Side {
    /// "the host" or "the plugin", for messages.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Side::Host => "the host",
            Side::Plugin => "the plugin",
        }
    }
}

/// The answer to one of this side's calls.
#[derive(Debug)]
pub(crate) enum Reply {
    Ok(Vec<u8>),
    Err(ErrorBody),
}

/// What one of this side's calls sent, and so what may answer it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Asked {
    /// A REQUEST: answered by RESPONSE or ERROR.
    Request,
    /// A PING: answered by PONG.
    Ping,
}

/// One of this side's calls, waiting for its answer.
struct Waiter {
    asked: Asked,
    reply: Option<Reply>,
    waker: Option<Waker>,
    /// Its deadline passed: unless its answer came first, it timed out.
    expired: bool,
}

/// How one of this side's calls ended, as its caller finds it.
#[derive(Debug)]
pub(crate) enum Settled {
    /// Its answer came.
    Answered(Reply),
    /// Its deadline passed before its answer came.
    Expired,
    /// The connection failed first ([`Session::closed_error`] says how).
    Failed,
}

/// What a frame from the peer asks of the driver.
pub(crate) enum Incoming<H> {
    /// Nothing more to do than wake this caller, if any: an answer reached
    /// its call (or was dropped: a late or stray answer).
    Wake(Option<Waker>),
    /// Serve the peer's request.
    Serve(Request),
    /// Send this frame back at once (a PONG, or an ERROR refusing a
    /// request while draining).
    Answer(Vec<u8>),
    /// Stop this handler (the peer cancelled its call); `None` when the
    /// call was not running any more.
    Stop(Option<H>),
    /// The peer asked this side to finish its calls and close.
    ShutdownRequested,
    /// A plugin published an event (the host routes it).
    Publish(Publish, Vec<u8>, usize),
    /// A plugin subscribed (the host records it).
    Subscribe(u64, Subscribe),
    /// A plugin ended a subscription.
    Unsubscribe(u64),
    /// The host delivered an event to subscription `id`: the head, the
    /// body, and where the payload starts in it.
    Deliver(u64, Delivery, Vec<u8>, usize),
}

/// What an answer stream has next for its caller.
pub(crate) enum StreamNext {
    /// An item, and the credit to grant back, if it is time to.
    Item(Vec<u8>, Option<u32>),
    /// The call's answer: the stream's end (`None`: the connection failed).
    End(Option<Reply>),
}

/// A request of the peer's, well formed, to serve: call `head`'s method
/// with the arguments at `args_at` of `body`, within `deadline` (from when
/// the request was read), if the caller set one.
pub(crate) struct Request {
    pub(crate) id: u64,
    pub(crate) head: RequestHead,
    pub(crate) deadline: Option<Duration>,
    pub(crate) body: Vec<u8>,
    pub(crate) args_at: usize,
}

/// Why the connection cannot go on.
#[derive(Debug)]
pub(crate) enum End {
    /// The peer sent CLOSE.
    PeerClosed,
    /// A frame broke the rules of docs/WIRE.md.
    Broken(Error),
}

/// The protocol state of one connection. `H` is what the driver keeps to
/// stop a handler of the peer's calls (a task's abort handle).
pub(crate) struct Session<H> {
    side: Side,
    peer: String,
    max_frame: u32,
    /// The protocol version the handshake chose.
    protocol: u32,
    /// The streams of calls both ways.
    streams: Streams,
    /// Whether this side serves any contract to the peer.
    serves: bool,
    next_id: u64,
    /// This side's calls sent and not yet taken by their caller (answered
    /// or not). An entry that disappears before its answer arrived was
    /// failed by [`Session::fail_all`].
    calls: HashMap<u64, Waiter, BuildHasherDefault<IdHasher>>,
    /// When those of them made with a deadline expire.
    deadlines: Deadlines,
    /// The peer's calls whose handlers run, by call id.
    serving: HashMap<u64, H>,
    /// Set once the connection is unusable; later calls fail with it.
    closed: Option<Error>,
    /// Set by a graceful shutdown: new calls fail with it, calls in flight go on.
    refusing: Option<Error>,
    /// Set by SHUTDOWN: the peer's new requests are refused, running ones finish.
    draining: bool,
}

impl<H> Session<H> {
    /// A session with `peer` (its name, for errors) whose frames are at
    /// most `max_frame` bytes; `serves` says whether this side serves any
    /// contract to the peer (its requests are refused otherwise).
    pub(crate) fn new(
        side: Side,
        peer: String,
        max_frame: u32,
        protocol: u32,
        serves: bool,
    ) -> Self {
        Session {
            side,
            peer,
            max_frame,
            protocol,
            streams: Streams::default(),
            serves,
            next_id: 0,
            calls: HashMap::default(),
            deadlines: Deadlines::default(),
            serving: HashMap::new(),
            closed: None,
            refusing: None,
            draining: false,
        }
    }

    // ---- this side's calls -------------------------------------------

    /// Numbers a new call (a REQUEST or a PING) and starts waiting for its
    /// answer; fails when the connection no longer takes calls.
    pub(crate) fn begin_call(&mut self, asked: Asked) -> Result<u64, Error> {
        self.begin_call_until(asked, None).map(|(id, _)| id)
    }

    /// [`Session::begin_call`] for a call that expires at `deadline`, if
    /// given ([`Session::expire`] says when it did). Also says whether the
    /// connection's timer must be armed anew, for this earlier deadline.
    pub(crate) fn begin_call_until(
        &mut self,
        asked: Asked,
        deadline: Option<Instant>,
    ) -> Result<(u64, bool), Error> {
        if let Some(err) = self.closed.as_ref().or(self.refusing.as_ref()) {
            return Err(err.clone());
        }
        self.next_id += 1;
        let waiter = Waiter {
            asked,
            reply: None,
            waker: None,
            expired: false,
        };
        self.calls.insert(self.next_id, waiter);
        let arm = match deadline {
            Some(at) => {
                // Entries of ended calls stuck behind one that stays.
                if self.deadlines.len() > 2 * self.calls.len() + 64 {
                    let calls = &self.calls;
                    self.deadlines.retain(|id| calls.contains_key(&id));
                }
                self.deadlines.push(self.next_id, at)
            }
            None => false,
        };
        Ok((self.next_id, arm))
    }

    /// The answer to call `id` if it came (the call is then forgotten);
    /// otherwise remembers `waker` to wake when it comes. `Ready(None)`:
    /// the connection failed first ([`Session::closed_error`] says how).
    pub(crate) fn poll_answer(&mut self, id: u64, waker: &Waker) -> Poll<Option<Reply>> {
        self.poll_call(id, waker).map(|settled| match settled {
            Settled::Answered(reply) => Some(reply),
            Settled::Expired | Settled::Failed => None,
        })
    }

    /// How call `id` ended, if it did: answered (the call is then
    /// forgotten), expired (its caller forgets it with
    /// [`Session::abandon`]) or failed; otherwise remembers `waker` to wake
    /// when it ends. An answer that came before its caller looked wins
    /// over the deadline, as it would over a timer of the caller's own.
    pub(crate) fn poll_call(&mut self, id: u64, waker: &Waker) -> Poll<Settled> {
        let Some(waiter) = self.calls.get_mut(&id) else {
            return Poll::Ready(Settled::Failed);
        };
        if let Some(reply) = waiter.reply.take() {
            self.calls.remove(&id);
            self.deadline_gone(id);
            return Poll::Ready(Settled::Answered(reply));
        }
        if waiter.expired {
            return Poll::Ready(Settled::Expired);
        }
        match &waiter.waker {
            Some(w) if w.will_wake(waker) => {}
            _ => waiter.waker = Some(waker.clone()),
        }
        Poll::Pending
    }

    /// Call `id` was forgotten: so is its deadline, if it is next in line.
    fn deadline_gone(&mut self, id: u64) {
        let calls = &self.calls;
        self.deadlines.ended(id, |id| calls.contains_key(&id));
    }

    /// Marks the calls whose deadline is past at `now` as expired, and
    /// hands their wakers to `wakers`; returns the next deadline of a call
    /// still under way, for the connection's timer.
    pub(crate) fn expire(&mut self, now: Instant, wakers: &mut Vec<Waker>) -> Option<Instant> {
        let calls = &mut self.calls;
        self.deadlines
            .expire(now, |id, due| match calls.get_mut(&id) {
                Some(waiter) => {
                    if due && waiter.reply.is_none() && !waiter.expired {
                        waiter.expired = true;
                        wakers.extend(waiter.waker.take());
                    }
                    true
                }
                None => false,
            })
    }

    /// Whether call `id` still waits for its answer.
    pub(crate) fn is_waiting(&self, id: u64) -> bool {
        self.calls.get(&id).is_some_and(|w| w.reply.is_none())
    }

    /// Whether call `id` still waits for an answer to what it `asked`.
    fn waits_for(&self, id: u64, asked: Asked) -> bool {
        self.calls
            .get(&id)
            .is_some_and(|w| w.reply.is_none() && w.asked == asked)
    }

    /// The caller of `id` stopped waiting (dropped, or past its deadline):
    /// forgets the call. Returns whether it was still waiting for its
    /// answer, in which case the peer should be told (CANCEL), unless the
    /// request was never sent.
    pub(crate) fn abandon(&mut self, id: u64) -> bool {
        self.streams.close_inbound(Whose::Mine, id);
        self.streams.close_outbound(Whose::Mine, id);
        let waiting = self.calls.remove(&id).is_some_and(|w| w.reply.is_none());
        self.deadline_gone(id);
        waiting
    }

    // ---- streams -------------------------------------------------------

    /// Opens the streams of this side's call `id`: an answer stream it
    /// receives under `answer_window` bytes of credit (granted by the
    /// STREAM_CREDIT the driver sends after the REQUEST), and an argument
    /// stream it sends.
    pub(crate) fn open_my_streams(&mut self, id: u64, answer_window: Option<u32>, args: bool) {
        if let Some(window) = answer_window {
            self.streams.open_inbound(Whose::Mine, id, window);
        }
        if args {
            self.streams.open_outbound(Whose::Mine, id);
        }
    }

    /// Opens the streams of the peer's call `id` this side serves: an
    /// argument stream it receives under `arg_window` bytes of credit
    /// (granted by the ARG_CREDIT the driver sends), and an answer stream
    /// it sends.
    pub(crate) fn open_peers_streams(&mut self, id: u64, arg_window: Option<u32>, answer: bool) {
        if let Some(window) = arg_window {
            self.streams.open_inbound(Whose::Peers, id, window);
        }
        if answer {
            self.streams.open_outbound(Whose::Peers, id);
        }
    }

    /// The next item of call `id`'s answer stream, or the call's answer
    /// once every item before it was taken.
    pub(crate) fn poll_stream(&mut self, id: u64, waker: &Waker) -> Poll<StreamNext> {
        if let Poll::Ready(Some(Next::Item(item, grant))) =
            self.streams.poll_next(Whose::Mine, id, waker)
        {
            return Poll::Ready(StreamNext::Item(item, grant));
        }
        match self.poll_answer(id, waker) {
            Poll::Ready(reply) => {
                self.streams.close_inbound(Whose::Mine, id);
                Poll::Ready(StreamNext::End(reply))
            }
            Poll::Pending => Poll::Pending,
        }
    }

    /// The next item of the argument stream of the peer's call `id`.
    pub(crate) fn poll_arg(&mut self, id: u64, waker: &Waker) -> Poll<Option<Next>> {
        self.streams.poll_next(Whose::Peers, id, waker)
    }

    /// Whether an item of an outgoing stream may be sent now (see
    /// `Streams::poll_credit`); `Ready(false)` also once the connection failed.
    pub(crate) fn poll_credit(&mut self, whose: Whose, id: u64, waker: &Waker) -> Poll<bool> {
        if self.closed.is_some() {
            return Poll::Ready(false);
        }
        self.streams.poll_credit(whose, id, waker)
    }

    /// An item of `body_len` bytes of an outgoing stream is being sent;
    /// whether another may follow without waiting.
    pub(crate) fn spend(&mut self, whose: Whose, id: u64, body_len: usize) -> bool {
        self.closed.is_none() && self.streams.spend(whose, id, body_len)
    }

    /// Stops receiving a stream (its consumer went away).
    pub(crate) fn close_inbound(&mut self, whose: Whose, id: u64) {
        self.streams.close_inbound(whose, id);
    }

    /// Stops sending a stream.
    pub(crate) fn close_outbound(&mut self, whose: Whose, id: u64) {
        self.streams.close_outbound(whose, id);
    }

    // ---- frames from the peer ------------------------------------------

    /// Applies one frame from the peer. `Err` ends the connection.
    pub(crate) fn receive(
        &mut self,
        header: FrameHeader,
        body: Vec<u8>,
    ) -> Result<Incoming<H>, End> {
        if header.kind.has_empty_body() && !body.is_empty() {
            return Err(self.broken(format!(
                "a {} frame must have an empty body; this one has {} byte(s)",
                header.kind.name(),
                body.len()
            )));
        }
        if header.kind.has_id_zero() && header.id != 0 {
            return Err(self.broken(format!(
                "a {} frame must carry id 0, not {}",
                header.kind.name(),
                header.id
            )));
        }
        if header.kind.since_version() > self.protocol {
            return Err(self.broken(format!(
                "{} frames (kind 0x{:02x}) need protocol version {}; this connection speaks \
                 version {}",
                header.kind.name(),
                header.kind as u8,
                header.kind.since_version(),
                self.protocol
            )));
        }
        let id = header.id;
        Ok(match header.kind {
            // An answer nobody waits for, or one of the wrong kind (a PONG
            // to a REQUEST), is dropped unread (docs/WIRE.md 4).
            Kind::Response => self.resolve(id, Asked::Request, Reply::Ok(body)),
            Kind::Pong => self.resolve(id, Asked::Ping, Reply::Ok(Vec::new())),
            Kind::Error if self.waits_for(id, Asked::Request) => {
                let err: ErrorBody = codec::decode(&body).map_err(|e| {
                    self.broken(format!("error frame for call {id} does not decode: {e}"))
                })?;
                self.resolve(id, Asked::Request, Reply::Err(err))
            }
            Kind::Error => Incoming::Wake(None),
            Kind::Request => self.request(id, body)?,
            Kind::Cancel => {
                let mut wakers = Vec::new();
                self.streams.forget_peers(id, &mut wakers);
                wakers.into_iter().for_each(Waker::wake);
                Incoming::Stop(self.serving.remove(&id))
            }
            Kind::Ping => Incoming::Answer(control_frame(Kind::Pong, id)),
            Kind::Shutdown => {
                self.draining = true;
                Incoming::ShutdownRequested
            }
            Kind::Close => return Err(End::PeerClosed),
            Kind::Hello | Kind::Welcome | Kind::Refuse => {
                return Err(self.broken(format!(
                    "unexpected {} frame after the handshake",
                    header.kind.name()
                )))
            }
            Kind::StreamItem => self.stream_item(Whose::Mine, id, body)?,
            Kind::ArgItem => self.stream_item(Whose::Peers, id, body)?,
            Kind::ArgEnd => {
                let end = if body.is_empty() {
                    InEnd::Done
                } else if self.streams.has_inbound(Whose::Peers, id) {
                    InEnd::Failed(codec::decode(&body).map_err(|e| {
                        self.broken(format!("ARG_END for call {id} does not decode: {e}"))
                    })?)
                } else {
                    return Ok(Incoming::Wake(None));
                };
                Incoming::Wake(self.streams.end(Whose::Peers, id, end))
            }
            Kind::StreamCredit => self.credit(Whose::Peers, id, &body)?,
            Kind::ArgCredit => self.credit(Whose::Mine, id, &body)?,
            Kind::Publish | Kind::Subscribe | Kind::Unsubscribe if self.side != Side::Host => {
                return Err(self.broken(format!(
                    "{} frames go from a plugin to its host, not to a plugin",
                    header.kind.name()
                )))
            }
            Kind::Event if self.side != Side::Plugin => {
                return Err(self
                    .broken("EVENT frames go from the host to a plugin, not to the host".into()))
            }
            Kind::Publish => {
                let (head, at) = codec::decode_prefix::<Publish>(&body)
                    .map_err(|e| self.broken(format!("a PUBLISH does not decode: {e}")))?;
                Incoming::Publish(head, body, at)
            }
            Kind::Subscribe => {
                let sub = codec::decode::<Subscribe>(&body)
                    .map_err(|e| self.broken(format!("SUBSCRIBE {id} does not decode: {e}")))?;
                Incoming::Subscribe(id, sub)
            }
            Kind::Unsubscribe => Incoming::Unsubscribe(id),
            Kind::Event => {
                let (head, at) = codec::decode_prefix::<Delivery>(&body)
                    .map_err(|e| self.broken(format!("EVENT {id} does not decode: {e}")))?;
                Incoming::Deliver(id, head, body, at)
            }
        })
    }

    /// A stream item arrived: queued for its consumer, dropped if nobody
    /// receives that stream; one sent without credit ends the connection.
    fn stream_item(&mut self, whose: Whose, id: u64, body: Vec<u8>) -> Result<Incoming<H>, End> {
        match self.streams.item(whose, id, body) {
            Ok(waker) => Ok(Incoming::Wake(waker)),
            Err(over) => {
                let what = match whose {
                    Whose::Mine => "STREAM_ITEM",
                    Whose::Peers => "ARG_ITEM",
                };
                Err(self.broken(format!(
                    "{} sent a {what} of {} bytes for call {id} without credit left (it may \
                     send only what the receiver granted; docs/WIRE.md, \"Streams\")",
                    self.peer, over.cost
                )))
            }
        }
    }

    /// Credit arrived for a stream this side sends.
    fn credit(&mut self, whose: Whose, id: u64, body: &[u8]) -> Result<Incoming<H>, End> {
        let n: u32 = codec::decode(body).map_err(|e| {
            self.broken(format!("a credit frame for call {id} does not decode: {e}"))
        })?;
        if n == 0 {
            return Err(self.broken(format!("a credit frame for call {id} grants 0 bytes")));
        }
        match self.streams.grant(whose, id, n) {
            Ok(waker) => Ok(Incoming::Wake(waker)),
            Err(total) => Err(self.broken(format!(
                "credit for call {id} adds up to {total} unused bytes, more than 2^32 - 1"
            ))),
        }
    }

    /// Hands an answer to the call waiting for it. The first answer wins:
    /// a second one, or a late answer to a call that was cancelled or timed
    /// out, is dropped quietly.
    fn resolve(&mut self, id: u64, answers: Asked, reply: Reply) -> Incoming<H> {
        match self.calls.get_mut(&id) {
            Some(waiter) if waiter.reply.is_none() && waiter.asked == answers => {
                waiter.reply = Some(reply);
                let waker = waiter.waker.take();
                // The call is answered: its argument stream stops.
                if let Some(sender) = self.streams.stop_outbound(Whose::Mine, id) {
                    sender.wake();
                }
                Incoming::Wake(waker)
            }
            _ => Incoming::Wake(None),
        }
    }

    fn request(&mut self, id: u64, body: Vec<u8>) -> Result<Incoming<H>, End> {
        // Most handlers answer at once and never enter the table: an empty
        // table needs no lookup.
        if !self.serving.is_empty() && self.serving.contains_key(&id) {
            return Err(self.broken(format!(
                "a REQUEST reuses id {id} of a call still running (ids are unique among the \
                 calls in flight)"
            )));
        }
        let refuse = |code, message| {
            Ok(Incoming::Answer(error_frame(
                id,
                code,
                message,
                self.max_frame,
            )))
        };
        if !self.serves {
            return refuse(
                RemoteCode::UnknownContract,
                format!("{} serves no contracts to {}", self.side.name(), self.peer),
            );
        }
        if self.draining {
            return refuse(
                RemoteCode::ShuttingDown,
                format!(
                    "{} is shutting down and takes no new calls",
                    self.side.name()
                ),
            );
        }
        let (head, args_at) = match RequestHead::decode(&body) {
            Ok(decoded) => decoded,
            Err(e) => {
                return refuse(
                    RemoteCode::BadRequest,
                    format!("the request head does not decode: {e}"),
                )
            }
        };
        let deadline = (head.deadline_ms > 0).then(|| Duration::from_millis(head.deadline_ms));
        Ok(Incoming::Serve(Request {
            id,
            head,
            deadline,
            body,
            args_at,
        }))
    }

    fn broken(&self, reason: String) -> End {
        End::Broken(Error::Protocol {
            peer: self.peer.clone(),
            reason,
        })
    }

    // ---- the peer's calls ----------------------------------------------

    /// A handler of the peer's call `id` keeps running after the frame
    /// that started it: `stop` stops it if the peer cancels.
    pub(crate) fn serving(&mut self, id: u64, stop: H) {
        self.serving.insert(id, stop);
    }

    /// The handler of call `id` finished: whether its answer is still
    /// wanted (not when the call was cancelled, or the connection failed).
    pub(crate) fn served(&mut self, id: u64) -> bool {
        self.streams.close_inbound(Whose::Peers, id);
        self.streams.close_outbound(Whose::Peers, id);
        self.serving.remove(&id).is_some()
    }

    /// Whether the peer asked this side to shut down.
    pub(crate) fn is_draining(&self) -> bool {
        self.draining
    }

    // ---- the connection as a whole -------------------------------------

    /// This side's calls in flight and the peer's calls being served.
    pub(crate) fn calls_under_way(&self) -> usize {
        self.calls.len() + self.serving.len()
    }

    /// How many of the peer's calls are being served.
    pub(crate) fn handlers_running(&self) -> usize {
        self.serving.len()
    }

    /// Refuses new calls from this side with `err`; calls in flight go on.
    pub(crate) fn refuse_new_calls(&mut self, err: Error) {
        self.refusing.get_or_insert(err);
    }

    /// The connection is unusable: every call waiting for its answer fails
    /// with `err` (its caller is woken and finds it gone), and so does every
    /// later one; the handlers of the peer's calls are to be stopped.
    /// A call whose answer arrived keeps it: an answer the peer sent is
    /// never lost.
    pub(crate) fn fail_all(&mut self, err: Error) -> Failed<H> {
        self.closed.get_or_insert(err);
        let mut wakers = Vec::new();
        self.calls.retain(|_, waiter| {
            if waiter.reply.is_some() {
                return true;
            }
            wakers.extend(waiter.waker.take());
            false
        });
        let calls = &self.calls;
        self.deadlines.retain(|id| calls.contains_key(&id));
        self.streams.fail_all(&mut wakers);
        Failed {
            wakers,
            handlers: self.serving.drain().map(|(_, h)| h).collect(),
        }
    }

    /// The error that closed the connection, or a generic one.
    pub(crate) fn closed_error(&self) -> Error {
        self.closed.clone().unwrap_or_else(|| Error::Closed {
            peer: self.peer.clone(),
            reason: "the connection ended".into(),
        })
    }
}

/// What [`Session::fail_all`] leaves the driver to do.
pub(crate) struct Failed<H> {
    /// Callers to wake: they find their call failed.
    pub(crate) wakers: Vec<Waker>,
    /// Handlers to stop.
    pub(crate) handlers: Vec<H>,
}

/// An ERROR frame for call `id`. A message and detail too large for a
/// frame of `max_frame` bytes are cut to the first 4096 characters of the
/// message.
pub(crate) fn error_frame(id: u64, code: RemoteCode, message: String, max_frame: u32) -> Vec<u8> {
    error_frame_with_detail(id, code, message, String::new(), max_frame)
}

/// [`error_frame`] with a detail (a backtrace, a traceback).
pub(crate) fn error_frame_with_detail(
    id: u64,
    code: RemoteCode,
    message: String,
    detail: String,
    max_frame: u32,
) -> Vec<u8> {
    let body = ErrorBody {
        code: code.to_wire(),
        message,
        detail,
    };
    let mut frame = FrameBuf::new(Kind::Error, id);
    if codec::encode_into(&body, frame.body_mut()).is_err() {
        frame = FrameBuf::new(Kind::Error, id);
    }
    match frame.finish(max_frame) {
        Ok(f) => f,
        // A detail too large for a frame: send the message alone.
        Err(_) => {
            let short = ErrorBody {
                detail: String::new(),
                message: body.message.chars().take(4096).collect(),
                ..body
            };
            let mut frame = FrameBuf::new(Kind::Error, id);
            let _ = codec::encode_into(&short, frame.body_mut());
            frame.finish(u32::MAX).unwrap_or_default()
        }
    }
}
