//! The host side: start a plugin process, check its hello, hand out typed
//! clients, and watch the process until it ends.

mod accept;
mod builder;
mod handle;
pub(crate) mod handshake;
mod logs;
mod program;
mod spawn;
mod supervise;

pub(crate) use builder::run_check;
pub use builder::{PluginBuilder, DEFAULT_CALL_TIMEOUT, DEFAULT_START_TIMEOUT};
pub use handle::Plugin;
pub use logs::PluginOutput;
