//! The plugin side: connect to the host, say hello, serve calls until the
//! host goes away.

mod server;

pub use server::{serve, Server};
