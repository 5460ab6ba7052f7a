//! Streams between a Rust host and a TypeScript plugin
//! (tests/typescript/streams_plugin.ts serving `Streams` and `EventProbe`
//! from tests/contracts/streams.rs): many items in order, a failure as the
//! last item, an argument stream and both directions at once, cancel on
//! drop and on the deadline (the generator's `finally` runs), a plugin
//! killed mid-stream, memory kept flat by credit under a slow consumer,
//! a plugin (tests/typescript/stream_guest_plugin.ts, serving `StreamGuest`)
//! streaming to and from the host's `Streams` service, and events routed
//! between the host and TypeScript plugins.

mod common;
#[macro_use]
mod streams_support;

use streams_support::streams;

use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

use futures::{FutureExt, StreamExt};
use goproc::{Bus, Plugin, Stream};
use streams::StreamsClient;

/// What `fail_after`'s thrown error arrives as.
const FAILURE: &str = "Error: boom after 3";

streams_tests!();

/// The plugin, compiled once per test binary with the pinned `tsc --strict`.
fn plugin_js() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            common::node::build(
                "streams",
                &["tests/contracts/streams.rs"],
                &["streams_plugin.ts"],
            )
            .join("streams_plugin.js")
        })
        .clone()
}

fn builder() -> goproc::PluginBuilder {
    Plugin::builder(common::node::node())
        .arg(plugin_js())
        .name("ts-streams")
        .contract::<StreamsClient>()
        .start_timeout(Duration::from_secs(30))
}

/// The plugin serving `StreamGuest` (tests/typescript/stream_guest_plugin.ts),
/// whose handlers stream to and from the host's `Streams`.
#[tokio::test]
async fn a_typescript_plugin_streams_to_and_from_a_host_service() {
    let js = common::node::build(
        "stream-guest",
        &["tests/contracts/streams.rs"],
        &["stream_guest_plugin.ts"],
    )
    .join("stream_guest_plugin.js");
    let builder = Plugin::builder(common::node::node())
        .arg(js)
        .name("ts-stream-guest")
        .start_timeout(Duration::from_secs(30));
    streams_support::a_plugin_streams_to_and_from_a_host_service(builder).await;
}

// ---------------------------------------------------------------------------
// Events: the TypeScript plugin publishes and subscribes through the host
// ---------------------------------------------------------------------------

use streams::{EventProbeClient, Reading, Seen, TelemetryEvents};

/// The plugin on `bus`, driven through `EventProbe`.
async fn probe_on(bus: &Bus) -> (Plugin, EventProbeClient) {
    let plugin = Plugin::builder(common::node::node())
        .arg(plugin_js())
        .name("ts-events")
        .contract::<EventProbeClient>()
        .bus(bus)
        .start_timeout(Duration::from_secs(30))
        .spawn()
        .await
        .expect("starting the TypeScript events plugin");
    let probe = plugin.client().expect("serves EventProbe");
    (plugin, probe)
}

fn reading(sensor: &str, celsius: f64) -> Reading {
    Reading {
        sensor: sensor.into(),
        celsius,
    }
}

/// The next item of a watch, within 10 s.
async fn seen(watch: &mut Stream<Seen>) -> Seen {
    tokio::time::timeout(Duration::from_secs(10), watch.next())
        .await
        .expect("an event within 10 s")
        .expect("the watch goes on")
        .expect("no failure")
}

/// Starts a watch and waits until its subscription is live.
async fn watch(probe: &EventProbeClient, pattern: &str, delay_ms: u32) -> Stream<Seen> {
    let mut stream = probe.without_timeout().watch(pattern.into(), delay_ms);
    let live = seen(&mut stream).await;
    assert_eq!(
        live.topic, "",
        "the first item says the subscription is live"
    );
    stream
}

#[tokio::test]
async fn the_host_receives_what_a_typescript_plugin_publishes_on_a_wildcard() {
    let bus = Bus::new();
    let telemetry = TelemetryEvents::on(&bus);
    let mut all = telemetry.subscribe_temperature("sensors/#").unwrap();
    let mut kitchen_only = telemetry
        .subscribe_temperature("sensors/kitchen/+")
        .unwrap();
    let (_plugin, probe) = probe_on(&bus).await;
    probe
        .publish("sensors/kitchen/temp".into(), "k".into(), 5)
        .await
        .unwrap();
    probe
        .publish("sensors/hall/temp".into(), "h".into(), 1)
        .await
        .unwrap();
    probe
        .publish("elsewhere/temp".into(), "x".into(), 1)
        .await
        .unwrap();
    for i in 0..5 {
        for sub in [&mut all, &mut kitchen_only] {
            let e = tokio::time::timeout(Duration::from_secs(10), sub.next())
                .await
                .expect("an event within 10 s")
                .expect("the subscription goes on");
            assert_eq!(e.topic, "sensors/kitchen/temp");
            assert_eq!(e.payload, reading("k", i as f64));
            assert_eq!(e.lagged, 0);
        }
    }
    let hall = tokio::time::timeout(Duration::from_secs(10), all.next())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(hall.topic, "sensors/hall/temp");
    assert!(
        kitchen_only.next().now_or_never().is_none(),
        "nothing else matched sensors/kitchen/+"
    );
}

#[tokio::test]
async fn a_typescript_plugin_receives_what_the_host_and_another_plugin_publish() {
    let bus = Bus::new();
    let telemetry = TelemetryEvents::on(&bus);
    let (_watcher, a) = probe_on(&bus).await;
    let (_publisher, b) = probe_on(&bus).await;
    let mut stream = watch(&a, "sensors/+/temp", 0).await;

    telemetry
        .publish_temperature("sensors/hall/temp", &reading("hall", 19.5))
        .unwrap();
    let got = seen(&mut stream).await;
    assert_eq!(got.topic, "sensors/hall/temp");
    assert_eq!(got.reading, reading("hall", 19.5));
    assert_eq!(got.lagged, 0);

    b.publish("sensors/den/temp".into(), "den".into(), 2)
        .await
        .unwrap();
    for i in 0..2 {
        let got = seen(&mut stream).await;
        assert_eq!(got.topic, "sensors/den/temp");
        assert_eq!(got.reading, reading("den", i as f64));
    }

    // Not its own events, and not what the pattern does not match.
    a.publish("sensors/own/temp".into(), "own".into(), 3)
        .await
        .unwrap();
    b.publish("sensors/den/humidity".into(), "den".into(), 1)
        .await
        .unwrap();
    telemetry
        .publish_temperature("sensors/last/temp", &reading("last", 1.0))
        .unwrap();
    let got = seen(&mut stream).await;
    assert_eq!(
        got.topic, "sensors/last/temp",
        "the plugin received its own events or an unmatched one: {got:?}"
    );
}

#[tokio::test]
async fn a_slow_typescript_watcher_reports_what_it_dropped_in_lagged() {
    let bus = Bus::new();
    let telemetry = TelemetryEvents::on(&bus);
    let (_plugin, probe) = probe_on(&bus).await;
    // One event per 20 ms, while 3000 come at once.
    let mut stream = watch(&probe, "load/#", 20).await;
    const SENT: u64 = 3000;
    for i in 0..SENT {
        telemetry
            .publish_temperature("load/cpu", &reading("cpu", i as f64))
            .unwrap();
    }
    let mut received = 0u64;
    let mut lagged = 0u64;
    loop {
        let got = seen(&mut stream).await;
        received += 1;
        lagged += got.lagged;
        if got.reading.celsius == (SENT - 1) as f64 {
            break;
        }
    }
    assert!(lagged > 0, "the slow watcher dropped nothing");
    assert_eq!(
        received + lagged,
        SENT,
        "every event was received or counted as dropped"
    );
    assert!(received < SENT);
}

// ---------------------------------------------------------------------------
// The examples' TypeScript plugins, compiled with their own tsconfig.json
// ---------------------------------------------------------------------------

#[path = "../examples/events/contract.rs"]
mod events_example;
#[path = "../examples/streams/contract.rs"]
mod streams_example;

#[tokio::test]
async fn the_streams_example_transformer_writes_one_line_per_sample_as_it_arrives() {
    use streams_example::{Sample, TransformerClient};
    let js = common::node::build_example("streams", "ts-example-streams");
    let plugin = Plugin::builder(common::node::node())
        .arg(js)
        .contract::<TransformerClient>()
        .start_timeout(Duration::from_secs(30))
        .spawn()
        .await
        .expect("starting the example transformer");
    let transformer: TransformerClient = plugin.client().unwrap();
    let (tx, rx) = futures::channel::mpsc::unbounded::<Sample>();
    let mut lines = transformer.describe(Stream::new(rx));
    for seq in 0..12u64 {
        let value = (seq as f64 * 0.1).sin();
        tx.unbounded_send(Sample { seq, value }).unwrap();
        // The line comes back before the next sample goes.
        let line = lines.next().await.expect("a line").expect("no failure");
        assert!(
            line.starts_with(&format!("#{seq} {value:.4} ")),
            "sample {seq}: {line:?}"
        );
        assert_eq!(
            line.chars().count(),
            format!("#{seq} {value:.4} ").len() + 1
        );
    }
    drop(tx);
    assert!(lines.next().await.is_none());
}

#[tokio::test]
async fn the_events_example_sensor_publishes_measurements_on_home_room_quantity() {
    use events_example::{SensorClient, SensorEvents};
    let js = common::node::build_example("events", "ts-example-events");
    let bus = Bus::new();
    let mut sub = SensorEvents::on(&bus)
        .subscribe_measurement("home/+/humidity")
        .unwrap();
    let plugin = Plugin::builder(common::node::node())
        .arg(js)
        .env("SENSOR_ROOM", "attic")
        .env("SENSOR_QUANTITY", "humidity")
        .contract::<SensorClient>()
        .bus(&bus)
        .start_timeout(Duration::from_secs(30))
        .spawn()
        .await
        .expect("starting the example sensor");
    let sensor: SensorClient = plugin.client().unwrap();
    assert_eq!(sensor.run(3, 10).await.unwrap(), 3);
    for _ in 0..3 {
        let e = tokio::time::timeout(Duration::from_secs(10), sub.next())
            .await
            .expect("a measurement within 10 s")
            .expect("the subscription goes on");
        assert_eq!(e.topic, "home/attic/humidity");
        assert_eq!(e.payload.sensor, "ts-attic-humidity");
        assert!((40.0..50.0).contains(&e.payload.value), "{e:?}");
    }
}
