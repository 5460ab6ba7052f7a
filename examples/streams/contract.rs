//! The contracts of the streams example: a log source that tails a file, a
//! producer of readings and a transformer that turns a stream of readings
//! into a stream of lines.

use serde::{Deserialize, Serialize};

/// One reading of a sensor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    /// Its position in the stream, from 0.
    pub seq: u64,
    /// The value measured.
    pub value: f64,
}

/// Follows a file.
#[goproc::plugin_interface]
pub trait LogSource {
    /// Every line appended to the file at `path` from now on, as `tail -f`
    /// prints them; the stream ends when the caller drops it.
    async fn tail(&self, path: String) -> goproc::Stream<String>;
}

/// Produces samples.
#[goproc::plugin_interface]
pub trait Producer {
    /// `count` samples, as fast as the consumer takes them.
    async fn samples(&self, count: u64) -> goproc::Stream<Sample>;
}

/// Turns samples into text, one line per sample, as they arrive.
#[goproc::plugin_interface]
pub trait Transformer {
    /// One line per sample, written as soon as the sample arrives.
    async fn describe(&self, samples: goproc::Stream<Sample>) -> goproc::Stream<String>;
}
