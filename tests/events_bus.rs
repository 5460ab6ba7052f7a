//! Events on a host's own bus, through the API `#[plugin_interface(events)]`
//! generates: who gets what, and what a slow subscriber costs (nothing to
//! the publisher, nothing to a fast subscriber).

use std::time::{Duration, Instant};

use futures::StreamExt;
use goproc::{Bus, Event, EventContract, Subscription};

#[allow(dead_code)]
#[path = "contracts/streams.rs"]
mod streams;
use streams::{Reading, TelemetryEvents};

/// Another contract with an event of the same name and payload.
#[goproc::plugin_interface(events)]
pub trait Weather {
    /// Outside.
    fn temperature(&self, reading: Reading);
}

/// Small payloads, many of them.
#[goproc::plugin_interface(events)]
pub trait Ticks {
    /// The `n`th tick; its payload is named like the topic argument.
    fn tick(&self, topic: u64);
}

/// A contract whose name says `Events` already: the struct keeps it.
#[goproc::plugin_interface(events)]
pub trait DoorEvents {
    /// A door opened.
    fn opened(&self, door: String);
}

fn reading(sensor: &str, celsius: f64) -> Reading {
    Reading {
        sensor: sensor.into(),
        celsius,
    }
}

async fn next<T: serde::de::DeserializeOwned>(sub: &mut Subscription<T>) -> Event<T> {
    tokio::time::timeout(Duration::from_secs(10), sub.next())
        .await
        .expect("an event arrives within 10 s")
        .expect("a subscription on a host's bus does not end")
}

/// What has arrived and waits to be taken.
fn pending<T: serde::de::DeserializeOwned>(sub: &mut Subscription<T>) -> Vec<Event<T>> {
    let mut got = Vec::new();
    while let Some(Some(event)) = sub.next().now_or_never() {
        got.push(event);
    }
    got
}

use futures::FutureExt;

#[tokio::test]
async fn wildcard_subscribers_get_what_matches_and_no_more() {
    let bus = Bus::new();
    let telemetry = TelemetryEvents::on(&bus);
    let patterns = [
        ("sensors/kitchen/temp", true),
        ("sensors/+/temp", true),
        ("sensors/#", true),
        ("#", true),
        ("+/+/+", true),
        ("sensors/kitchen/#", true),
        ("sensors/+", false),
        ("sensors/hall/#", false),
        ("sensors/kitchen/temp/+", false),
        ("+/+", false),
        ("$SYS/#", false),
    ];
    let mut subs: Vec<_> = patterns
        .iter()
        .map(|(p, _)| telemetry.subscribe_temperature(p).unwrap())
        .collect();
    telemetry
        .publish_temperature("sensors/kitchen/temp", &reading("k1", 21.5))
        .unwrap();
    for ((pattern, expected), sub) in patterns.iter().zip(&mut subs) {
        let got = pending(sub);
        if *expected {
            assert_eq!(
                got,
                [Event {
                    topic: "sensors/kitchen/temp".into(),
                    payload: reading("k1", 21.5),
                    lagged: 0
                }],
                "{pattern}"
            );
        } else {
            assert!(got.is_empty(), "{pattern} got {got:?}");
        }
    }

    // `$` topics only reach patterns that name their first level.
    telemetry
        .publish_temperature("$SYS/probe", &reading("sys", 0.0))
        .unwrap();
    for ((pattern, _), sub) in patterns.iter().zip(&mut subs) {
        let got = pending(sub);
        assert_eq!(got.len(), usize::from(*pattern == "$SYS/#"), "{pattern}");
    }
}

#[tokio::test]
async fn the_kinds_of_one_contract_do_not_mix() {
    let bus = Bus::new();
    let telemetry = TelemetryEvents::on(&bus);
    let mut temps = telemetry.subscribe_temperature("#").unwrap();
    let mut alarms = telemetry.subscribe_alarm("#").unwrap();
    telemetry
        .publish_alarm("home/fire", &"smoke".into())
        .unwrap();
    telemetry
        .publish_temperature("home/fire", &reading("f", 80.0))
        .unwrap();
    let temps = pending(&mut temps);
    let alarms = pending(&mut alarms);
    assert_eq!(temps.len(), 1);
    assert_eq!(temps[0].payload, reading("f", 80.0));
    assert_eq!(alarms.len(), 1);
    assert_eq!(alarms[0].payload, "smoke");
}

#[tokio::test]
async fn two_contracts_do_not_mix() {
    let bus = Bus::new();
    let telemetry = TelemetryEvents::on(&bus);
    let weather = WeatherEvents::on(&bus);
    assert_ne!(TelemetryEvents::CHANNEL, WeatherEvents::CHANNEL);
    let mut inside = telemetry.subscribe_temperature("#").unwrap();
    let mut outside = weather.subscribe_temperature("#").unwrap();
    telemetry
        .publish_temperature("t", &reading("in", 20.0))
        .unwrap();
    weather
        .publish_temperature("t", &reading("out", 5.0))
        .unwrap();
    let inside = pending(&mut inside);
    let outside = pending(&mut outside);
    assert_eq!(inside.len(), 1);
    assert_eq!(inside[0].payload.sensor, "in");
    assert_eq!(outside.len(), 1);
    assert_eq!(outside[0].payload.sensor, "out");
}

#[tokio::test]
async fn the_generated_struct_describes_its_contract() {
    assert_eq!(TelemetryEvents::NAME, "Telemetry");
    assert_eq!(TelemetryEvents::EVENTS, ["temperature", "alarm"]);
    assert_eq!(TelemetryEvents::FINGERPRINT.len(), 64);
    assert_eq!(
        TelemetryEvents::CHANNEL,
        u64::from_str_radix(&TelemetryEvents::FINGERPRINT[..16], 16).unwrap()
    );
}

#[tokio::test]
async fn a_contract_named_events_keeps_its_name() {
    let doors = DoorEvents::on(&Bus::new());
    assert_eq!(DoorEvents::NAME, "DoorEvents");
    let mut opened = doors.subscribe_opened("doors/+").unwrap();
    doors
        .publish_opened("doors/front", &"front".into())
        .unwrap();
    assert_eq!(next(&mut opened).await.payload, "front");
}

#[tokio::test]
async fn invalid_topics_and_patterns_are_refused_with_the_rule() {
    let telemetry = TelemetryEvents::on(&Bus::new());
    let err = telemetry.subscribe_alarm("home/#/kitchen").unwrap_err();
    assert!(matches!(err, goproc::Error::InvalidTopic { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        "Telemetry.alarm: pattern `home/#/kitchen`: `#` must be the last level (it is level 2 \
         of 3)"
    );
    let err = telemetry.subscribe_alarm("home/kit+").unwrap_err();
    assert!(
        err.to_string()
            .contains("`+` and `#` must fill a whole level"),
        "{err}"
    );
    let err = telemetry
        .publish_temperature("home/+/temp", &reading("x", 0.0))
        .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("Telemetry.temperature: topic `home/+/temp`: level 2 contains `+`"),
        "{err}"
    );
    let err = telemetry.publish_alarm("", &"x".into()).unwrap_err();
    assert!(err.to_string().contains("a topic cannot be empty"), "{err}");
}

/// A subscriber that never reads loses all but the newest `capacity`
/// events, and is told exactly how many; a subscriber that keeps up, in
/// the same run, gets every one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_subscriber_lags_exactly_and_a_fast_one_misses_nothing() {
    const CAPACITY: usize = 16;
    const COUNT: u64 = 5_000;
    let bus = Bus::with_capacity(CAPACITY);
    let ticks = TicksEvents::on(&bus);
    let mut slow = ticks.subscribe_tick("clock/#").unwrap();
    let fast = ticks.subscribe_tick("clock/+").unwrap();
    let (taken_tx, mut taken) = tokio::sync::watch::channel(0u64);
    let reader = tokio::spawn(async move {
        let mut fast = fast;
        let mut seen = Vec::new();
        while seen.len() < COUNT as usize {
            let event = next(&mut fast).await;
            seen.push((event.payload, event.lagged));
            taken_tx.send_replace(seen.len() as u64);
        }
        seen
    });
    // In bursts shorter than the queue, each after the fast reader took the
    // last: it keeps up by construction; the slow one never reads.
    for n in 0..COUNT {
        ticks.publish_tick("clock/tick", &n).unwrap();
        if n % 8 == 7 {
            taken.wait_for(|&t| t == n + 1).await.unwrap();
        }
    }
    let seen = reader.await.unwrap();
    assert!(
        seen.iter().all(|&(_, lagged)| lagged == 0),
        "the fast one lagged"
    );
    assert_eq!(
        seen.iter().map(|&(n, _)| n).collect::<Vec<_>>(),
        (0..COUNT).collect::<Vec<_>>()
    );

    let slow = pending(&mut slow);
    assert_eq!(slow.len(), CAPACITY);
    assert_eq!(slow[0].lagged, COUNT - CAPACITY as u64);
    assert!(slow[1..].iter().all(|e| e.lagged == 0));
    assert_eq!(
        slow.iter().map(|e| e.payload).collect::<Vec<_>>(),
        (COUNT - CAPACITY as u64..COUNT).collect::<Vec<_>>()
    );
}

/// A million events into a subscription nobody reads: publishing never
/// waits, and the subscription holds only its newest 256.
#[tokio::test]
async fn the_publisher_never_blocks() {
    const COUNT: u64 = 1_000_000;
    let bus = Bus::new();
    let ticks = TicksEvents::on(&bus);
    let mut idle = ticks.subscribe_tick("#").unwrap();
    let started = Instant::now();
    // Not a task: a publish that waited would hang this very thread.
    for n in 0..COUNT {
        ticks.publish_tick("clock/tick", &n).unwrap();
    }
    let took = started.elapsed();
    assert!(
        took < Duration::from_secs(60),
        "1,000,000 publishes took {took:?}"
    );

    let held = pending(&mut idle);
    assert_eq!(held.len(), bus.capacity());
    assert_eq!(bus.capacity(), 256);
    assert_eq!(held[0].lagged, COUNT - 256);
    assert_eq!(held[0].payload, COUNT - 256);
    assert_eq!(held.last().unwrap().payload, COUNT - 1);
}

#[tokio::test]
async fn dropping_a_subscription_unsubscribes() {
    let bus = Bus::new();
    let telemetry = TelemetryEvents::on(&bus);
    let kept = telemetry.subscribe_alarm("#").unwrap();
    let dropped = telemetry.subscribe_alarm("#").unwrap();
    assert_eq!(bus.subscriptions(), 2);
    drop(dropped);
    assert_eq!(bus.subscriptions(), 1);
    telemetry.publish_alarm("a", &"still here".into()).unwrap();
    let mut kept = kept;
    assert_eq!(next(&mut kept).await.payload, "still here");
    drop(kept);
    assert_eq!(bus.subscriptions(), 0);
    // Nobody listens: the event is dropped, and that is no error.
    telemetry.publish_alarm("a", &"nobody".into()).unwrap();
}

#[tokio::test]
async fn a_subscriber_waits_for_what_comes_next() {
    let bus = Bus::new();
    let telemetry = TelemetryEvents::on(&bus);
    let mut alarms = telemetry.subscribe_alarm("home/#").unwrap();
    let waiter = tokio::spawn(async move { next(&mut alarms).await });
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(!waiter.is_finished());
    telemetry.publish_alarm("home", &"door".into()).unwrap();
    let got = waiter.await.unwrap();
    assert_eq!((got.topic.as_str(), got.payload.as_str()), ("home", "door"));
}

#[tokio::test]
async fn the_global_bus_is_shared() {
    let here = TelemetryEvents::on(&Bus::global());
    let there = TelemetryEvents::on(&Bus::global());
    let mut alarms = here.subscribe_alarm("global/test").unwrap();
    there.publish_alarm("global/test", &"hi".into()).unwrap();
    assert_eq!(next(&mut alarms).await.payload, "hi");
}
