//! What a handler can ask about the call it serves: its deadline, and the
//! connection it came in on (so it can call the other side back). Set for
//! every handler, on either side, by the connection that runs it.

use std::future::Future;
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use super::Connection;

tokio::task_local! {
    static CALL: CallScope;
}

/// The call a handler serves.
#[derive(Clone)]
pub(crate) struct CallScope {
    /// When the caller stops waiting, if it set a deadline.
    pub(crate) deadline: Option<Instant>,
    /// The connection the call came in on.
    pub(crate) conn: Arc<Connection>,
}

/// Runs a handler with its call in scope.
pub(crate) fn scope<F: Future>(call: CallScope, handler: F) -> impl Future<Output = F::Output> {
    CALL.scope(call, handler)
}

/// In a plugin process, the connection to its host once it is up: what a
/// task outside any handler calls the host through.
static HOST: Mutex<Weak<Connection>> = Mutex::new(Weak::new());

/// Records this plugin process's connection to its host.
pub(crate) fn set_host_connection(conn: &Arc<Connection>) {
    *HOST.lock().unwrap_or_else(|p| p.into_inner()) = Arc::downgrade(conn);
}

/// This process's connection to its host, if it is a plugin that serves.
pub(crate) fn host_connection() -> Option<Arc<Connection>> {
    HOST.lock().unwrap_or_else(|p| p.into_inner()).upgrade()
}

/// The connection of the call the current task serves, if it serves one.
pub(crate) fn current_connection() -> Option<Arc<Connection>> {
    CALL.try_with(|call| call.conn.clone()).ok()
}

/// The deadline of the call the current handler serves: the caller stops
/// waiting then, and the handler is cancelled. `None` when the caller set no
/// deadline, or outside a handler.
pub fn deadline() -> Option<Instant> {
    CALL.try_with(|call| call.deadline).ok().flatten()
}

/// How long the current handler has left before its deadline, if it has one.
pub fn time_left() -> Option<Duration> {
    deadline().map(|d| d.saturating_duration_since(Instant::now()))
}
