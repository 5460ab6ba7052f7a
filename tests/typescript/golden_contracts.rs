//! The contracts of docs/WIRE.md's stream and event golden rows, for the
//! TypeScript runtime's tests (tests/typescript/runtime_test.ts).

/// Contract 0 of the stream rows.
#[goproc::plugin_interface]
pub trait Logs {
    /// The lines of the file at `path`.
    async fn tail(&self, path: String) -> goproc::Stream<String>;
    /// Stores `data` as `name`; returns how many bytes it held.
    async fn upload(&self, name: String, data: goproc::Stream<Vec<u8>>) -> u64;
}

/// The event contract of the event rows.
#[goproc::plugin_interface(events)]
pub trait Telemetry {
    /// A temperature.
    fn temperature(&self, celsius: f32);
}
