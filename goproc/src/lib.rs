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
//! ```ignore
//! #[goproc::plugin_interface]
//! pub trait Calculator {
//!     /// Adds two numbers.
//!     async fn add(&self, a: i64, b: i64) -> i64;
//!     /// Divides, or says why not.
//!     async fn divide(&self, a: i64, b: i64) -> Result<i64, String>;
//! }
//!
//! // Host:
//! let plugin = goproc::Plugin::builder("./calculator-plugin")
//!     .contract::<CalculatorClient>()
//!     .spawn()
//!     .await?;
//! let calc: CalculatorClient = plugin.client()?;
//! assert_eq!(calc.add(1, 2).await?, 3);
//! assert_eq!(calc.divide(1, 0).await?, Err("division by zero".to_string()));
//!
//! // Plugin:
//! struct Calc;
//! impl Calculator for Calc {
//!     async fn add(&self, a: i64, b: i64) -> i64 { a + b }
//!     async fn divide(&self, a: i64, b: i64) -> Result<i64, String> {
//!         a.checked_div(b).ok_or_else(|| "division by zero".to_string())
//!     }
//! }
//! goproc::serve(CalculatorServer::new(Calc)).await?;
//! ```
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
//! - `CalculatorServer<T>`: wraps an implementation for [`serve`] or [`Server`].
//!
//! `<CalculatorClient as goproc::Client>::CONTRACT` is the contract's
//! [`ContractInfo`] (name, fingerprint, methods). The rules of a contract,
//! and how to evolve one, are in `docs/CONTRACTS.md`.

#![warn(missing_docs)]

mod connection;
mod contract;
pub mod env;
mod error;
mod host;
mod plugin;
mod pool;
mod transport;
pub mod wire;

#[doc(hidden)]
pub mod __private;

pub use connection::Args;
pub use contract::ContractInfo;
pub use error::{Error, RemoteCode};
pub use goproc_macros::plugin_interface;
pub use host::{
    Client, Plugin, PluginBuilder, PluginOutput, ServiceHandle, DEFAULT_CALL_TIMEOUT,
    DEFAULT_START_TIMEOUT,
};
pub use plugin::{deadline, serve, time_left, Server, Service};
pub use pool::{InstanceStatus, Pool, PoolBuilder, RestartPolicy};
