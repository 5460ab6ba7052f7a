//! What a handler can ask about the call it is running.

use std::future::Future;
use std::time::{Duration, Instant};

tokio::task_local! {
    static DEADLINE: Option<Instant>;
}

/// Runs a handler with its call's deadline in scope.
pub(crate) fn with_deadline<F: Future>(
    deadline: Option<Instant>,
    handler: F,
) -> impl Future<Output = F::Output> {
    DEADLINE.scope(deadline, handler)
}

/// The deadline of the call the current handler serves: the caller stops
/// waiting then, and the handler is cancelled. `None` when the caller set no
/// deadline, or outside a handler.
pub fn deadline() -> Option<Instant> {
    DEADLINE.try_with(|d| *d).ok().flatten()
}

/// How long the current handler has left before its deadline, if it has one.
pub fn time_left() -> Option<Duration> {
    deadline().map(|d| d.saturating_duration_since(Instant::now()))
}
