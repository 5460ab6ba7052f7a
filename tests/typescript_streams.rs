//! Streams between a Rust host and a TypeScript plugin
//! (tests/typescript/streams_plugin.ts serving `Streams` and `EventProbe`
//! from tests/contracts/streams.rs): many items in order, a failure as the
//! last item, an argument stream and both directions at once, cancel on
//! drop and on the deadline (the generator's `finally` runs), a plugin
//! killed mid-stream, memory kept flat by credit under a slow consumer, and
//! events routed between the host and TypeScript plugins.

mod common;
#[path = "contracts/streams.rs"]
mod streams;

use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use common::memory::Memory;
use futures::{FutureExt, StreamExt};
use goproc::{Bus, Error, Plugin, RemoteCode, Stream};
use streams::StreamsClient;

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

async fn start() -> (Plugin, StreamsClient) {
    let plugin = builder()
        .spawn()
        .await
        .expect("starting the TypeScript streams plugin");
    let client = plugin.client().expect("serves Streams");
    (plugin, client)
}

fn marker(name: &str) -> PathBuf {
    let dir = common::scratch(&format!("ts-streams-markers-{}", std::process::id()));
    let path = dir.join(name);
    let _ = std::fs::remove_file(&path);
    path
}

async fn wait_for_file(path: &std::path::Path, within: Duration) -> Option<String> {
    let until = Instant::now() + within;
    while Instant::now() < until {
        if let Ok(text) = std::fs::read_to_string(path) {
            return Some(text);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    None
}

#[tokio::test]
async fn an_answer_stream_delivers_every_item_in_order_then_ends() {
    let (_plugin, calc) = start().await;
    let items: Vec<u64> = calc
        .count(7, 100_000)
        .map(|item| item.expect("no failure"))
        .collect()
        .await;
    assert_eq!(items, (7..100_007).collect::<Vec<_>>());
    assert_eq!(calc.count(0, 0).count().await, 0);
}

#[tokio::test]
async fn a_generator_that_throws_ends_the_stream_with_its_error() {
    let (_plugin, calc) = start().await;
    let items: Vec<Result<u32, Error>> = calc.fail_after(3).collect().await;
    assert_eq!(items.len(), 4, "three items and the error: {items:?}");
    for (i, item) in items[..3].iter().enumerate() {
        assert_eq!(*item.as_ref().unwrap(), i as u32);
    }
    match &items[3] {
        Err(Error::Remote {
            code,
            message,
            method,
            ..
        }) => {
            assert_eq!(*code, RemoteCode::HandlerFailed);
            assert_eq!(message, "Error: boom after 3");
            assert_eq!(method, "Streams.fail_after");
        }
        other => panic!("expected the handler's failure, got {other:?}"),
    }
}

#[tokio::test]
async fn an_argument_stream_arrives_whole() {
    let (_plugin, calc) = start().await;
    let chunks: Vec<Vec<u8>> = (0..300u32)
        .map(|i| vec![(i % 256) as u8; 1000 + i as usize * 50])
        .collect();
    let bytes: u64 = chunks.iter().map(|c| c.len() as u64).sum();
    let checksum = chunks
        .iter()
        .flatten()
        .fold(0u64, |s, b| s.wrapping_add(u64::from(*b)));
    let summary = calc.upload(Stream::iter(chunks)).await.expect("upload");
    assert_eq!(summary.bytes, bytes);
    assert_eq!(summary.chunks, 300);
    assert_eq!(summary.checksum, checksum);
}

#[tokio::test]
async fn a_source_that_fails_reaches_the_handler_as_an_error() {
    let (_plugin, calc) = start().await;
    let items = futures::stream::iter(vec![
        Ok(vec![1u8, 2, 3]),
        Err(Error::stream_source("disk on fire")),
    ]);
    let err = calc
        .upload(Stream::from_results(items))
        .await
        .expect_err("the handler's stream fails, and so does it");
    let text = err.to_string();
    assert!(text.contains("disk on fire"), "{text}");
}

#[tokio::test]
async fn streams_flow_both_ways_at_once() {
    let (_plugin, calc) = start().await;
    let (tx, rx) = futures::channel::mpsc::unbounded::<String>();
    let mut out = calc.shout("> ".into(), Stream::new(rx));
    // Each answer comes back before the next line is sent.
    for word in ["alpha", "beta", "gamma", "é"] {
        tx.unbounded_send(word.to_string()).unwrap();
        let line = out.next().await.expect("an answer").expect("no failure");
        assert_eq!(line, format!("> {}", word.to_uppercase()));
    }
    drop(tx);
    assert!(
        out.next().await.is_none(),
        "the end of the lines ends the answers"
    );
}

#[tokio::test]
async fn dropping_the_stream_closes_the_generator() {
    let (_plugin, calc) = start().await;
    let path = marker("dropped");
    let mut stream = calc.forever(path.display().to_string());
    for expected in 0..1000u64 {
        assert_eq!(stream.next().await.unwrap().unwrap(), expected);
    }
    drop(stream);
    let said = wait_for_file(&path, Duration::from_secs(10)).await;
    assert_eq!(
        said.as_deref(),
        Some("stopped"),
        "the generator's finally ran"
    );
}

#[tokio::test]
async fn the_deadline_covers_the_whole_stream() {
    let (_plugin, calc) = start().await;
    let path = marker("deadline");
    let started = Instant::now();
    let mut stream = calc
        .with_timeout(Duration::from_millis(400))
        .forever(path.display().to_string());
    let mut items = 0u64;
    let last = loop {
        match stream.next().await {
            Some(Ok(_)) => items += 1,
            other => break other,
        }
    };
    assert!(items > 0);
    assert!(
        matches!(last, Some(Err(Error::Timeout { .. }))),
        "the stream ends with the timeout: {last:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(5));
    let said = wait_for_file(&path, Duration::from_secs(10)).await;
    assert_eq!(said.as_deref(), Some("stopped"), "the plugin stopped too");
}

#[tokio::test]
async fn a_plugin_killed_mid_stream_ends_the_stream_with_an_error() {
    let (plugin, calc) = start().await;
    let mut stream = calc.count(0, u64::MAX);
    for _ in 0..100 {
        stream.next().await.unwrap().unwrap();
    }
    plugin.kill();
    let last = loop {
        match tokio::time::timeout(Duration::from_secs(10), stream.next()).await {
            Ok(Some(Ok(_))) => continue,
            Ok(other) => break other,
            Err(_) => panic!("the stream did not end after the plugin was killed"),
        }
    };
    match last {
        Some(Err(e)) => assert!(
            matches!(e, Error::PluginExited { .. } | Error::Closed { .. }),
            "{e}"
        ),
        other => panic!("expected the exit as the last item, got {other:?}"),
    }
}

#[tokio::test]
async fn credit_keeps_both_sides_flat_under_a_slow_consumer() {
    let plugin = builder()
        .stream_window(64 * 1024)
        .spawn()
        .await
        .expect("starting");
    let calc: StreamsClient = plugin.client().unwrap();
    // The plugin could produce 10 million items (80 MB and more) at once.
    let mut stream = calc.count(0, 10_000_000);
    // Warm up (Node compiles and sizes its heap) at the pace measured below.
    let warm = Instant::now() + Duration::from_millis(700);
    while Instant::now() < warm {
        stream.next().await.unwrap().unwrap();
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let (host_before, plugin_before) = (Memory::of_self(), Memory::of(plugin.pid()));
    let mut taken = 0u64;
    let mut plugin_peak = plugin_before.rss;
    let until = Instant::now() + Duration::from_secs(2);
    while Instant::now() < until {
        stream.next().await.unwrap().unwrap();
        taken += 1;
        if taken.is_multiple_of(100) {
            plugin_peak = plugin_peak.max(Memory::of(plugin.pid()).rss);
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let host_after = Memory::of_self();
    let grew = |before: u64, after: u64| after.saturating_sub(before);
    let limit = 16 * 1024 * 1024;
    assert!(
        grew(plugin_before.rss, plugin_peak) < limit,
        "the plugin grew {} bytes while its consumer was slow",
        grew(plugin_before.rss, plugin_peak)
    );
    assert!(
        grew(host_before.rss, host_after.rss) < limit,
        "the host grew {} bytes while it read slowly",
        grew(host_before.rss, host_after.rss)
    );
    assert!(taken > 200, "the consumer took {taken} items");
    eprintln!(
        "the plugin grew {} bytes, the host {}, over {taken} items",
        grew(plugin_before.rss, plugin_peak),
        grew(host_before.rss, host_after.rss)
    );
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
