//! The Rust implementation of `Streams` (tests/contracts/streams.rs): the
//! plugin of the stream tests, and the host's own service in the test of a
//! plugin that streams to and from its host. Included where the contract
//! module is its sibling `streams`.

use futures::StreamExt;
use goproc::Stream;

use super::streams::{Streams, UploadSummary};

pub struct Plugin;

/// Writes `stopped` to its file when dropped: the stream it lives in was
/// stopped (dropped by the runtime).
struct Marker(String);

impl Drop for Marker {
    fn drop(&mut self) {
        let _ = std::fs::write(&self.0, "stopped");
    }
}

impl Streams for Plugin {
    async fn count(&self, start: u64, count: u64) -> Stream<u64> {
        Stream::iter(start..start.saturating_add(count))
    }

    async fn fail_after(&self, n: u32) -> Stream<u32> {
        let items = futures::stream::iter(0..n);
        let boom = futures::stream::once(async move { panic!("boom after {n}") });
        Stream::new(items.chain(boom))
    }

    async fn upload(&self, mut data: Stream<Vec<u8>>) -> UploadSummary {
        let mut summary = UploadSummary {
            bytes: 0,
            chunks: 0,
            checksum: 0,
        };
        while let Some(chunk) = data.next().await {
            let chunk = chunk.expect("the upload arrives whole");
            summary.bytes += chunk.len() as u64;
            summary.chunks += 1;
            summary.checksum = chunk
                .iter()
                .fold(summary.checksum, |sum, b| sum.wrapping_add(u64::from(*b)));
        }
        summary
    }

    async fn shout(&self, prefix: String, lines: Stream<String>) -> Stream<String> {
        Stream::from_results(
            lines.map(move |line| line.map(|l| format!("{prefix}{}", l.to_uppercase()))),
        )
    }

    async fn forever(&self, marker: String) -> Stream<u64> {
        let marker = Marker(marker);
        Stream::new(futures::stream::unfold(
            (0u64, marker),
            |(n, marker)| async move {
                tokio::task::yield_now().await;
                Some((n, (n + 1, marker)))
            },
        ))
    }

    async fn download(&self, size: u64, chunk: u32) -> Stream<Vec<u8>> {
        let chunk = u64::from(chunk.max(1));
        Stream::new(futures::stream::unfold(0u64, move |at| async move {
            if at >= size {
                return None;
            }
            let len = chunk.min(size - at);
            let bytes = (at..at + len).map(|i| (i % 251) as u8).collect();
            Some((bytes, at + len))
        }))
    }

    async fn pids(&self, count: u32) -> Stream<u32> {
        Stream::iter(std::iter::repeat_n(std::process::id(), count as usize))
    }
}
