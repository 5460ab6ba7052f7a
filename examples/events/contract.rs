//! The contracts of the events example: the events sensors publish, and
//! what a sensor plugin serves.

use serde::{Deserialize, Serialize};

/// One measurement.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Measurement {
    /// Which sensor took it.
    pub sensor: String,
    /// The value, in the unit its topic names.
    pub value: f64,
}

/// What sensors publish, on topics `home/<room>/<quantity>`.
#[goproc::plugin_interface(events)]
pub trait SensorEvents {
    /// A measurement.
    fn measurement(&self, measurement: Measurement);
}

/// What each sensor plugin serves.
#[goproc::plugin_interface]
pub trait Sensor {
    /// Publishes `count` measurements, one every `interval_ms`; returns
    /// how many it published.
    async fn run(&self, count: u32, interval_ms: u32) -> u32;
}
