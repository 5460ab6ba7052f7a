//! The budget of unwritten request bytes: a request takes room before it is
//! queued and gives it back once written (or withdrawn); when the room is
//! spent, callers wait. Atomics on the path every call takes, a `Notify`
//! only for callers that wait.

use std::pin::pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use tokio::sync::Notify;

/// Why no room will come.
#[derive(Debug)]
pub(super) struct Closed;

pub(super) struct RequestRoom {
    limit: usize,
    /// Bytes held by requests queued or being written.
    held: AtomicUsize,
    /// Callers waiting for room.
    waiting: AtomicUsize,
    freed: Notify,
    closed: AtomicBool,
}

/// Room taken for one request; given back when dropped, unless kept.
pub(super) struct Room<'a> {
    budget: &'a RequestRoom,
    bytes: usize,
}

impl Room<'_> {
    /// Hands the room to the queue, which gives it back (with
    /// [`RequestRoom::give_back`]) once the request is written; returns its
    /// size.
    pub(super) fn keep(self) -> usize {
        let bytes = self.bytes;
        std::mem::forget(self);
        bytes
    }
}

impl Drop for Room<'_> {
    fn drop(&mut self) {
        self.budget.give_back(self.bytes);
    }
}

impl RequestRoom {
    pub(super) fn new(limit: usize) -> Self {
        RequestRoom {
            limit: limit.max(1),
            held: AtomicUsize::new(0),
            waiting: AtomicUsize::new(0),
            freed: Notify::new(),
            closed: AtomicBool::new(false),
        }
    }

    /// The room a request frame of `len` bytes takes: its size, or the whole
    /// budget for a larger one (which then waits until nothing else is
    /// unwritten).
    pub(super) fn size_of(&self, len: usize) -> usize {
        len.min(self.limit)
    }

    /// Room for a request of `len` bytes, if there is some now.
    pub(super) fn try_take(&self, len: usize) -> Option<Room<'_>> {
        let bytes = self.size_of(len);
        // Sequentially consistent throughout: a caller that registers as
        // waiting and then finds no room, and a writer that gives room back
        // and then finds no one waiting, cannot both miss each other.
        let mut held = self.held.load(Ordering::SeqCst);
        loop {
            if held != 0 && held + bytes > self.limit {
                return None;
            }
            match self.held.compare_exchange_weak(
                held,
                held + bytes,
                Ordering::SeqCst,
                Ordering::SeqCst,
            ) {
                Ok(_) => {
                    return Some(Room {
                        budget: self,
                        bytes,
                    })
                }
                Err(now) => held = now,
            }
        }
    }

    /// Waits for room for a request of `len` bytes.
    pub(super) async fn take(&self, len: usize) -> Result<Room<'_>, Closed> {
        let _waiting = Waiting::register(self);
        loop {
            let mut freed = pin!(self.freed.notified());
            freed.as_mut().enable();
            if self.closed.load(Ordering::Acquire) {
                return Err(Closed);
            }
            if let Some(room) = self.try_take(len) {
                return Ok(room);
            }
            freed.await;
        }
    }

    /// Returns `bytes` of room (a request was written, withdrawn or never
    /// queued).
    pub(super) fn give_back(&self, bytes: usize) {
        if bytes == 0 {
            return;
        }
        self.held.fetch_sub(bytes, Ordering::SeqCst);
        if self.waiting.load(Ordering::SeqCst) > 0 {
            self.freed.notify_waiters();
        }
    }

    /// No more room, ever: waiting callers and later ones are refused.
    pub(super) fn close(&self) {
        self.closed.store(true, Ordering::Release);
        self.freed.notify_waiters();
    }
}

/// Counts a waiting caller for as long as it waits (dropped futures too).
struct Waiting<'a>(&'a RequestRoom);

impl<'a> Waiting<'a> {
    fn register(room: &'a RequestRoom) -> Self {
        room.waiting.fetch_add(1, Ordering::SeqCst);
        Waiting(room)
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.waiting.fetch_sub(1, Ordering::SeqCst);
    }
}
