//! One instance of a pool: its state, its load, and the task that starts,
//! watches, health-checks and restarts it.

use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

use super::policy::Backoff;
use super::Shared;
use crate::driver::Connection;
use crate::metrics::Recorder;
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

impl State {
    fn tag(&self) -> u8 {
        match self {
            State::Idle => IDLE,
            State::Starting => STARTING,
            State::Ready(_) => READY,
            State::GaveUp(_) => GAVE_UP,
            State::Stopped => STOPPED,
        }
    }
}

/// [`Slot::tag`]: which [`State`] a slot is in, read without its lock.
pub(crate) const IDLE: u8 = 0;
pub(crate) const STARTING: u8 = 1;
pub(crate) const READY: u8 = 2;
pub(crate) const GAVE_UP: u8 = 3;
pub(crate) const STOPPED: u8 = 4;

/// Aligned so that one instance's load counter does not share a cache
/// line with its neighbour's: every call writes it twice.
#[repr(align(128))]
pub(crate) struct Slot {
    pub(crate) index: usize,
    pub(crate) in_flight: AtomicUsize,
    /// The kind of `state`, kept beside it (written under its lock) so a
    /// pick can scan every instance without taking a lock.
    tag: AtomicU8,
    /// The calls sent to this instance, across its restarts.
    pub(crate) metrics: Recorder,
    state: Mutex<State>,
}

/// The lock on a slot's state; keeps the slot's tag in step on a change.
pub(crate) struct StateGuard<'a> {
    state: MutexGuard<'a, State>,
    tag: &'a AtomicU8,
    written: bool,
}

impl Deref for StateGuard<'_> {
    type Target = State;
    fn deref(&self) -> &State {
        &self.state
    }
}

impl DerefMut for StateGuard<'_> {
    fn deref_mut(&mut self) -> &mut State {
        self.written = true;
        &mut self.state
    }
}

impl Drop for StateGuard<'_> {
    fn drop(&mut self) {
        if self.written {
            self.tag.store(self.state.tag(), Ordering::Release);
        }
    }
}

impl Slot {
    pub(crate) fn new(index: usize, metrics: Recorder) -> Self {
        Slot {
            index,
            in_flight: AtomicUsize::new(0),
            tag: AtomicU8::new(IDLE),
            metrics,
            state: Mutex::new(State::Idle),
        }
    }

    pub(crate) fn state(&self) -> StateGuard<'_> {
        StateGuard {
            state: self.state.lock().unwrap_or_else(|p| p.into_inner()),
            tag: &self.tag,
            written: false,
        }
    }

    /// The kind of state the slot is in ([`READY`] and so on), without
    /// its lock: a hint, to be confirmed under [`Slot::state`].
    pub(crate) fn tag(&self) -> u8 {
        self.tag.load(Ordering::Acquire)
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
                            pool.slots[index].metrics.running(plugin.pid());
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
                pool.slots[index].metrics.restarting();
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
