//! Typed clients: what `#[plugin_interface]` generates wraps a
//! [`ClientHandle`]. A host gets them from its plugins; either side gets
//! one for the other side's contracts with [`peer`].

use std::any::Any;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::Serialize;
use tracing::Instrument;

mod streams;

use crate::contract::{find_contract, names, short, NotListed};
use crate::driver::{CallFailure, Connection};
use crate::metrics::{CallMeter, ContractNames, ContractRecorder};
use crate::wire::codec;
use crate::wire::messages::ContractRef;
use crate::wire::messages::RequestHead;
use crate::{ContractInfo, Error, RemoteCode};

/// A generated client type, such as `CalculatorClient`.
///
/// Get one from a started plugin with [`crate::Plugin::client`], or for the
/// other side of the call a handler serves with [`peer`].
pub trait Client: Clone + Send + Sync + Sized + 'static {
    /// The contract this client calls.
    const CONTRACT: &'static ContractInfo;

    /// Wraps a handle; called by [`crate::Plugin::client`].
    #[doc(hidden)]
    fn from_handle(handle: ClientHandle) -> Self;
}

/// One contract on one plugin connection: what a generated client holds.
/// Cloning is cheap; every clone shares the connection, and keeps the
/// plugin running.
#[derive(Clone)]
pub struct ClientHandle {
    route: Route,
    contract: &'static ContractInfo,
    timeout: Timeout,
    /// The credit window of answer streams; `None`: the connection's.
    stream_window: Option<u32>,
    /// Where the calls are counted: a plugin's counters of this contract,
    /// or a pool's, until a call reaches an instance and is counted there.
    metrics: Option<Arc<ContractRecorder>>,
}

/// The deadline of a handle's calls.
#[derive(Debug, Clone, Copy)]
enum Timeout {
    /// Its own: after this long (`None`: no deadline).
    Own(Option<Duration>),
    /// What is left of the deadline of the call the calling handler
    /// serves (none outside a handler, or when that call has none).
    Inherited,
}

/// Encodes a call's arguments after its request head.
pub(crate) type EncodeArgs<'a> = &'a (dyn Fn(&mut Vec<u8>) -> Result<(), String> + Sync);

/// What the answer of a call routed by a [`Balance`] is.
pub(crate) type Routed<'a> =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<Vec<u8>, CallFailure>> + Send + 'a>>;

/// Spreads calls over several connections (a pool's instances). Defined
/// here, implemented by the pool, so that clients need not know pools.
pub(crate) trait Balance: Send + Sync + 'static {
    /// Sends a call of method `method` of the pool's contract number
    /// `contract` to one instance and waits for its answer body; `meter`
    /// counts the call in the instance it goes to.
    fn call<'a>(
        &'a self,
        contract: usize,
        method: u32,
        encode_args: EncodeArgs<'a>,
        args_size: usize,
        timeout: Option<Duration>,
        meter: &'a mut CallMeter<'_>,
    ) -> Routed<'a>;

    /// Picks one instance for a stream call, which stays on it for its
    /// whole life: the instance's connection, the contract's index there,
    /// and a lease that counts the call on that instance until dropped.
    /// `meter` counts the call in the instance picked.
    fn lease<'a>(
        &'a self,
        contract: usize,
        timeout: Option<Duration>,
        meter: &'a mut CallMeter<'_>,
    ) -> Leased<'a>;
}

/// An instance a pool picked for a stream call: its connection, the
/// contract's index there, and what keeps the call counted on it until
/// dropped (see [`Balance::lease`]).
pub(crate) type Lease = (Arc<Connection>, u32, Box<dyn Any + Send + Sync>);

/// Picking an instance for a stream call (see [`Balance::lease`]).
pub(crate) type Leased<'a> =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<Lease, CallFailure>> + Send + 'a>>;

/// Where calls go.
#[derive(Clone)]
enum Route {
    /// One plugin's connection.
    Direct {
        conn: Arc<Connection>,
        /// The contract's index in the peer's handshake list.
        contract_index: u32,
        /// Keeps the plugin process alive while any client exists.
        _owner: Arc<dyn Any + Send + Sync>,
    },
    /// This plugin process's host, once `serve` has connected to it.
    AwaitHost,
    /// The least-loaded instance of a pool; `contract` indexes the pool's contracts.
    Pool {
        pool: Arc<dyn Balance>,
        contract: usize,
    },
}

impl ClientHandle {
    pub(crate) fn new(
        conn: Arc<Connection>,
        contract_index: u32,
        contract: &'static ContractInfo,
        owner: Arc<dyn Any + Send + Sync>,
    ) -> Self {
        ClientHandle {
            route: Route::Direct {
                conn,
                contract_index,
                _owner: owner,
            },
            contract,
            timeout: Timeout::Own(None),
            stream_window: None,
            metrics: None,
        }
    }

    /// A handle whose calls inherit the calling handler's deadline.
    fn inheriting(
        conn: Arc<Connection>,
        contract_index: u32,
        contract: &'static ContractInfo,
    ) -> Self {
        ClientHandle {
            route: Route::Direct {
                conn,
                contract_index,
                _owner: Arc::new(()),
            },
            contract,
            timeout: Timeout::Inherited,
            stream_window: None,
            metrics: None,
        }
    }

    /// A handle of a plugin process that is still connecting to its host:
    /// its calls wait for the connection, inheriting deadlines as above.
    fn awaiting_host(contract: &'static ContractInfo) -> Self {
        ClientHandle {
            route: Route::AwaitHost,
            contract,
            timeout: Timeout::Inherited,
            stream_window: None,
            metrics: None,
        }
    }

    pub(crate) fn pooled(
        pool: Arc<dyn Balance>,
        index: usize,
        contract: &'static ContractInfo,
    ) -> Self {
        ClientHandle {
            route: Route::Pool {
                pool,
                contract: index,
            },
            contract,
            timeout: Timeout::Own(None),
            stream_window: None,
            metrics: None,
        }
    }

    /// A copy whose calls are counted in `recorder` (a plugin's counters
    /// of this handle's contract).
    pub(crate) fn metered(self, recorder: Arc<ContractRecorder>) -> Self {
        ClientHandle {
            metrics: Some(recorder),
            ..self
        }
    }

    /// The contract this handle calls.
    pub fn contract(&self) -> &'static ContractInfo {
        self.contract
    }

    /// The deadline a call made now through this handle gets, if any:
    /// its own, or for a handle from [`peer`] what is left of the calling
    /// handler's.
    pub fn timeout(&self) -> Option<Duration> {
        match self.timeout {
            Timeout::Own(timeout) => timeout,
            Timeout::Inherited => crate::driver::context::time_left(),
        }
    }

    /// A copy whose calls fail with [`Error::Timeout`] after `timeout`
    /// (`None`: no deadline), whatever the calling handler's deadline.
    pub fn with_timeout(&self, timeout: Option<Duration>) -> Self {
        ClientHandle {
            timeout: Timeout::Own(timeout),
            ..self.clone()
        }
    }

    /// Calls method number `method` with `args` (a tuple of references to
    /// the arguments) and decodes the answer as `R`.
    // The call functions return the metered call's future itself rather
    // than awaiting it in an `async fn` of their own: one state machine
    // less on a path that runs a million times a second.
    pub fn call<'a, A, R>(
        &'a self,
        method: u32,
        args: &'a A,
    ) -> impl Future<Output = Result<R, Error>> + 'a
    where
        A: Serialize + Sync + ?Sized,
        R: DeserializeOwned + 'a,
    {
        self.call_sized(method, args, 0)
    }

    /// [`ClientHandle::call`], with room reserved for `args_size` bytes
    /// of arguments (what generated code knows of large arguments).
    #[doc(hidden)]
    pub fn call_sized<'a, A, R>(
        &'a self,
        method: u32,
        args: &'a A,
        args_size: usize,
    ) -> impl Future<Output = Result<R, Error>> + 'a
    where
        A: Serialize + Sync + ?Sized,
        R: DeserializeOwned + 'a,
    {
        let decode = |body: Vec<u8>| codec::decode(&body);
        self.call_metered(method, args, args_size, None, decode, |_| false)
    }

    /// [`ClientHandle::call_sized`] for a method declared `-> Result<T, E>`:
    /// an answered `Err(e)` is counted as the call's domain error.
    #[doc(hidden)]
    pub fn call_result<'a, A, R>(
        &'a self,
        method: u32,
        args: &'a A,
        args_size: usize,
    ) -> impl Future<Output = Result<R, Error>> + 'a
    where
        A: Serialize + Sync + ?Sized,
        R: DeserializeOwned + DomainResult + 'a,
    {
        let decode = |body: Vec<u8>| codec::decode(&body);
        self.call_metered(method, args, args_size, None, decode, R::is_domain_error)
    }

    /// [`ClientHandle::call_sized`] for a method that returns `Vec<u8>`:
    /// the bytes keep the buffer the answer was read into.
    #[doc(hidden)]
    pub fn call_bytes<'a, A>(
        &'a self,
        method: u32,
        args: &'a A,
        args_size: usize,
    ) -> impl Future<Output = Result<Vec<u8>, Error>> + 'a
    where
        A: Serialize + Sync + ?Sized,
    {
        let decode = |body: Vec<u8>| codec::decode_bytes_in_place(body, 0);
        self.call_metered(method, args, args_size, None, decode, |_| false)
    }

    /// [`ClientHandle::call_sized`] for a method whose last argument is a
    /// `Vec<u8>`: `args` are the others, and `last` is sent from its own
    /// buffer rather than copied into the request.
    #[doc(hidden)]
    pub fn call_sized_bytes_last<'a, A, R>(
        &'a self,
        method: u32,
        args: &'a A,
        last: Vec<u8>,
    ) -> impl Future<Output = Result<R, Error>> + 'a
    where
        A: Serialize + Sync + ?Sized,
        R: DeserializeOwned + 'a,
    {
        let decode = |body: Vec<u8>| codec::decode(&body);
        self.call_metered(method, args, 0, Some(last), decode, |_| false)
    }

    /// [`ClientHandle::call_result`] for a method whose last argument is a
    /// `Vec<u8>` (see [`ClientHandle::call_sized_bytes_last`]).
    #[doc(hidden)]
    pub fn call_result_bytes_last<'a, A, R>(
        &'a self,
        method: u32,
        args: &'a A,
        last: Vec<u8>,
    ) -> impl Future<Output = Result<R, Error>> + 'a
    where
        A: Serialize + Sync + ?Sized,
        R: DeserializeOwned + DomainResult + 'a,
    {
        let decode = |body: Vec<u8>| codec::decode(&body);
        self.call_metered(method, args, 0, Some(last), decode, R::is_domain_error)
    }

    /// [`ClientHandle::call_bytes`] for a method whose last argument is a
    /// `Vec<u8>` (see [`ClientHandle::call_sized_bytes_last`]).
    #[doc(hidden)]
    pub fn call_bytes_bytes_last<'a, A>(
        &'a self,
        method: u32,
        args: &'a A,
        last: Vec<u8>,
    ) -> impl Future<Output = Result<Vec<u8>, Error>> + 'a
    where
        A: Serialize + Sync + ?Sized,
    {
        let decode = |body: Vec<u8>| codec::decode_bytes_in_place(body, 0);
        self.call_metered(method, args, 0, Some(last), decode, |_| false)
    }

    /// Makes the call, decodes its answer with `decode`, and counts it:
    /// as a domain error when `domain_error` says so of the answer. `last`
    /// is a byte string that follows `args`.
    async fn call_metered<A, T>(
        &self,
        method: u32,
        args: &A,
        args_size: usize,
        last: Option<Vec<u8>>,
        decode: impl FnOnce(Vec<u8>) -> Result<T, String>,
        domain_error: fn(&T) -> bool,
    ) -> Result<T, Error>
    where
        A: Serialize + Sync + ?Sized,
    {
        let mut meter = CallMeter::start(
            &ContractNames::Typed(self.contract),
            method,
            self.metrics.as_deref(),
        );
        let answer = match meter.span().cloned() {
            None => {
                self.send_call(method, args, args_size, last, &mut meter)
                    .await
            }
            // Boxed: only when a subscriber wants the span, and the
            // instrumented future would otherwise enlarge every call's.
            Some(span) => {
                let call = self.send_call(method, args, args_size, last, &mut meter);
                Box::pin(call.instrument(span)).await
            }
        };
        let result = match answer {
            Ok(body) => decode(body).map_err(|e| self.bad_answer(method, e)),
            Err(e) => Err(e),
        };
        meter.finish(&result, result.as_ref().is_ok_and(domain_error));
        result
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
                 stubs; the handshake compares the types' fields only when both sides state a \
                 schema (docs/CONTRACTS.md). Built from the same contract, the return type has \
                 a serde attribute or impl that does not round-trip through bincode ({})",
                crate::__private::ROUND_TRIP
            )
        };
        Error::codec(
            format!("the answer of {method} does not decode as its return type"),
            format!("{e}; {hint}"),
        )
    }

    /// Sends the call and returns the answer's encoded body.
    async fn send_call<A>(
        &self,
        method: u32,
        args: &A,
        args_size: usize,
        last: Option<Vec<u8>>,
        meter: &mut CallMeter<'_>,
    ) -> Result<Vec<u8>, Error>
    where
        A: Serialize + Sync + ?Sized,
    {
        let timeout = self.timeout();
        let last = match (&self.route, last) {
            (
                Route::Direct {
                    conn,
                    contract_index,
                    ..
                },
                Some(last),
            ) if last.len() >= crate::driver::LARGE_FRAME => {
                // Sent from the caller's own buffer, after the frame's head.
                let head = RequestHead {
                    contract: *contract_index,
                    method,
                    deadline_ms: deadline_ms(timeout),
                };
                let encode = |buf: &mut Vec<u8>| codec::encode_into(args, buf);
                return conn
                    .call_with_tail(head, encode, last, timeout)
                    .await
                    .map_err(|failure| self.failure(method, failure, timeout));
            }
            (_, last) => last,
        };
        let args_size = args_size + last.as_ref().map_or(0, Vec::len);
        let encode = |buf: &mut Vec<u8>| {
            codec::encode_into(args, buf)?;
            match &last {
                Some(last) => codec::encode_into(serde_bytes::Bytes::new(last), buf),
                None => Ok(()),
            }
        };
        let answer = match &self.route {
            Route::Direct {
                conn,
                contract_index,
                ..
            } => {
                let head = RequestHead {
                    contract: *contract_index,
                    method,
                    deadline_ms: deadline_ms(timeout),
                };
                conn.call(head, encode, args_size, timeout).await
            }
            Route::Pool { pool, contract } => {
                pool.call(*contract, method, &encode, args_size, timeout, meter)
                    .await
            }
            // Boxed: rare, and it would otherwise enlarge every call's future.
            Route::AwaitHost => {
                Box::pin(self.call_when_connected(method, &encode, args_size, timeout)).await
            }
        };
        answer.map_err(|failure| self.failure(method, failure, timeout))
    }

    /// A call of a plugin's task made before its connection to the host was
    /// up: waits for it, then finds the contract in the host's WELCOME.
    async fn call_when_connected(
        &self,
        method: u32,
        encode: EncodeArgs<'_>,
        args_size: usize,
        timeout: Option<Duration>,
    ) -> Result<Vec<u8>, CallFailure> {
        let (conn, index) = self.host_connection().await?;
        let head = RequestHead {
            contract: index,
            method,
            deadline_ms: deadline_ms(timeout),
        };
        conn.call(head, encode, args_size, timeout).await
    }

    /// A plugin's connection to its host once `serve` has connected, and
    /// this contract's index among the host's.
    async fn host_connection(&self) -> Result<(Arc<Connection>, u32), CallFailure> {
        let conn = crate::driver::context::wait_for_host()
            .await
            .ok_or(CallFailure::Connection(Error::NoPeer {
                contract: self.contract.name,
            }))?;
        let index = peer_contract(conn.peer_contracts(), self.contract, conn.peer())
            .map_err(CallFailure::Connection)?;
        Ok((conn, index))
    }

    fn failure(&self, method: u32, failure: CallFailure, timeout: Option<Duration>) -> Error {
        call_error(self.contract.method_path(method), failure, timeout)
    }
}

/// The error a call of `method_path` failed with, from how it failed.
fn call_error(method_path: String, failure: CallFailure, timeout: Option<Duration>) -> Error {
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
            RemoteCode::DeadlineExceeded if timeout.is_some() => Error::Timeout {
                method: method_path,
                after: timeout.unwrap_or_default(),
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

/// Calls method `method` of the contract at `contract_index` on `conn`
/// with arguments already encoded (`method_path` names it in errors): the
/// call of a contract known at run time only by its schema, as calls by
/// name with JSON make. A [`ClientHandle`] holds a `&'static ContractInfo`,
/// which such a contract does not have; a direct call needs only the
/// connection, the index and a name for messages, so nothing is leaked or
/// interned for it.
pub(crate) async fn call_encoded(
    conn: &Arc<Connection>,
    contract_index: u32,
    method: u32,
    method_path: &str,
    args: &[u8],
    timeout: Option<Duration>,
) -> Result<Vec<u8>, Error> {
    let head = RequestHead {
        contract: contract_index,
        method,
        deadline_ms: deadline_ms(timeout),
    };
    let encode = |buf: &mut Vec<u8>| {
        buf.extend_from_slice(args);
        Ok(())
    };
    conn.call(head, encode, args.len(), timeout)
        .await
        .map_err(|failure| call_error(method_path.to_string(), failure, timeout))
}

/// A typed client for contract `C`, served by the other side of the call
/// the current handler serves: inside a plugin's handler, the host's
/// contract (a store, a logger); inside a host service's handler, the
/// calling plugin's contract, to call it back. Outside a handler, in a
/// plugin process, the host's contract: once `serve` has started (calls
/// made while it connects wait for the connection).
///
/// Its calls inherit what is left of the handler's deadline, unless given
/// their own with `with_timeout`; when the handler is cancelled (its
/// caller gave up, or its deadline passed), its calls in flight are
/// cancelled too.
///
/// ```no_run
/// # #[goproc::plugin_interface]
/// # pub trait Store { async fn get(&self, key: String) -> Option<String>; }
/// # async fn handler() -> Result<(), goproc::Error> {
/// let store: StoreClient = goproc::peer()?;
/// let theme = store.get("theme".into()).await?;
/// # Ok(()) }
/// ```
///
/// Fails with [`Error::PeerContract`] when the other side does not serve
/// `C`, or serves another version of it (for a call made while the plugin
/// connects, the call fails so); outside a handler in a host, or in a
/// process that does not serve, with [`Error::NoPeer`].
pub fn peer<C: Client>() -> Result<C, Error> {
    use crate::driver::context::{current_connection, host_now, HostNow};
    let conn = match current_connection() {
        Some(conn) => conn,
        None => match host_now() {
            HostNow::Connected(conn) => conn,
            // A task of a plugin whose `serve` is still connecting.
            HostNow::Connecting => {
                return Ok(C::from_handle(ClientHandle::awaiting_host(C::CONTRACT)))
            }
            HostNow::None => {
                return Err(Error::NoPeer {
                    contract: C::CONTRACT.name,
                })
            }
        },
    };
    let index = peer_contract(conn.peer_contracts(), C::CONTRACT, conn.peer())?;
    Ok(C::from_handle(ClientHandle::inheriting(
        conn.clone(),
        index,
        C::CONTRACT,
    )))
}

/// What a method declared `-> Result<T, E>` answers: whether it is the
/// method's own `Err(e)`, counted as the call's domain error.
#[doc(hidden)]
pub trait DomainResult {
    /// Whether this is an `Err`.
    fn is_domain_error(&self) -> bool;
}

impl<T, E> DomainResult for Result<T, E> {
    fn is_domain_error(&self) -> bool {
        self.is_err()
    }
}

/// Finds `wanted` among the contracts the other side serves.
pub(crate) fn peer_contract(
    served: &[ContractRef],
    wanted: &ContractInfo,
    peer: &str,
) -> Result<u32, Error> {
    let reason = match find_contract(served, wanted.name, wanted.fingerprint) {
        Ok(index) => return Ok(index),
        Err(NotListed::Other(other)) => format!(
            "it serves {} with fingerprint {}, this side was built with {}; build both from the \
             same contract",
            wanted.name,
            short(&other.fingerprint),
            wanted.short_fingerprint()
        ),
        Err(NotListed::Missing) if served.is_empty() => {
            "it serves no contracts to this side".to_string()
        }
        Err(NotListed::Missing) => format!("it serves: {}", names(served)),
    };
    Err(Error::PeerContract {
        peer: peer.to_string(),
        contract: wanted.name,
        reason,
    })
}

/// The `deadline_ms` of a request whose caller waits `left` more: 0 for no
/// deadline, and never 0 for one.
pub(crate) fn deadline_ms(left: Option<Duration>) -> u64 {
    left.map(|t| u64::try_from(t.as_millis()).unwrap_or(u64::MAX).max(1))
        .unwrap_or(0)
}

impl std::fmt::Debug for ClientHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let peer = match &self.route {
            Route::Direct { conn, .. } => conn.peer().to_string(),
            Route::AwaitHost => "host".to_string(),
            Route::Pool { .. } => "a pool".to_string(),
        };
        f.debug_struct("ClientHandle")
            .field("contract", &self.contract.name)
            .field("peer", &peer)
            .field("timeout", &self.timeout)
            .finish()
    }
}
