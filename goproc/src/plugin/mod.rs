//! The plugin side: connect to the host, say hello, serve calls until the
//! host goes away.

mod context;
mod server;

pub(crate) use context::with_deadline;
pub use context::{deadline, time_left};

pub use server::{serve, Server, Service};
