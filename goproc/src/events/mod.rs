//! Events: publish and subscribe on topics with MQTT wildcards
//! (docs/WIRE.md, "Events").
//!
//! A [`Bus`] is where events meet. In a host it routes: the host's own
//! subscriptions and each plugin connection are members, and an event goes
//! to every matching subscription of every member but the one that
//! published it. In a plugin the bus is the connection to the host: a
//! publish is sent to the host, which routes it, and the host delivers what
//! the plugin subscribed to.
//!
//! Every subscription has a bounded queue: a publisher never waits, and a
//! subscriber that does not keep up loses its oldest events and is told how
//! many with the next one ([`Event::lagged`]).

mod queue;
mod router;
mod subscription;
mod topic;

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use queue::Queue;
use router::{Route, Router, HOST};

// The driver attaches plugin connections with these.
pub(crate) use router::Member;
#[doc(hidden)]
pub use subscription::{publish_event, subscribe_event};
pub use subscription::{Event, Subscription};

use crate::Error;

/// The default number of events a subscription keeps for a subscriber
/// that has not taken them yet.
pub(crate) const DEFAULT_CAPACITY: usize = 256;

/// An event contract, as generated code describes it: implemented by the
/// `<Trait>Events` struct that `#[plugin_interface(events)]` generates.
pub trait EventContract {
    /// The trait's name.
    const NAME: &'static str;
    /// The contract's fingerprint (hex SHA-256 of its canonical text).
    const FINGERPRINT: &'static str;
    /// The channel its events travel on: the fingerprint's first 16 hex
    /// digits as a big-endian u64.
    const CHANNEL: u64;
    /// Its kinds of events, in order: an event's number is its position.
    const EVENTS: &'static [&'static str];
    /// The contract's schema, traced from serde's impls once (see
    /// [`crate::ContractInfo::schema`]).
    const SCHEMA: fn() -> &'static Result<crate::schema::ContractSchema, String>;
}

/// One event in a queue: the topic and payload, shared by every
/// subscription it goes to.
#[derive(Clone)]
pub(crate) struct Message {
    pub(crate) topic: Arc<str>,
    pub(crate) payload: Arc<[u8]>,
}

impl queue::Weigh for Message {
    fn weight(&self) -> usize {
        self.topic.len() + self.payload.len()
    }
}

/// The connection from a plugin to its host, as its bus uses it.
pub(crate) trait Link: Send + Sync + 'static {
    /// Sends a PUBLISH.
    fn publish(&self, channel: u64, event: u32, topic: &str, payload: Vec<u8>)
        -> Result<(), Error>;
    /// Sends a SUBSCRIBE.
    fn subscribe(
        &self,
        id: u64,
        contract: &str,
        channel: u64,
        event: u32,
        pattern: &str,
    ) -> Result<(), Error>;
    /// Sends an UNSUBSCRIBE.
    fn unsubscribe(&self, id: u64);
}

/// Where events are published and subscribed to.
///
/// A host makes one with [`Bus::new`] (or uses [`Bus::global`]) and hands it
/// to the plugins it starts; the host's own code publishes and subscribes on
/// it as well. Inside a plugin, the bus that reaches the host is
/// `goproc::host_bus()`. Cheap to clone: clones are the same bus.
///
/// Use it through an event contract's generated `<Trait>Events`:
///
/// ```
/// # use futures::StreamExt;
/// #[goproc::plugin_interface(events)]
/// pub trait Doorbell {
///     /// Someone rang; the payload says who.
///     fn rang(&self, visitor: String);
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), goproc::Error> {
/// let bus = goproc::Bus::new();
/// let doorbell = DoorbellEvents::on(&bus);
/// let mut front = doorbell.subscribe_rang("doors/front/#")?;
/// doorbell.publish_rang("doors/front/bell", &"Ada".to_string())?;
/// let event = front.next().await.unwrap();
/// assert_eq!((event.topic.as_str(), event.payload.as_str()), ("doors/front/bell", "Ada"));
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Bus {
    inner: Arc<Inner>,
}

struct Inner {
    capacity: usize,
    /// Member ids, and the ids of the host's own subscriptions.
    next_id: AtomicU64,
    router: Router,
    /// In a plugin: the connection to the host.
    remote: Option<Remote>,
}

struct Remote {
    link: Arc<dyn Link>,
    subscriptions: Mutex<HashMap<u64, Arc<Queue<Message>>>>,
    closed: AtomicBool,
}

impl Default for Bus {
    fn default() -> Self {
        Bus::new()
    }
}

impl fmt::Debug for Bus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Bus")
            .field("capacity", &self.inner.capacity)
            .field("remote", &self.inner.remote.is_some())
            .finish_non_exhaustive()
    }
}

impl Bus {
    /// A new bus whose subscriptions each keep up to 256 events.
    pub fn new() -> Bus {
        Bus::with_capacity(DEFAULT_CAPACITY)
    }

    /// A new bus whose subscriptions each keep up to `capacity` events (at
    /// least one) for a subscriber that has not taken them; beyond that,
    /// the oldest are dropped.
    pub fn with_capacity(capacity: usize) -> Bus {
        Bus::build(capacity, None)
    }

    /// The process's own bus, created on first use: what plugins are
    /// attached to unless their builder is given another.
    pub fn global() -> Bus {
        static GLOBAL: OnceLock<Bus> = OnceLock::new();
        GLOBAL.get_or_init(Bus::new).clone()
    }

    fn build(capacity: usize, remote: Option<Remote>) -> Bus {
        Bus {
            inner: Arc::new(Inner {
                capacity: capacity.max(1),
                next_id: AtomicU64::new(1),
                router: Router::default(),
                remote,
            }),
        }
    }

    /// A plugin's bus: publishes and subscriptions go to the host over
    /// `link`, events arrive through [`Bus::deliver`].
    pub(crate) fn remote(link: Arc<dyn Link>) -> Bus {
        Bus::build(
            DEFAULT_CAPACITY,
            Some(Remote {
                link,
                subscriptions: Mutex::default(),
                closed: AtomicBool::new(false),
            }),
        )
    }

    /// How many events each subscription keeps.
    pub fn capacity(&self) -> usize {
        self.inner.capacity
    }

    /// How many subscriptions are live: on a host's bus, its own and its
    /// plugins'; on a plugin's, the plugin's own.
    pub fn subscriptions(&self) -> usize {
        match &self.inner.remote {
            None => self.router().len(),
            Some(remote) => lock(&remote.subscriptions).len(),
        }
    }

    /// Whether `self` and `other` are the same bus.
    pub fn same(&self, other: &Bus) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }

    fn next_id(&self) -> u64 {
        self.inner.next_id.fetch_add(1, Ordering::Relaxed)
    }

    fn router(&self) -> &Router {
        &self.inner.router
    }

    /// An EVENT frame arrived for subscription `id`; an unknown id (one
    /// this side just ended, say) is ignored.
    pub(crate) fn deliver(&self, id: u64, lagged: u64, topic: String, payload: Vec<u8>) {
        let Some(remote) = &self.inner.remote else {
            return;
        };
        let queue = lock(&remote.subscriptions).get(&id).cloned();
        if let Some(queue) = queue {
            let message = Message {
                topic: topic.into(),
                payload: payload.into(),
            };
            queue.push(message, lagged);
        }
    }

    /// The connection to the host ended: every subscription's stream ends
    /// after what it has queued, and publishing or subscribing fails.
    pub(crate) fn close(&self) {
        let Some(remote) = &self.inner.remote else {
            return;
        };
        remote.closed.store(true, Ordering::Release);
        let subscriptions = std::mem::take(&mut *lock(&remote.subscriptions));
        for queue in subscriptions.values() {
            queue.close();
        }
    }

    fn closed_error() -> Error {
        Error::Closed {
            peer: "host".into(),
            reason: "the plugin's connection to its host ended, and its events with it".into(),
        }
    }

    /// Publishes an encoded event; `what` names it in messages
    /// (`Contract.event`).
    pub(crate) fn publish_raw(
        &self,
        what: impl FnOnce() -> String,
        channel: u64,
        event: u32,
        topic: &str,
        payload: Vec<u8>,
    ) -> Result<(), Error> {
        topic::check_topic(topic).map_err(|reason| Error::InvalidTopic {
            event: what(),
            reason,
        })?;
        match &self.inner.remote {
            None => {
                self.router().route(None, channel, event, topic, &payload);
                Ok(())
            }
            Some(remote) if remote.closed.load(Ordering::Acquire) => Err(Bus::closed_error()),
            Some(remote) => remote.link.publish(channel, event, topic, payload),
        }
    }

    /// Subscribes to an event on `pattern`; `contract` and `what`
    /// (`Contract.event`) name it.
    pub(crate) fn subscribe_raw(
        &self,
        contract: &str,
        what: &str,
        channel: u64,
        event: u32,
        pattern: &str,
    ) -> Result<RawSubscription, Error> {
        let parsed = topic::Pattern::parse(pattern).map_err(|reason| Error::InvalidTopic {
            event: what.into(),
            reason,
        })?;
        let id = self.next_id();
        let queue = Arc::new(Queue::new(self.inner.capacity));
        match &self.inner.remote {
            None => {
                self.router().note_version(contract, channel, "the host");
                self.router().add(
                    channel,
                    event,
                    Route {
                        member: HOST,
                        id,
                        pattern: parsed,
                        queue: Arc::clone(&queue),
                    },
                )
            }
            Some(remote) => {
                {
                    // Under the lock, so that `close` sees it or it sees
                    // `closed`.
                    let mut subscriptions = lock(&remote.subscriptions);
                    if remote.closed.load(Ordering::Acquire) {
                        return Err(Bus::closed_error());
                    }
                    subscriptions.insert(id, Arc::clone(&queue));
                }
                if let Err(err) = remote.link.subscribe(id, contract, channel, event, pattern) {
                    lock(&remote.subscriptions).remove(&id);
                    return Err(err);
                }
            }
        }
        Ok(RawSubscription {
            bus: self.clone(),
            id,
            channel,
            event,
            queue,
        })
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A subscription of this process, before payloads are decoded. Dropping it
/// ends the subscription.
pub(crate) struct RawSubscription {
    bus: Bus,
    id: u64,
    channel: u64,
    event: u32,
    queue: Arc<Queue<Message>>,
}

impl RawSubscription {
    pub(crate) fn poll_take(
        &self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<(Message, u64)>> {
        self.queue.poll_take(cx)
    }
}

impl Drop for RawSubscription {
    fn drop(&mut self) {
        self.queue.close();
        match &self.bus.inner.remote {
            None => self
                .bus
                .router()
                .remove(self.channel, self.event, HOST, self.id),
            Some(remote) => {
                let removed = lock(&remote.subscriptions).remove(&self.id);
                if removed.is_some() && !remote.closed.load(Ordering::Acquire) {
                    remote.link.unsubscribe(self.id);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
