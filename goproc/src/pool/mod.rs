//! [`Pool`]: several instances of one plugin behind the same typed clients.

mod policy;
mod slot;

use std::pin::pin;
use std::sync::atomic::{fence, AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{watch, Notify};

pub use policy::RestartPolicy;
use slot::{Slot, State};

use crate::client::{Balance, EncodeArgs, Routed};
use crate::driver::CallFailure;
use crate::metrics::{CallMeter, ContractNames, PoolMetrics, Recorder};
use crate::wire::messages::RequestHead;
use crate::{Client, ClientHandle, ContractInfo, Error, PluginBuilder};

/// Configures a [`Pool`]. Made by [`Pool::builder`].
#[derive(Debug, Clone)]
pub struct PoolBuilder {
    plugin: PluginBuilder,
    size: usize,
    max_in_flight: usize,
    lazy: bool,
    restart: RestartPolicy,
    health: Option<(Duration, Duration)>,
}

impl PoolBuilder {
    /// How many instances (default 4).
    pub fn size(mut self, instances: usize) -> Self {
        self.size = instances.max(1);
        self
    }

    /// How many calls one instance may have in flight (default 256); a call
    /// that finds every instance full waits, within its deadline.
    pub fn max_in_flight(mut self, calls: usize) -> Self {
        self.max_in_flight = calls.max(1);
        self
    }

    /// Start instances on first use instead of in [`PoolBuilder::start`]:
    /// a call starts one more instance only when the running ones are full.
    pub fn lazy(mut self, lazy: bool) -> Self {
        self.lazy = lazy;
        self
    }

    /// How crashed instances are replaced (default [`RestartPolicy::default`]).
    pub fn restart(mut self, policy: RestartPolicy) -> Self {
        self.restart = policy;
        self
    }

    /// Serves a host contract to every instance (see
    /// [`PluginBuilder::serve`]); the instances share `service`.
    pub fn serve(mut self, service: impl crate::Service) -> Self {
        self.plugin = self.plugin.serve(service);
        self
    }

    /// Pings every instance every `interval`; one that does not answer within
    /// `timeout` is killed and replaced.
    pub fn health_check(mut self, interval: Duration, timeout: Duration) -> Self {
        self.health = Some((interval, timeout));
        self
    }

    /// Starts the pool. Unless lazy, waits until every instance is running,
    /// and fails if one cannot start. (An instance whose very first start
    /// fails is not retried: a command that cannot start at all is a
    /// configuration error, not a crash.)
    pub async fn start(self) -> Result<Pool, Error> {
        let contracts = self.plugin.required_contracts();
        let name = self.plugin.display_name();
        let recorder = || Recorder::new(name.clone(), 0, contracts.len());
        let slots = (0..self.size)
            .map(|index| Slot::new(index, recorder()))
            .collect();
        let unplaced = recorder();
        let shared = Arc::new(Shared {
            slots,
            builder: self.plugin,
            contracts,
            max_in_flight: self.max_in_flight,
            restart: self.restart,
            health: self.health,
            changed: Notify::new(),
            waiting: AtomicUsize::new(0),
            restarts: AtomicU64::new(0),
            unplaced,
            closing: AtomicBool::new(false),
            stop: watch::channel(false).0,
        });
        let pool = Pool { shared };
        if !self.lazy {
            for slot in &pool.shared.slots {
                pool.shared.start(slot);
            }
            pool.wait_all_started().await?;
        }
        Ok(pool)
    }
}

pub(crate) struct Shared {
    slots: Vec<Slot>,
    builder: PluginBuilder,
    /// The contracts every instance must serve; clients index into this.
    contracts: Vec<&'static ContractInfo>,
    max_in_flight: usize,
    restart: RestartPolicy,
    health: Option<(Duration, Duration)>,
    /// Notified when an instance changes state (`notify_waiters`) or a call
    /// permit is released while a call waits for one (`notify_one`).
    changed: Notify,
    /// How many calls wait on `changed` for an instance: a released permit
    /// wakes one of them, and costs nothing more when there are none.
    waiting: AtomicUsize,
    restarts: AtomicU64,
    /// Counts the calls until they reach an instance, and those that never
    /// do; each instance's slot counts those that reach it.
    unplaced: Recorder,
    closing: AtomicBool,
    /// Set (or dropped with the pool) to stop every instance task.
    stop: watch::Sender<bool>,
}

/// Where a call goes.
enum Pick {
    Slot(usize, Arc<slot::Ready>),
    /// Nothing free; wait for a change.
    Wait,
    /// Every instance gave up.
    Dead(Error),
}

impl Pick {
    /// What the call gets: an instance, or the error every call now gets;
    /// `None` while it must wait for a change.
    fn settled(self) -> Option<Result<(usize, Arc<slot::Ready>), CallFailure>> {
        match self {
            Pick::Slot(index, ready) => Some(Ok((index, ready))),
            Pick::Dead(err) => Some(Err(CallFailure::Connection(err))),
            Pick::Wait => None,
        }
    }
}

impl Shared {
    fn start(self: &Arc<Self>, slot: &Slot) {
        slot.claim_start();
        tokio::spawn(slot::run(Arc::downgrade(self), slot.index));
    }

    /// The least-loaded running instance with a free permit (taken).
    ///
    /// Tries [`Shared::pick_ready`] first; when no instance is free there
    /// (or the one it saw has just changed), [`Shared::pick_locked`]
    /// decides under every instance's lock, and may start an idle one.
    fn pick(self: &Arc<Self>) -> Pick {
        match self.pick_ready() {
            Some((index, ready)) => Pick::Slot(index, ready),
            None => self.pick_locked(),
        }
    }

    /// The least-loaded running instance with a free permit (taken), found
    /// by scanning the instances' loads and states without a lock and
    /// locking only the one picked, to take its connection. Never starts an
    /// instance: a call starts one only once it waits (see `next_instance`).
    fn pick_ready(&self) -> Option<(usize, Arc<slot::Ready>)> {
        let mut best: Option<(usize, usize)> = None;
        for slot in &self.slots {
            if slot.tag() == slot::READY {
                let load = slot.in_flight.load(Ordering::Acquire);
                if load < self.max_in_flight && best.is_none_or(|(_, l)| load < l) {
                    best = Some((slot.index, load));
                }
            }
        }
        let (index, _) = best?;
        let slot = &self.slots[index];
        if !slot.try_acquire(self.max_in_flight) {
            return None;
        }
        if let State::Ready(ready) = &*slot.state() {
            if !ready.conn.is_closed() {
                return Some((index, ready.clone()));
            }
        }
        // Its process exited and its task has not noticed yet: give the
        // permit back without waking a waiting call. That call could not use
        // this instance either, and a call woken by its own failed pick
        // would find the same instance again and spin, starving the task
        // that replaces it.
        slot.release();
        None
    }

    /// [`Shared::pick`], deciding under each instance's lock in turn.
    fn pick_locked(self: &Arc<Self>) -> Pick {
        let mut best: Option<(usize, usize, Arc<slot::Ready>)> = None;
        let mut idle = None;
        let mut gave_up = None;
        let mut alive = false;
        for slot in &self.slots {
            match &*slot.state() {
                // Exited, and its task has not noticed yet.
                State::Ready(ready) if ready.conn.is_closed() => alive = true,
                State::Ready(ready) => {
                    alive = true;
                    let load = slot.in_flight.load(Ordering::Acquire);
                    if load < self.max_in_flight && best.as_ref().is_none_or(|(_, l, _)| load < *l)
                    {
                        best = Some((slot.index, load, ready.clone()));
                    }
                }
                State::Idle => idle = idle.or(Some(slot.index)),
                State::Starting => alive = true,
                State::GaveUp(err) => gave_up = Some(err.clone()),
                State::Stopped => {}
            }
        }
        if let Some((index, _, ready)) = best {
            if self.slots[index].try_acquire(self.max_in_flight) {
                return Pick::Slot(index, ready);
            }
            return Pick::Wait;
        }
        if let Some(index) = idle {
            // Lazy pool: every running instance is full; start one more.
            if self.slots[index].claim_start() {
                tokio::spawn(slot::run(Arc::downgrade(self), index));
            }
            return Pick::Wait;
        }
        match (alive, gave_up) {
            (false, Some(err)) => Pick::Dead(err),
            _ => Pick::Wait,
        }
    }

    /// Sends a call to the least-loaded running instance. A request an
    /// instance could not send (it had just exited) goes to another one.
    pub(crate) async fn call(
        self: &Arc<Self>,
        contract: usize,
        method: u32,
        encode_args: EncodeArgs<'_>,
        args_size: usize,
        timeout: Option<Duration>,
        meter: &mut CallMeter<'_>,
    ) -> Result<Vec<u8>, CallFailure> {
        let deadline = timeout.map(|t| Instant::now() + t);
        let mut encode_args = Some(encode_args);
        let mut unsent: Option<Vec<u8>> = None;
        loop {
            let (index, ready) = self.next_instance(deadline, timeout).await?;
            self.count_on(meter, index, contract);
            let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
            let head = RequestHead {
                contract: ready.contract_indexes[contract],
                method,
                deadline_ms: crate::client::deadline_ms(left),
            };
            let frame = match (unsent.take(), encode_args.take()) {
                (Some(frame), _) => ready.conn.readdress(frame, head),
                (None, Some(encode)) => ready.conn.request_frame(head, encode, args_size),
                (None, None) => Err(CallFailure::Encode(
                    "the request was lost between two instances".into(),
                )),
            };
            let result = match frame {
                Ok(frame) => ready.conn.round_trip(frame, left).await,
                Err(e) => Err(e),
            };
            self.release(index);
            match result {
                // It exited before the request left: try another (after
                // letting other tasks run, so that a retry cannot spin).
                Err(CallFailure::NotSent(not_sent)) => {
                    unsent = Some(not_sent.frame);
                    tokio::task::coop::consume_budget().await;
                }
                result => return result,
            }
        }
    }

    /// The least-loaded running instance, counted busy with one more call
    /// (the caller releases it), waiting until `deadline` when every
    /// instance is busy or starting.
    /// Counts the call `meter` times in instance `index`'s counters of the
    /// pool's contract number `contract`.
    fn count_on(&self, meter: &mut CallMeter<'_>, index: usize, contract: usize) {
        let info = self.contracts[contract];
        meter.count_in(
            self.slots[index]
                .metrics
                .contract(contract, || ContractNames::Typed(info)),
        );
    }

    /// Gives back instance `index`'s permit, and wakes one call waiting
    /// for a permit, if any.
    fn release(&self, index: usize) {
        self.slots[index].release();
        // Pairs with the fence in `next_instance`: either that call's pick
        // sees this permit free, or this sees the call waiting.
        fence(Ordering::SeqCst);
        if self.waiting.load(Ordering::Relaxed) > 0 {
            self.changed.notify_one();
        }
    }

    fn closed(&self) -> CallFailure {
        CallFailure::Connection(Error::Closed {
            peer: self.builder.display_name(),
            reason: "the pool is shutting down".into(),
        })
    }

    async fn next_instance(
        self: &Arc<Self>,
        deadline: Option<Instant>,
        timeout: Option<Duration>,
    ) -> Result<(usize, Arc<slot::Ready>), CallFailure> {
        if self.closing.load(Ordering::Acquire) {
            return Err(self.closed());
        }
        // Most calls find a free instance at once, without registering to
        // be woken. Only the waiting loop below may start an idle instance
        // of a lazy pool: picking twice before waiting would start two.
        if let Some(found) = self.pick_ready() {
            return Ok(found);
        }
        let _waiting = Waiting::new(&self.waiting);
        loop {
            let mut changed = pin!(self.changed.notified());
            changed.as_mut().enable();
            // Pairs with the fence in `release` (see there).
            fence(Ordering::SeqCst);
            if self.closing.load(Ordering::Acquire) {
                return Err(self.closed());
            }
            if let Some(settled) = self.pick().settled() {
                return settled;
            }
            // A `Notify` wakes without spending the task's budget: without
            // this a call woken again and again (instances exiting, permits
            // coming and going) could keep its worker from the tasks that
            // change the instances' states.
            tokio::task::coop::consume_budget().await;
            match deadline {
                Some(d) => {
                    if tokio::time::timeout_at(d.into(), changed).await.is_err() {
                        return Err(CallFailure::Timeout(timeout.unwrap_or_default()));
                    }
                }
                None => changed.await,
            }
        }
    }
}

/// Counts one call among those waiting for an instance, while it lives.
struct Waiting<'a>(&'a AtomicUsize);

impl<'a> Waiting<'a> {
    fn new(waiting: &'a AtomicUsize) -> Self {
        waiting.fetch_add(1, Ordering::SeqCst);
        Waiting(waiting)
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// What a pool's clients call through.
struct Balancer(Arc<Shared>);

/// A stream call's hold on one instance: counted in flight there until
/// the stream ends (dropped), so the instance is not picked past its limit.
struct InstanceLease {
    shared: Arc<Shared>,
    index: usize,
    /// Keeps the instance's plugin alive while its stream runs.
    _ready: Arc<slot::Ready>,
}

impl Drop for InstanceLease {
    fn drop(&mut self) {
        self.shared.release(self.index);
    }
}

impl Shared {
    /// Picks an instance for a stream call, waiting (within `timeout`) when
    /// every instance is busy.
    pub(crate) async fn lease(
        self: &Arc<Self>,
        contract: usize,
        timeout: Option<Duration>,
        meter: &mut CallMeter<'_>,
    ) -> Result<crate::client::Lease, CallFailure> {
        let deadline = timeout.map(|t| Instant::now() + t);
        let (index, ready) = self.next_instance(deadline, timeout).await?;
        self.count_on(meter, index, contract);
        let conn = ready.conn.clone();
        let contract_index = ready.contract_indexes[contract];
        let lease = InstanceLease {
            shared: self.clone(),
            index,
            _ready: ready,
        };
        Ok((conn, contract_index, Box::new(lease)))
    }
}

impl Balance for Balancer {
    fn lease<'a>(
        &'a self,
        contract: usize,
        timeout: Option<Duration>,
        meter: &'a mut CallMeter<'_>,
    ) -> crate::client::Leased<'a> {
        Box::pin(self.0.lease(contract, timeout, meter))
    }

    fn call<'a>(
        &'a self,
        contract: usize,
        method: u32,
        encode_args: EncodeArgs<'a>,
        args_size: usize,
        timeout: Option<Duration>,
        meter: &'a mut CallMeter<'_>,
    ) -> Routed<'a> {
        Box::pin(
            self.0
                .call(contract, method, encode_args, args_size, timeout, meter),
        )
    }
}

/// N instances of one plugin behind the same typed clients a single plugin
/// gives. Each call goes to the least-loaded running instance; crashed
/// instances are restarted by the [`RestartPolicy`]; the calls in flight on
/// a crashed instance fail with [`Error::PluginExited`], later calls go to
/// the other instances or wait (within their deadline) for a restart.
///
/// ```no_run
/// # async fn run<C: goproc::Client>() -> Result<(), goproc::Error> {
/// let pool = goproc::Pool::builder(
///     goproc::Plugin::builder("./my-plugin").contract::<C>(),
/// )
/// .size(4)
/// .start()
/// .await?;
/// let client: C = pool.client()?;
/// # Ok(()) }
/// ```
///
/// Dropping the pool and every client kills every instance.
#[derive(Clone)]
pub struct Pool {
    shared: Arc<Shared>,
}

/// A snapshot of one instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceStatus {
    /// Its position in the pool.
    pub index: usize,
    /// The process id, while it runs.
    pub pid: Option<u32>,
    /// Calls in flight on it.
    pub in_flight: usize,
    /// `idle`, `starting`, `running`, `gave up` or `stopped`.
    pub state: &'static str,
}

impl Pool {
    /// Starts configuring a pool of `plugin`. Declare the contracts the
    /// clients will use with [`PluginBuilder::contract`]: every instance is
    /// checked against them at its handshake.
    pub fn builder(plugin: PluginBuilder) -> PoolBuilder {
        PoolBuilder {
            plugin,
            size: 4,
            max_in_flight: 256,
            lazy: false,
            restart: RestartPolicy::default(),
            health: None,
        }
    }

    /// A typed client whose calls are spread over the instances.
    pub fn client<C: Client>(&self) -> Result<C, Error> {
        let index = self
            .shared
            .contracts
            .iter()
            .position(|c| std::ptr::eq(*c, C::CONTRACT) || **c == *C::CONTRACT)
            .ok_or_else(|| Error::ContractNotServed {
                plugin: self.shared.builder.display_name(),
                contract: format!(
                    "{} (declare it with `.contract::<{}Client>()` on the plugin builder)",
                    C::CONTRACT.name,
                    C::CONTRACT.name
                ),
                served: self
                    .shared
                    .contracts
                    .iter()
                    .map(|c| c.name.to_string())
                    .collect(),
            })?;
        let handle =
            ClientHandle::pooled(Arc::new(Balancer(self.shared.clone())), index, C::CONTRACT)
                .metered(
                    self.shared
                        .unplaced
                        .contract(index, || ContractNames::Typed(C::CONTRACT)),
                );
        Ok(C::from_handle(
            handle.with_timeout(self.shared.builder.default_call_timeout()),
        ))
    }

    /// Where the registry routes its clients' calls: the pool's own
    /// call and lease, without a client of its own.
    pub(crate) fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    /// The position of `contract` among the pool's contracts (what
    /// [`Shared::call`] takes), compared by name and fingerprint.
    pub(crate) fn contract_index(&self, contract: &ContractInfo) -> Option<usize> {
        self.shared
            .contracts
            .iter()
            .position(|c| std::ptr::eq(*c, contract) || **c == *contract)
    }

    /// How many restarts the pool has made.
    pub fn restarts(&self) -> u64 {
        self.shared.restarts.load(Ordering::Relaxed)
    }

    /// The calls made so far through this pool's clients, by instance
    /// and in total (see [`PoolMetrics`]), with the restarts. A snapshot
    /// to export; counting goes on meanwhile.
    pub fn metrics(&self) -> PoolMetrics {
        PoolMetrics::from_recorders(
            self.shared.builder.display_name(),
            self.restarts(),
            self.shared.slots.iter().map(|slot| &slot.metrics),
            &self.shared.unplaced,
        )
    }

    /// A snapshot of every instance.
    pub fn instances(&self) -> Vec<InstanceStatus> {
        self.shared
            .slots
            .iter()
            .map(|slot| {
                let state = slot.state();
                let (pid, name) = match &*state {
                    State::Idle => (None, "idle"),
                    State::Starting => (None, "starting"),
                    State::Ready(r) => (Some(r.plugin.pid()), "running"),
                    State::GaveUp(_) => (None, "gave up"),
                    State::Stopped => (None, "stopped"),
                };
                InstanceStatus {
                    index: slot.index,
                    pid,
                    in_flight: slot.in_flight.load(Ordering::Relaxed),
                    state: name,
                }
            })
            .collect()
    }

    /// Asks one running instance to describe its contracts (see
    /// [`Plugin::describe`](crate::Plugin::describe)); every instance runs
    /// the same program. Fails when none is running yet (a lazy pool before
    /// its first call: [`Pool::wait_all_started`] after a call, then ask).
    pub async fn describe(&self) -> Result<Vec<crate::schema::ContractSchema>, Error> {
        let running = self
            .shared
            .slots
            .iter()
            .find_map(|slot| match &*slot.state() {
                State::Ready(r) => Some(r.plugin.clone()),
                _ => None,
            });
        match running {
            Some(plugin) => plugin.describe().await,
            None => Err(Error::Closed {
                peer: self.shared.builder.display_name(),
                reason: "no instance of the pool is running to describe its contracts".into(),
            }),
        }
    }

    /// Waits until no instance is starting (every one runs or gave up).
    pub async fn wait_all_started(&self) -> Result<(), Error> {
        loop {
            let mut changed = pin!(self.shared.changed.notified());
            changed.as_mut().enable();
            let mut starting = false;
            let mut gave_up = None;
            for slot in &self.shared.slots {
                match &*slot.state() {
                    State::Starting => starting = true,
                    State::GaveUp(e) => gave_up = Some(e.clone()),
                    _ => {}
                }
            }
            if !starting {
                return gave_up.map_or(Ok(()), Err);
            }
            changed.await;
        }
    }

    /// Stops the pool gracefully: new calls fail at once with a clear
    /// error, calls in flight may finish within `grace`, then every
    /// instance is killed.
    pub async fn shutdown(&self, grace: Duration) {
        self.shared.closing.store(true, Ordering::Release);
        self.shared.changed.notify_waiters();
        let _ = self.shared.stop.send(true);
        let mut running = Vec::new();
        for slot in &self.shared.slots {
            let previous = std::mem::replace(&mut *slot.state(), State::Stopped);
            if let State::Ready(ready) = previous {
                running.push(ready.plugin.clone());
            }
        }
        futures::future::join_all(running.iter().map(|p| p.shutdown(grace))).await;
    }
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool")
            .field("plugin", &self.shared.builder.display_name())
            .field("instances", &self.instances())
            .finish()
    }
}
