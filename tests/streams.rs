//! Streams between a Rust host and a Rust plugin (`Streams` in
//! tests/contracts/streams.rs): the scenarios every runtime passes
//! (tests/streams_support), and what only the Rust runtime is held to
//! here: pool affinity and a 2 GiB body with bounded memory.

#[macro_use]
mod streams_support;

use std::time::Duration;

use futures::StreamExt;
use goproc::{Plugin, Pool};
use streams_support::memory::Memory;
use streams_support::streams::StreamsClient;

/// What `fail_after`'s panic arrives as.
const FAILURE: &str = "panic: boom after 3";

fn builder() -> goproc::PluginBuilder {
    Plugin::builder(env!("CARGO_BIN_EXE_test-plugin"))
        .arg("streams")
        .name("streams")
        .contract::<StreamsClient>()
        .start_timeout(Duration::from_secs(20))
}

streams_tests!();

#[tokio::test]
async fn a_pool_keeps_a_stream_on_one_instance() {
    let pool = Pool::builder(builder())
        .size(3)
        .start()
        .await
        .expect("starting the pool");
    let calc: StreamsClient = pool.client().expect("serves Streams");
    let streams = (0..6).map(|_| {
        calc.pids(200)
            .map(|p| p.expect("no failure"))
            .collect::<Vec<u32>>()
    });
    let mut seen = std::collections::BTreeSet::new();
    for pids in futures::future::join_all(streams).await {
        assert_eq!(pids.len(), 200);
        assert!(
            pids.iter().all(|p| *p == pids[0]),
            "one stream, one instance"
        );
        seen.insert(pids[0]);
    }
    assert!(
        seen.len() > 1,
        "concurrent streams spread over the instances: {seen:?}"
    );
}

#[tokio::test]
async fn a_two_gib_body_travels_in_chunks_with_bounded_memory() {
    const SIZE: u64 = 2 << 30;
    const CHUNK: u32 = 256 * 1024;
    let (plugin, calc) = streams_support::start(builder()).await;
    let before = (Memory::of_self(), Memory::of(plugin.pid()));
    let mut stream = calc.without_timeout().download(SIZE, CHUNK);
    let mut received = 0u64;
    let mut peak_host = 0u64;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.expect("no failure");
        // Spot-check the content without touching every byte.
        assert_eq!(chunk[0], (received % 251) as u8);
        received += chunk.len() as u64;
        if received.is_multiple_of(256 << 20) {
            peak_host = peak_host.max(Memory::of_self().rss);
        }
    }
    assert_eq!(received, SIZE);
    let plugin_grew = Memory::of(plugin.pid()).peak.saturating_sub(before.1.rss);
    let host_grew = peak_host.saturating_sub(before.0.rss);
    let limit = 64 * 1024 * 1024;
    assert!(plugin_grew < limit, "the plugin grew {plugin_grew} bytes");
    assert!(host_grew < limit, "the host grew {host_grew} bytes");
}

#[tokio::test]
async fn a_plugin_streams_to_and_from_a_host_service() {
    let builder = Plugin::builder(env!("CARGO_BIN_EXE_test-plugin"))
        .arg("stream-guest")
        .name("stream-guest")
        .start_timeout(Duration::from_secs(20));
    streams_support::a_plugin_streams_to_and_from_a_host_service(builder).await;
}

/// A plugin that sends a stream's items without waiting for credit is cut
/// off: the stream ends with a protocol error naming the rule, and the
/// host holds no more than its window meanwhile.
#[tokio::test]
async fn a_plugin_that_ignores_credit_is_disconnected_with_bounded_memory() {
    let plugin = Plugin::builder(env!("CARGO_BIN_EXE_test-plugin"))
        .arg("stream-overdraw")
        .name("overdraw")
        .contract::<StreamsClient>()
        .stream_window(64 * 1024)
        .start_timeout(Duration::from_secs(20))
        .spawn()
        .await
        .expect("starting the hostile plugin");
    let calc: StreamsClient = plugin.client().unwrap();
    let before = Memory::of_self().rss;
    let mut stream = calc.download(1 << 30, 1024);
    let mut items = 0u64;
    let last = loop {
        match tokio::time::timeout(Duration::from_secs(10), stream.next()).await {
            Ok(Some(Ok(_))) => items += 1,
            Ok(other) => break other,
            Err(_) => panic!("the stream neither ended nor failed within 10 s"),
        }
    };
    match last {
        Some(Err(goproc::Error::Protocol { reason, .. })) => {
            assert!(reason.contains("without credit left"), "{reason}");
        }
        other => panic!("expected a protocol error, got {other:?}"),
    }
    // 64 KiB of credit is about 60 items of 1 KiB: the rest were refused.
    assert!(items <= 64, "{items} items were taken past the window");
    let grew = Memory::of_self().rss.saturating_sub(before);
    assert!(grew < 16 << 20, "the host grew {grew} bytes");
}
