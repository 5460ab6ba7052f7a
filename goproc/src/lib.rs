//! # goproc
//!
//! Typed plugins in separate processes. A plugin contract is an ordinary
//! Rust trait; [`plugin_interface`] turns it into a host-side async client
//! and a plugin-side dispatcher. Plugins run as their own processes (Rust,
//! or Python and TypeScript from stubs that `goproc-codegen` writes from the
//! same trait) and talk to the host over a local socket with a bincode wire
//! protocol (`docs/WIRE.md`). A plugin that crashes takes nothing down with
//! it: its calls fail with [`Error::PluginExited`].
//!
//! One program, host and plugin at once (a doc test that runs: started by
//! a host, it serves; otherwise it is the host, and starts itself):
//!
//! ```
//! #[goproc::plugin_interface]
//! pub trait Calculator {
//!     /// Adds two numbers.
//!     async fn add(&self, a: i64, b: i64) -> i64;
//!     /// Divides, or says why not: a domain error, typed at the host.
//!     async fn divide(&self, a: i64, b: i64) -> Result<i64, String>;
//! }
//!
//! // The plugin side: implement the trait.
//! struct Calc;
//! impl Calculator for Calc {
//!     async fn add(&self, a: i64, b: i64) -> i64 {
//!         a + b
//!     }
//!     async fn divide(&self, a: i64, b: i64) -> Result<i64, String> {
//!         a.checked_div(b).ok_or_else(|| "division by zero".to_string())
//!     }
//! }
//!
//! #[tokio::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     if std::env::var_os(goproc::env::ENV_ADDR).is_some() {
//!         // Started by a host: serve until it goes away.
//!         return Ok(goproc::serve(CalculatorServer::new(Calc)).await?);
//!     }
//!     // The host side: start the plugin (here, this very program) and call it.
//!     let plugin = goproc::Plugin::builder(std::env::current_exe()?)
//!         .contract::<CalculatorClient>() // refuse a plugin built from another contract
//!         .spawn()
//!         .await?;
//!     let calc: CalculatorClient = plugin.client()?;
//!     assert_eq!(calc.add(1, 2).await?, 3);
//!     assert_eq!(calc.divide(1, 0).await?, Err("division by zero".to_string()));
//!     plugin.shutdown(std::time::Duration::from_secs(5)).await?;
//!     Ok(())
//! }
//! ```
//!
//! A real plugin is its own program (see the README's quick start), or a
//! Python or TypeScript one from stubs `goproc-codegen` writes.
//!
//! ## What the macro generates
//!
//! For `trait Calculator`:
//! - the trait itself, with each `async fn` turned into a method returning
//!   `impl Future<Output = R> + Send` (an `impl` may still write `async fn`),
//!   and `Send + Sync + 'static` added, so handlers can run on any thread;
//! - `CalculatorClient`: `Clone + Send + Sync`; one `async fn` per method,
//!   same name and arguments, returning `Result<R, goproc::Error>`. A method
//!   declared `-> Result<T, E>` returns `Result<Result<T, E>, goproc::Error>`:
//!   the outer error is goproc's (the call failed), the inner one is the
//!   plugin's domain error, still typed as `E`;
//! - `CalculatorBlockingClient`: the same methods as plain `fn`s that block,
//!   for hosts without an async runtime (see [`blocking`]);
//! - `CalculatorServer<T>`: wraps an implementation for [`serve`] or [`Server`].
//!
//! `<CalculatorClient as goproc::Client>::CONTRACT` is the contract's
//! [`ContractInfo`] (name, fingerprint, methods, schema). The rules of a contract,
//! and how to evolve one, are in `docs/CONTRACTS.md`.
//!
//! ## Without an async runtime
//!
//! [`blocking`] has the same API for hosts that are not async (command-line
//! tools, GUI and game threads), in the manner of `reqwest::blocking`:
//! `goproc::blocking::Plugin::builder(..).spawn()?` runs the plugin on a
//! runtime of its own, and the generated `CalculatorBlockingClient` makes
//! the calls as plain `fn`s, from any number of threads. Called from inside
//! an async runtime, they fail at once with [`Error::BlockingInAsync`].
//!
//! ## Testing a plugin in-process
//!
//! [`testing::serve`] serves an implementation in the test's own process and
//! returns its typed client; the calls go through the real handshake,
//! encoding, dispatcher, deadlines and cancellation over an in-memory pipe:
//!
//! ```
//! # #[goproc::plugin_interface]
//! # pub trait Calculator { async fn add(&self, a: i64, b: i64) -> i64; }
//! # struct Calc;
//! # impl Calculator for Calc { async fn add(&self, a: i64, b: i64) -> i64 { a + b } }
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let calc = goproc::testing::serve(CalculatorServer::new(Calc)).await;
//! assert_eq!(calc.add(1, 2).await.unwrap(), 3);
//! # }
//! ```
//!
//! Host code that takes a `CalculatorClient` is tested the same way against
//! a fake implementation of the trait: no generics, no process.
//!
//! ## Streams and events
//!
//! A method may answer with a [`Stream`] of items, or take one (an upload,
//! a body past the frame limit as `Stream<Vec<u8>>`), or both; each stream
//! has its own credit, so a fast producer never grows the other process.
//! The client method of a method that answers with a stream returns the
//! `Stream` at once (a `futures::Stream` of `Result<T, Error>`), and
//! dropping it stops the producer.
//!
//! `#[plugin_interface(events)]` declares an event contract; its generated
//! `<Name>Events` publishes and subscribes on a [`Bus`] (a host's, or
//! [`host_bus`] in a plugin) with MQTT topic patterns, routed by the host.
//! The README's "Streams and events" and `docs/WIRE.md` say the rest.

#![warn(missing_docs)]

pub mod blocking;
mod client;
mod contract;
mod driver;
pub mod env;
mod error;
mod events;
mod host;
pub mod json;
mod metrics;
mod plugin;
mod pool;
pub mod registry;
pub mod schema;
mod service;
mod session;
mod stream;
pub mod testing;
mod transport;
pub mod wire;

#[doc(hidden)]
pub mod __private;

pub use client::{peer, Client, ClientHandle};
pub use contract::ContractInfo;
pub use driver::bus_link::host_bus;
pub use driver::context::{deadline, time_left};
pub use driver::Args;
pub use driver::DEFAULT_STREAM_WINDOW;
pub use error::{Error, RemoteCode};
pub use events::{Bus, Event, EventContract, Subscription};
/// Turns a trait into a goproc plugin contract.
///
/// On `trait Calculator` it generates:
///
/// - the trait itself, each `async fn` becoming a method that returns
///   `impl Future<Output = R> + Send` (an `impl` may still write `async
///   fn`), with `Send + Sync + 'static` added so handlers run on any thread;
/// - `CalculatorClient`, the host's typed client: `Clone + Send + Sync`, one
///   `async fn` per method with the same name and arguments, returning
///   `Result<R, goproc::Error>` (a method declared `-> Result<T, E>` returns
///   `Result<Result<T, E>, goproc::Error>`: the outer error is goproc's, the
///   inner one the plugin's domain error); `with_timeout(d)` and
///   `without_timeout()` give copies with another deadline;
/// - `CalculatorServer<T>`, the plugin's dispatcher for [`serve`] or
///   [`Server::add`];
/// - `impl goproc::Client for CalculatorClient`, whose `CONTRACT` is the
///   contract's [`ContractInfo`] (name, fingerprint, methods, schema).
///
/// Methods take `&self` and owned arguments whose types serialize with
/// serde and fit the wire (docs/CONTRACTS.md lists what is refused, and
/// why: the compiler says so at the line, with what to write instead). The
/// one argument is `crate = "path::to::goproc"`, for a crate that
/// re-exports goproc under another path.
///
/// ```
/// #[goproc::plugin_interface]
/// pub trait Greeter {
///     async fn hello(&self, name: String) -> String;
/// }
///
/// struct English;
/// impl Greeter for English {
///     async fn hello(&self, name: String) -> String {
///         format!("Hello, {name}!")
///     }
/// }
///
/// let _server = GreeterServer::new(English); // for goproc::serve
/// let contract = <GreeterClient as goproc::Client>::CONTRACT;
/// assert_eq!((contract.name, contract.methods), ("Greeter", &["hello"][..]));
/// ```
pub use goproc_macros::plugin_interface;
pub use host::{Plugin, PluginBuilder, PluginOutput, DEFAULT_CALL_TIMEOUT, DEFAULT_START_TIMEOUT};
pub use json::PreparedCall;
pub use metrics::{ErrorCounts, Latency, MethodMetrics, PluginMetrics, PoolMetrics};
pub use plugin::{serve, Server};
pub use pool::{InstanceStatus, Pool, PoolBuilder, RestartPolicy};
pub use registry::{Manifest, Registry, RegistryBuilder};
pub use service::Service;
pub use stream::{Stream, StreamReader, DEFAULT_CHUNK};
