//! What a handler can ask about the call it serves: its deadline, and the
//! connection it came in on (so it can call the other side back). Set for
//! every handler, on either side, by the connection that runs it.

use std::future::Future;
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::{Duration, Instant};

use tokio::sync::Notify;

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

/// Runs `f` (a handler's first step) with its call in scope.
pub(crate) fn sync_scope<R>(call: CallScope, f: impl FnOnce() -> R) -> R {
    CALL.sync_scope(call, f)
}

/// In a plugin process, its way to its host: what a task outside any
/// handler calls the host through.
enum HostLink {
    /// `serve` has not started: this process is no plugin (yet).
    NotServing,
    /// `serve` is connecting: calls wait for it.
    Connecting,
    /// Connected.
    Connected(Weak<Connection>),
    /// The connection failed to start, or ended.
    Ended,
}

static HOST: Mutex<HostLink> = Mutex::new(HostLink::NotServing);

/// Woken when the host link leaves `Connecting`.
fn host_settled() -> &'static Notify {
    static SETTLED: OnceLock<Notify> = OnceLock::new();
    SETTLED.get_or_init(Notify::new)
}

fn set_host_link(link: HostLink) {
    *HOST.lock().unwrap_or_else(|p| p.into_inner()) = link;
    host_settled().notify_waiters();
}

/// This plugin process starts connecting to its host.
pub(crate) fn host_connecting() {
    set_host_link(HostLink::Connecting);
}

/// Records this plugin process's connection to its host.
pub(crate) fn set_host_connection(conn: &Arc<Connection>) {
    set_host_link(HostLink::Connected(Arc::downgrade(conn)));
}

/// This plugin process's connection to its host failed to start, or ended.
pub(crate) fn host_ended() {
    set_host_link(HostLink::Ended);
    super::bus_link::host_connection_ended();
}

/// Where this process stands with its host, if it is a plugin.
pub(crate) enum HostNow {
    /// Connected: call through this.
    Connected(Arc<Connection>),
    /// Connecting: [`wait_for_host`] says when it is done.
    Connecting,
    /// No host to call.
    None,
}

/// This process's connection to its host, now.
pub(crate) fn host_now() -> HostNow {
    match &*HOST.lock().unwrap_or_else(|p| p.into_inner()) {
        HostLink::Connected(conn) => conn.upgrade().map_or(HostNow::None, HostNow::Connected),
        HostLink::Connecting => HostNow::Connecting,
        HostLink::NotServing | HostLink::Ended => HostNow::None,
    }
}

/// Waits while this plugin process connects to its host; `None` when there
/// is no host to call (the handshake failed, or the connection ended).
pub(crate) async fn wait_for_host() -> Option<Arc<Connection>> {
    loop {
        let settled = host_settled().notified();
        match host_now() {
            HostNow::Connected(conn) => return Some(conn),
            HostNow::None => return None,
            HostNow::Connecting => settled.await,
        }
    }
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
