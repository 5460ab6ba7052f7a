//! The Rust plugin of the event tests: `EventProbe` from
//! `tests/contracts/streams.rs`, publishing and subscribing to `Telemetry`
//! on the bus that reaches its host.

use std::time::Duration;

use futures::StreamExt;
use goproc::Stream;

use crate::streams::{EventProbe, Reading, Seen, TelemetryEvents};

pub struct Plugin;

impl EventProbe for Plugin {
    async fn publish(&self, topic: String, sensor: String, count: u32) {
        let telemetry = TelemetryEvents::on(&goproc::host_bus());
        for i in 0..count {
            let reading = Reading {
                sensor: sensor.clone(),
                celsius: f64::from(i),
            };
            telemetry
                .publish_temperature(&topic, &reading)
                .expect("publishing to the host");
        }
    }

    async fn watch(&self, pattern: String, delay_ms: u32) -> Stream<Seen> {
        let telemetry = TelemetryEvents::on(&goproc::host_bus());
        let subscription = telemetry
            .subscribe_temperature(&pattern)
            .expect("subscribing at the host");
        // The SUBSCRIBE went out before this first item: once the test has
        // it, the host knows the subscription.
        let live = Seen {
            topic: String::new(),
            reading: Reading {
                sensor: String::new(),
                celsius: 0.0,
            },
            lagged: 0,
        };
        let events = subscription.then(move |event| async move {
            if delay_ms > 0 {
                tokio::time::sleep(Duration::from_millis(u64::from(delay_ms))).await;
            }
            Seen {
                topic: event.topic,
                reading: event.payload,
                lagged: event.lagged,
            }
        });
        Stream::new(futures::stream::once(async { live }).chain(events))
    }
}
