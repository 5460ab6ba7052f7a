//! Streams and events with a Python plugin (tests/python/streams_plugin.py,
//! serving `Streams` and `EventProbe` from tests/contracts/streams.rs) and
//! a Rust host: many items in order, a failure as the last item, an upload,
//! both directions at once, cancel on drop, a plugin killed mid-stream, the
//! memory bound of flow control, and events routed both ways; and a Python
//! plugin (tests/python/stream_guest_plugin.py) streaming to and from a
//! host service.

mod common;
#[macro_use]
mod streams_support;

use streams_support::streams;

/// What `fail_after`'s raised exception arrives as.
const FAILURE: &str = "RuntimeError: boom after 3";

streams_tests!();

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use futures::StreamExt;
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

/// A Python plugin (tests/python/stream_guest_plugin.py) reads the host's
/// `Streams.count` and sends a stream to the host's `Streams.upload`, under
/// a small window so its upload waits for the host's credit.
#[tokio::test]
async fn a_python_plugin_streams_to_and_from_a_host_service() {
    let builder = common::python::plugin(
        &common::python::script("stream_guest_plugin.py"),
        pythonpath(),
    )
    .name("py-stream-guest")
    .start_timeout(Duration::from_secs(30));
    streams_support::a_plugin_streams_to_and_from_a_host_service(builder).await;
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
