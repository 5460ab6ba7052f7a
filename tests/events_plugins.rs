//! Events across real process boundaries: Rust plugins (`test-plugin
//! events`, serving `EventProbe` from tests/contracts/streams.rs) publish
//! and subscribe to `Telemetry` on the host's bus.

#[allow(dead_code)]
#[path = "common/memory.rs"]
mod memory;
#[path = "contracts/streams.rs"]
mod streams;

use std::time::Duration;

use futures::StreamExt;
use goproc::{Bus, Plugin, Stream};
use streams::{EventProbeClient, Seen, TelemetryEvents};

async fn start(bus: &Bus, name: &str) -> (Plugin, EventProbeClient) {
    let plugin = Plugin::builder(env!("CARGO_BIN_EXE_test-plugin"))
        .arg("events")
        .name(name)
        .contract::<EventProbeClient>()
        .bus(bus)
        .start_timeout(Duration::from_secs(20))
        .spawn()
        .await
        .expect("starting the events plugin");
    let client = plugin.client().expect("serves EventProbe");
    (plugin, client)
}

/// Watches `pattern` in `probe`; returns once the subscription is live.
async fn watch(probe: &EventProbeClient, pattern: &str, delay_ms: u32) -> Stream<Seen> {
    let mut seen = probe.watch(pattern.into(), delay_ms);
    let live = within(seen.next()).await.expect("the watch answers");
    assert_eq!(
        live.expect("no failure").topic,
        "",
        "the first item says it is live"
    );
    seen
}

async fn within<F: std::future::Future>(f: F) -> F::Output {
    tokio::time::timeout(Duration::from_secs(20), f)
        .await
        .expect("within 20 s")
}

async fn next_seen(seen: &mut Stream<Seen>) -> Seen {
    within(seen.next())
        .await
        .expect("the watch goes on")
        .expect("no failure")
}

#[tokio::test]
async fn the_host_gets_what_a_plugin_publishes() {
    let bus = Bus::new();
    let telemetry = TelemetryEvents::on(&bus);
    let mut kitchen = telemetry
        .subscribe_temperature("sensors/kitchen/#")
        .unwrap();
    let mut hall = telemetry.subscribe_temperature("sensors/hall/#").unwrap();
    let (_plugin, probe) = start(&bus, "publisher").await;
    probe
        .publish("sensors/kitchen/t1".into(), "t1".into(), 10)
        .await
        .unwrap();
    for i in 0..10 {
        let event = within(kitchen.next()).await.unwrap();
        assert_eq!(event.topic, "sensors/kitchen/t1");
        assert_eq!(event.payload.sensor, "t1");
        assert_eq!((event.payload.celsius, event.lagged), (f64::from(i), 0));
    }
    assert!(hall.next().now_or_never().is_none(), "no match, nothing");
}

use futures::FutureExt;

#[tokio::test]
async fn plugins_get_each_others_events_and_the_hosts_but_never_their_own() {
    let bus = Bus::new();
    let (_a, a) = start(&bus, "a").await;
    let (_b, b) = start(&bus, "b").await;
    let mut a_sees = watch(&a, "sensors/#", 0).await;
    let mut b_sees = watch(&b, "sensors/+/temp", 0).await;

    a.publish("sensors/a/temp".into(), "from-a".into(), 3)
        .await
        .unwrap();
    b.publish("sensors/b/temp".into(), "from-b".into(), 2)
        .await
        .unwrap();
    TelemetryEvents::on(&bus)
        .publish_temperature(
            "sensors/host/temp",
            &streams::Reading {
                sensor: "from-host".into(),
                celsius: 99.0,
            },
        )
        .unwrap();

    let mut at_a = Vec::new();
    for _ in 0..3 {
        let seen = next_seen(&mut a_sees).await;
        at_a.push((seen.reading.sensor, seen.topic));
    }
    assert_eq!(
        at_a,
        [
            ("from-b".to_string(), "sensors/b/temp".to_string()),
            ("from-b".to_string(), "sensors/b/temp".to_string()),
            ("from-host".to_string(), "sensors/host/temp".to_string()),
        ],
        "a gets b's and the host's, not its own"
    );
    let mut at_b = Vec::new();
    for _ in 0..4 {
        at_b.push(next_seen(&mut b_sees).await.reading.sensor);
    }
    assert_eq!(at_b, ["from-a", "from-a", "from-a", "from-host"]);
}

/// A plugin that reads one event per 2 ms while the host publishes as fast
/// as it can: it lags, and what it got plus what it was told it missed is
/// every event; a host subscriber in the same run misses nothing.
#[tokio::test]
async fn a_slow_plugin_lags_exactly_and_a_fast_host_subscriber_misses_nothing() {
    const COUNT: u32 = 3_000;
    let bus = Bus::new();
    let telemetry = TelemetryEvents::on(&bus);
    let (_plugin, probe) = start(&bus, "slow").await;
    let mut slow = watch(&probe, "load/#", 2).await;
    let fast = telemetry.subscribe_temperature("load/+").unwrap();
    let (taken_tx, mut taken) = tokio::sync::watch::channel(0u32);
    let reader = tokio::spawn(async move {
        let mut fast = fast;
        let mut got = Vec::new();
        while got.len() < COUNT as usize {
            let event = within(fast.next()).await.unwrap();
            got.push((event.payload.celsius, event.lagged));
            taken_tx.send_replace(got.len() as u32);
        }
        got
    });
    for i in 0..COUNT {
        let reading = streams::Reading {
            sensor: "host".into(),
            celsius: f64::from(i),
        };
        telemetry.publish_temperature("load/x", &reading).unwrap();
        if i % 64 == 63 {
            taken.wait_for(|&t| t == i + 1).await.unwrap();
        }
    }
    let fast = reader.await.unwrap();
    assert!(fast.iter().all(|&(_, lagged)| lagged == 0));
    assert_eq!(
        fast.iter().map(|&(c, _)| c as u32).collect::<Vec<_>>(),
        (0..COUNT).collect::<Vec<_>>()
    );

    // The slow one: until the last event, count what came and what it was
    // told it missed.
    let (mut got, mut missed, mut last) = (0u64, 0u64, -1.0);
    while last < f64::from(COUNT - 1) {
        let seen = next_seen(&mut slow).await;
        assert!(seen.reading.celsius > last, "in order");
        last = seen.reading.celsius;
        got += 1;
        missed += seen.lagged;
    }
    assert!(missed > 0, "a reader of one per 2 ms falls behind");
    assert_eq!(got + missed, u64::from(COUNT), "got {got}, missed {missed}");
}

#[tokio::test]
async fn a_plugin_that_dies_takes_its_subscriptions_with_it() {
    let bus = Bus::new();
    let (plugin, probe) = start(&bus, "leaver").await;
    let _seen = watch(&probe, "#", 0).await;
    assert_eq!(bus.subscriptions(), 1);
    // Killed with its subscription live: no UNSUBSCRIBE ever comes.
    plugin.kill();
    let until = std::time::Instant::now() + Duration::from_secs(10);
    while bus.subscriptions() > 0 && std::time::Instant::now() < until {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(bus.subscriptions(), 0);
}

/// A plugin that floods the bus with events as large as a frame, into a
/// host subscription that never reads, costs the host a bounded amount of
/// memory (the subscription keeps at most 1 MiB), and the reader gets the
/// newest events with what it missed.
#[tokio::test]
async fn a_flood_of_large_events_costs_the_host_a_bounded_amount_of_memory() {
    let bus = Bus::new();
    let mut alarms = TelemetryEvents::on(&bus)
        .subscribe_alarm("alarms/#")
        .unwrap();
    let before = memory::Memory::of_self().rss;
    let plugin = Plugin::builder(env!("CARGO_BIN_EXE_test-plugin"))
        .arg("event-flood")
        .name("flood")
        .bus(&bus)
        .start_timeout(Duration::from_secs(20))
        .spawn()
        .await
        .expect("starting the flooding plugin");
    // 2,000 events of 1 MiB: 2 GiB if they were kept.
    let mut peak = before;
    let started = std::time::Instant::now();
    while started.elapsed() < Duration::from_secs(4) {
        peak = peak.max(memory::Memory::of_self().rss);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let grew = peak.saturating_sub(before);
    assert!(
        grew < 64 << 20,
        "the host grew {grew} bytes under the flood"
    );
    let event = within(alarms.next()).await.expect("an event");
    assert_eq!(event.payload.len(), 1 << 20);
    assert!(event.lagged > 0, "the reader is told what it missed");
    drop(plugin);
}
