//! The host side: start a plugin process, check its hello, hand out typed
//! clients, and watch the process until it ends.

mod accept;
pub(crate) mod handshake;
mod logs;
mod plugin;
mod program;
mod spawn;
mod supervise;

pub use logs::PluginOutput;
pub use plugin::{Plugin, PluginBuilder, DEFAULT_CALL_TIMEOUT, DEFAULT_START_TIMEOUT};
