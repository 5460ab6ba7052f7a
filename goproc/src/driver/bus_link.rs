//! Events on a connection (docs/WIRE.md, "Events"). On the host, each
//! plugin connection is a member of the host's bus: its SUBSCRIBE and
//! PUBLISH frames go to the bus, and a task writes the events routed to it
//! as EVENT frames, as fast as the plugin reads (the bus's queues drop the
//! oldest meanwhile). In a plugin, `goproc::host_bus()` is a bus whose link
//! sends those frames to the host, and EVENT frames feed its subscriptions.

use std::sync::{Arc, OnceLock};

use serde::Serialize;
use tokio::task::AbortHandle;

use super::Connection;
use crate::events::{Bus, Link};
use crate::session::Incoming;
use crate::wire::frame::FrameBuf;
use crate::wire::messages::{Delivery, Publish, Subscribe};
use crate::wire::{codec, Kind};
use crate::Error;

/// A frame with a head and, after it, an already encoded payload.
fn event_frame<H: Serialize>(
    kind: Kind,
    id: u64,
    head: &H,
    payload: &[u8],
    max: u32,
) -> Option<Vec<u8>> {
    let mut frame = FrameBuf::with_capacity(kind, id, 32 + payload.len());
    codec::encode_into(head, frame.body_mut()).ok()?;
    frame.body_mut().extend_from_slice(payload);
    frame.finish(max).ok()
}

impl Connection {
    /// Joins the host's `bus` as the plugin `name`, and starts writing the
    /// events routed to it.
    pub(crate) fn join_bus(self: &Arc<Self>, bus: &Bus, name: String) {
        let member = Arc::new(bus.join(name));
        if self.bus_member.set(member.clone()).is_err() {
            return;
        }
        let conn = Arc::downgrade(self);
        tokio::spawn(async move {
            loop {
                let delivery = member.next().await;
                let Some(conn) = conn.upgrade() else { return };
                if conn.is_closed() {
                    return;
                }
                let head = Delivery {
                    lagged: delivery.lagged,
                    topic: delivery.topic.to_string(),
                };
                let Some(frame) = event_frame(
                    Kind::Event,
                    delivery.id,
                    &head,
                    &delivery.payload,
                    conn.max_frame,
                ) else {
                    continue;
                };
                // Waits while the plugin does not read: the bus keeps
                // routing meanwhile, into bounded queues.
                if conn.send_item(frame).await.is_err() {
                    return;
                }
            }
        });
    }

    /// An event frame from the peer.
    pub(super) fn on_event(&self, event: Incoming<AbortHandle>) {
        match (self.bus_member.get(), event) {
            (Some(member), Incoming::Publish(head, body, at)) => {
                if let Err(e) = member.publish(head.channel, head.event, &head.topic, &body[at..]) {
                    tracing::warn!(plugin = %self.peer, "ignored an event the plugin published: {e}");
                }
            }
            (Some(member), Incoming::Subscribe(id, sub)) => {
                if let Err(e) =
                    member.subscribe(id, &sub.contract, sub.channel, sub.event, &sub.pattern)
                {
                    tracing::warn!(plugin = %self.peer, "ignored a subscription of the plugin: {e}");
                }
            }
            (Some(member), Incoming::Unsubscribe(id)) => member.unsubscribe(id),
            (_, Incoming::Deliver(id, head, mut body, at)) => {
                if let Some(bus) = plugin_bus() {
                    body.drain(..at);
                    bus.deliver(id, head.lagged, head.topic, body);
                }
            }
            _ => {}
        }
    }
}

/// The bus of this plugin process, once `host_bus()` made it.
fn plugin_bus() -> Option<&'static Bus> {
    PLUGIN_BUS.get()
}

static PLUGIN_BUS: OnceLock<Bus> = OnceLock::new();

/// Inside a plugin process: the bus that reaches the host. What is
/// published on it goes to the host's bus (and from there to the host's
/// subscribers and the other plugins'); its subscriptions get what the host
/// routes to them. Publishing before the plugin is connected fails with
/// [`Error::NoPeer`].
pub fn host_bus() -> Bus {
    PLUGIN_BUS
        .get_or_init(|| Bus::remote(Arc::new(HostLink)))
        .clone()
}

/// The link of a plugin's bus: the current connection to the host.
struct HostLink;

impl HostLink {
    fn conn(&self) -> Result<Arc<Connection>, Error> {
        match super::context::host_now() {
            super::context::HostNow::Connected(conn) => Ok(conn),
            _ => Err(Error::NoPeer { contract: "events" }),
        }
    }
}

impl Link for HostLink {
    fn publish(
        &self,
        channel: u64,
        event: u32,
        topic: &str,
        payload: Vec<u8>,
    ) -> Result<(), Error> {
        let conn = self.conn()?;
        let head = Publish {
            channel,
            event,
            topic: topic.to_string(),
        };
        let frame =
            event_frame(Kind::Publish, 0, &head, &payload, conn.max_frame).ok_or_else(|| {
                Error::codec(
                    format!("publishing on {topic}"),
                    "the event is larger than the maximum frame size",
                )
            })?;
        // Never waits: an event that finds the outbox full (a host that
        // does not read) is dropped, as a lagging subscriber's would be.
        match conn.outbox.try_reserve(frame.len()) {
            Some(room) => {
                let _ = conn.outbox.push_request(frame, room);
            }
            None => tracing::debug!(topic, "event dropped: the host is not reading"),
        }
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
        let conn = self.conn()?;
        let sub = Subscribe {
            contract: contract.to_string(),
            channel,
            event,
            pattern: pattern.to_string(),
        };
        let frame = event_frame(Kind::Subscribe, id, &sub, &[], conn.max_frame)
            .ok_or_else(|| Error::codec("subscribing", "the pattern is too long"))?;
        conn.send_control(frame)
    }

    fn unsubscribe(&self, id: u64) {
        if let Ok(conn) = self.conn() {
            let _ = conn.send_control(crate::wire::frame::control_frame(Kind::Unsubscribe, id));
        }
    }
}

/// The plugin's connection to the host ended: its subscriptions end.
pub(crate) fn host_connection_ended() {
    if let Some(bus) = plugin_bus() {
        bus.close();
    }
}
