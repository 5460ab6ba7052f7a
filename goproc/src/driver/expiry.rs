//! One timer per connection for the deadlines of this side's calls: the
//! session keeps them in line, and this task sleeps until the earliest,
//! then wakes the callers whose deadline passed (each then gives up as it
//! would on a timer of its own: CANCEL sent, a late answer dropped). A call
//! costs no timer of its own, which is most of what a deadline costs.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};

use tokio::sync::Notify;
use tokio::time::Instant;

use super::{lock, Connection};

/// What the timer task and the connection share.
#[derive(Default)]
pub(super) struct Expiry {
    /// A call came with a deadline earlier than the one the timer waits for.
    rearm: Notify,
    /// The connection is gone.
    stopped: AtomicBool,
}

impl Expiry {
    /// Has the timer look again at the earliest deadline.
    pub(super) fn rearm(&self) {
        self.rearm.notify_one();
    }

    /// Ends the timer task.
    pub(super) fn stop(&self) {
        self.stopped.store(true, Ordering::Release);
        self.rearm.notify_one();
    }
}

/// The timer task of `conn`: holds it only while expiring calls, so it
/// never keeps a connection alive.
pub(super) async fn expiry_loop(conn: Weak<Connection>, expiry: Arc<Expiry>) {
    let mut next: Option<Instant> = None;
    loop {
        // Created before the deadline is slept on: a `rearm` sent since
        // `next` was read is kept, not lost.
        let rearmed = expiry.rearm.notified();
        match next {
            Some(at) => {
                tokio::select! {
                    () = tokio::time::sleep_until(at) => {}
                    () = rearmed => {}
                }
            }
            None => rearmed.await,
        }
        if expiry.stopped.load(Ordering::Acquire) {
            return;
        }
        let Some(conn) = conn.upgrade() else {
            return;
        };
        let mut wakers = Vec::new();
        next = lock(&conn.session).expire(Instant::now(), &mut wakers);
        drop(conn);
        for waker in wakers {
            waker.wake();
        }
    }
}
