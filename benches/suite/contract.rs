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

/// Streams and events, for the stream and event rows.
#[goproc::plugin_interface]
pub trait BenchStreams {
    /// `count` items of `size` bytes each, as fast as credit allows.
    async fn items(&self, count: u64, size: u32) -> goproc::Stream<Vec<u8>>;
    /// Subscribes to `BenchTicks.tick` on `pattern`. Each event received is
    /// published back on `echo_to` (when not empty); every `report_every`
    /// events the stream yields how many were received and how many
    /// dropped so far. The first item, `(0, 0)`, says the subscription is live.
    async fn watch(
        &self,
        pattern: String,
        echo_to: String,
        report_every: u64,
    ) -> goproc::Stream<(u64, u64)>;
}

/// The events of the event rows.
#[goproc::plugin_interface(events)]
pub trait BenchTicks {
    /// A numbered tick.
    fn tick(&self, seq: u64);
}

/// The plugin side of [`BenchStreams`].
pub struct Streamer;

impl BenchStreams for Streamer {
    async fn items(&self, count: u64, size: u32) -> goproc::Stream<Vec<u8>> {
        let item = vec![7u8; size as usize];
        goproc::Stream::iter(std::iter::repeat_n(item, count as usize))
    }

    async fn watch(
        &self,
        pattern: String,
        echo_to: String,
        report_every: u64,
    ) -> goproc::Stream<(u64, u64)> {
        use futures::StreamExt;
        let ticks = BenchTicksEvents::on(&goproc::host_bus());
        let subscription = match ticks.subscribe_tick(&pattern) {
            Ok(s) => s,
            Err(e) => return goproc::Stream::from_results(futures::stream::iter([Err(e)])),
        };
        let every = report_every.max(1);
        let (mut received, mut dropped, mut next) = (0u64, 0u64, every);
        let reports = subscription.filter_map(move |event| {
            received += 1;
            dropped += event.lagged;
            if !echo_to.is_empty() {
                let _ = ticks.publish_tick(&echo_to, &event.payload);
            }
            let seen = received + dropped;
            let due = seen >= next;
            while next <= seen {
                next = next.saturating_add(every);
            }
            futures::future::ready(due.then_some((received, dropped)))
        });
        goproc::Stream::new(futures::stream::iter([(0, 0)]).chain(reports))
    }
}
