//! The host side: start a plugin process, check its hello, hand out typed
//! clients, and watch the process until it ends.

mod accept;
mod client;
pub(crate) mod handshake;
mod logs;
mod plugin;
mod spawn;
mod supervise;

pub(crate) use client::deadline_ms;
pub use client::{Client, ServiceHandle};
pub use plugin::{Plugin, PluginBuilder};
