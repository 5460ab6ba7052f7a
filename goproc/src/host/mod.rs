//! The host side: start a plugin process, check its hello, hand out typed
//! clients, and watch the process until it ends.

mod accept;
mod client;
pub(crate) mod handshake;
mod logs;
mod plugin;
mod program;
mod spawn;
mod supervise;

pub(crate) use client::deadline_ms;
pub use client::{Client, ServiceHandle};
pub use logs::PluginOutput;
pub use plugin::{Plugin, PluginBuilder, DEFAULT_CALL_TIMEOUT, DEFAULT_START_TIMEOUT};
