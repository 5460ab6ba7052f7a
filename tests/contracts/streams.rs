//! Contracts for the stream and event tests. `Streams` is served by plugins
//! in all three languages; `Telemetry` is the event contract they publish
//! and subscribe to; `EventProbe` lets a test drive a plugin's events.

use serde::{Deserialize, Serialize};

/// What an upload added up to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadSummary {
    /// Bytes received.
    pub bytes: u64,
    /// Chunks received.
    pub chunks: u64,
    /// The sum of every byte, wrapping at 2^64.
    pub checksum: u64,
}

/// Every shape of stream, for plugins in every language.
#[goproc::plugin_interface]
pub trait Streams {
    /// `count` numbers from `start` on, as fast as credit allows.
    async fn count(&self, start: u64, count: u64) -> goproc::Stream<u64>;
    /// `0, 1, ..., n - 1`, then the handler fails (panics, raises or
    /// throws) with the message `boom after <n>`.
    async fn fail_after(&self, n: u32) -> goproc::Stream<u32>;
    /// Reads the whole argument stream and says what it held.
    async fn upload(&self, data: goproc::Stream<Vec<u8>>) -> UploadSummary;
    /// Each line upper-cased, as it arrives, prefixed with `prefix`.
    async fn shout(&self, prefix: String, lines: goproc::Stream<String>) -> goproc::Stream<String>;
    /// `0, 1, 2, ...` without end. When the stream is stopped (the caller
    /// dropped it, or its deadline passed) the plugin writes `stopped` to
    /// the file `marker`.
    async fn forever(&self, marker: String) -> goproc::Stream<u64>;
    /// `size` bytes in chunks of `chunk` bytes (the last may be shorter);
    /// byte `i` of the whole is `i % 251`.
    async fn download(&self, size: u64, chunk: u32) -> goproc::Stream<Vec<u8>>;
    /// The plugin's process id, `count` times.
    async fn pids(&self, count: u32) -> goproc::Stream<u32>;
}

/// A temperature reading.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reading {
    /// Which sensor measured it.
    pub sensor: String,
    /// Degrees Celsius.
    pub celsius: f64,
}

/// The events the tests publish.
#[goproc::plugin_interface(events)]
pub trait Telemetry {
    /// A sensor's reading, on `sensors/<room>/<sensor>`.
    fn temperature(&self, reading: Reading);
    /// An alarm's text.
    fn alarm(&self, text: String);
}

/// An event a plugin received, as it reports it to the test.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Seen {
    /// The topic it was published on.
    pub topic: String,
    /// Its payload.
    pub reading: Reading,
    /// How many events the subscription dropped before this one.
    pub lagged: u64,
}

/// Drives a plugin's events from a test.
#[goproc::plugin_interface]
pub trait EventProbe {
    /// Publishes `count` readings of `sensor` on `topic`, with `celsius`
    /// 0, 1, 2, ...; returns when all are handed to the runtime.
    async fn publish(&self, topic: String, sensor: String, count: u32);
    /// Subscribes to `Telemetry.temperature` on `pattern` and streams what
    /// arrives. The subscription is live once the first item, a `Seen`
    /// whose topic is empty, arrives. With `delay_ms > 0` the plugin reads
    /// one event per `delay_ms` (a slow subscriber).
    async fn watch(&self, pattern: String, delay_ms: u32) -> goproc::Stream<Seen>;
}

/// Served by a plugin whose methods call the host's `Streams` (a host
/// service), so streams are tested the other way round too.
#[goproc::plugin_interface]
pub trait StreamGuest {
    /// The sum of the host's `count(start, count)` stream.
    async fn sum_from_host(&self, start: u64, count: u64) -> u64;
    /// Sends `chunks` chunks of `size` bytes (each byte its chunk's number)
    /// to the host's `upload`, and returns what the host counted.
    async fn upload_to_host(&self, chunks: u32, size: u32) -> UploadSummary;
}
