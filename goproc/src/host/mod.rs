//! The host side: start a plugin process, check its hello, hand out typed
//! clients, and watch the process until it ends.

mod client;
pub(crate) mod handshake;
mod logs;
mod plugin;
mod supervise;

pub use client::{Client, ServiceHandle};
pub use plugin::{Plugin, PluginBuilder};
