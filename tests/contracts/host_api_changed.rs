//! `HostApi` as another version of the host has it: `put` returns nothing.
//! A plugin built from tests/contracts/host_services.rs must be refused at
//! the handshake by a host that serves this one.

/// The host's API, one version off.
#[goproc::plugin_interface]
pub trait HostApi {
    /// The value under `key`, if any.
    async fn get(&self, key: String) -> Option<String>;
    /// Stores `value` under `key`.
    async fn put(&self, key: String, value: String);
}
