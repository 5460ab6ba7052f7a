//! Plugins, pools and clients for hosts without an async runtime
//! (command-line tools, GUI and game threads, build tools), in the manner
//! of `reqwest::blocking`: the same names as the async API, each method a
//! plain `fn` that blocks its thread.
//!
//! A blocking [`Plugin`] or [`Pool`] runs its own tokio runtime on a
//! dedicated thread, which drives the connection and watches the process;
//! calls block the calling thread until their answer, and may come from
//! any number of threads at once. Dropping the plugin and its clients
//! (anywhere, inside an async runtime too) kills the process.
//!
//! `#[plugin_interface]` generates a blocking client next to the async one:
//! for `trait Calculator`, `CalculatorBlockingClient`, with one `fn` per
//! method, the same arguments and the same results, and `with_timeout`.
//! A method that answers with a stream returns an [`Iter`] of its items.
//!
//! ```no_run
//! #[goproc::plugin_interface]
//! pub trait Calculator {
//!     async fn add(&self, a: i64, b: i64) -> i64;
//! }
//!
//! fn main() -> Result<(), goproc::Error> {
//!     let plugin = goproc::blocking::Plugin::builder("./calculator-plugin")
//!         .contract::<CalculatorClient>()
//!         .spawn()?;
//!     let calc: CalculatorBlockingClient = plugin.client()?;
//!     assert_eq!(calc.add(40, 2)?, 42);
//!     Ok(())
//! }
//! ```
//!
//! An async host hands a client to code on plain threads with
//! [`BlockingClient::from_async`].
//!
//! Called from inside an async runtime (a task, or a `block_on`), every
//! blocking method fails at once with [`crate::Error::BlockingInAsync`],
//! which says what to use instead: blocking there would stall the runtime.
//! From `tokio::task::spawn_blocking`, it works.

mod client;
mod owned;
mod plugin;
mod pool;
pub(crate) mod runtime;

#[doc(hidden)]
pub use client::BlockingHandle;
pub use client::{BlockingClient, Iter};
pub use plugin::{Plugin, PluginBuilder};
pub use pool::{Pool, PoolBuilder};
