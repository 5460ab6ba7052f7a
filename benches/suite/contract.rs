//! The contracts of the Rust benchmark plugin: an echo of bytes (served by
//! the plugin, and by the host to the plugin), and a driver that makes the
//! plugin call the host's echo, for the plugin → host rows.

/// Echoes bytes; `Vec<u8>` crosses the wire through the `serde_bytes` path.
#[goproc::plugin_interface]
pub trait BenchEcho {
    /// Returns `data` unchanged.
    async fn echo(&self, data: Vec<u8>) -> Vec<u8>;
}

/// Makes the plugin call its host.
#[goproc::plugin_interface]
pub trait BenchDriver {
    /// Calls the host's `BenchEcho::echo(data)` `calls` times, `in_flight`
    /// at a time (one batch after another, as the host → plugin benchmark
    /// does), and returns how many answered.
    async fn call_host(&self, calls: u64, in_flight: u32, data: Vec<u8>) -> u64;
}

/// The echo, on either side.
pub struct Echo;

impl BenchEcho for Echo {
    async fn echo(&self, data: Vec<u8>) -> Vec<u8> {
        data
    }
}

/// The plugin side of [`BenchDriver`].
pub struct Driver;

impl BenchDriver for Driver {
    async fn call_host(&self, calls: u64, in_flight: u32, data: Vec<u8>) -> u64 {
        let host = match goproc::peer::<BenchEchoClient>() {
            Ok(host) => host.without_timeout(),
            Err(_) => return 0,
        };
        let mut answered = 0;
        let mut left = calls;
        while left > 0 {
            let batch = left.min(u64::from(in_flight.max(1)));
            if batch == 1 {
                answered += u64::from(host.echo(data.clone()).await.is_ok());
            } else {
                let calls = (0..batch).map(|_| host.echo(data.clone()));
                for r in futures::future::join_all(calls).await {
                    answered += u64::from(r.is_ok());
                }
            }
            left -= batch;
        }
        answered
    }
}
