//! Contracts for the two-way tests: `HostApi` is served by the host to its
//! plugins, `Guest` by the plugins (Rust, Python, TypeScript), whose
//! handlers call the host back while they serve.

/// What the host serves to its plugins.
#[goproc::plugin_interface]
pub trait HostApi {
    /// The value under `key`, if any.
    async fn get(&self, key: String) -> Option<String>;
    /// Stores `value` under `key`; returns the value it replaced.
    async fn put(&self, key: String, value: String) -> Option<String>;
    /// Fails as asked: `"panic"` panics, `"error"` answers the domain error
    /// `"refused: error"`, `"hang"` never answers; anything else answers its
    /// length.
    async fn fail(&self, how: String) -> Result<u32, String>;
    /// `["host"]`, followed by the calling plugin's `bounce(depth - 1)`
    /// when `depth > 0` (the host calls the plugin back).
    async fn bounce(&self, depth: u32) -> Vec<String>;
    /// Never answers; the host records that `tag` started, and that its
    /// handler was stopped (cancelled) when it is.
    async fn wait(&self, tag: String);
    /// The milliseconds this handler has left before its call's deadline,
    /// or `None` when the call carries none.
    async fn time_left_ms(&self) -> Option<u64>;
}

/// What each plugin serves; every method calls the host while it runs.
#[goproc::plugin_interface]
pub trait Guest {
    /// `HostApi.put(key, value)`, then returns `HostApi.get(key)`.
    async fn store_and_read(&self, key: String, value: String) -> Option<String>;
    /// `[language]` (`"rust"`, `"python"`, `"typescript"`), followed by the
    /// host's `bounce(depth - 1)` when `depth > 0`.
    async fn bounce(&self, depth: u32) -> Vec<String>;
    /// Calls `HostApi.fail(how)` with a deadline of its own of 2 s and
    /// describes the outcome in one line: `ok: N`, `domain error: TEXT`,
    /// `timeout: MESSAGE` when the host did not answer within 2 s, or
    /// `failed: MESSAGE` for any other failure of the call, where MESSAGE
    /// is the runtime's description of the error (for a host handler that
    /// panicked it contains the host's `panic: ...` message).
    async fn call_failing(&self, how: String) -> String;
    /// Calls `HostApi.wait(tag)`, so it hangs until cancelled.
    async fn wait_in_host(&self, tag: String);
    /// Returns `HostApi.time_left_ms()`, called without a deadline of its
    /// own (so it inherits what is left of this handler's).
    async fn host_time_left_ms(&self) -> Option<u64>;
}
