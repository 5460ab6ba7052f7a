//! The streams of calls, on the driver's side: sending items as credit
//! allows, receiving them and granting credit back as they are taken
//! (docs/WIRE.md, "Streams"). The session keeps the credit and the queues;
//! this file moves frames and wakes tasks.

use std::future::poll_fn;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use futures::StreamExt;
use tokio::time::Instant;

use super::calls::{CallFailure, WaitFailed};
use super::room::Room;
use super::serve::RemoteError;
use super::{lock, Connection};
use crate::session::{Asked, InEnd, Next, Reply, StreamNext, Whose};
use crate::wire::frame::{
    control_frame, set_id, set_length, start_frame, FrameBuf, FrameTooLarge, HEADER_LEN,
};
use crate::wire::messages::ErrorBody;
use crate::wire::{codec, Kind};
use crate::{Error, RemoteCode};

/// The default credit window of a stream, in bytes (docs/WIRE.md).
pub const DEFAULT_STREAM_WINDOW: u32 = 1024 * 1024;

/// A credit frame: `kind` for call `id`, granting `n` bytes.
fn credit_frame(kind: Kind, id: u64, n: u32) -> Vec<u8> {
    let mut frame = FrameBuf::with_capacity(kind, id, 5);
    // A u32 always encodes.
    let _ = codec::encode_into(&n, frame.body_mut());
    frame.finish(u32::MAX).unwrap_or_default()
}

/// Encodes one stream item (plain `Vec<u8>` items take a faster path than
/// serde's element-by-element one; the bytes are the same).
pub type EncodeItem<T> = fn(&T, &mut Vec<u8>) -> Result<(), String>;

/// Decodes one stream item from its frame's body.
pub type DecodeItem<T> = fn(Vec<u8>) -> Result<T, String>;

/// Why a stream item cannot be sent: its frame is over the limit.
fn too_large(e: FrameTooLarge, hint: &str) -> String {
    format!(
        "a stream item is {} bytes, more than the maximum frame size {}; {hint}",
        e.length + 4,
        e.max
    )
}

/// Lays a stream item's frame out in `buf` (reused from item to item).
fn item_frame_into<T>(
    buf: &mut Vec<u8>,
    kind: Kind,
    id: u64,
    item: &T,
    encode: EncodeItem<T>,
    max_frame: u32,
) -> Result<(), String> {
    start_frame(buf, kind, id);
    encode(item, buf)?;
    let total = buf.len();
    set_length(buf, total, max_frame)
        .map_err(|e| too_large(e, "send large values as a stream of chunks"))
}

/// Lays out in `buf` the head of a frame whose body is a byte chunk of
/// `len` bytes (the frame header and the chunk's length); returns the
/// body's length.
fn chunk_head_into(
    buf: &mut Vec<u8>,
    kind: Kind,
    id: u64,
    len: usize,
    max_frame: u32,
) -> Result<usize, String> {
    start_frame(buf, kind, id);
    codec::encode_into(&(len as u64), buf)?;
    let total = buf.len() + len;
    set_length(buf, total, max_frame).map_err(|e| too_large(e, "send smaller chunks"))?;
    Ok(total - HEADER_LEN)
}

impl Connection {
    /// The credit window this side grants its streams unless told otherwise.
    pub(crate) fn stream_window(&self) -> u32 {
        self.stream_window
    }

    /// Room in the outbox for an item frame of `len` bytes, waiting for it
    /// when a peer that does not read holds it back: the sender waits, this
    /// side's memory does not grow. `Err` once the connection stopped.
    async fn item_room(&self, len: usize) -> Result<Room<'_>, ()> {
        match self.outbox.try_reserve(len) {
            Some(room) => Ok(room),
            None => self.outbox.reserve(len).await.map_err(|_| ()),
        }
    }

    /// Queues an item frame (see [`Connection::item_room`]).
    pub(super) async fn send_item(&self, frame: Vec<u8>) -> Result<(), ()> {
        let room = self.item_room(frame.len()).await?;
        self.outbox
            .push_request(frame, room)
            .map(|_| ())
            .map_err(|_| ())
    }

    /// [`Connection::send_item`] for a small frame, copied into the outbox.
    async fn send_item_copy(&self, frame: &[u8]) -> Result<(), ()> {
        let room = self.item_room(frame.len()).await?;
        self.outbox.push_request_copy(frame, room).map_err(|_| ())
    }

    /// [`Connection::send_item`] for a frame given as its head and a large
    /// byte chunk that is queued without a copy.
    async fn send_item_parts(&self, head: &[u8], chunk: Vec<u8>) -> Result<(), ()> {
        let room = self.item_room(head.len() + chunk.len()).await?;
        self.outbox
            .push_request_parts(head, chunk, room)
            .map_err(|_| ())
    }

    /// Waits until an item of an outgoing stream may be sent: `false` when
    /// the receiver wants no more, or the connection failed.
    async fn credit(&self, whose: Whose, id: u64) -> bool {
        poll_fn(|cx| lock(&self.session).poll_credit(whose, id, cx.waker())).await
    }

    /// Sends the items of `items` on an outgoing stream as credit allows,
    /// taking the next item only once it may be sent. Returns how the
    /// source ended: `Ok(true)` it ended, `Ok(false)` the receiver stopped
    /// wanting items, `Err` the source failed (or an item did not encode).
    async fn pump<T: 'static>(
        &self,
        whose: Whose,
        id: u64,
        kind: Kind,
        items: &mut crate::Stream<T>,
        encode: EncodeItem<T>,
    ) -> Result<bool, String> {
        let mut frame = Vec::new();
        // Whether the last item left credit: then the next goes without
        // asking the session again.
        let mut may_send = false;
        loop {
            if !may_send && !self.credit(whose, id).await {
                return Ok(false);
            }
            let mut item = match items.next().await {
                None => return Ok(true),
                Some(Err(e)) => return Err(e.to_string()),
                Some(Ok(item)) => item,
            };
            // A large byte chunk is queued as it is, after its frame's head.
            if let Some(chunk) = (&mut item as &mut dyn std::any::Any).downcast_mut::<Vec<u8>>() {
                if chunk.len() >= super::outbox::LARGE_FRAME {
                    let chunk = std::mem::take(chunk);
                    let body_len =
                        chunk_head_into(&mut frame, kind, id, chunk.len(), self.max_frame)?;
                    may_send = lock(&self.session).spend(whose, id, body_len);
                    if self.send_item_parts(&frame, chunk).await.is_err() {
                        return Ok(false);
                    }
                    continue;
                }
            }
            item_frame_into(&mut frame, kind, id, &item, encode, self.max_frame)?;
            drop(item);
            may_send = lock(&self.session).spend(whose, id, frame.len() - HEADER_LEN);
            let sent = if frame.len() < super::outbox::LARGE_FRAME {
                self.send_item_copy(&frame).await
            } else {
                self.send_item(std::mem::take(&mut frame)).await
            };
            if sent.is_err() {
                return Ok(false);
            }
        }
    }
}

// ---- the caller's side ------------------------------------------------

/// What a stream call sends besides its request.
pub(crate) struct StreamCall {
    /// The answer stream's window, when the method answers with a stream.
    pub(crate) answer_window: Option<u32>,
    /// Whether the method takes a stream argument.
    pub(crate) sends_args: bool,
}

/// One of this side's stream calls in flight. Dropping it forgets the
/// call: the peer is told with CANCEL when it was still running, and the
/// argument stream stops.
pub(crate) struct OpenCall {
    conn: Arc<Connection>,
    id: u64,
    deadline: Option<(Instant, Duration)>,
    finished: bool,
    sender: Option<tokio::task::AbortHandle>,
}

impl Connection {
    /// Sends a stream call's REQUEST `frame` (and the credit of its answer
    /// stream) and returns the call in flight.
    pub(crate) async fn open_call(
        self: &Arc<Self>,
        mut frame: Vec<u8>,
        call: StreamCall,
        timeout: Option<Duration>,
    ) -> Result<OpenCall, CallFailure> {
        let deadline = timeout.map(|t| (Instant::now() + t, t));
        let room = self
            .wait_for_room(frame.len(), deadline.map(|(at, _)| at), timeout)
            .await
            .map_err(|failed| match failed {
                WaitFailed::Timeout(limit) => CallFailure::Timeout(limit),
                WaitFailed::Stopped => CallFailure::Connection(self.closed_error()),
            })?;
        let id = {
            let mut session = lock(&self.session);
            let id = session
                .begin_call(Asked::Request)
                .map_err(CallFailure::Connection)?;
            session.open_my_streams(id, call.answer_window, call.sends_args);
            id
        };
        let mut open = OpenCall {
            conn: self.clone(),
            id,
            deadline,
            finished: false,
            sender: None,
        };
        set_id(&mut frame, id);
        if self.outbox.push_request(frame, room).is_err() {
            open.finished = true;
            lock(&self.session).abandon(id);
            return Err(CallFailure::Connection(self.closed_error()));
        }
        if let Some(window) = call.answer_window {
            let _ = self.send_control(credit_frame(Kind::StreamCredit, id, window));
        }
        Ok(open)
    }
}

impl OpenCall {
    /// Sends `items` as the call's argument stream, on a task of its own,
    /// then ARG_END; it stops when the call is answered or dropped.
    pub(crate) fn send_args<T: Send + 'static>(
        &mut self,
        mut items: crate::Stream<T>,
        encode: EncodeItem<T>,
    ) {
        let conn = self.conn.clone();
        let id = self.id;
        let task = tokio::spawn(async move {
            let end = match conn
                .pump(Whose::Mine, id, Kind::ArgItem, &mut items, encode)
                .await
            {
                Ok(false) => return,
                Ok(true) => control_frame(Kind::ArgEnd, id),
                Err(message) => {
                    let body = ErrorBody {
                        code: RemoteCode::HandlerFailed.to_wire(),
                        message,
                        detail: String::new(),
                    };
                    let mut frame = FrameBuf::new(Kind::ArgEnd, id);
                    let _ = codec::encode_into(&body, frame.body_mut());
                    frame
                        .finish(conn.max_frame)
                        .unwrap_or_else(|_| control_frame(Kind::ArgEnd, id))
                }
            };
            lock(&conn.session).close_outbound(Whose::Mine, id);
            let _ = conn.send_item(end).await;
        });
        self.sender = Some(task.abort_handle());
    }

    /// The next item of the answer stream, or its end: `Ok(None)` when the
    /// stream ended, `Err` when the call failed (the stream's last item).
    pub(crate) fn poll_item(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Result<Option<Vec<u8>>, CallFailure>> {
        if self.finished {
            return Poll::Ready(Ok(None));
        }
        let next = lock(&self.conn.session).poll_stream(self.id, cx.waker());
        match next {
            Poll::Ready(StreamNext::Item(item, grant)) => {
                if let Some(n) = grant {
                    let _ = self
                        .conn
                        .send_control(credit_frame(Kind::StreamCredit, self.id, n));
                }
                Poll::Ready(Ok(Some(item)))
            }
            Poll::Ready(StreamNext::End(reply)) => {
                self.finished = true;
                Poll::Ready(match reply {
                    Some(Reply::Ok(_)) => Ok(None),
                    Some(Reply::Err(body)) => Err(CallFailure::Remote(body)),
                    None => Err(CallFailure::Connection(self.conn.closed_error())),
                })
            }
            Poll::Pending => Poll::Pending,
        }
    }

    /// The call's answer (for a call whose answer is one value).
    pub(crate) async fn answer(mut self) -> Result<Vec<u8>, CallFailure> {
        let conn = self.conn.clone();
        let id = self.id;
        let wait = poll_fn(|cx| lock(&conn.session).poll_answer(id, cx.waker()));
        let reply = match self.deadline {
            Some((at, limit)) => tokio::time::timeout_at(at, wait)
                .await
                .map_err(|_| CallFailure::Timeout(limit))?,
            None => wait.await,
        };
        self.finished = true;
        match reply {
            Some(Reply::Ok(body)) => Ok(body),
            Some(Reply::Err(body)) => Err(CallFailure::Remote(body)),
            None => Err(CallFailure::Connection(self.conn.closed_error())),
        }
    }

    /// When the call's deadline passes, and how long it was.
    pub(crate) fn deadline(&self) -> Option<(Instant, Duration)> {
        self.deadline
    }
}

impl Drop for OpenCall {
    fn drop(&mut self) {
        if let Some(sender) = self.sender.take() {
            sender.abort();
        }
        let was_waiting = lock(&self.conn.session).abandon(self.id);
        if was_waiting && !self.finished {
            let _ = self.conn.send_control(control_frame(Kind::Cancel, self.id));
        }
    }
}

// ---- the handler's side -----------------------------------------------

/// The call a handler serves, for the streams of that call.
#[derive(Clone)]
pub struct CallLink {
    pub(crate) conn: Arc<Connection>,
    pub(crate) id: u64,
}

impl std::fmt::Debug for CallLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallLink").field("id", &self.id).finish()
    }
}

/// The argument stream of a call being served: items as the caller sends
/// them, credit granted back as they are taken.
pub(crate) struct ArgItems {
    link: CallLink,
    done: bool,
}

impl CallLink {
    /// Opens the call's argument stream and grants the caller its window.
    pub(crate) fn open_args(&self) -> ArgItems {
        let window = self.conn.stream_window();
        lock(&self.conn.session).open_peers_streams(self.id, Some(window), false);
        let _ = self
            .conn
            .send_control(credit_frame(Kind::ArgCredit, self.id, window));
        ArgItems {
            link: self.clone(),
            done: false,
        }
    }

    /// Opens the call's answer stream: items wait for the caller's credit.
    pub(crate) fn open_answer(&self) -> AnswerSink {
        lock(&self.conn.session).open_peers_streams(self.id, None, true);
        AnswerSink { link: self.clone() }
    }
}

impl ArgItems {
    /// The next item's bytes; `Err` when the caller's source failed or the
    /// connection ended, `None` at the end.
    pub(crate) fn poll_item(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Vec<u8>, Error>>> {
        if self.done {
            return Poll::Ready(None);
        }
        let conn = &self.link.conn;
        let next = lock(&conn.session).poll_arg(self.link.id, cx.waker());
        match next {
            Poll::Ready(Some(Next::Item(item, grant))) => {
                if let Some(n) = grant {
                    let _ = conn.send_control(credit_frame(Kind::ArgCredit, self.link.id, n));
                }
                Poll::Ready(Some(Ok(item)))
            }
            Poll::Ready(Some(Next::End(InEnd::Done))) => {
                self.done = true;
                Poll::Ready(None)
            }
            Poll::Ready(Some(Next::End(InEnd::Failed(body)))) => {
                self.done = true;
                Poll::Ready(Some(Err(Error::Remote {
                    method: "the caller's argument stream".into(),
                    code: RemoteCode::from_wire(body.code),
                    message: body.message,
                    detail: body.detail,
                })))
            }
            Poll::Ready(None) => {
                self.done = true;
                Poll::Ready(Some(Err(Error::Closed {
                    peer: conn.peer().to_string(),
                    reason: "the call ended before its argument stream did (cancelled, or the \
                             connection closed)"
                        .into(),
                })))
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

impl ArgItems {
    /// The argument stream, typed: items decode as `T`.
    pub(crate) fn typed<T: Send + 'static>(
        self,
        what: String,
        decode: DecodeItem<T>,
    ) -> crate::Stream<T> {
        let mut items = self;
        let mut failed = false;
        crate::Stream::from_source(Box::pin(futures::stream::poll_fn(move |cx| {
            if failed {
                return Poll::Ready(None);
            }
            let next = std::task::ready!(items.poll_item(cx));
            Poll::Ready(next.map(|item| {
                item.and_then(|bytes| {
                    decode(bytes).map_err(|e| {
                        failed = true;
                        Error::codec(format!("an item of {what} does not decode"), e)
                    })
                })
            }))
        })))
    }
}

impl Drop for ArgItems {
    fn drop(&mut self) {
        lock(&self.link.conn.session).close_inbound(Whose::Peers, self.link.id);
    }
}

/// Where a handler's answer stream goes.
pub struct AnswerSink {
    link: CallLink,
}

impl AnswerSink {
    /// Sends every item of `items` as credit allows; the RESPONSE that
    /// ends the stream, or why it failed.
    pub(crate) async fn send_all<T: 'static>(
        self,
        mut items: crate::Stream<T>,
        encode: EncodeItem<T>,
    ) -> Result<FrameBuf, RemoteError> {
        let conn = &self.link.conn;
        match conn
            .pump(
                Whose::Peers,
                self.link.id,
                Kind::StreamItem,
                &mut items,
                encode,
            )
            .await
        {
            Ok(true) => Ok(FrameBuf::new(Kind::Response, 0)),
            // The caller stopped: its CANCEL also stops this handler.
            Ok(false) => Err(RemoteError::new(
                RemoteCode::Cancelled,
                "the caller stopped reading the stream",
            )),
            Err(message) => Err(RemoteError::new(
                RemoteCode::HandlerFailed,
                format!("stream: {message}"),
            )),
        }
    }
}

impl Drop for AnswerSink {
    fn drop(&mut self) {
        lock(&self.link.conn.session).close_outbound(Whose::Peers, self.link.id);
    }
}

/// Boxed item source, for [`crate::Stream`].
pub(crate) type ItemSource<T> = Pin<Box<dyn futures::Stream<Item = Result<T, Error>> + Send>>;
