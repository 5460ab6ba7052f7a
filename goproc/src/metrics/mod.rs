//! Call metrics: what [`crate::Plugin::metrics`] and [`crate::Pool::metrics`]
//! return. Every call a host makes through a plugin's or a pool's client,
//! or to a plugin by name with JSON ([`crate::Plugin::call_json`]), is
//! counted (a few relaxed atomic adds, no lock) by contract and method:
//! finished calls, calls in flight, errors by kind and a latency histogram.
//! A snapshot is plain owned data, to hand to whatever metrics system the
//! program uses (it is `serde::Serialize`; durations serialize as integer
//! nanoseconds, under names ending in `_ns`).

mod call;
mod clock;
mod histogram;
mod names;
mod recorder;

pub(crate) use call::CallMeter;
pub(crate) use names::ContractNames;
pub(crate) use recorder::{ContractRecorder, Recorder};

use std::time::Duration;

use serde::{Serialize, Serializer};

use crate::{Error, RemoteCode};
use recorder::{MethodSnapshot, RecorderSnapshot};

/// Why a call failed, as counted in [`ErrorCounts`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ErrorKind {
    Timeout = 0,
    Cancelled = 1,
    Domain = 2,
    Remote = 3,
    Connection = 4,
    Other = 5,
}

impl ErrorKind {
    pub(crate) const COUNT: usize = 6;

    /// The kind of a failed call's error.
    pub(crate) fn of(error: &Error) -> ErrorKind {
        match error {
            Error::Timeout { .. } => ErrorKind::Timeout,
            // A call by name with JSON answered the method's own `Err(e)`.
            Error::Domain { .. } => ErrorKind::Domain,
            Error::Remote {
                code: RemoteCode::Cancelled,
                ..
            } => ErrorKind::Cancelled,
            // The plugin refused it on its way out: like a closed connection.
            Error::Remote {
                code: RemoteCode::ShuttingDown,
                ..
            } => ErrorKind::Connection,
            Error::Remote { .. } => ErrorKind::Remote,
            Error::PluginExited { .. }
            | Error::Closed { .. }
            | Error::Transport { .. }
            | Error::Protocol { .. }
            | Error::RestartLimit { .. } => ErrorKind::Connection,
            _ => ErrorKind::Other,
        }
    }

    /// The `outcome` a `goproc.call` span records for a call that failed so.
    pub(crate) fn outcome(self) -> &'static str {
        match self {
            ErrorKind::Timeout => "timeout",
            ErrorKind::Cancelled => "cancelled",
            ErrorKind::Domain => "domain_error",
            ErrorKind::Remote => "remote_error",
            ErrorKind::Connection => "connection_error",
            ErrorKind::Other => "other_error",
        }
    }
}

/// Failed calls, by why they failed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ErrorCounts {
    /// The call's deadline passed ([`Error::Timeout`]).
    pub timeout: u64,
    /// The caller dropped the call's future before it ended, or the plugin
    /// answered that the call was cancelled.
    pub cancelled: u64,
    /// The method answered its own `Err(e)`: a method declared
    /// `-> Result<T, E>` whose call completed with a domain error (by name
    /// with JSON: [`Error::Domain`]).
    pub domain: u64,
    /// The plugin answered with an error of its own ([`Error::Remote`]):
    /// its handler failed or panicked, the method was unknown, the
    /// arguments did not decode.
    pub remote: u64,
    /// The plugin could not be reached: it exited, the connection closed or
    /// broke, it was shutting down, the call was never sent.
    pub connection: u64,
    /// Anything else, such as arguments or an answer that did not encode
    /// or decode ([`Error::Codec`]).
    pub other: u64,
}

impl ErrorCounts {
    /// Every failed call, domain errors included.
    pub fn total(&self) -> u64 {
        self.timeout + self.cancelled + self.domain + self.remote + self.connection + self.other
    }

    fn from_counts(counts: &[u64; ErrorKind::COUNT]) -> Self {
        ErrorCounts {
            timeout: counts[ErrorKind::Timeout as usize],
            cancelled: counts[ErrorKind::Cancelled as usize],
            domain: counts[ErrorKind::Domain as usize],
            remote: counts[ErrorKind::Remote as usize],
            connection: counts[ErrorKind::Connection as usize],
            other: counts[ErrorKind::Other as usize],
        }
    }

    fn add(&mut self, other: &ErrorCounts) {
        self.timeout += other.timeout;
        self.cancelled += other.cancelled;
        self.domain += other.domain;
        self.remote += other.remote;
        self.connection += other.connection;
        self.other += other.other;
    }
}

/// Latencies of a method's finished calls, whatever their outcome (a
/// timed-out call counts with the time it waited). They come from a
/// histogram whose buckets are within about 1.6% of the values they hold
/// (above 1 µs); `max` is exact. All zero before any call.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Latency {
    /// The median.
    #[serde(rename = "p50_ns", serialize_with = "nanos")]
    pub p50: Duration,
    /// 90% of the calls took at most this long.
    #[serde(rename = "p90_ns", serialize_with = "nanos")]
    pub p90: Duration,
    /// 99% of the calls took at most this long.
    #[serde(rename = "p99_ns", serialize_with = "nanos")]
    pub p99: Duration,
    /// 99.9% of the calls took at most this long.
    #[serde(rename = "p999_ns", serialize_with = "nanos")]
    pub p999: Duration,
    /// The slowest call.
    #[serde(rename = "max_ns", serialize_with = "nanos")]
    pub max: Duration,
    /// The mean (of the histogram's buckets: within the same 1.6%).
    #[serde(rename = "mean_ns", serialize_with = "nanos")]
    pub mean: Duration,
}

fn nanos<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

/// The calls of one method of one contract.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MethodMetrics {
    /// The contract's name.
    pub contract: String,
    /// The method's name.
    pub method: String,
    /// Finished calls, failed ones included.
    pub calls: u64,
    /// Calls started and not finished yet.
    pub in_flight: u64,
    /// Finished calls that failed, by why.
    pub errors: ErrorCounts,
    /// How long the finished calls took.
    pub latency: Latency,
}

impl MethodMetrics {
    fn from_snapshot(s: &MethodSnapshot) -> Self {
        let h = &s.latency;
        MethodMetrics {
            contract: s.contract.clone(),
            method: s.method.clone(),
            calls: h.count(),
            in_flight: s.in_flight,
            errors: ErrorCounts::from_counts(&s.errors),
            latency: Latency {
                p50: h.percentile(0.5),
                p90: h.percentile(0.9),
                p99: h.percentile(0.99),
                p999: h.percentile(0.999),
                max: h.max(),
                mean: h.mean(),
            },
        }
    }
}

/// The calls a host made to one plugin (or one instance of a pool), from
/// [`crate::Plugin::metrics`] or [`PoolMetrics::instances`].
///
/// Counted are the calls made through clients got from the plugin (or the
/// pool) and, for a plugin, by name with JSON ([`crate::Plugin::call_json`],
/// [`crate::PreparedCall`]), by every contract so called; every method of
/// such a contract is listed, called or not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PluginMetrics {
    /// The plugin's name.
    pub plugin: String,
    /// Its process id (a pool instance's: the current or last process; 0
    /// before its first start).
    pub pid: u32,
    /// Finished calls, failed ones included.
    pub calls: u64,
    /// Calls started and not finished yet.
    pub in_flight: u64,
    /// Finished calls that failed, by why.
    pub errors: ErrorCounts,
    /// How many times a pool replaced this instance's process; always 0
    /// for a [`crate::Plugin`], which is never restarted.
    pub restarts: u64,
    /// By contract and method.
    pub methods: Vec<MethodMetrics>,
}

impl PluginMetrics {
    pub(crate) fn from_recorder(recorder: &Recorder) -> Self {
        Self::from_snapshot(&recorder.snapshot(clock::nanos_per_tick()))
    }

    fn from_snapshot(s: &RecorderSnapshot) -> Self {
        let methods: Vec<MethodMetrics> =
            s.methods.iter().map(MethodMetrics::from_snapshot).collect();
        let (calls, in_flight, errors) = totals(&methods);
        PluginMetrics {
            plugin: s.plugin.clone(),
            pid: s.pid,
            calls,
            in_flight,
            errors,
            restarts: s.restarts,
            methods,
        }
    }
}

/// The calls a host made through a pool's clients: each instance's, and
/// their totals. The totals' latencies merge the instances' histograms,
/// they do not average their percentiles.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PoolMetrics {
    /// The plugin the pool runs.
    pub plugin: String,
    /// Each instance, in pool order; an instance's counts include those of
    /// the processes it replaced.
    pub instances: Vec<PluginMetrics>,
    /// How many instance processes the pool replaced.
    pub restarts: u64,
    /// Finished calls, failed ones included, on every instance, and those
    /// that reached none (no instance free within their deadline, every
    /// instance given up, the pool shutting down).
    pub calls: u64,
    /// Calls started and not finished yet, waiting for an instance or on one.
    pub in_flight: u64,
    /// Finished calls that failed, by why, as [`PoolMetrics::calls`] counts them.
    pub errors: ErrorCounts,
    /// By contract and method, merged over the instances, as
    /// [`PoolMetrics::calls`] counts them.
    pub methods: Vec<MethodMetrics>,
}

impl PoolMetrics {
    /// The metrics of a pool whose instances count in `instances`, and
    /// whose calls that reached no instance count in `unplaced`.
    pub(crate) fn from_recorders<'a>(
        plugin: String,
        restarts: u64,
        instances: impl Iterator<Item = &'a Recorder>,
        unplaced: &Recorder,
    ) -> Self {
        let rate = clock::nanos_per_tick();
        let snapshots: Vec<RecorderSnapshot> = instances.map(|r| r.snapshot(rate)).collect();
        let unplaced = unplaced.snapshot(rate);
        let mut merged: Vec<MethodSnapshot> = Vec::new();
        let every_method = snapshots.iter().chain([&unplaced]).flat_map(|s| &s.methods);
        for method in every_method {
            let same = merged
                .iter_mut()
                .find(|m| m.contract == method.contract && m.method == method.method);
            match same {
                Some(m) => m.merge(method),
                None => merged.push(method.clone()),
            }
        }
        let methods: Vec<MethodMetrics> = merged.iter().map(MethodMetrics::from_snapshot).collect();
        let (calls, in_flight, errors) = totals(&methods);
        PoolMetrics {
            plugin,
            instances: snapshots.iter().map(PluginMetrics::from_snapshot).collect(),
            restarts,
            calls,
            in_flight,
            errors,
            methods,
        }
    }
}

/// Calls, calls in flight and errors summed over methods.
fn totals(methods: &[MethodMetrics]) -> (u64, u64, ErrorCounts) {
    let mut errors = ErrorCounts::default();
    for m in methods {
        errors.add(&m.errors);
    }
    (
        methods.iter().map(|m| m.calls).sum(),
        methods.iter().map(|m| m.in_flight).sum(),
        errors,
    )
}
