//! One registered plugin: its manifest, its state (not started, starting,
//! running, failed, unloaded), and the lazy start every first call waits on.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock, RwLockReadGuard, RwLockWriteGuard};

use tokio::sync::{oneshot, watch};

use super::launch::{self, Host};
use super::switch::Generation;
use super::Manifest;
use crate::{ContractInfo, Error};

/// What a start in progress will give: `None` until it ends.
type Started = Option<Result<Arc<Generation>, Error>>;

/// A running generation, and what fires once its last call is done.
pub(crate) struct Live {
    pub(crate) generation: Arc<Generation>,
    pub(crate) drained: oneshot::Receiver<()>,
}

pub(crate) enum State {
    /// Not running: lazy and never called, or its last start failed
    /// (`Some`: why; the next call tries again).
    Idle(Option<Error>),
    /// Starting; every call waiting for it watches this.
    Starting(watch::Receiver<Started>),
    Running(Live),
    /// Unloaded: calls fail until it is reloaded.
    Unloaded,
}

/// One plugin of a registry.
pub(crate) struct Entry {
    id: String,
    pub(crate) host: Arc<Host>,
    manifest: RwLock<Arc<Manifest>>,
    state: RwLock<State>,
    /// The contracts typed clients were handed for (a reload must keep
    /// serving them with the same fingerprints).
    issued: Mutex<Vec<&'static ContractInfo>>,
    generations: AtomicU64,
    /// One reload or unload at a time.
    pub(crate) changing: tokio::sync::Mutex<()>,
}

impl Entry {
    pub(crate) fn new(manifest: Manifest, host: Arc<Host>) -> Arc<Entry> {
        Arc::new(Entry {
            id: manifest.id(),
            host,
            manifest: RwLock::new(Arc::new(manifest)),
            state: RwLock::new(State::Idle(None)),
            issued: Mutex::new(Vec::new()),
            generations: AtomicU64::new(0),
            changing: tokio::sync::Mutex::new(()),
        })
    }

    pub(crate) fn id(&self) -> &str {
        &self.id
    }

    pub(crate) fn manifest(&self) -> Arc<Manifest> {
        self.manifest
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    pub(crate) fn set_manifest(&self, manifest: Manifest) {
        *self.manifest.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(manifest);
    }

    pub(crate) fn state(&self) -> RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn state_mut(&self) -> RwLockWriteGuard<'_, State> {
        self.state.write().unwrap_or_else(|p| p.into_inner())
    }

    /// Remembers that a client of `contract` was handed out.
    pub(crate) fn issue(&self, contract: &'static ContractInfo) {
        let mut issued = self.issued.lock().unwrap_or_else(|p| p.into_inner());
        if !issued.iter().any(|c| **c == *contract) {
            issued.push(contract);
        }
    }

    pub(crate) fn issued(&self) -> Vec<&'static ContractInfo> {
        self.issued
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    pub(crate) fn unloaded_error(&self) -> Error {
        Error::Unloaded {
            plugin: self.id.clone(),
        }
    }

    /// The generation calls go to now: the running one, or the one a
    /// start (begun here if none is under way) gives.
    pub(crate) async fn generation(self: &Arc<Self>) -> Result<Arc<Generation>, Error> {
        let mut started = {
            let state = self.state();
            match &*state {
                State::Running(live) => return Ok(live.generation.clone()),
                State::Unloaded => return Err(self.unloaded_error()),
                State::Starting(started) => started.clone(),
                State::Idle(_) => {
                    drop(state);
                    match self.begin_start() {
                        Ok(started) => started,
                        Err(generation) => return generation,
                    }
                }
            }
        };
        let outcome = started
            .wait_for(Option::is_some)
            .await
            .map(|done| done.clone());
        match outcome {
            Ok(Some(result)) => result,
            // The starting task went away without a word: it was dropped
            // with the runtime; say so rather than hang.
            _ => Err(Error::Closed {
                peer: self.id.clone(),
                reason: "its start was abandoned (the runtime is shutting down)".into(),
            }),
        }
    }

    /// Starts a generation in a task of its own (so that a caller that
    /// gives up does not abandon it), unless the state changed meanwhile:
    /// then `Err` holds what a call gets now.
    fn begin_start(
        self: &Arc<Self>,
    ) -> Result<watch::Receiver<Started>, Result<Arc<Generation>, Error>> {
        let mut state = self.state_mut();
        match &*state {
            State::Running(live) => return Err(Ok(live.generation.clone())),
            State::Unloaded => return Err(Err(self.unloaded_error())),
            State::Starting(started) => return Ok(started.clone()),
            State::Idle(_) => {}
        }
        let (tx, rx) = watch::channel(None);
        *state = State::Starting(rx.clone());
        drop(state);
        let entry = self.clone();
        tokio::spawn(async move {
            let result = entry.start_generation(&entry.manifest()).await;
            let result = entry.settle(result);
            let _ = tx.send(Some(result));
        });
        Ok(rx)
    }

    /// Starts a new generation of `manifest` and waits for every
    /// instance's handshake (it does not become current here).
    pub(crate) async fn start_generation(
        &self,
        manifest: &Manifest,
    ) -> Result<(Arc<Generation>, oneshot::Receiver<()>), Error> {
        let number = self.generations.fetch_add(1, Ordering::Relaxed) + 1;
        let pool = launch::start(manifest, &self.host).await?;
        Ok(Generation::new(number, manifest.version.clone(), pool))
    }

    /// Makes a finished start's generation current, unless the plugin was
    /// unloaded meanwhile (then it is stopped at once).
    fn settle(
        &self,
        result: Result<(Arc<Generation>, oneshot::Receiver<()>), Error>,
    ) -> Result<Arc<Generation>, Error> {
        let mut state = self.state_mut();
        match result {
            Ok((generation, drained)) => {
                if matches!(*state, State::Unloaded) {
                    drop(state);
                    let pool = generation.pool.clone();
                    let grace = self.host.stop_grace;
                    tokio::spawn(async move { pool.shutdown(grace).await });
                    return Err(self.unloaded_error());
                }
                *state = State::Running(Live {
                    generation: generation.clone(),
                    drained,
                });
                Ok(generation)
            }
            Err(e) => {
                if !matches!(*state, State::Unloaded) {
                    *state = State::Idle(Some(e.clone()));
                }
                Err(e)
            }
        }
    }

    /// Waits until no start is under way.
    pub(crate) async fn wait_started(&self) {
        let started = match &*self.state() {
            State::Starting(started) => started.clone(),
            _ => return,
        };
        let mut started = started;
        let _ = started.wait_for(Option::is_some).await;
    }
}
