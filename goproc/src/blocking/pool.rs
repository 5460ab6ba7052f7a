//! [`Pool`] and [`PoolBuilder`]: `crate::Pool` for hosts without an async
//! runtime.

use std::sync::Arc;
use std::time::Duration;

use super::client::{BlockingClient, BlockingHandle};
use super::owned::Owned;
use super::runtime::{refuse_inside_async, Runtime};
use super::PluginBuilder;
use crate::{Error, InstanceStatus, PoolMetrics, RestartPolicy, Service};

const INSTEAD_START: &str = "use `goproc::Pool::builder(..).start()`";

/// Several instances of one plugin behind one client, for a host without
/// an async runtime: the blocking twin of [`crate::Pool`], with a runtime
/// of its own on a dedicated thread. Dropping the pool and every client
/// kills the instances.
#[derive(Clone)]
pub struct Pool {
    inner: Arc<Owned<crate::Pool>>,
}

impl Pool {
    /// Starts configuring a pool of `plugin` (see [`crate::Pool::builder`]).
    pub fn builder(plugin: PluginBuilder) -> PoolBuilder {
        PoolBuilder(crate::Pool::builder(plugin.0))
    }

    fn pool(&self) -> &crate::Pool {
        self.inner.get()
    }

    /// A blocking client whose calls are spread over the instances.
    pub fn client<B: BlockingClient>(&self) -> Result<B, Error> {
        let client = self.pool().client::<B::Async>()?;
        let owner: Arc<dyn std::any::Any + Send + Sync> = self.inner.clone();
        Ok(B::from_parts(
            client,
            BlockingHandle::new(self.inner.runtime.clone(), owner),
        ))
    }

    /// How many instances were restarted after a crash.
    pub fn restarts(&self) -> u64 {
        self.pool().restarts()
    }

    /// The calls made so far, by instance.
    pub fn metrics(&self) -> PoolMetrics {
        self.pool().metrics()
    }

    /// A snapshot of every instance.
    pub fn instances(&self) -> Vec<InstanceStatus> {
        self.pool().instances()
    }

    /// Waits until no instance is starting (see [`crate::Pool::wait_all_started`]).
    pub fn wait_all_started(&self) -> Result<(), Error> {
        let what = || "goproc::blocking::Pool::wait_all_started".to_string();
        let instead = "use the async `goproc::Pool`";
        self.inner
            .runtime
            .block_on(what, instead, self.pool().wait_all_started())?
    }

    /// Stops the pool gracefully (see [`crate::Pool::shutdown`]).
    pub fn shutdown(&self, grace: Duration) -> Result<(), Error> {
        let what = || "goproc::blocking::Pool::shutdown".to_string();
        let instead = "use the async `goproc::Pool`";
        self.inner
            .runtime
            .block_on(what, instead, self.pool().shutdown(grace))
    }
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("blocking::Pool").field(self.pool()).finish()
    }
}

/// Configures a blocking [`Pool`]; the settings are [`crate::PoolBuilder`]'s.
#[derive(Debug, Clone)]
pub struct PoolBuilder(crate::PoolBuilder);

impl PoolBuilder {
    /// How many instances (default 4).
    pub fn size(self, instances: usize) -> Self {
        PoolBuilder(self.0.size(instances))
    }

    /// How many calls one instance may have in flight (default 256).
    pub fn max_in_flight(self, calls: usize) -> Self {
        PoolBuilder(self.0.max_in_flight(calls))
    }

    /// Start instances on first use instead of in [`PoolBuilder::start`].
    pub fn lazy(self, lazy: bool) -> Self {
        PoolBuilder(self.0.lazy(lazy))
    }

    /// How crashed instances are replaced.
    pub fn restart(self, policy: RestartPolicy) -> Self {
        PoolBuilder(self.0.restart(policy))
    }

    /// Serves a host contract to every instance.
    pub fn serve(self, service: impl Service) -> Self {
        PoolBuilder(self.0.serve(service))
    }

    /// Pings every instance every `interval`, replacing one that does not
    /// answer within `timeout`.
    pub fn health_check(self, interval: Duration, timeout: Duration) -> Self {
        PoolBuilder(self.0.health_check(interval, timeout))
    }

    /// Starts the pool on a runtime of its own (see [`crate::PoolBuilder::start`]).
    pub fn start(self) -> Result<Pool, Error> {
        let what = || "starting a goproc::blocking::Pool".to_string();
        refuse_inside_async(what, INSTEAD_START)?;
        let runtime = Runtime::start("pool")?;
        let builder = self.0;
        let pool = runtime.run(what, INSTEAD_START, async move { builder.start().await })?;
        Ok(Pool {
            inner: Owned::new(pool, runtime),
        })
    }
}
