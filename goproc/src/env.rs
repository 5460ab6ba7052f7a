//! The environment a host gives a plugin process.

/// The address of the host's socket (a file path on Unix, a pipe name on Windows).
pub const ENV_ADDR: &str = "GOPROC_ADDR";
/// The one-time token the plugin must present in its hello.
pub const ENV_TOKEN: &str = "GOPROC_TOKEN";
/// The name the host gave the plugin, for the plugin's own logs.
pub const ENV_NAME: &str = "GOPROC_PLUGIN_NAME";
/// Low-latency mode: microseconds the plugin keeps polling its socket
/// before sleeping (set by [`crate::PluginBuilder::busy_poll`]).
pub const ENV_BUSY_POLL: &str = "GOPROC_BUSY_POLL_US";
