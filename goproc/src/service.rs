//! [`Service`]: one contract's dispatcher (the generated `CalculatorServer`),
//! and [`Services`], the contracts one side serves to the other. A plugin
//! serves its contracts to the host; a host serves its own (a store, a
//! logger) to its plugins, with the same types.

use std::sync::Arc;

use crate::driver::{Args, Dispatch, HandlerFuture, RemoteError};
use crate::wire::INTROSPECTION_CONTRACT;
use crate::{ContractInfo, RemoteCode};

/// One contract's dispatcher, such as the generated `CalculatorServer`.
pub trait Service: Send + Sync + 'static {
    /// The contract it serves.
    fn contract(&self) -> &'static ContractInfo;

    /// Decodes the arguments of method number `method` and starts its handler.
    fn call(&self, method: u32, args: Args) -> Result<HandlerFuture, RemoteError>;
}

/// The contracts one side serves, in the order its handshake lists them (a
/// request's `contract` is an index into it). Cheap to clone: a pool's
/// instances share one.
#[derive(Clone, Default)]
pub(crate) struct Services {
    list: Vec<Arc<dyn Service>>,
}

impl Services {
    pub(crate) fn push(&mut self, service: impl Service) {
        self.list.push(Arc::new(service));
    }

    /// Adds every service of `other` (shared, not copied).
    pub(crate) fn extend(&mut self, other: &Services) {
        self.list.extend(other.list.iter().cloned());
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// The contracts, in order.
    pub(crate) fn contracts(&self) -> Vec<&'static ContractInfo> {
        self.list.iter().map(|s| s.contract()).collect()
    }

    /// The dispatcher for a connection: `None` when nothing is served.
    pub(crate) fn dispatcher(&self) -> Option<Arc<dyn Dispatch>> {
        (!self.is_empty()).then(|| Arc::new(self.clone()) as Arc<dyn Dispatch>)
    }
}

impl Dispatch for Services {
    fn dispatch(
        &self,
        contract: u32,
        method: u32,
        args: Args,
    ) -> Result<HandlerFuture, RemoteError> {
        if contract == INTROSPECTION_CONTRACT {
            return crate::schema::describe::serve(self.contracts(), method, args);
        }
        match self.list.get(contract as usize) {
            Some(s) => s.call(method, args),
            None => Err(RemoteError::new(
                RemoteCode::UnknownContract,
                format!(
                    "{} contract(s) are served here; there is no contract number {contract}",
                    self.list.len()
                ),
            )),
        }
    }
}

impl std::fmt::Debug for Services {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.list.iter().map(|s| s.contract().name))
            .finish()
    }
}
