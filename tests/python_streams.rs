//! Streams and events with a Python plugin (tests/python/streams_plugin.py,
//! serving `Streams` and `EventProbe` from tests/contracts/streams.rs) and
//! a Rust host: many items in order, a failure as the last item, an upload,
//! both directions at once, cancel on drop, a plugin killed mid-stream, the
//! memory bound of flow control, and events routed both ways.

mod common;

#[allow(dead_code)]
#[path = "contracts/streams.rs"]
mod streams;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use common::memory::Memory;
use futures::StreamExt;
use goproc::{Error, RemoteCode};
use streams::{EventProbeClient, Reading, StreamsClient, TelemetryEvents};

/// The folder to put on PYTHONPATH: stubs generated from the streams contracts.
fn pythonpath() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| common::python::generate("python-streams", &["tests/contracts/streams.rs"]))
}

fn builder() -> goproc::PluginBuilder {
    common::python::plugin(&common::python::script("streams_plugin.py"), pythonpath())
        .name("py-streams")
        .contract::<StreamsClient>()
        .contract::<EventProbeClient>()
        .start_timeout(Duration::from_secs(30))
}

async fn start() -> (goproc::Plugin, StreamsClient) {
    let plugin = builder()
        .spawn()
        .await
        .expect("starting the Python streams plugin");
    let client = plugin.client().expect("serves Streams");
    (plugin, client)
}

#[tokio::test]
async fn count_streams_many_items_in_order() {
    let (_plugin, client) = start().await;
    let mut items = client.count(5, 100_000);
    let mut want = 5;
    while let Some(item) = items.next().await {
        assert_eq!(item.expect("an item"), want);
        want += 1;
    }
    assert_eq!(want, 100_005);
    // An empty stream ends at once.
    assert_eq!(client.count(0, 0).collect::<Vec<_>>().await.len(), 0);
}

#[tokio::test]
async fn fail_after_streams_its_items_then_the_error_as_the_last_item() {
    let (_plugin, client) = start().await;
    let got: Vec<Result<u32, Error>> = client.fail_after(3).collect().await;
    assert_eq!(got.len(), 4, "{got:?}");
    for (i, item) in got[..3].iter().enumerate() {
        assert_eq!(item.as_ref().expect("an item"), &(i as u32));
    }
    match &got[3] {
        Err(Error::Remote {
            code: RemoteCode::HandlerFailed,
            message,
            ..
        }) => assert_eq!(message, "RuntimeError: boom after 3"),
        other => panic!("expected the handler's failure, got {other:?}"),
    }
}

#[tokio::test]
async fn upload_reads_every_chunk_and_adds_them_up() {
    let (_plugin, client) = start().await;
    let chunks: Vec<Vec<u8>> = (0..300u32)
        .map(|i| (0..(i * 37 % 5000)).map(|b| (b * 7 + i) as u8).collect())
        .collect();
    let bytes: u64 = chunks.iter().map(|c| c.len() as u64).sum();
    let checksum = chunks
        .iter()
        .flatten()
        .fold(0u64, |s, &b| s.wrapping_add(b as u64));
    let summary = client
        .upload(goproc::Stream::iter(chunks))
        .await
        .expect("upload");
    assert_eq!(
        summary,
        streams::UploadSummary {
            bytes,
            chunks: 300,
            checksum
        }
    );
}

#[tokio::test]
async fn shout_streams_both_ways_at_once() {
    let (_plugin, client) = start().await;
    // Each line is sent only after the previous answer arrived: the plugin
    // answers as lines arrive, not after the argument stream ends.
    let (tx, rx) = futures::channel::mpsc::unbounded::<String>();
    let mut answers = client.shout("> ".into(), goproc::Stream::new(rx));
    for i in 0..50 {
        tx.unbounded_send(format!("line {i}"))
            .expect("sending a line");
        let answer = tokio::time::timeout(Duration::from_secs(10), answers.next())
            .await
            .expect("an answer before the next line is sent")
            .expect("an item")
            .expect("not an error");
        assert_eq!(answer, format!("> LINE {i}"));
    }
    drop(tx);
    assert!(
        answers.next().await.is_none(),
        "the stream ends with its argument"
    );
}

#[tokio::test]
async fn dropping_a_stream_stops_the_generator() {
    let (_plugin, client) = start().await;
    let dir = tempfile::tempdir().expect("a scratch folder");
    let marker = dir.path().join("marker");
    let mut items = client.forever(marker.display().to_string());
    for want in 0..1000u64 {
        assert_eq!(
            items.next().await.expect("an item").expect("not an error"),
            want
        );
    }
    drop(items);
    let until = Instant::now() + Duration::from_secs(10);
    loop {
        if std::fs::read_to_string(&marker).ok().as_deref() == Some("stopped") {
            break;
        }
        assert!(
            Instant::now() < until,
            "the generator's finally did not run within 10 s of the drop"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The plugin serves on.
    assert_eq!(client.count(1, 3).collect::<Vec<_>>().await.len(), 3);
}

#[tokio::test]
async fn a_plugin_killed_mid_stream_ends_the_stream_with_an_error() {
    let (plugin, client) = start().await;
    let dir = tempfile::tempdir().expect("a scratch folder");
    let mut items = client.forever(dir.path().join("m").display().to_string());
    assert!(items.next().await.expect("an item").is_ok());
    let killed = std::process::Command::new("kill")
        .args(["-9", &plugin.pid().to_string()])
        .status()
        .expect("running kill");
    assert!(killed.success());
    let last = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match items.next().await {
                Some(Ok(_)) => continue,
                other => return other,
            }
        }
    })
    .await
    .expect("the stream ends within 10 s of the kill");
    assert!(
        matches!(last, Some(Err(_))),
        "expected an error as the last item, got {last:?}"
    );
}

/// A host that reads one item a millisecond for two seconds from a plugin
/// that could produce ten million: flow control keeps both sides' memory
/// flat (the plugin waits at its `yield`, the host holds one window).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flow_control_bounds_the_memory_of_a_slow_consumer() {
    let (plugin, client) = start().await;
    let mut items = client.download(10_000_000 * 1024, 1024);
    // Warm up: the first items, and a moment for both sides to settle.
    for _ in 0..200 {
        items.next().await.expect("an item").expect("not an error");
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    let host_before = Memory::of_self().rss;
    let plugin_before = Memory::of(plugin.pid()).rss;
    let (mut host_max, mut plugin_max) = (host_before, plugin_before);
    let started = Instant::now();
    let mut read = 0u64;
    while started.elapsed() < Duration::from_secs(2) {
        let chunk = items.next().await.expect("an item").expect("not an error");
        assert_eq!(chunk.len(), 1024);
        read += 1;
        tokio::time::sleep(Duration::from_millis(1)).await;
        if read.is_multiple_of(100) {
            host_max = host_max.max(Memory::of_self().rss);
            plugin_max = plugin_max.max(Memory::of(plugin.pid()).rss);
        }
    }
    drop(items);
    // Without flow control the plugin would have produced gigabytes in two
    // seconds; with a 1 MiB window neither side may grow by more than a few
    // windows (allocator slack included).
    let bound = 16 << 20;
    assert!(
        plugin_max - plugin_before < bound,
        "the plugin grew from {plugin_before} to {plugin_max} bytes while the host read {read} items"
    );
    assert!(
        host_max - host_before < bound,
        "the host grew from {host_before} to {host_max} bytes while it read {read} items"
    );
    assert!(read > 100, "the host read only {read} items in 2 s");
}

/// A plugin's publishes reach the host's wildcard subscription, in order.
#[tokio::test]
async fn a_python_plugins_events_reach_the_hosts_subscription() {
    let bus = goproc::Bus::new();
    let plugin = builder()
        .bus(&bus)
        .spawn()
        .await
        .expect("starting the plugin");
    let probe: EventProbeClient = plugin.client().expect("serves EventProbe");
    let mut sub = TelemetryEvents::on(&bus)
        .subscribe_temperature("sensors/#")
        .expect("subscribing");
    probe
        .publish("sensors/kitchen/k1".into(), "k1".into(), 20)
        .await
        .expect("publish");
    for i in 0..20 {
        let event = tokio::time::timeout(Duration::from_secs(10), sub.next())
            .await
            .expect("an event within 10 s")
            .expect("the subscription lives");
        assert_eq!(event.topic, "sensors/kitchen/k1");
        assert_eq!(
            event.payload,
            Reading {
                sensor: "k1".into(),
                celsius: i as f64
            }
        );
        assert_eq!(event.lagged, 0);
    }
}

/// A Python plugin's subscription receives what the host publishes and
/// what another plugin publishes, but not what it publishes itself.
#[tokio::test]
async fn a_python_plugin_watches_what_the_host_and_another_plugin_publish() {
    let bus = goproc::Bus::new();
    let watcher = builder().bus(&bus).spawn().await.expect("the watcher");
    let other = builder().bus(&bus).spawn().await.expect("the publisher");
    let watch: EventProbeClient = watcher.client().expect("serves EventProbe");
    let publish: EventProbeClient = other.client().expect("serves EventProbe");
    let mut seen = watch.watch("sensors/+/temp".into(), 0);
    let live = seen
        .next()
        .await
        .expect("the first item")
        .expect("not an error");
    assert_eq!(
        live.topic, "",
        "the first item says the subscription is live"
    );
    TelemetryEvents::on(&bus)
        .publish_temperature(
            "sensors/hall/temp",
            &Reading {
                sensor: "host".into(),
                celsius: 1.5,
            },
        )
        .expect("the host publishes");
    // Not matched: another level.
    publish
        .publish("sensors/hall/humidity".into(), "p".into(), 1)
        .await
        .expect("publish");
    publish
        .publish("sensors/attic/temp".into(), "p".into(), 2)
        .await
        .expect("publish");
    // Its own publishes never come back.
    watch
        .publish("sensors/self/temp".into(), "self".into(), 1)
        .await
        .expect("publish");
    let mut got = Vec::new();
    while got.len() < 3 {
        let item = tokio::time::timeout(Duration::from_secs(10), seen.next())
            .await
            .expect("an event within 10 s")
            .expect("the stream lives")
            .expect("not an error");
        got.push((item.topic, item.reading.sensor, item.reading.celsius));
    }
    assert_eq!(
        got,
        vec![
            ("sensors/hall/temp".to_string(), "host".to_string(), 1.5),
            ("sensors/attic/temp".to_string(), "p".to_string(), 0.0),
            ("sensors/attic/temp".to_string(), "p".to_string(), 1.0),
        ]
    );
    let extra = tokio::time::timeout(Duration::from_millis(300), seen.next()).await;
    assert!(extra.is_err(), "unexpected event: {extra:?}");
}

/// A watcher that reads one event per 20 ms falls behind a burst and says
/// so in `lagged`; a fast one gets every event.
#[tokio::test]
async fn a_slow_python_watcher_reports_lagged_and_a_fast_one_misses_nothing() {
    let bus = goproc::Bus::new();
    let slow_plugin = builder().bus(&bus).spawn().await.expect("the slow watcher");
    let fast_plugin = builder().bus(&bus).spawn().await.expect("the fast watcher");
    let slow_probe: EventProbeClient = slow_plugin.client().expect("serves EventProbe");
    let fast_probe: EventProbeClient = fast_plugin.client().expect("serves EventProbe");
    let mut slow = slow_probe.watch("burst/#".into(), 20);
    let mut fast = fast_probe.watch("burst/#".into(), 0);
    slow.next().await.expect("live").expect("not an error");
    fast.next().await.expect("live").expect("not an error");
    let events = TelemetryEvents::on(&bus);
    let total: u32 = 2000;
    for i in 0..total {
        events
            .publish_temperature(
                "burst/x",
                &Reading {
                    sensor: "host".into(),
                    celsius: i as f64,
                },
            )
            .expect("publish");
        if (i + 1).is_multiple_of(100) {
            // Let the fast side keep up with the host's queue of 256.
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    let mut next = 0.0;
    while next < (total - 1) as f64 {
        let seen = tokio::time::timeout(Duration::from_secs(10), fast.next())
            .await
            .expect("an event within 10 s")
            .expect("the stream lives")
            .expect("not an error");
        assert_eq!(seen.lagged, 0, "the fast watcher dropped events");
        assert_eq!(seen.reading.celsius, next);
        next += 1.0;
    }
    let mut lagged = 0;
    let mut received = 0;
    let deadline = Instant::now() + Duration::from_secs(30);
    while received + lagged < total as u64 && Instant::now() < deadline {
        let Ok(Some(Ok(seen))) = tokio::time::timeout(Duration::from_secs(10), slow.next()).await
        else {
            break;
        };
        lagged += seen.lagged;
        received += 1;
    }
    assert!(
        lagged > 0,
        "the slow watcher reported no lag ({received} received)"
    );
    assert_eq!(
        received + lagged,
        total as u64,
        "every event is either received or counted as dropped"
    );
}
