//! One multiplexed connection, the same on both sides: a writer task that
//! batches frames, a reader task that routes them, a table of this side's
//! calls waiting for answers, and the handlers of the peer's calls.
//!
//! Frames are symmetric: either side may send requests (the plugin's
//! callbacks use the same path as the host's calls).

mod calls;
pub(crate) mod context;
mod dispatch;
mod io;
mod outbox;
mod panics;
mod room;

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::Waker;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{watch, Notify};
use tokio::task::AbortHandle;

pub(crate) use calls::CallFailure;
pub use dispatch::{Args, Dispatch, HandlerFuture, RemoteError};
pub use outbox::DEFAULT_OUTBOX_LIMIT;
pub(crate) use panics::record_panics;

use crate::wire::messages::{ContractRef, ErrorBody};
use crate::wire::{FrameHeader, Kind};
use crate::Error;

/// How a connection ended, as its reader or writer saw it.
#[derive(Debug, Clone)]
pub(crate) enum Ended {
    /// The peer closed the stream.
    Eof,
    /// The peer sent CLOSE.
    PeerClosed,
    /// This side closed it.
    LocalClose,
    /// A frame broke the rules, or the stream failed.
    Failed(Error),
}

/// The answer to one of this side's calls.
pub(crate) enum Reply {
    Ok(Vec<u8>),
    Err(ErrorBody),
}

/// One of this side's calls, waiting for its answer: what the reader fills
/// in and whom it wakes (no channel, so no allocation per call).
#[derive(Default)]
struct Waiter {
    reply: Option<Reply>,
    waker: Option<Waker>,
}

struct Calls {
    next_id: u64,
    /// Calls sent and not yet answered (or answered, and their caller has
    /// not taken the answer yet). An entry that disappears before its
    /// answer arrived was failed by [`Connection::fail_all`].
    pending: HashMap<u64, Waiter, BuildHasherDefault<IdHasher>>,
    /// Set once the connection is unusable; later calls fail with it.
    closed: Option<Error>,
    /// Set by a graceful shutdown: new calls fail with it, calls in flight go on.
    refusing: Option<Error>,
}

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

/// What a connection is started with, once the handshake is done.
pub(crate) struct Setup {
    /// Which end this process is.
    pub(crate) side: Side,
    /// The other side's name, for errors.
    pub(crate) peer: String,
    /// The largest frame either side may send.
    pub(crate) max_frame: u32,
    /// The unwritten bytes of this side's requests, and separately of its
    /// answers, that may wait for a peer that does not read
    /// (docs/WIRE.md, "Backpressure").
    pub(crate) outbox_limit: usize,
    /// Serves the peer's calls; `None` refuses them.
    pub(crate) dispatcher: Option<Arc<dyn Dispatch>>,
    /// The contracts the peer serves, in its handshake's order: a request's
    /// `contract` indexes this list.
    pub(crate) peer_contracts: Vec<ContractRef>,
}

/// A live connection. Cheap to share behind an `Arc`.
pub(crate) struct Connection {
    side: Side,
    peer: String,
    peer_contracts: Vec<ContractRef>,
    max_frame: u32,
    outbox: Arc<outbox::Outbox>,
    calls: Mutex<Calls>,
    /// Handlers of the peer's calls that are still running, by call id.
    handlers: Mutex<HashMap<u64, AbortHandle>>,
    handlers_idle: Notify,
    dispatcher: Option<Arc<dyn Dispatch>>,
    /// Set by SHUTDOWN: new requests are refused, running ones finish.
    draining: AtomicBool,
    /// Set once the connection ended or refuses new calls (one load for
    /// [`Connection::is_closed`], which a pool asks on every call).
    unusable: AtomicBool,
    /// Low-latency mode: microseconds to keep polling before sleeping (0: off).
    busy_poll_us: AtomicU64,
    shutdown_requested: Notify,
    ended: watch::Sender<Option<Ended>>,
    writer: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl Connection {
    /// Starts the reader and writer tasks on an already shaken-hands stream.
    pub(crate) fn start<S>(stream: S, setup: Setup) -> Arc<Connection>
    where
        S: AsyncRead + AsyncWrite + Clone + Send + Unpin + 'static,
    {
        let Setup {
            side,
            peer,
            max_frame,
            outbox_limit,
            dispatcher,
            peer_contracts,
        } = setup;
        let outbox = Arc::new(outbox::Outbox::new(outbox_limit));
        let conn = Arc::new(Connection {
            side,
            peer,
            peer_contracts,
            max_frame,
            outbox: outbox.clone(),
            calls: Mutex::new(Calls {
                next_id: 0,
                pending: HashMap::default(),
                closed: None,
                refusing: None,
            }),
            handlers: Mutex::new(HashMap::new()),
            handlers_idle: Notify::new(),
            dispatcher,
            draining: AtomicBool::new(false),
            unusable: AtomicBool::new(false),
            busy_poll_us: AtomicU64::new(0),
            shutdown_requested: Notify::new(),
            ended: watch::channel(None).0,
            writer: Mutex::new(None),
        });
        let writer = tokio::spawn(io::write_loop(
            stream.clone(),
            outbox,
            Arc::downgrade(&conn),
        ));
        *lock(&conn.writer) = Some(writer);
        tokio::spawn(io::read_loop(stream.clone(), stream, conn.clone()));
        conn
    }

    /// Low-latency mode: while waiting for an answer or for the peer's next
    /// frame, keep polling for up to `spin` before sleeping. `None` turns it off.
    pub(crate) fn set_busy_poll(&self, spin: Option<Duration>) {
        let us = spin.map_or(0, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX));
        self.busy_poll_us.store(us, Ordering::Relaxed);
    }

    /// How long to poll before sleeping, if busy polling is on.
    fn busy_poll(&self) -> Option<Duration> {
        match self.busy_poll_us.load(Ordering::Relaxed) {
            0 => None,
            us => Some(Duration::from_micros(us)),
        }
    }

    /// The other side's name, for errors.
    pub(crate) fn peer(&self) -> &str {
        &self.peer
    }

    /// The contracts the other side serves, in its handshake's order.
    pub(crate) fn peer_contracts(&self) -> &[ContractRef] {
        &self.peer_contracts
    }

    /// Waits until the reader or writer stops, and says why.
    pub(crate) async fn ended(&self) -> Ended {
        let mut rx = self.ended.subscribe();
        let ended = match rx.wait_for(Option::is_some).await {
            Ok(e) => e.clone().unwrap_or(Ended::LocalClose),
            Err(_) => Ended::LocalClose,
        };
        ended
    }

    /// Records the first reason the connection ended.
    fn set_ended(&self, why: Ended) {
        self.unusable.store(true, Ordering::Release);
        self.ended.send_if_modified(|slot| {
            if slot.is_none() {
                *slot = Some(why);
                true
            } else {
                false
            }
        });
    }

    /// Marks the connection unusable: every waiting call and every later one
    /// fails with `err`, and the handlers of the peer's calls are aborted.
    pub(crate) fn fail_all(&self, err: Error) {
        let mut wakers = Vec::new();
        {
            let mut calls = lock(&self.calls);
            if calls.closed.is_none() {
                calls.closed = Some(err);
            }
            self.unusable.store(true, Ordering::Release);
            // A call whose answer arrived keeps it: its caller has not
            // taken it yet, and an answer the peer sent is never lost.
            calls.pending.retain(|_, waiter| {
                if waiter.reply.is_some() {
                    return true;
                }
                wakers.extend(waiter.waker.take());
                false
            });
        }
        // Each waiting call wakes, finds its entry gone and reads `closed`.
        for waker in wakers {
            waker.wake();
        }
        // Callers waiting for room to send give up too.
        self.outbox.refuse_requests();
        for (_, handler) in lock(&self.handlers).drain() {
            handler.abort();
        }
        self.handlers_idle.notify_waiters();
    }

    /// Whether the connection ended or refuses new calls.
    pub(crate) fn is_closed(&self) -> bool {
        self.unusable.load(Ordering::Acquire)
    }

    /// This side's calls waiting for answers and the peer's calls running.
    fn calls_under_way(&self) -> usize {
        lock(&self.calls).pending.len() + lock(&self.handlers).len()
    }

    /// The error that closed the connection, or a generic one.
    fn closed_error(&self) -> Error {
        lock(&self.calls)
            .closed
            .clone()
            .unwrap_or_else(|| Error::Closed {
                peer: self.peer.clone(),
                reason: "the connection ended".into(),
            })
    }

    /// Sends CLOSE and stops the writer once the queue is written.
    pub(crate) fn close(&self) {
        self.outbox.close(Some(control_frame(Kind::Close, 0)));
        self.set_ended(Ended::LocalClose);
    }

    /// [`Connection::close`], then waits (up to `limit`) until every queued
    /// frame is written, so a process may exit right after.
    pub(crate) async fn close_and_flush(&self, limit: Duration) {
        self.close();
        let writer = lock(&self.writer).take();
        if let Some(writer) = writer {
            let _ = tokio::time::timeout(limit, writer).await;
        }
    }

    /// Refuses new calls from this side with `err`; calls in flight go on.
    pub(crate) fn refuse_new_calls(&self, err: Error) {
        let mut calls = lock(&self.calls);
        if calls.refusing.is_none() {
            calls.refusing = Some(err);
        }
        self.unusable.store(true, Ordering::Release);
    }

    /// Asks the peer to finish its calls in flight and close.
    pub(crate) fn send_shutdown(&self) -> Result<(), Error> {
        self.send_control(control_frame(Kind::Shutdown, 0))
    }

    /// Whether the peer asked this side to shut down.
    pub(crate) async fn shutdown_requested(&self) {
        if self.draining.load(Ordering::Acquire) {
            return;
        }
        let notified = self.shutdown_requested.notified();
        if self.draining.load(Ordering::Acquire) {
            return;
        }
        notified.await;
    }

    /// Waits until no handler of the peer's calls is running.
    pub(crate) async fn handlers_finished(&self) {
        loop {
            let notified = self.handlers_idle.notified();
            if lock(&self.handlers).is_empty() {
                return;
            }
            notified.await;
        }
    }

    /// Queues the answer to one of the peer's calls for the writer.
    fn send_answer(&self, frame: Vec<u8>) -> Result<(), Error> {
        self.outbox
            .push_answer(frame)
            .map_err(|_| self.closed_error())
    }

    /// Queues a control frame (CANCEL, SHUTDOWN) for the writer.
    fn send_control(&self, frame: Vec<u8>) -> Result<(), Error> {
        self.outbox
            .push_control(frame)
            .map_err(|_| self.closed_error())
    }

    /// Routes one frame read from the peer. An `Err` closes the connection.
    fn on_frame(
        self: &Arc<Self>,
        header: FrameHeader,
        body: Vec<u8>,
        batch: &mut dispatch::Batch,
    ) -> Result<(), Ended> {
        if header.kind.has_empty_body() && !body.is_empty() {
            return Err(self.protocol(format!(
                "a {} frame must have an empty body; this one has {} byte(s)",
                header.kind.name(),
                body.len()
            )));
        }
        if header.kind.has_id_zero() && header.id != 0 {
            return Err(self.protocol(format!(
                "a {} frame must carry id 0, not {}",
                header.kind.name(),
                header.id
            )));
        }
        match header.kind {
            Kind::Response => self.resolve(header.id, Reply::Ok(body)),
            Kind::Pong => self.resolve(header.id, Reply::Ok(Vec::new())),
            // An answer nobody waits for is dropped unread (docs/WIRE.md 4).
            Kind::Error if self.is_waiting(header.id) => {
                let err: ErrorBody = crate::wire::codec::decode(&body).map_err(|e| {
                    self.protocol(format!(
                        "error frame for call {} does not decode: {e}",
                        header.id
                    ))
                })?;
                self.resolve(header.id, Reply::Err(err));
            }
            Kind::Error => {}
            Kind::Request => self.on_request(header.id, body, batch)?,
            Kind::Cancel => {
                if let Some(handler) = lock(&self.handlers).remove(&header.id) {
                    handler.abort();
                }
                self.handlers_idle.notify_waiters();
            }
            Kind::Ping => {
                let _ = self.send_answer(control_frame(Kind::Pong, header.id));
            }
            Kind::Shutdown => {
                self.draining.store(true, Ordering::Release);
                self.shutdown_requested.notify_waiters();
            }
            Kind::Close => return Err(Ended::PeerClosed),
            Kind::Hello | Kind::Welcome | Kind::Refuse => {
                return Err(self.protocol(format!(
                    "unexpected {} frame after the handshake",
                    header.kind.name()
                )))
            }
            Kind::Event | Kind::StreamItem | Kind::StreamEnd => {
                return Err(self.protocol(format!(
                    "{} frames (kind 0x{:02x}) are reserved and not supported by protocol \
                     version 1",
                    header.kind.name(),
                    header.kind as u8
                )))
            }
        }
        Ok(())
    }

    fn protocol(&self, reason: String) -> Ended {
        Ended::Failed(Error::Protocol {
            peer: self.peer.clone(),
            reason,
        })
    }

    /// Whether call `id` waits for its answer.
    fn is_waiting(&self, id: u64) -> bool {
        lock(&self.calls)
            .pending
            .get(&id)
            .is_some_and(|waiter| waiter.reply.is_none())
    }

    /// Hands an answer to the call waiting for it. The first answer wins:
    /// a second one, or a late answer to a call that was cancelled or timed
    /// out, is dropped quietly.
    fn resolve(&self, id: u64, reply: Reply) {
        let waker = {
            let mut calls = lock(&self.calls);
            match calls.pending.get_mut(&id) {
                Some(waiter) if waiter.reply.is_none() => {
                    waiter.reply = Some(reply);
                    waiter.waker.take()
                }
                _ => None,
            }
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// Sends a ping and waits for the pong.
    pub(crate) async fn ping(&self, timeout: Duration) -> Result<(), CallFailure> {
        self.round_trip(control_frame(Kind::Ping, 0), Some(timeout))
            .await
            .map(|_| ())
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        // Nobody can send any more: the writer writes what is queued and stops.
        self.outbox.close(None);
    }
}

/// One turn of a busy-poll loop: let a process sharing this core run (the
/// peer may be it), then let the runtime poll the OS for I/O without
/// sleeping.
async fn spin_pause() {
    std::thread::yield_now();
    tokio::task::yield_now().await;
}

/// Hashes this side's call ids: sequential numbers that no peer chooses,
/// so a multiplicative hash spreads them well and costs one instruction.
#[derive(Default)]
struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        }
    }

    fn write_u64(&mut self, id: u64) {
        self.0 = id.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
}

/// A frame with an empty body.
fn control_frame(kind: Kind, id: u64) -> Vec<u8> {
    crate::wire::frame::FrameBuf::new(kind, id)
        .finish(u32::MAX)
        .unwrap_or_default()
}

/// Locks a mutex; a panic elsewhere while holding it does not poison ours,
/// since every critical section leaves the data consistent.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}
