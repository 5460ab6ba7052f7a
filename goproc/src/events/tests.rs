//! The typed API on a host's bus, and a plugin's bus over a recorded link.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;

use super::*;

struct Telemetry;

impl EventContract for Telemetry {
    const NAME: &'static str = "Telemetry";
    const FINGERPRINT: &'static str = "3f9a";
    const CHANNEL: u64 = 0x3f9a;
    const EVENTS: &'static [&'static str] = &["temperature", "alarm"];
    const SCHEMA: fn() -> &'static Result<crate::schema::ContractSchema, String> = || {
        static NONE: Result<crate::schema::ContractSchema, String> = Err(String::new());
        &NONE
    };
}

async fn next<T: serde::de::DeserializeOwned>(sub: &mut Subscription<T>) -> Event<T> {
    tokio::time::timeout(Duration::from_secs(5), sub.next())
        .await
        .expect("an event arrives")
        .expect("the subscription is live")
}

async fn nothing<T: serde::de::DeserializeOwned + fmt::Debug>(sub: &mut Subscription<T>) {
    let got = tokio::time::timeout(Duration::from_millis(30), sub.next()).await;
    assert!(got.is_err(), "no event expected, got {:?}", got.unwrap());
}

#[tokio::test]
async fn the_host_gets_its_own_events_typed() {
    let bus = Bus::new();
    let mut temps = subscribe_event::<Telemetry, f32>(&bus, 0, "sensors/+/temp").unwrap();
    let mut alarms = subscribe_event::<Telemetry, String>(&bus, 1, "#").unwrap();
    publish_event::<Telemetry, _>(&bus, 0, "sensors/k/temp", &21.5f32).unwrap();
    publish_event::<Telemetry, _>(&bus, 0, "sensors/k/humidity", &50.0f32).unwrap();
    publish_event::<Telemetry, _>(&bus, 1, "sensors/k/temp", "fire").unwrap();
    let got = next(&mut temps).await;
    assert_eq!(
        (got.topic.as_str(), got.payload, got.lagged),
        ("sensors/k/temp", 21.5, 0)
    );
    nothing(&mut temps).await;
    assert_eq!(next(&mut alarms).await.payload, "fire");
    assert_eq!(temps.pattern(), "sensors/+/temp");
}

#[tokio::test]
async fn invalid_topics_and_patterns_are_errors_that_say_why() {
    let bus = Bus::new();
    let err = subscribe_event::<Telemetry, f32>(&bus, 0, "a/#/b").unwrap_err();
    assert!(matches!(err, Error::InvalidTopic { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        "Telemetry.temperature: pattern `a/#/b`: `#` must be the last level (it is level 2 of 3)"
    );
    let err = publish_event::<Telemetry, _>(&bus, 1, "a/+", "x").unwrap_err();
    assert!(
        err.to_string()
            .starts_with("Telemetry.alarm: topic `a/+`: level 2 contains `+`"),
        "{err}"
    );
}

#[tokio::test]
async fn an_undecodable_payload_is_skipped_and_counted_as_lagged() {
    let bus = Bus::new();
    let mut temps = subscribe_event::<Telemetry, f32>(&bus, 0, "#").unwrap();
    // Another build of the contract wrote a string where this one reads f32.
    publish_event::<Telemetry, _>(&bus, 0, "a", "not a number").unwrap();
    publish_event::<Telemetry, _>(&bus, 0, "b", &1.0f32).unwrap();
    let got = next(&mut temps).await;
    assert_eq!((got.topic.as_str(), got.lagged), ("b", 1));
}

#[tokio::test]
async fn dropping_a_subscription_ends_it() {
    let bus = Bus::new();
    let sub = subscribe_event::<Telemetry, f32>(&bus, 0, "#").unwrap();
    assert_eq!(bus.router().len(), 1);
    drop(sub);
    assert_eq!(bus.router().len(), 0);
    publish_event::<Telemetry, _>(&bus, 0, "a", &1.0f32).unwrap();
}

#[tokio::test]
async fn a_plugin_member_and_the_host_meet() {
    let bus = Bus::new();
    let plugin = bus.join("sensor".into());
    plugin
        .subscribe(5, "Telemetry", Telemetry::CHANNEL, 1, "alarms/#")
        .unwrap();
    let mut temps = subscribe_event::<Telemetry, f32>(&bus, 0, "sensors/#").unwrap();

    let payload = codec::encode(&20.0f32).unwrap();
    plugin
        .publish(Telemetry::CHANNEL, 0, "sensors/k/temp", &payload)
        .unwrap();
    assert_eq!(next(&mut temps).await.payload, 20.0);

    publish_event::<Telemetry, _>(&bus, 1, "alarms/k", "smoke").unwrap();
    let delivery = tokio::time::timeout(Duration::from_secs(5), plugin.next())
        .await
        .unwrap();
    assert_eq!((delivery.id, &*delivery.topic), (5, "alarms/k"));
    assert_eq!(codec::decode::<String>(&delivery.payload).unwrap(), "smoke");
}

#[test]
fn a_plugin_may_hold_a_bounded_number_of_subscriptions() {
    let bus = Bus::new();
    let plugin = bus.join("greedy".into());
    for id in 1..=super::router::MAX_SUBSCRIPTIONS as u64 {
        plugin
            .subscribe(id, "Telemetry", Telemetry::CHANNEL, 0, "#")
            .unwrap();
    }
    let err = plugin
        .subscribe(u64::MAX, "Telemetry", Telemetry::CHANNEL, 0, "#")
        .unwrap_err();
    assert!(
        err.contains("plugin `greedy`") && err.contains("the most one plugin may have"),
        "{err}"
    );
    // Ending one makes room for another.
    plugin.unsubscribe(1);
    plugin
        .subscribe(u64::MAX, "Telemetry", Telemetry::CHANNEL, 0, "#")
        .unwrap();
}

#[test]
fn two_versions_of_one_event_contract_are_told_apart_with_a_warning() {
    let bus = Bus::new();
    let new = bus.join("sensor-new".into());
    let old = bus.join("sensor-old".into());
    new.subscribe(1, "Telemetry", 0x1111, 0, "#").unwrap();
    // The same version again: nothing to say.
    assert_eq!(
        bus.router().note_version("Telemetry", 0x1111, "plugin `x`"),
        None
    );
    old.subscribe(1, "Telemetry", 0x2222, 0, "#").unwrap();
    let warning = bus
        .router()
        .note_version("Telemetry", 0x2222, "plugin `sensor-old`")
        .expect("a warning");
    assert!(
        warning.contains("plugin `sensor-old`")
            && warning.contains("plugin `sensor-new`")
            && warning.contains("different versions of the contract"),
        "{warning}"
    );
}

use crate::wire::codec;

/// What a plugin's bus sent to the host.
#[derive(Default)]
struct Recorded {
    sent: Mutex<Vec<String>>,
}

impl Link for Recorded {
    fn publish(
        &self,
        channel: u64,
        event: u32,
        topic: &str,
        payload: Vec<u8>,
    ) -> Result<(), Error> {
        let line = format!("PUBLISH {channel:#x} {event} {topic} {payload:?}");
        self.sent.lock().unwrap().push(line);
        Ok(())
    }

    fn subscribe(
        &self,
        id: u64,
        contract: &str,
        channel: u64,
        event: u32,
        pattern: &str,
    ) -> Result<(), Error> {
        let line = format!("SUBSCRIBE {id} {contract} {channel:#x} {event} {pattern}");
        self.sent.lock().unwrap().push(line);
        Ok(())
    }

    fn unsubscribe(&self, id: u64) {
        self.sent.lock().unwrap().push(format!("UNSUBSCRIBE {id}"));
    }
}

impl Recorded {
    fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.sent.lock().unwrap())
    }
}

#[tokio::test]
async fn a_plugin_bus_speaks_to_its_host_and_takes_deliveries() {
    let link = Arc::new(Recorded::default());
    let bus = Bus::remote(link.clone());

    let mut temps = subscribe_event::<Telemetry, f32>(&bus, 0, "sensors/+/temp").unwrap();
    let id = {
        let sent = link.take();
        assert_eq!(sent.len(), 1);
        let line = &sent[0];
        assert!(
            line.ends_with(" Telemetry 0x3f9a 0 sensors/+/temp"),
            "{line}"
        );
        line.split(' ').nth(1).unwrap().parse::<u64>().unwrap()
    };
    assert_ne!(id, 0);

    publish_event::<Telemetry, _>(&bus, 0, "sensors/k/temp", &21.5f32).unwrap();
    assert_eq!(
        link.take(),
        ["PUBLISH 0x3f9a 0 sensors/k/temp [0, 0, 172, 65]"],
        "sent to the host, not delivered here"
    );
    nothing(&mut temps).await;
    // Invalid ones never leave the plugin.
    assert!(subscribe_event::<Telemetry, f32>(&bus, 0, "+x").is_err());
    assert!(publish_event::<Telemetry, _>(&bus, 0, "#", &1.0f32).is_err());
    assert!(link.take().is_empty());

    bus.deliver(
        id,
        2,
        "sensors/k/temp".into(),
        codec::encode(&21.5f32).unwrap(),
    );
    bus.deliver(id + 100, 0, "x".into(), vec![]); // unknown: ignored
    let got = next(&mut temps).await;
    assert_eq!(
        (got.topic.as_str(), got.payload, got.lagged),
        ("sensors/k/temp", 21.5, 2)
    );

    drop(temps);
    assert_eq!(link.take(), [format!("UNSUBSCRIBE {id}")]);
    bus.deliver(
        id,
        0,
        "sensors/k/temp".into(),
        codec::encode(&1.0f32).unwrap(),
    );
}

#[tokio::test]
async fn a_plugin_bus_drops_its_oldest_when_the_reader_is_slow() {
    let link = Arc::new(Recorded::default());
    let bus = Bus::remote(link.clone());
    let mut temps = subscribe_event::<Telemetry, u32>(&bus, 0, "#").unwrap();
    let id: u64 = link.take()[0].split(' ').nth(1).unwrap().parse().unwrap();
    // The host already dropped 3 before the first; this side drops more.
    for i in 0..(DEFAULT_CAPACITY as u32 + 10) {
        let lagged = if i == 0 { 3 } else { 0 };
        bus.deliver(id, lagged, "t".into(), codec::encode(&i).unwrap());
    }
    let first = next(&mut temps).await;
    assert_eq!((first.payload, first.lagged), (10, 3 + 10));
    for i in 11..(DEFAULT_CAPACITY as u32 + 10) {
        let e = next(&mut temps).await;
        assert_eq!((e.payload, e.lagged), (i, 0));
    }
}

#[tokio::test]
async fn closing_a_plugin_bus_ends_its_subscriptions() {
    let link = Arc::new(Recorded::default());
    let bus = Bus::remote(link.clone());
    let mut temps = subscribe_event::<Telemetry, u32>(&bus, 0, "#").unwrap();
    let id: u64 = link.take()[0].split(' ').nth(1).unwrap().parse().unwrap();
    bus.deliver(id, 0, "t".into(), codec::encode(&7u32).unwrap());
    bus.close();
    assert_eq!(
        next(&mut temps).await.payload,
        7,
        "what was queued still comes"
    );
    assert!(temps.next().await.is_none());
    let err = subscribe_event::<Telemetry, u32>(&bus, 0, "#").unwrap_err();
    assert!(matches!(err, Error::Closed { .. }), "{err:?}");
    let err = publish_event::<Telemetry, _>(&bus, 0, "t", &1u32).unwrap_err();
    assert!(matches!(err, Error::Closed { .. }), "{err:?}");
    drop(temps);
    assert!(
        link.take().is_empty(),
        "no UNSUBSCRIBE on a closed connection"
    );
}

#[test]
fn the_global_bus_is_one_bus() {
    assert!(Bus::global().same(&Bus::global()));
    assert!(!Bus::new().same(&Bus::new()));
    assert_eq!(Bus::with_capacity(0).capacity(), 1);
}
