//! Testing a plugin in-process: its implementation served in the test's
//! own process, called through a typed client over an in-memory pipe. Not
//! a mock: the calls go through the real handshake, encoding, dispatcher,
//! deadlines and cancellation, so a type whose serde impl does not
//! round-trip, a handler past its deadline or one that ignores
//! cancellation behave as they would across processes.
//!
//! ```
//! #[goproc::plugin_interface]
//! pub trait Calculator {
//!     async fn add(&self, a: i64, b: i64) -> i64;
//! }
//!
//! struct Calc;
//! impl Calculator for Calc {
//!     async fn add(&self, a: i64, b: i64) -> i64 {
//!         a + b
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let calc: CalculatorClient = goproc::testing::serve(CalculatorServer::new(Calc)).await;
//! assert_eq!(calc.add(40, 2).await.unwrap(), 42);
//! # }
//! ```
//!
//! The same harness tests host code against a fake: code that takes a
//! `CalculatorClient` is handed one served by a fake implementation of the
//! trait, with no generics and no process. [`TestPlugin::builder`] serves
//! several contracts, host services to them, and sets deadlines.

mod duplex;

use std::sync::Arc;
use std::time::Duration;

use crate::client::{Client, ClientHandle};
use crate::contract::{check_contract, check_schema};
use crate::driver::{Connection, Setup, Side};
use crate::host::handshake::{self, Expect, Failed};
use crate::service::{Service, Services};
use crate::wire::messages::{ContractRef, HelloList};
use crate::{ContractInfo, Error, Server};

/// A generated server (`CalculatorServer<T>`), which knows its client
/// (`CalculatorClient`): what lets [`serve`] return the right client.
pub trait TypedService: Service {
    /// The client of the contract it serves.
    type Client: Client;
}

/// The name the in-process plugin has in errors.
const NAME: &str = "in-process plugin";
/// The token of the in-process handshake (the handshake still checks it).
const TOKEN: &str = "in-process";

/// Serves `service` in this process and returns its typed client, whose
/// calls cross an in-memory pipe through the real protocol. The plugin
/// lives as long as the client (or a clone of it); calls have no deadline
/// unless given one with `with_timeout`.
///
/// Must be called inside a tokio runtime.
///
/// # Panics
///
/// When the in-process handshake fails, which no generated server makes
/// it do; [`TestPlugin::builder`] returns the error instead.
pub async fn serve<S: TypedService>(service: S) -> S::Client {
    let plugin = TestPlugin::builder()
        .add(service)
        .start()
        .await
        .unwrap_or_else(|e| panic!("goproc::testing::serve: {e}"));
    plugin
        .client::<S::Client>()
        .unwrap_or_else(|e| panic!("goproc::testing::serve: {e}"))
}

/// Configures a [`TestPlugin`]. Made by [`TestPlugin::builder`].
pub struct TestPluginBuilder {
    plugin: Server,
    host: Services,
    call_timeout: Option<Duration>,
    max_frame: u32,
}

impl TestPluginBuilder {
    /// Adds a contract the in-process plugin serves (its generated server).
    // A builder's `add`, as `goproc::Server::add`.
    #[allow(clippy::should_implement_trait)]
    pub fn add(mut self, service: impl Service) -> Self {
        self.plugin = self.plugin.add(service);
        self
    }

    /// Serves a host contract to the plugin, as
    /// [`crate::PluginBuilder::serve`] does: the plugin's handlers get a
    /// client with [`crate::peer`]. (Outside a handler, `peer` in a test
    /// process does not reach this host: the test is no plugin process.)
    pub fn serve(mut self, service: impl Service) -> Self {
        self.host.push(service);
        self
    }

    /// Requires the host to serve `C`'s contract, as
    /// [`crate::Server::require`] does: the handshake fails otherwise.
    pub fn require<C: Client>(mut self) -> Self {
        self.plugin = self.plugin.require::<C>();
        self
    }

    /// The deadline of the calls of [`TestPlugin::client`]'s clients
    /// (default: none).
    pub fn call_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.call_timeout = timeout;
        self
    }

    /// The largest frame either side may send (default 16 MiB).
    pub fn max_frame(mut self, bytes: u32) -> Self {
        self.max_frame = bytes.max(crate::wire::frame::MIN_MAX_FRAME);
        self
    }

    /// Runs the handshake over an in-memory pipe and starts both ends.
    /// Must be called inside a tokio runtime.
    pub async fn start(self) -> Result<TestPlugin, Error> {
        let (host_end, plugin_end) = duplex::pair();
        let serves = self.host.contracts();
        let contracts = self.plugin.contracts();
        let expect = Expect {
            plugin: NAME,
            token: TOKEN,
            contracts: &contracts,
            serves: &serves,
            max_frame: self.max_frame,
        };
        let (mut host_stream, mut plugin_stream) = (host_end.clone(), plugin_end.clone());
        let (hello, welcome) = tokio::join!(
            handshake::accept(&mut host_stream, &expect),
            self.plugin.greet(&mut plugin_stream, TOKEN.to_string()),
        );
        let hello = hello.map_err(|failed| match failed {
            Failed::Stranger(e) | Failed::Plugin(e) => e,
        })?;
        let welcome = welcome?;

        let plugin_conn = self.plugin.start_connection(plugin_end, welcome);
        // The plugin's end fails its handlers when the host's goes, as
        // `serve` does in a plugin process.
        let watched = plugin_conn.clone();
        tokio::spawn(async move {
            watched.ended().await;
            watched.fail_all(Error::Closed {
                peer: "host".into(),
                reason: "the in-process test plugin was dropped".into(),
            });
            watched.close();
        });
        let host_conn = Connection::start(
            host_end,
            Setup {
                side: Side::Host,
                peer: NAME.into(),
                max_frame: self.max_frame,
                outbox_limit: crate::driver::DEFAULT_OUTBOX_LIMIT,
                dispatcher: self.host.dispatcher(),
                protocol: hello.protocol_max.min(crate::wire::PROTOCOL_MAX),
                stream_window: crate::driver::DEFAULT_STREAM_WINDOW,
                peer_contracts: hello.contracts.clone(),
            },
        );
        let schemas = (0..hello.contracts.len())
            .map(|i| hello.schema_of(HelloList::Contracts, i).map(str::to_string))
            .collect();
        Ok(TestPlugin {
            inner: Arc::new(Inner {
                host_conn,
                plugin_conn,
                contracts: hello.contracts,
                schemas,
                call_timeout: self.call_timeout,
            }),
        })
    }
}

/// A plugin served in this process, for tests: hands out typed clients of
/// the contracts it serves. Cheap to clone; the plugin lives as long as
/// this or any client made from it.
#[derive(Clone)]
pub struct TestPlugin {
    inner: Arc<Inner>,
}

struct Inner {
    host_conn: Arc<Connection>,
    plugin_conn: Arc<Connection>,
    contracts: Vec<ContractRef>,
    schemas: Vec<Option<String>>,
    call_timeout: Option<Duration>,
}

impl TestPlugin {
    /// Starts configuring an in-process plugin.
    pub fn builder() -> TestPluginBuilder {
        TestPluginBuilder {
            plugin: Server::new(),
            host: Services::default(),
            call_timeout: None,
            max_frame: crate::wire::DEFAULT_MAX_FRAME,
        }
    }

    /// A typed client of contract `C`, checked against what the plugin
    /// said at the handshake, as [`crate::Plugin::client`] does.
    pub fn client<C: Client>(&self) -> Result<C, Error> {
        let inner = &self.inner;
        let wanted: &ContractInfo = C::CONTRACT;
        if let Some(i) = inner.contracts.iter().position(|c| c.name == wanted.name) {
            check_schema(wanted, inner.schemas[i].as_deref(), NAME)?;
        }
        let index = check_contract(&inner.contracts, wanted, NAME)?;
        let owner: Arc<dyn std::any::Any + Send + Sync> = inner.clone();
        let handle = ClientHandle::new(inner.host_conn.clone(), index, C::CONTRACT, owner);
        Ok(C::from_handle(handle.with_timeout(inner.call_timeout)))
    }
}

impl std::fmt::Debug for TestPlugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestPlugin")
            .field(
                "contracts",
                &self
                    .inner
                    .contracts
                    .iter()
                    .map(|c| &c.name)
                    .collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        // CLOSE reaches the plugin's end, which stops its handlers and
        // closes in turn; the tasks of both ends then finish.
        self.host_conn.close();
        self.host_conn.fail_all(Error::Closed {
            peer: NAME.into(),
            reason: "the in-process test plugin was dropped".into(),
        });
        self.plugin_conn.fail_all(Error::Closed {
            peer: "host".into(),
            reason: "the in-process test plugin was dropped".into(),
        });
    }
}
