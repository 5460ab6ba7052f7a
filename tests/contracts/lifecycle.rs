//! A contract for lifecycle tests: slow calls, observed cancellation,
//! deadlines, logs and crashes.

/// What the lifecycle tests ask of a plugin.
#[goproc::plugin_interface]
pub trait Lifecycle {
    /// Sleeps `ms` milliseconds, then answers `ms`. A handler stopped before
    /// it finishes (cancelled, or past its deadline) is counted.
    async fn sleep(&self, ms: u64) -> u64;
    /// How many `sleep` handlers were stopped before they finished.
    async fn cancelled(&self) -> u64;
    /// The milliseconds the handler had left when it started, if the call
    /// carried a deadline.
    async fn deadline_ms(&self) -> Option<u64>;
    /// The plugin's process id.
    async fn pid(&self) -> u32;
    /// Adds two numbers (for load).
    async fn add(&self, a: i64, b: i64) -> i64;
    /// Writes each line to stderr.
    async fn log(&self, lines: Vec<String>);
    /// Fails inside the handler: a panic (Rust), a raised exception (Python),
    /// a thrown error (TypeScript).
    async fn fail(&self, message: String) -> u32;
    /// Stops answering anything, pings included (the process stops itself).
    async fn freeze(&self);
}
