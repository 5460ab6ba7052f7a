//! The [`Balance`] a registry's clients call through: each call goes to
//! the plugin's current generation, and holds it until the call ends, so
//! that a reload can wait for the old generation's calls before stopping it.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::oneshot;

use super::entry::Entry;
use crate::client::{Balance, EncodeArgs, Leased, Routed};
use crate::driver::CallFailure;
use crate::metrics::CallMeter;
use crate::{ContractInfo, Error, Pool};

/// One start of a plugin: a pool of its instances, running one version of
/// its manifest. Calls hold an `Arc` of it while they run; when the last
/// one is gone (the registry's own included), `drained` fires.
pub(crate) struct Generation {
    /// Counts the starts of one plugin, from 1.
    pub(crate) number: u64,
    /// The manifest's version this generation runs.
    pub(crate) version: String,
    pub(crate) pool: Pool,
    drained: Mutex<Option<oneshot::Sender<()>>>,
}

impl Generation {
    /// A generation of `pool`, and what tells when its last hold is gone.
    pub(crate) fn new(
        number: u64,
        version: String,
        pool: Pool,
    ) -> (Arc<Generation>, oneshot::Receiver<()>) {
        let (tx, rx) = oneshot::channel();
        let generation = Generation {
            number,
            version,
            pool,
            drained: Mutex::new(Some(tx)),
        };
        (Arc::new(generation), rx)
    }

    /// The process ids of its running instances.
    pub(crate) fn pids(&self) -> Vec<u32> {
        self.pool.instances().iter().filter_map(|i| i.pid).collect()
    }

    /// The pool's index of `contract`, or why this generation cannot
    /// serve it (a manifest reloaded without it cannot get this far:
    /// reload refuses it; this is the last line).
    fn index_of(&self, contract: &ContractInfo, plugin: &str) -> Result<usize, CallFailure> {
        self.pool.contract_index(contract).ok_or_else(|| {
            CallFailure::Connection(Error::ManifestContract {
                plugin: plugin.to_string(),
                contract: contract.name.to_string(),
                reason: format!(
                    "generation {} of the plugin (version {}) does not serve it",
                    self.number, self.version
                ),
            })
        })
    }
}

impl Drop for Generation {
    fn drop(&mut self) {
        let sender = self
            .drained
            .get_mut()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        if let Some(sender) = sender {
            let _ = sender.send(());
        }
    }
}

/// The route of one typed client the registry handed out: one plugin
/// (whatever generation runs it now) and one contract.
pub(crate) struct Switch {
    pub(crate) entry: Arc<Entry>,
    pub(crate) contract: &'static ContractInfo,
}

/// A stream call's hold on an instance and on its generation: the
/// generation is not stopped while the stream lives.
struct StreamHold {
    _lease: Box<dyn std::any::Any + Send + Sync>,
    _generation: Arc<Generation>,
}

impl Switch {
    /// The current generation (started first when lazy), held by the
    /// caller, and the pool's index of this switch's contract there.
    async fn current(&self) -> Result<(Arc<Generation>, usize), CallFailure> {
        let generation = self
            .entry
            .generation()
            .await
            .map_err(CallFailure::Connection)?;
        let index = generation.index_of(self.contract, self.entry.id())?;
        Ok((generation, index))
    }

    async fn call_current(
        &self,
        method: u32,
        encode_args: EncodeArgs<'_>,
        args_size: usize,
        timeout: Option<Duration>,
        meter: &mut CallMeter<'_>,
    ) -> Result<Vec<u8>, CallFailure> {
        // Held (not just looked at) until the answer is in: this is what
        // a reload waits for before it stops the old generation.
        let (generation, index) = self.current().await?;
        let shared = generation.pool.shared();
        shared
            .call(index, method, encode_args, args_size, timeout, meter)
            .await
    }

    async fn lease_current(
        &self,
        timeout: Option<Duration>,
        meter: &mut CallMeter<'_>,
    ) -> Result<crate::client::Lease, CallFailure> {
        let (generation, index) = self.current().await?;
        let (conn, contract_index, lease) = generation
            .pool
            .shared()
            .lease(index, timeout, meter)
            .await?;
        let hold = StreamHold {
            _lease: lease,
            _generation: generation,
        };
        Ok((conn, contract_index, Box::new(hold)))
    }
}

impl Balance for Switch {
    fn call<'a>(
        &'a self,
        _contract: usize,
        method: u32,
        encode_args: EncodeArgs<'a>,
        args_size: usize,
        timeout: Option<Duration>,
        meter: &'a mut CallMeter<'_>,
    ) -> Routed<'a> {
        Box::pin(self.call_current(method, encode_args, args_size, timeout, meter))
    }

    fn lease<'a>(
        &'a self,
        _contract: usize,
        timeout: Option<Duration>,
        meter: &'a mut CallMeter<'_>,
    ) -> Leased<'a> {
        Box::pin(self.lease_current(timeout, meter))
    }
}
