//! One instance of a pool: its state, its load, and the task that starts,
//! watches, health-checks and restarts it.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

use super::policy::Backoff;
use super::Shared;
use crate::driver::Connection;
use crate::{Error, Plugin};

/// A started instance, as callers see it.
pub(crate) struct Ready {
    pub(crate) plugin: Plugin,
    pub(crate) conn: Arc<Connection>,
    /// The contract index of each of the pool's contracts on this instance.
    pub(crate) contract_indexes: Vec<u32>,
}

pub(crate) enum State {
    /// Not started yet (a lazy pool).
    Idle,
    /// Starting, or waiting to restart.
    Starting,
    Ready(Arc<Ready>),
    /// The restart limit was reached; the instance stays down.
    GaveUp(Error),
    /// The pool is shutting down.
    Stopped,
}

pub(crate) struct Slot {
    pub(crate) index: usize,
    pub(crate) in_flight: AtomicUsize,
    state: Mutex<State>,
}

impl Slot {
    pub(crate) fn new(index: usize) -> Self {
        Slot {
            index,
            in_flight: AtomicUsize::new(0),
            state: Mutex::new(State::Idle),
        }
    }

    pub(crate) fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Takes one of the instance's call permits, if it has one free.
    pub(crate) fn try_acquire(&self, max: usize) -> bool {
        self.in_flight
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < max).then_some(n + 1)
            })
            .is_ok()
    }

    pub(crate) fn release(&self) {
        self.in_flight.fetch_sub(1, Ordering::AcqRel);
    }

    /// Moves an idle slot to starting; `true` if this call did it.
    pub(crate) fn claim_start(&self) -> bool {
        let mut state = self.state();
        if matches!(*state, State::Idle) {
            *state = State::Starting;
            true
        } else {
            false
        }
    }
}

/// Starts the instance and keeps it running until the pool goes away.
pub(crate) async fn run(shared: Weak<Shared>, index: usize) {
    let Some(policy) = shared.upgrade().map(|s| s.restart) else {
        return;
    };
    let mut backoff = Backoff::new(policy);
    let mut first_start = true;
    loop {
        let Some(pool) = shared.upgrade() else {
            return;
        };
        let mut stop = pool.stop.subscribe();
        if *stop.borrow_and_update() {
            return;
        }
        let builder = pool.builder.clone();
        let contracts = pool.contracts.clone();
        let health = pool.health;
        drop(pool);

        let started = Instant::now();
        let outcome = tokio::select! {
            spawned = builder.clone().spawn() => spawned,
            _ = stop.changed() => return,
        };
        let last_error = match outcome {
            Ok(plugin) => {
                let contract_indexes = contracts
                    .iter()
                    .map(|c| plugin.contract_index(c))
                    .collect::<Result<Vec<u32>, Error>>();
                match contract_indexes {
                    Ok(contract_indexes) => {
                        let ready = Arc::new(Ready {
                            conn: plugin.connection(),
                            plugin: plugin.clone(),
                            contract_indexes,
                        });
                        let Some(pool) = shared.upgrade() else {
                            return;
                        };
                        {
                            let mut state = pool.slots[index].state();
                            if matches!(*state, State::Stopped) {
                                return;
                            }
                            *state = State::Ready(ready);
                        }
                        pool.changed.notify_waiters();
                        drop(pool);
                        let ended = tokio::select! {
                            err = plugin.exited() => err,
                            err = failing_health(&plugin, health) => {
                                plugin.kill();
                                let _ = plugin.exited().await;
                                err
                            }
                            _ = stop.changed() => return,
                        };
                        tracing::warn!(
                            target: "goproc::pool",
                            plugin = plugin.name(),
                            pid = plugin.pid(),
                            instance = index,
                            "instance ended: {ended}"
                        );
                        ended
                    }
                    Err(e) => e,
                }
            }
            Err(e) if first_start => {
                if let Some(pool) = shared.upgrade() {
                    *pool.slots[index].state() = State::GaveUp(e);
                    pool.changed.notify_waiters();
                }
                return;
            }
            Err(e) => e,
        };
        first_start = false;

        let Some(pool) = shared.upgrade() else {
            return;
        };
        match backoff.after_exit(started.elapsed(), Instant::now()) {
            Some(wait) => {
                {
                    let mut state = pool.slots[index].state();
                    if matches!(*state, State::Stopped) {
                        return;
                    }
                    *state = State::Starting;
                }
                pool.restarts.fetch_add(1, Ordering::Relaxed);
                drop(pool);
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    _ = stop.changed() => return,
                }
            }
            None => {
                let err = Error::RestartLimit {
                    plugin: builder.display_name(),
                    instance: index,
                    restarts: policy.max_restarts,
                    window: policy.window,
                    last: Box::new(last_error),
                };
                tracing::error!(target: "goproc::pool", instance = index, "{err}");
                *pool.slots[index].state() = State::GaveUp(err);
                pool.changed.notify_waiters();
                return;
            }
        }
    }
}

/// Resolves when a ping fails; never when health checks are off.
async fn failing_health(plugin: &Plugin, health: Option<(Duration, Duration)>) -> Error {
    let Some((interval, timeout)) = health else {
        return std::future::pending().await;
    };
    loop {
        tokio::time::sleep(interval).await;
        if let Err(e) = plugin.ping(timeout).await {
            tracing::warn!(
                target: "goproc::pool",
                plugin = plugin.name(),
                pid = plugin.pid(),
                "health check failed, replacing the instance: {e}"
            );
            return e;
        }
    }
}
