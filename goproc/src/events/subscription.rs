//! Typed events: what the generated `<Trait>Events` publishes and what its
//! subscriptions yield.

use std::fmt;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll};

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::{Bus, EventContract, RawSubscription};
use crate::wire::codec;
use crate::Error;

/// One event a [`Subscription`] received.
#[derive(Debug, Clone, PartialEq)]
pub struct Event<T> {
    /// The topic it was published on.
    pub topic: String,
    /// What was published.
    pub payload: T,
    /// How many events this subscription missed just before this one: its
    /// queue was full and dropped them, oldest first (or they did not
    /// decode). 0 when none were missed.
    pub lagged: u64,
}

/// The events of one kind whose topics match a pattern, as a
/// [`futures::Stream`] of [`Event`]s. Dropping it ends the subscription.
///
/// The stream ends only when the bus's connection does (in a plugin whose
/// host went away); on a host's bus it waits for more events as long as it
/// lives.
pub struct Subscription<T> {
    raw: RawSubscription,
    /// `Contract.event`.
    what: String,
    pattern: String,
    /// Events that did not decode since the last one yielded.
    skipped: u64,
    _payload: PhantomData<fn() -> T>,
}

impl<T> fmt::Debug for Subscription<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Subscription")
            .field("event", &self.what)
            .field("pattern", &self.pattern)
            .finish_non_exhaustive()
    }
}

impl<T> Subscription<T> {
    /// The pattern it was made with.
    pub fn pattern(&self) -> &str {
        &self.pattern
    }
}

impl<T: DeserializeOwned> Subscription<T> {
    /// The next event; `None` once the subscription has ended (see above).
    /// The same as `StreamExt::next`.
    pub async fn recv(&mut self) -> Option<Event<T>> {
        std::future::poll_fn(|cx| self.poll_event(cx)).await
    }

    fn poll_event(&mut self, cx: &mut Context<'_>) -> Poll<Option<Event<T>>> {
        loop {
            let Some((message, lagged)) = std::task::ready!(self.raw.poll_take(cx)) else {
                return Poll::Ready(None);
            };
            match codec::decode::<T>(&message.payload) {
                Ok(payload) => {
                    let lagged = lagged.saturating_add(std::mem::take(&mut self.skipped));
                    return Poll::Ready(Some(Event {
                        topic: message.topic.to_string(),
                        payload,
                        lagged,
                    }));
                }
                Err(err) => {
                    tracing::warn!(
                        target: "goproc::events",
                        event = %self.what,
                        topic = &*message.topic,
                        "an event of {} on topic `{}` does not decode, skipped (counted in the \
                         next event's `lagged`): {err}",
                        self.what,
                        message.topic.escape_debug(),
                    );
                    self.skipped = self.skipped.saturating_add(lagged).saturating_add(1);
                }
            }
        }
    }
}

impl<T: DeserializeOwned> futures::Stream for Subscription<T> {
    type Item = Event<T>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Event<T>>> {
        self.get_mut().poll_event(cx)
    }
}

/// `Contract.event`, for messages.
fn event_name<C: EventContract>(event: u32) -> String {
    let kind = C::EVENTS.get(event as usize).copied().unwrap_or("?");
    format!("{}.{kind}", C::NAME)
}

/// Publishes event number `event` of contract `C` on `topic` (generated
/// code's `publish_<event>`).
pub fn publish_event<C: EventContract, T: Serialize + ?Sized>(
    bus: &Bus,
    event: u32,
    topic: &str,
    payload: &T,
) -> Result<(), Error> {
    let what = || event_name::<C>(event);
    let bytes = codec::encode(payload).map_err(|e| {
        Error::codec(
            format!(
                "the payload of {} on topic `{}`",
                what(),
                topic.escape_debug()
            ),
            e,
        )
    })?;
    bus.publish_raw(what, C::CHANNEL, event, topic, bytes)
}

/// Subscribes to event number `event` of contract `C` on `pattern`
/// (generated code's `subscribe_<event>`).
pub fn subscribe_event<C: EventContract, T: DeserializeOwned>(
    bus: &Bus,
    event: u32,
    pattern: &str,
) -> Result<Subscription<T>, Error> {
    let what = event_name::<C>(event);
    let raw = bus.subscribe_raw(C::NAME, &what, C::CHANNEL, event, pattern)?;
    Ok(Subscription {
        raw,
        what,
        pattern: pattern.to_string(),
        skipped: 0,
        _payload: PhantomData,
    })
}
