//! The host's routing table: which subscriptions an event goes to. Members
//! are the host itself (its local subscriptions) and each plugin connection
//! the driver attaches ([`Member`]).

use std::collections::HashMap;
use std::future::poll_fn;
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::task::Poll;

use super::queue::{Queue, ReadyList};
use super::topic::{check_topic, Pattern};
use super::{Bus, Message};

/// The member id of the host's own subscriptions.
pub(crate) const HOST: u64 = 0;

/// Subscriptions by channel and event.
#[derive(Default)]
pub(crate) struct Router {
    table: RwLock<HashMap<(u64, u32), Vec<Route>>>,
    /// Each event contract's channel as its first subscriber had it, and
    /// who that was: two versions of one contract never meet, so a second
    /// channel for a name is worth a warning.
    versions: Mutex<HashMap<String, (u64, String)>>,
}

/// One subscription, as the router sees it.
pub(crate) struct Route {
    pub(crate) member: u64,
    pub(crate) id: u64,
    pub(crate) pattern: Pattern,
    pub(crate) queue: Arc<Queue<Message>>,
}

impl Router {
    pub(crate) fn add(&self, channel: u64, event: u32, route: Route) {
        let mut table = self.table.write().unwrap_or_else(PoisonError::into_inner);
        table.entry((channel, event)).or_default().push(route);
    }

    /// Records that `who` subscribes to event contract `contract` on
    /// `channel`, and logs a warning when someone else did on another
    /// channel: they were built from two versions of the contract, and
    /// will never see each other's events. Returns the warning.
    pub(crate) fn note_version(&self, contract: &str, channel: u64, who: &str) -> Option<String> {
        let mut versions = self.versions.lock().unwrap_or_else(PoisonError::into_inner);
        let warning = match versions.get(contract) {
            Some((known, first)) if *known != channel => format!(
                "{who} subscribes to event contract {contract} with channel {channel:016x}, but \
                 {first} uses {known:016x}: they were built from different versions of the \
                 contract and will not see each other's events; rebuild the plugin or \
                 regenerate its stubs from the same contract"
            ),
            Some(_) => return None,
            None => {
                versions.insert(contract.to_string(), (channel, who.to_string()));
                return None;
            }
        };
        tracing::warn!(target: "goproc::events", "{warning}");
        Some(warning)
    }

    /// How many subscriptions there are.
    pub(crate) fn len(&self) -> usize {
        let table = self.table.read().unwrap_or_else(PoisonError::into_inner);
        table.values().map(Vec::len).sum()
    }

    /// Removes subscription `id` of `member`, if it is there.
    pub(crate) fn remove(&self, channel: u64, event: u32, member: u64, id: u64) {
        let mut table = self.table.write().unwrap_or_else(PoisonError::into_inner);
        if let Some(routes) = table.get_mut(&(channel, event)) {
            routes.retain(|r| !(r.member == member && r.id == id));
            if routes.is_empty() {
                table.remove(&(channel, event));
            }
        }
    }

    /// Queues an event for every matching subscription except those of
    /// member `from` (a plugin never gets its own events back; the host's
    /// own publishes, `from == None`, reach the host's subscribers too).
    /// `topic` is valid. The topic and payload are copied once, and shared.
    pub(crate) fn route(
        &self,
        from: Option<u64>,
        channel: u64,
        event: u32,
        topic: &str,
        payload: &[u8],
    ) {
        let table = self.table.read().unwrap_or_else(PoisonError::into_inner);
        let Some(routes) = table.get(&(channel, event)) else {
            return;
        };
        let mut message: Option<Message> = None;
        for route in routes {
            if Some(route.member) == from || !route.pattern.matches(topic) {
                continue;
            }
            let message = message.get_or_insert_with(|| Message {
                topic: topic.into(),
                payload: payload.into(),
            });
            route.queue.push(message.clone(), 0);
        }
    }
}

/// One event for a plugin: deliver it as an EVENT frame to subscription
/// `id`.
#[derive(Debug, Clone)]
pub(crate) struct Delivery {
    /// The plugin's subscription id.
    pub(crate) id: u64,
    /// How many events that subscription missed before this one.
    pub(crate) lagged: u64,
    /// The topic the event was published on.
    pub(crate) topic: Arc<str>,
    /// The encoded payload, shared by every subscription it went to.
    pub(crate) payload: Arc<[u8]>,
}

/// A plugin connection on the host's bus: its subscriptions, and what it
/// publishes. Dropping it removes its subscriptions.
/// The most subscriptions one plugin may have at once: each keeps up to
/// [`super::queue::QUEUE_BYTES`] of events for it, so this bounds what a
/// plugin that subscribes and never reads can make its host hold.
pub(crate) const MAX_SUBSCRIPTIONS: usize = 1024;

pub(crate) struct Member {
    bus: Bus,
    id: u64,
    name: String,
    ready: Arc<ReadyList>,
    subscriptions: Mutex<HashMap<u64, Subscribed>>,
}

struct Subscribed {
    channel: u64,
    event: u32,
    queue: Arc<Queue<Message>>,
}

impl Bus {
    /// Attaches a plugin connection, named `name` in messages.
    pub(crate) fn join(&self, name: String) -> Member {
        Member {
            bus: self.clone(),
            id: self.next_id(),
            name,
            ready: Arc::default(),
            subscriptions: Mutex::default(),
        }
    }
}

impl Member {
    fn subscriptions(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Subscribed>> {
        self.subscriptions
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// A SUBSCRIBE from the plugin. An error says why it was ignored.
    pub(crate) fn subscribe(
        &self,
        id: u64,
        contract: &str,
        channel: u64,
        event: u32,
        pattern: &str,
    ) -> Result<(), String> {
        let refused = |why: String| {
            format!(
                "plugin `{}` subscribed to {contract} (event {event}) as subscription {id}; \
                 ignored: {why}",
                self.name
            )
        };
        if id == 0 {
            return Err(refused("subscription id 0 is reserved".into()));
        }
        let pattern = Pattern::parse(pattern).map_err(refused)?;
        let mut subscriptions = self.subscriptions();
        if subscriptions.len() >= MAX_SUBSCRIPTIONS {
            return Err(refused(format!(
                "the plugin has {MAX_SUBSCRIPTIONS} subscriptions, the most one plugin may have"
            )));
        }
        if subscriptions.contains_key(&id) {
            return Err(refused(
                "the plugin already has a subscription with this id".into(),
            ));
        }
        self.bus
            .router()
            .note_version(contract, channel, &format!("plugin `{}`", self.name));
        let queue = Arc::new(Queue::on_list(
            self.bus.capacity(),
            Arc::clone(&self.ready),
            id,
        ));
        subscriptions.insert(
            id,
            Subscribed {
                channel,
                event,
                queue: Arc::clone(&queue),
            },
        );
        self.bus.router().add(
            channel,
            event,
            Route {
                member: self.id,
                id,
                pattern,
                queue,
            },
        );
        Ok(())
    }

    /// An UNSUBSCRIBE from the plugin; an unknown id is ignored.
    pub(crate) fn unsubscribe(&self, id: u64) {
        let removed = self.subscriptions().remove(&id);
        if let Some(sub) = removed {
            self.bus
                .router()
                .remove(sub.channel, sub.event, self.id, id);
            sub.queue.close();
            self.ready.forget(id);
        }
    }

    /// A PUBLISH from the plugin: routed to every subscription but its own.
    /// An error says why it was ignored (the topic is invalid).
    pub(crate) fn publish(
        &self,
        channel: u64,
        event: u32,
        topic: &str,
        payload: &[u8],
    ) -> Result<(), String> {
        check_topic(topic).map_err(|why| {
            format!(
                "plugin `{}` published event {event} of channel {channel:#x}; ignored: {why}",
                self.name
            )
        })?;
        self.bus
            .router()
            .route(Some(self.id), channel, event, topic, payload);
        Ok(())
    }

    /// Waits for the next event to deliver to this plugin, fair across its
    /// subscriptions: one event from each that has some, in turn.
    /// Cancel-safe: an event is only taken when it is returned.
    pub(crate) async fn next(&self) -> Delivery {
        poll_fn(|cx| loop {
            let Poll::Ready(id) = self.ready.poll_next(cx) else {
                return Poll::Pending;
            };
            let queue = self
                .subscriptions()
                .get(&id)
                .map(|sub| Arc::clone(&sub.queue));
            // An id whose subscription ended, or whose queue was emptied,
            // is skipped.
            if let Some((message, lagged)) = queue.and_then(|q| q.try_take()) {
                return Poll::Ready(Delivery {
                    id,
                    lagged,
                    topic: message.topic,
                    payload: message.payload,
                });
            }
        })
        .await
    }
}

impl Drop for Member {
    fn drop(&mut self) {
        let subscriptions = std::mem::take(&mut *self.subscriptions());
        for (id, sub) in subscriptions {
            self.bus
                .router()
                .remove(sub.channel, sub.event, self.id, id);
            sub.queue.close();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    const CH: u64 = 0x3f9a;

    async fn next(member: &Member) -> Delivery {
        tokio::time::timeout(Duration::from_secs(5), member.next())
            .await
            .expect("an event arrives")
    }

    async fn nothing_for(member: &Member) {
        let got = tokio::time::timeout(Duration::from_millis(30), member.next()).await;
        assert!(got.is_err(), "no event expected, got {:?}", got.unwrap());
    }

    #[tokio::test]
    async fn a_plugin_gets_what_others_publish_and_not_its_own() {
        let bus = Bus::new();
        let a = bus.join("a".into());
        let b = bus.join("b".into());
        a.subscribe(1, "Telemetry", CH, 0, "sensors/+/temp")
            .unwrap();
        b.subscribe(1, "Telemetry", CH, 0, "#").unwrap();

        a.publish(CH, 0, "sensors/k/temp", b"from a").unwrap();
        let got = next(&b).await;
        assert_eq!((got.id, got.lagged), (1, 0));
        assert_eq!(
            (&*got.topic, &*got.payload),
            ("sensors/k/temp", &b"from a"[..])
        );
        nothing_for(&a).await;

        b.publish(CH, 0, "sensors/k/temp", b"from b").unwrap();
        assert_eq!(&*next(&a).await.payload, b"from b");
        nothing_for(&b).await;
    }

    #[tokio::test]
    async fn channel_event_and_pattern_must_all_match() {
        let bus = Bus::new();
        let sub = bus.join("sub".into());
        let publisher = bus.join("pub".into());
        sub.subscribe(1, "T", CH, 0, "a/+").unwrap();
        publisher.publish(CH, 1, "a/b", b"other event").unwrap();
        publisher
            .publish(CH + 1, 0, "a/b", b"other channel")
            .unwrap();
        publisher.publish(CH, 0, "b/b", b"other topic").unwrap();
        publisher.publish(CH, 0, "a/b", b"this").unwrap();
        assert_eq!(&*next(&sub).await.payload, b"this");
        nothing_for(&sub).await;
    }

    #[tokio::test]
    async fn two_matching_subscriptions_get_one_delivery_each_in_turn() {
        let bus = Bus::new();
        let sub = bus.join("sub".into());
        let publisher = bus.join("pub".into());
        sub.subscribe(7, "T", CH, 0, "a/#").unwrap();
        sub.subscribe(9, "T", CH, 0, "+/b").unwrap();
        sub.subscribe(11, "T", CH, 0, "x").unwrap();
        for i in 0..3u8 {
            publisher.publish(CH, 0, "a/b", &[i]).unwrap();
        }
        publisher.publish(CH, 0, "x", b"x").unwrap();
        let mut got = Vec::new();
        for _ in 0..7 {
            let d = next(&sub).await;
            got.push((d.id, d.payload.to_vec()));
        }
        assert_eq!(
            got,
            [
                (7, vec![0]),
                (9, vec![0]),
                (11, b"x".to_vec()),
                (7, vec![1]),
                (9, vec![1]),
                (7, vec![2]),
                (9, vec![2]),
            ]
        );
    }

    #[tokio::test]
    async fn bad_subscriptions_and_topics_are_refused_with_the_reason() {
        let bus = Bus::new();
        let m = bus.join("sensor".into());
        let err = m.subscribe(1, "Telemetry", CH, 0, "a/#/b").unwrap_err();
        assert!(
            err.contains("plugin `sensor`") && err.contains("`#` must be the last level"),
            "{err}"
        );
        let err = m.subscribe(0, "Telemetry", CH, 0, "a").unwrap_err();
        assert!(err.contains("id 0"), "{err}");
        m.subscribe(1, "Telemetry", CH, 0, "a").unwrap();
        let err = m.subscribe(1, "Telemetry", CH, 0, "b").unwrap_err();
        assert!(err.contains("already has a subscription"), "{err}");
        let err = m.publish(CH, 0, "a/+", b"").unwrap_err();
        assert!(err.contains("topic `a/+`: level 2 contains `+`"), "{err}");
    }

    #[tokio::test]
    async fn a_slow_plugin_lags_and_is_told_how_much() {
        let bus = Bus::with_capacity(4);
        let slow = bus.join("slow".into());
        let publisher = bus.join("pub".into());
        slow.subscribe(1, "T", CH, 0, "#").unwrap();
        for i in 0..10u8 {
            publisher.publish(CH, 0, "t", &[i]).unwrap();
        }
        let first = next(&slow).await;
        assert_eq!((first.lagged, &*first.payload), (6, &[6u8][..]));
        for i in 7..10u8 {
            let d = next(&slow).await;
            assert_eq!((d.lagged, &*d.payload), (0, &[i][..]));
        }
    }

    #[tokio::test]
    async fn unsubscribing_and_leaving_stop_deliveries() {
        let bus = Bus::new();
        let sub = bus.join("sub".into());
        let publisher = bus.join("pub".into());
        sub.subscribe(1, "T", CH, 0, "#").unwrap();
        sub.subscribe(2, "T", CH, 0, "#").unwrap();
        publisher.publish(CH, 0, "t", b"queued").unwrap();
        sub.unsubscribe(1);
        sub.unsubscribe(99); // unknown: ignored
        assert_eq!(next(&sub).await.id, 2, "what 1 had queued is gone with it");
        nothing_for(&sub).await;
        // The id is free again.
        sub.subscribe(1, "T", CH, 0, "#").unwrap();
        publisher.publish(CH, 0, "t", b"again").unwrap();
        let ids = [next(&sub).await.id, next(&sub).await.id];
        assert_eq!(ids, [2, 1]);
        nothing_for(&sub).await;

        drop(sub);
        assert_eq!(bus.router().len(), 0);
    }
}
