//! Events on a connection: a plugin's subscriptions and publishes reach
//! the host's bus; the host's deliveries reach the plugin's subscriptions
//! (docs/WIRE.md, "Events").

use super::Connection;
use crate::session::Incoming;
use tokio::task::AbortHandle;

impl Connection {
    /// An event frame from the peer.
    pub(super) fn on_event(&self, event: Incoming<AbortHandle>) {
        match event {
            Incoming::Publish(head, body, at) => tracing::debug!(
                topic = %head.topic, channel = head.channel, event = head.event,
                payload = body.len() - at, "event published (no bus yet)"
            ),
            Incoming::Subscribe(id, sub) => {
                tracing::debug!(id, pattern = %sub.pattern, contract = %sub.contract, channel = sub.channel, event = sub.event, "subscribe (no bus yet)")
            }
            Incoming::Unsubscribe(id) => tracing::debug!(id, "unsubscribe (no bus yet)"),
            Incoming::Deliver(id, head, body, at) => tracing::debug!(
                id, lagged = head.lagged, topic = %head.topic, payload = body.len() - at,
                "event delivered (no bus yet)"
            ),
            _ => {}
        }
    }
}
