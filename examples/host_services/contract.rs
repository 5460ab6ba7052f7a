//! The contracts of `cargo run --example host_services`: the host serves a
//! key-value `Store` and a `Logger` to its plugins; each plugin serves a
//! `PageCounter` that uses both while it answers.

/// How much a log line matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Level {
    /// Details for whoever debugs.
    Debug,
    /// Normal operation.
    Info,
    /// Something looks wrong.
    Warn,
}

/// A key-value store that lives in the host.
#[goproc::plugin_interface]
pub trait Store {
    /// The value under `key`, if any.
    async fn get(&self, key: String) -> Option<String>;
    /// Stores `value` under `key`; returns the value it replaced.
    async fn put(&self, key: String, value: String) -> Option<String>;
}

/// The host's log.
#[goproc::plugin_interface]
pub trait Logger {
    /// Writes one line to the host's log, tagged with the plugin's name.
    async fn log(&self, level: Level, message: String);
}

/// What each plugin serves.
#[goproc::plugin_interface]
pub trait PageCounter {
    /// Counts one more visit to `page` (the count lives in the host's
    /// store under `visits/<page>`), logs it through the host, and returns
    /// the new count.
    async fn visit(&self, page: String) -> u64;
}
