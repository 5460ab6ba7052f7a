//! Typed clients: what `#[plugin_interface]` generates wraps a [`ServiceHandle`].

use std::any::Any;
use std::sync::Arc;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::connection::{CallFailure, Connection};
use crate::wire::codec;
use crate::wire::messages::RequestHead;
use crate::{ContractInfo, Error, RemoteCode};

/// A generated client type, such as `CalculatorClient`.
///
/// Get one from a started plugin with [`crate::Plugin::client`].
pub trait Client: Clone + Send + Sync + Sized + 'static {
    /// The contract this client calls.
    const CONTRACT: &'static ContractInfo;

    /// Wraps a handle; called by [`crate::Plugin::client`].
    #[doc(hidden)]
    fn from_handle(handle: ServiceHandle) -> Self;
}

/// One contract on one plugin connection: what a generated client holds.
/// Cloning is cheap; every clone shares the connection, and keeps the
/// plugin running.
#[derive(Clone)]
pub struct ServiceHandle {
    route: Route,
    contract: &'static ContractInfo,
    timeout: Option<Duration>,
}

/// Where calls go.
#[derive(Clone)]
enum Route {
    /// One plugin's connection.
    Direct {
        conn: Arc<Connection>,
        service: u32,
        /// Keeps the plugin process alive while any client exists.
        _owner: Arc<dyn Any + Send + Sync>,
    },
    /// The least-loaded instance of a pool; `contract` indexes the pool's contracts.
    Pool {
        pool: Arc<crate::pool::Shared>,
        contract: usize,
    },
}

impl ServiceHandle {
    pub(crate) fn new(
        conn: Arc<Connection>,
        service: u32,
        contract: &'static ContractInfo,
        owner: Arc<dyn Any + Send + Sync>,
    ) -> Self {
        ServiceHandle {
            route: Route::Direct {
                conn,
                service,
                _owner: owner,
            },
            contract,
            timeout: None,
        }
    }

    pub(crate) fn pooled(
        pool: Arc<crate::pool::Shared>,
        index: usize,
        contract: &'static ContractInfo,
    ) -> Self {
        ServiceHandle {
            route: Route::Pool {
                pool,
                contract: index,
            },
            contract,
            timeout: None,
        }
    }

    /// The contract this handle calls.
    pub fn contract(&self) -> &'static ContractInfo {
        self.contract
    }

    /// The deadline every call through this handle gets, if any.
    pub fn timeout(&self) -> Option<Duration> {
        self.timeout
    }

    /// A copy whose calls fail with [`Error::Timeout`] after `timeout`.
    pub fn with_timeout(&self, timeout: Option<Duration>) -> Self {
        ServiceHandle {
            timeout,
            ..self.clone()
        }
    }

    /// Calls method number `method` with `args` (a tuple of references to
    /// the arguments) and decodes the answer as `R`.
    pub async fn call<A, R>(&self, method: u32, args: &A) -> Result<R, Error>
    where
        A: Serialize + ?Sized,
        R: DeserializeOwned,
    {
        self.call_sized(method, args, 0).await
    }

    /// [`ServiceHandle::call`], with room reserved for `args_size` bytes
    /// of arguments (what generated code knows of large arguments).
    #[doc(hidden)]
    pub async fn call_sized<A, R>(
        &self,
        method: u32,
        args: &A,
        args_size: usize,
    ) -> Result<R, Error>
    where
        A: Serialize + ?Sized,
        R: DeserializeOwned,
    {
        let body = self.call_raw(method, args, args_size).await?;
        codec::decode(&body).map_err(|e| self.bad_answer(method, e))
    }

    /// [`ServiceHandle::call_sized`] for a method that returns `Vec<u8>`:
    /// the bytes keep the buffer the answer was read into.
    #[doc(hidden)]
    pub async fn call_bytes<A>(
        &self,
        method: u32,
        args: &A,
        args_size: usize,
    ) -> Result<Vec<u8>, Error>
    where
        A: Serialize + ?Sized,
    {
        let body = self.call_raw(method, args, args_size).await?;
        codec::decode_bytes_in_place(body, 0).map_err(|e| self.bad_answer(method, e))
    }

    fn bad_answer(&self, method: u32, e: String) -> Error {
        let method = self.contract.method_path(method);
        let hint = if e.contains("self-describing") {
            "the return type uses a serde feature the wire cannot decode (untagged or internally \
             tagged enums, flatten, `deserialize_any`); docs/CONTRACTS.md lists what a contract \
             may use"
                .to_string()
        } else if e.contains("nesting limit") || e.contains("item budget") {
            "the plugin answered a value past the wire's limits (docs/WIRE.md 3.1)".to_string()
        } else {
            format!(
                "the host and the plugin disagree on the types of {method}: was one of them built \
                 from another version of the contract? Rebuild the plugin or regenerate its \
                 stubs; the handshake compares the trait, not the fields of the types it uses \
                 (docs/CONTRACTS.md)"
            )
        };
        Error::codec(
            format!("the answer of {method} does not decode as its return type"),
            format!("{e}; {hint}"),
        )
    }

    /// Sends the call and returns the answer's encoded body.
    async fn call_raw<A>(&self, method: u32, args: &A, args_size: usize) -> Result<Vec<u8>, Error>
    where
        A: Serialize + ?Sized,
    {
        let encode = |buf: &mut Vec<u8>| codec::encode_into(args, buf);
        let answer = match &self.route {
            Route::Direct { conn, service, .. } => {
                let head = RequestHead {
                    service: *service,
                    method,
                    deadline_ms: deadline_ms(self.timeout),
                };
                conn.call(head, encode, args_size, self.timeout).await
            }
            Route::Pool { pool, contract } => {
                pool.call(*contract, method, encode, args_size, self.timeout)
                    .await
            }
        };
        answer.map_err(|failure| self.failure(method, failure))
    }

    fn failure(&self, method: u32, failure: CallFailure) -> Error {
        let method_path = self.contract.method_path(method);
        match failure {
            CallFailure::Encode(message) => Error::Codec {
                context: format!("encoding the arguments of {method_path}"),
                message,
            },
            CallFailure::Timeout(after) => Error::Timeout {
                method: method_path,
                after,
            },
            CallFailure::Remote(body) => match RemoteCode::from_wire(body.code) {
                // The plugin gave up on the deadline a moment before the host did.
                RemoteCode::DeadlineExceeded if self.timeout.is_some() => Error::Timeout {
                    method: method_path,
                    after: self.timeout.unwrap_or_default(),
                },
                code => Error::Remote {
                    method: method_path,
                    code,
                    message: body.message,
                    detail: body.detail,
                },
            },
            CallFailure::Connection(err) => err,
            CallFailure::NotSent(unsent) => unsent.error,
        }
    }
}

/// The `deadline_ms` of a request whose caller waits `left` more: 0 for no
/// deadline, and never 0 for one.
pub(crate) fn deadline_ms(left: Option<Duration>) -> u64 {
    left.map(|t| u64::try_from(t.as_millis()).unwrap_or(u64::MAX).max(1))
        .unwrap_or(0)
}

impl std::fmt::Debug for ServiceHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let peer = match &self.route {
            Route::Direct { conn, .. } => conn.peer().to_string(),
            Route::Pool { .. } => "a pool".to_string(),
        };
        f.debug_struct("ServiceHandle")
            .field("contract", &self.contract.name)
            .field("peer", &peer)
            .field("timeout", &self.timeout)
            .finish()
    }
}
