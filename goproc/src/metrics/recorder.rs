//! The counters of one plugin connection (or one pool instance, across its
//! restarts): per contract and method, allocated when a client for the
//! contract is made, then only added to.

use super::clock;
use super::histogram::{Histogram, HistogramSnapshot};
use super::names::ContractNames;
use super::ErrorKind;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

/// Who the counted calls went to.
pub(crate) struct Identity {
    pub(crate) name: String,
    pid: AtomicU32,
    restarts: AtomicU64,
}

impl Identity {
    pub(crate) fn pid(&self) -> u32 {
        self.pid.load(Ordering::Relaxed)
    }
}

/// The counters of one plugin (or pool instance).
pub(crate) struct Recorder {
    identity: Arc<Identity>,
    /// By the contract's index (the plugin's announced list, or the pool's
    /// contracts); made on first use.
    contracts: Box<[OnceLock<Arc<ContractRecorder>>]>,
}

impl Recorder {
    pub(crate) fn new(name: String, pid: u32, contracts: usize) -> Self {
        clock::init();
        Recorder {
            identity: Arc::new(Identity {
                name,
                pid: AtomicU32::new(pid),
                restarts: AtomicU64::new(0),
            }),
            contracts: (0..contracts).map(|_| OnceLock::new()).collect(),
        }
    }

    /// The counters of contract number `index`, made the first time with
    /// the names `names` gives. Whoever calls the contract first (a typed
    /// client, a call by name) names it; both count in the same counters,
    /// by the method numbers the wire carries.
    pub(crate) fn contract(
        &self,
        index: usize,
        names: impl FnOnce() -> ContractNames,
    ) -> Arc<ContractRecorder> {
        self.contracts[index]
            .get_or_init(|| {
                let names = names();
                Arc::new(ContractRecorder {
                    methods: (0..names.method_count())
                        .map(|_| MethodRecorder::new())
                        .collect(),
                    names,
                    identity: self.identity.clone(),
                })
            })
            .clone()
    }

    /// A pool instance whose process ended is being replaced.
    pub(crate) fn restarting(&self) {
        self.identity.restarts.fetch_add(1, Ordering::Relaxed);
    }

    /// The process now serving the counted calls.
    pub(crate) fn running(&self, pid: u32) {
        self.identity.pid.store(pid, Ordering::Relaxed);
    }

    /// The counters now, latencies read at `nanos_per_tick`
    /// (`clock::nanos_per_tick`, read once for snapshots merged together).
    pub(crate) fn snapshot(&self, nanos_per_tick: f64) -> RecorderSnapshot {
        RecorderSnapshot {
            plugin: self.identity.name.clone(),
            pid: self.identity.pid(),
            restarts: self.identity.restarts.load(Ordering::Relaxed),
            methods: self
                .contracts
                .iter()
                .filter_map(OnceLock::get)
                .flat_map(|c| c.snapshot(nanos_per_tick))
                .collect(),
        }
    }
}

/// The counters of one contract's methods on one plugin.
pub(crate) struct ContractRecorder {
    pub(crate) names: ContractNames,
    pub(crate) identity: Arc<Identity>,
    methods: Box<[MethodRecorder]>,
}

impl ContractRecorder {
    /// Counts a call of `method` as started.
    pub(crate) fn started(&self, method: u32) {
        if let Some(m) = self.methods.get(method as usize) {
            m.started.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Takes back [`ContractRecorder::started`]: the call went elsewhere.
    pub(crate) fn unstarted(&self, method: u32) {
        if let Some(m) = self.methods.get(method as usize) {
            m.started.fetch_sub(1, Ordering::Relaxed);
        }
    }

    /// Counts a started call of `method` as finished, `elapsed` ticks later.
    pub(crate) fn finished(&self, method: u32, elapsed: u64, error: Option<ErrorKind>) {
        if let Some(m) = self.methods.get(method as usize) {
            if let Some(kind) = error {
                m.errors[kind as usize].fetch_add(1, Ordering::Relaxed);
            }
            m.latency.record(elapsed);
        }
    }

    fn snapshot(&self, nanos_per_tick: f64) -> impl Iterator<Item = MethodSnapshot> + '_ {
        self.methods.iter().enumerate().map(move |(i, m)| {
            // Finished calls first: a call counted there has been counted
            // as started before, so `in_flight` never reads negative.
            let latency = m.latency.snapshot(nanos_per_tick);
            let started = m.started.load(Ordering::Relaxed);
            MethodSnapshot {
                contract: self.names.contract().to_string(),
                method: self.names.method(i as u32).to_string(),
                in_flight: started.saturating_sub(latency.count()),
                errors: std::array::from_fn(|k| m.errors[k].load(Ordering::Relaxed)),
                latency,
            }
        })
    }
}

/// One method's counters. Finished calls are the histogram's count, and
/// in-flight ones the started less the finished: one add when a call
/// starts, one when it ends (two when it failed).
struct MethodRecorder {
    started: AtomicU64,
    errors: [AtomicU64; ErrorKind::COUNT],
    latency: Histogram,
}

impl MethodRecorder {
    fn new() -> Self {
        MethodRecorder {
            started: AtomicU64::new(0),
            errors: std::array::from_fn(|_| AtomicU64::new(0)),
            latency: Histogram::new(),
        }
    }
}

/// A plugin's counters at one moment, before they are summed up.
#[derive(Debug, Clone)]
pub(crate) struct RecorderSnapshot {
    pub(crate) plugin: String,
    pub(crate) pid: u32,
    pub(crate) restarts: u64,
    pub(crate) methods: Vec<MethodSnapshot>,
}

/// One method's counters at one moment.
#[derive(Debug, Clone)]
pub(crate) struct MethodSnapshot {
    pub(crate) contract: String,
    pub(crate) method: String,
    pub(crate) in_flight: u64,
    /// By [`ErrorKind`].
    pub(crate) errors: [u64; ErrorKind::COUNT],
    pub(crate) latency: HistogramSnapshot,
}

impl MethodSnapshot {
    /// Adds the counts of the same method on another instance.
    pub(crate) fn merge(&mut self, other: &MethodSnapshot) {
        self.in_flight += other.in_flight;
        for (mine, theirs) in self.errors.iter_mut().zip(other.errors) {
            *mine += theirs;
        }
        self.latency.merge(&other.latency);
    }
}
