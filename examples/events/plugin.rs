//! The Rust sensor plugin: serves `Sensor`, whose `run(count, interval_ms)`
//! publishes `count` measurements as `SensorEvents.measurement` events on
//! `home/<room>/temperature` and `home/<room>/humidity` (in turn). The
//! room is the argument after `plugin` (`hall` when there is none).
//! Publishing never waits: the host routes each event to every subscriber
//! whose pattern matches.

use std::time::Duration;

use crate::contract::{Measurement, Sensor, SensorEvents, SensorServer};

struct RustSensor {
    room: String,
    name: String,
}

impl Sensor for RustSensor {
    async fn run(&self, count: u32, interval_ms: u32) -> u32 {
        // The bus that reaches the host: what is published here, the host
        // routes to its own subscribers and to the other plugins.
        let events = SensorEvents::on(&goproc::host_bus());
        for i in 0..count {
            let x = f64::from(i) / 5.0;
            let (quantity, value) = if i % 2 == 0 {
                ("temperature", 19.0 + 1.5 * x.sin())
            } else {
                ("humidity", 50.0 + 4.0 * x.cos())
            };
            let topic = format!("home/{}/{quantity}", self.room);
            let measurement = Measurement {
                sensor: self.name.clone(),
                value,
            };
            if events.publish_measurement(&topic, &measurement).is_err() {
                return i; // the host went away
            }
            if interval_ms > 0 && i + 1 < count {
                tokio::time::sleep(Duration::from_millis(u64::from(interval_ms))).await;
            }
        }
        count
    }
}

pub async fn run(room: Option<String>) -> Result<(), goproc::Error> {
    let room = room.unwrap_or_else(|| "hall".into());
    let name = format!("rust-{room}");
    goproc::serve(SensorServer::new(RustSensor { room, name })).await
}
