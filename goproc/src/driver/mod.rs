//! The driver: the one place that touches a connection's socket. It runs
//! the [`Session`] (the protocol, without I/O) between a reader task that
//! feeds it frames and a writer task that sends what it produces, and does
//! everything done for speed: batching frames into one write, the outbox,
//! the first poll of a handler on the reader, busy-polling. Host and plugin
//! run the same driver; they differ only at start-up.

pub(crate) mod bus_link;
mod busy_poll;
mod calls;
pub(crate) mod context;
mod expiry;
mod io;
mod outbox;
mod panics;
mod room;
mod serve;
mod streams;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::{watch, Notify};
use tokio::task::AbortHandle;

pub(crate) use calls::CallFailure;
pub use outbox::DEFAULT_OUTBOX_LIMIT;
pub(crate) use outbox::LARGE_FRAME;
pub(crate) use panics::record_panics;
pub use serve::{Args, Dispatch, HandlerFuture, RemoteError};
pub use streams::{AnswerSink, CallLink, DecodeItem, EncodeItem, DEFAULT_STREAM_WINDOW};
pub(crate) use streams::{ItemSource, OpenCall, StreamCall};

pub(crate) use crate::session::Side;
use crate::session::{End, Incoming, Session};
use crate::transport::Split;
use crate::wire::frame::control_frame;
use crate::wire::messages::ContractRef;
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
    /// The protocol version the handshake chose.
    pub(crate) protocol: u32,
    /// The credit window this side grants the streams it receives.
    pub(crate) stream_window: u32,
    /// The contracts the peer serves, in its handshake's order: a request's
    /// `contract` indexes this list.
    pub(crate) peer_contracts: Vec<ContractRef>,
}

/// A live connection. Cheap to share behind an `Arc`.
pub(crate) struct Connection {
    peer: String,
    peer_contracts: Vec<ContractRef>,
    max_frame: u32,
    stream_window: u32,
    outbox: Arc<outbox::Outbox>,
    /// The protocol state: calls in flight both ways, drain, closing.
    session: Mutex<Session<AbortHandle>>,
    /// The timer of this side's calls' deadlines.
    expiry: Arc<expiry::Expiry>,
    handlers_idle: Notify,
    dispatcher: Option<Arc<dyn Dispatch>>,
    /// Set once the connection ended or refuses new calls (one load for
    /// [`Connection::is_closed`], which a pool asks on every call).
    unusable: AtomicBool,
    /// Low-latency mode: microseconds to keep polling before sleeping (0: off).
    busy_poll_us: AtomicU64,
    shutdown_requested: Notify,
    ended: watch::Sender<Option<Ended>>,
    writer: Mutex<Option<tokio::task::JoinHandle<()>>>,
    /// On a host: the plugin's place on the host's bus, once joined.
    bus_member: std::sync::OnceLock<std::sync::Weak<crate::events::Member>>,
}

impl Connection {
    /// Starts the reader and writer tasks on an already shaken-hands stream.
    pub(crate) fn start(stream: impl Split, setup: Setup) -> Arc<Connection> {
        let Setup {
            side,
            peer,
            max_frame,
            outbox_limit,
            dispatcher,
            protocol,
            stream_window,
            peer_contracts,
        } = setup;
        let outbox = Arc::new(outbox::Outbox::new(outbox_limit));
        let peer_name = peer.clone();
        let conn = Arc::new(Connection {
            peer,
            peer_contracts,
            max_frame,
            stream_window: stream_window.max(1),
            outbox: outbox.clone(),
            session: Mutex::new(Session::new(
                side,
                peer_name,
                max_frame,
                protocol,
                dispatcher.is_some(),
            )),
            expiry: Arc::default(),
            handlers_idle: Notify::new(),
            dispatcher,
            unusable: AtomicBool::new(false),
            busy_poll_us: AtomicU64::new(0),
            shutdown_requested: Notify::new(),
            ended: watch::channel(None).0,
            writer: Mutex::new(None),
            bus_member: std::sync::OnceLock::new(),
        });
        let (reader, writer) = stream.split();
        let writer_task = tokio::spawn(io::write_loop(
            writer.clone(),
            outbox,
            Arc::downgrade(&conn),
        ));
        *lock(&conn.writer) = Some(writer_task);
        tokio::spawn(expiry::expiry_loop(
            Arc::downgrade(&conn),
            conn.expiry.clone(),
        ));
        tokio::spawn(io::read_loop(reader, writer, conn.clone()));
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
        let failed = {
            let mut session = lock(&self.session);
            self.unusable.store(true, Ordering::Release);
            session.fail_all(err)
        };
        // Each waiting call wakes, finds its entry gone and reads the error.
        for waker in failed.wakers {
            waker.wake();
        }
        // Callers waiting for room to send give up too.
        self.outbox.refuse_requests();
        for handler in failed.handlers {
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
        lock(&self.session).calls_under_way()
    }

    /// The error that closed the connection, or a generic one.
    fn closed_error(&self) -> Error {
        lock(&self.session).closed_error()
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
        lock(&self.session).refuse_new_calls(err);
        self.unusable.store(true, Ordering::Release);
    }

    /// Asks the peer to finish its calls in flight and close.
    pub(crate) fn send_shutdown(&self) -> Result<(), Error> {
        self.send_control(control_frame(Kind::Shutdown, 0))
    }

    /// Whether the peer asked this side to shut down.
    pub(crate) async fn shutdown_requested(&self) {
        let notified = self.shutdown_requested.notified();
        if lock(&self.session).is_draining() {
            return;
        }
        notified.await;
    }

    /// Waits until no handler of the peer's calls is running.
    pub(crate) async fn handlers_finished(&self) {
        loop {
            let notified = self.handlers_idle.notified();
            if lock(&self.session).handlers_running() == 0 {
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

    /// Queues an answer given as its first bytes and a tail (empty, or
    /// large and sent from its own buffer).
    fn send_answer_parts(&self, frame: Vec<u8>, tail: Vec<u8>) -> Result<(), Error> {
        if tail.is_empty() {
            return self.send_answer(frame);
        }
        self.outbox
            .push_answer_parts(frame, tail)
            .map_err(|_| self.closed_error())
    }

    /// Queues a control frame (CANCEL, SHUTDOWN) for the writer.
    fn send_control(&self, frame: Vec<u8>) -> Result<(), Error> {
        self.outbox
            .push_control(frame)
            .map_err(|_| self.closed_error())
    }

    /// Routes one frame read from the peer through the session, and does
    /// what it says. An `Err` closes the connection.
    fn on_frame(
        self: &Arc<Self>,
        header: FrameHeader,
        body: Vec<u8>,
        turn: &mut serve::ReadTurn,
    ) -> Result<(), Ended> {
        let incoming = lock(&self.session).receive(header, body);
        match incoming {
            Ok(Incoming::Wake(waker)) => {
                if let Some(waker) = waker {
                    waker.wake();
                }
            }
            Ok(Incoming::Serve(request)) => self.serve(request, turn),
            Ok(Incoming::Answer(frame)) => {
                let _ = self.send_answer(frame);
            }
            Ok(Incoming::Stop(handler)) => {
                if let Some(handler) = handler {
                    handler.abort();
                }
                self.handlers_idle.notify_waiters();
            }
            Ok(Incoming::ShutdownRequested) => self.shutdown_requested.notify_waiters(),
            Ok(
                event @ (Incoming::Publish(..)
                | Incoming::Subscribe(..)
                | Incoming::Unsubscribe(..)
                | Incoming::Deliver(..)),
            ) => self.on_event(event),
            Err(End::PeerClosed) => return Err(Ended::PeerClosed),
            Err(End::Broken(err)) => return Err(Ended::Failed(err)),
        }
        Ok(())
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
        self.expiry.stop();
    }
}

/// Locks a mutex; a panic elsewhere while holding it does not poison ours,
/// since every critical section leaves the data consistent.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}
