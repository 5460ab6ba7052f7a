//! Serving the peer's calls: for a request the session passed on, find the
//! handler, run its first step on the reader (most answer at once) or as
//! its own task, and answer with RESPONSE or ERROR.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use futures::FutureExt;

use super::{lock, Connection};
use crate::session::{error_frame_with_detail, Request};
use crate::wire::frame::{set_id, FrameBuf};
use crate::RemoteCode;

/// What a handler produces: the RESPONSE frame (its id is filled in later)
/// or a failure to report in an ERROR frame.
pub type HandlerFuture = Pin<Box<dyn Future<Output = Result<FrameBuf, RemoteError>> + Send>>;

/// The encoded arguments of one call. They are handed over with the
/// request's buffer, so a trailing `Vec<u8>` argument can take that buffer
/// instead of being copied out of it.
pub struct Args {
    body: Vec<u8>,
    at: usize,
    /// The call these arguments came with, for its streams.
    link: Option<super::CallLink>,
}

impl Args {
    /// Arguments that start at byte `at` of `body`.
    ///
    /// # Panics
    ///
    /// If `at` is past the end of `body`.
    pub fn new(body: Vec<u8>, at: usize) -> Self {
        assert!(at <= body.len(), "arguments start past the end of the body");
        Args {
            body,
            at,
            link: None,
        }
    }

    /// The call these arguments came with (`None` for arguments made by
    /// hand): what a stream method's handler sends and reads its streams on.
    pub fn link(&self) -> Option<&super::CallLink> {
        self.link.as_ref()
    }

    /// The encoded arguments.
    pub fn bytes(&self) -> &[u8] {
        &self.body[self.at..]
    }

    /// The length of the whole request body (head and arguments): the
    /// item budget of docs/WIRE.md section 3.1.
    pub fn body_len(&self) -> usize {
        self.body.len()
    }

    /// The request's buffer, and where the arguments start in it.
    pub fn into_parts(self) -> (Vec<u8>, usize) {
        (self.body, self.at)
    }
}

impl From<Vec<u8>> for Args {
    /// Arguments that fill `body`.
    fn from(body: Vec<u8>) -> Self {
        Args::new(body, 0)
    }
}

/// Routes a request to a handler: the contracts one side serves.
pub trait Dispatch: Send + Sync + 'static {
    /// Starts the handler for `method` of contract number `contract`, with the
    /// encoded arguments; fails at once if either is unknown or the
    /// arguments do not decode.
    fn dispatch(
        &self,
        contract: u32,
        method: u32,
        args: Args,
    ) -> Result<HandlerFuture, RemoteError>;
}

/// A failure reported to the caller in an ERROR frame.
#[derive(Debug, Clone)]
pub struct RemoteError {
    /// What kind of failure.
    pub code: RemoteCode,
    /// One line for a person.
    pub message: String,
    /// A backtrace or other detail; may be empty.
    pub detail: String,
}

impl RemoteError {
    /// A failure with no detail.
    pub fn new(code: RemoteCode, message: impl Into<String>) -> Self {
        RemoteError {
            code,
            message: message.into(),
            detail: String::new(),
        }
    }

    fn into_frame(self, id: u64, max_frame: u32) -> Vec<u8> {
        error_frame_with_detail(id, self.code, self.message, self.detail, max_frame)
    }
}

/// How long the handlers started by one read turn may run inline, on the
/// reader, before the rest of the turn's handlers are spawned as tasks (so
/// a slow handler delays the frames behind it by at most about this much).
const INLINE_BUDGET: Duration = Duration::from_micros(200);

/// The clock is read once every this many inline handlers.
const INLINE_CHECK_EVERY: u32 = 4;

/// The reader's state for the frames of one read (a turn): the answers
/// ready to send, and how long the turn's handlers have run inline.
#[derive(Default)]
pub(super) struct ReadTurn {
    /// Finished answers, written with one send when the turn ends.
    pub(super) out: Vec<u8>,
    started: Option<Instant>,
    handled: u32,
    over_budget: bool,
}

impl ReadTurn {
    /// Hands the answers gathered so far (if any) to `send`, and starts a
    /// new turn.
    pub(super) fn flush(&mut self, send: impl FnOnce(&[u8])) {
        if !self.out.is_empty() {
            send(&self.out);
            self.out.clear();
        }
        self.started = None;
        self.handled = 0;
        self.over_budget = false;
    }

    /// When the turn's first handler started: every frame of the turn had
    /// been read by then. (Set by [`ReadTurn::may_inline`].)
    fn started_at(&mut self) -> Instant {
        *self.started.get_or_insert_with(Instant::now)
    }

    /// Whether the next handler may run its first step inline.
    fn may_inline(&mut self) -> bool {
        if self.handled % INLINE_CHECK_EVERY == 0 {
            match self.started {
                Some(started) => self.over_budget = started.elapsed() >= INLINE_BUDGET,
                None => self.started = Some(Instant::now()),
            }
        }
        self.handled += 1;
        !self.over_budget
    }
}

impl Connection {
    /// Starts the handler of the peer's call `id` (the session checked the
    /// frame), or answers at once why not.
    pub(super) fn serve(self: &Arc<Self>, request: Request, turn: &mut ReadTurn) {
        let Request {
            id,
            head,
            deadline,
            body,
            args_at,
        } = request;
        let max_frame = self.max_frame;
        // The session refuses requests when nothing is served.
        let Some(dispatcher) = &self.dispatcher else {
            return;
        };
        let mut args = Args::new(body, args_at);
        args.link = Some(super::CallLink {
            conn: self.clone(),
            id,
        });
        let mut handler = match dispatcher.dispatch(head.contract, head.method, args) {
            Ok(h) => h,
            Err(e) => {
                let _ = self.send_answer(e.into_frame(id, max_frame));
                return;
            }
        };

        // Most handlers answer without waiting: run the first step here,
        // and save a task, a wake-up and a hand-off to the writer per call,
        // and the deadline's timer, which a handler that answers at once
        // never needs (a timer, too, lets the handler finish a step it has
        // begun). Polling with a no-op waker is sound: a handler still
        // pending is polled again (with its task's waker) as soon as it is
        // spawned.
        let inline = turn.may_inline();
        // Counted from when the turn started: its frames had all been read.
        let deadline_at = deadline.map(|d| turn.started_at() + d);
        if inline {
            let call = super::context::CallScope {
                deadline: deadline_at,
                conn: self.clone(),
            };
            let mut cx = Context::from_waker(Waker::noop());
            let first = super::context::sync_scope(call, || {
                std::panic::catch_unwind(AssertUnwindSafe(|| handler.as_mut().poll(&mut cx)))
            });
            let outcome = match first {
                Ok(Poll::Pending) => None,
                Ok(Poll::Ready(answer)) => Some(Some(Ok(answer))),
                Err(panic) => Some(Some(Err(panic))),
            };
            if let Some(outcome) = outcome {
                let (frame, tail) = answer_frame(id, outcome, max_frame);
                if frame.len() + tail.len() >= super::outbox::LARGE_FRAME {
                    // Not worth a copy into the turn's answers: send it as it is.
                    self.send_turn(turn);
                    let _ = self.send_answer_parts(frame, tail);
                } else {
                    turn.out.extend_from_slice(&frame);
                    turn.out.extend_from_slice(&tail);
                }
                return;
            }
        }

        // The handler waits: a timer on the runtime's clock (which tests
        // may pause) enforces its deadline.
        let expires = deadline_at
            .map(|at| tokio::time::Instant::now() + at.saturating_duration_since(Instant::now()));
        let call = super::context::CallScope {
            deadline: deadline_at,
            conn: self.clone(),
        };
        let handler = super::context::scope(call, handler);
        let conn = self.clone();
        let mut session = lock(&self.session);
        let task = tokio::spawn(async move {
            let run = AssertUnwindSafe(handler).catch_unwind();
            let outcome = match expires {
                Some(at) => tokio::time::timeout_at(at, run).await.ok(),
                None => Some(run.await),
            };
            let (frame, tail) = answer_frame(id, outcome, max_frame);
            // Under the session's lock: a CANCEL arriving now finds nothing,
            // and a shutdown that waits for no handler to run (then closes
            // the outbox) cannot close it between the removal and the answer.
            {
                let mut session = lock(&conn.session);
                if session.served(id) {
                    let _ = conn.send_answer_parts(frame, tail);
                }
            }
            conn.handlers_idle.notify_waiters();
        });
        // Recorded under the same lock the task takes to remove itself, so
        // the entry cannot outlive the task.
        session.serving(id, task.abort_handle());
    }
}

/// What a handler ended with: its answer, or its panic; `None` when its
/// deadline passed first.
type Outcome = Option<std::thread::Result<Result<FrameBuf, RemoteError>>>;

/// The answer frame of call `id`, and its large tail if it has one.
fn answer_frame(id: u64, outcome: Outcome, max_frame: u32) -> (Vec<u8>, Vec<u8>) {
    let frame = match outcome {
        Some(Ok(Ok(frame))) => match frame.finish_parts(max_frame) {
            Ok((mut f, tail)) => {
                set_id(&mut f, id);
                return (f, tail);
            }
            Err(e) => RemoteError::new(
                RemoteCode::HandlerFailed,
                format!(
                    "the answer is {} bytes, more than the maximum frame size {}",
                    e.length, e.max
                ),
            )
            .into_frame(id, max_frame),
        },
        Some(Ok(Err(err))) => err.into_frame(id, max_frame),
        Some(Err(panic)) => {
            let (message, detail) = super::panics::report(&*panic);
            RemoteError {
                code: RemoteCode::HandlerFailed,
                message,
                detail,
            }
            .into_frame(id, max_frame)
        }
        None => RemoteError::new(
            RemoteCode::DeadlineExceeded,
            "the handler did not finish before the call's deadline",
        )
        .into_frame(id, max_frame),
    };
    (frame, Vec::new())
}
