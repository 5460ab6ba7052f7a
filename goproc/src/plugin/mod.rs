//! The plugin side: connect to the host, say hello, serve calls until the
//! host goes away.

mod server;

pub(crate) use server::host_connection;
pub use server::{serve, Server};
