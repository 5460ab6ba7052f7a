//! The stream scenarios every plugin runtime must pass, against
//! `Streams` (tests/contracts/streams.rs). Each language's test file
//! defines `builder()` (its plugin serving `Streams`) and `FAILURE` (the
//! message its `fail_after` handler's failure arrives with), and runs
//! `streams_tests!()`; what only one runtime does stays in its own file.
#![allow(dead_code)]

// Also in `common`, which some includers load too: one small file, no state.
/// The same implementation the Rust test plugin serves, here the host's.
#[path = "../plugins/streams.rs"]
mod implementation;
#[allow(clippy::duplicate_mod)]
#[path = "../common/memory.rs"]
pub mod memory;
#[path = "../contracts/streams.rs"]
pub mod streams;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use futures::StreamExt;
use goproc::{Error, Plugin, PluginBuilder, RemoteCode, Stream};
use memory::Memory;
use streams::{StreamsClient, UploadSummary};

/// Starts the plugin and returns its `Streams` client.
pub async fn start(builder: PluginBuilder) -> (Plugin, StreamsClient) {
    let plugin = builder.spawn().await.expect("starting the streams plugin");
    let client = plugin.client().expect("serves Streams");
    (plugin, client)
}

/// A fresh path for a `forever` marker file.
fn marker(name: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("a scratch folder");
    let path = dir.path().join(name);
    (dir, path)
}

/// Waits (up to 10 s) until the plugin wrote `stopped` to `path`.
async fn assert_stopped(path: &Path, what: &str) {
    let until = Instant::now() + Duration::from_secs(10);
    while std::fs::read_to_string(path).ok().as_deref() != Some("stopped") {
        assert!(
            Instant::now() < until,
            "{what}: the producer did not stop within 10 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

pub async fn items_arrive_in_order_then_the_end(calc: StreamsClient) {
    let items: Vec<u64> = calc
        .count(7, 100_000)
        .map(|item| item.expect("no failure"))
        .collect()
        .await;
    assert_eq!(items, (7..100_007).collect::<Vec<_>>());
    // A stream with no items ends at once.
    assert_eq!(calc.count(0, 0).count().await, 0);
}

pub async fn a_failure_mid_stream_is_the_last_item(calc: StreamsClient, failure: &str) {
    let items: Vec<Result<u32, Error>> = calc.fail_after(3).collect().await;
    assert_eq!(items.len(), 4, "three items and the error: {items:?}");
    for (i, item) in items[..3].iter().enumerate() {
        assert_eq!(*item.as_ref().unwrap(), i as u32);
    }
    match &items[3] {
        Err(Error::Remote {
            code,
            message,
            method,
            ..
        }) => {
            assert_eq!(*code, RemoteCode::HandlerFailed);
            assert_eq!(message, failure);
            assert_eq!(method, "Streams.fail_after");
        }
        other => panic!("expected the handler's failure, got {other:?}"),
    }
}

pub async fn an_argument_stream_arrives_whole(calc: StreamsClient) {
    let chunks: Vec<Vec<u8>> = (0..300u32)
        .map(|i| (0..(i * 37 % 5000)).map(|b| (b * 7 + i) as u8).collect())
        .collect();
    let bytes: u64 = chunks.iter().map(|c| c.len() as u64).sum();
    let checksum = chunks
        .iter()
        .flatten()
        .fold(0u64, |s, b| s.wrapping_add(u64::from(*b)));
    let summary = calc.upload(Stream::iter(chunks)).await.expect("upload");
    assert_eq!(
        summary,
        UploadSummary {
            bytes,
            chunks: 300,
            checksum
        }
    );
}

pub async fn a_failing_source_reaches_the_handler(calc: StreamsClient) {
    let items = futures::stream::iter(vec![
        Ok(vec![1u8, 2, 3]),
        Err(Error::stream_source("disk on fire")),
    ]);
    let err = calc
        .upload(Stream::from_results(items))
        .await
        .expect_err("the handler's stream fails, and so does it");
    assert!(err.to_string().contains("disk on fire"), "{err}");
}

pub async fn streams_flow_both_ways_at_once(calc: StreamsClient) {
    let (tx, rx) = futures::channel::mpsc::unbounded::<String>();
    let mut answers = calc.shout("> ".into(), Stream::new(rx));
    // Each line goes only after the previous answer came back: the plugin
    // answers as lines arrive, not after the argument stream ends.
    for i in 0..50 {
        tx.unbounded_send(format!("line {i}")).unwrap();
        let answer = tokio::time::timeout(Duration::from_secs(10), answers.next())
            .await
            .expect("an answer before the next line is sent")
            .expect("an item")
            .expect("no failure");
        assert_eq!(answer, format!("> LINE {i}"));
    }
    drop(tx);
    assert!(
        answers.next().await.is_none(),
        "the end of the lines ends the answers"
    );
}

pub async fn dropping_the_stream_stops_the_producer(calc: StreamsClient) {
    let (_dir, path) = marker("dropped");
    let mut stream = calc.forever(path.display().to_string());
    for expected in 0..1000u64 {
        assert_eq!(stream.next().await.unwrap().unwrap(), expected);
    }
    drop(stream);
    assert_stopped(&path, "after the drop").await;
    // The plugin serves on.
    assert_eq!(calc.count(1, 3).count().await, 3);
}

pub async fn the_deadline_covers_the_whole_stream(calc: StreamsClient) {
    let (_dir, path) = marker("deadline");
    let started = Instant::now();
    let mut stream = calc
        .with_timeout(Duration::from_millis(400))
        .forever(path.display().to_string());
    let mut items = 0u64;
    let last = loop {
        match stream.next().await {
            Some(Ok(_)) => items += 1,
            other => break other,
        }
    };
    assert!(items > 0);
    assert!(
        matches!(last, Some(Err(Error::Timeout { .. }))),
        "the stream ends with the timeout: {last:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(stream.next().await.is_none());
    assert_stopped(&path, "past the deadline").await;
}

pub async fn a_plugin_killed_mid_stream_ends_it_with_the_exit(plugin: Plugin, calc: StreamsClient) {
    let mut stream = calc.count(0, u64::MAX);
    for _ in 0..100 {
        stream.next().await.unwrap().unwrap();
    }
    plugin.kill();
    let last = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match stream.next().await {
                Some(Ok(_)) => continue,
                other => return other,
            }
        }
    })
    .await
    .expect("the stream ends within 10 s of the kill");
    match last {
        Some(Err(e)) => assert!(
            matches!(e, Error::PluginExited { .. } | Error::Closed { .. }),
            "{e}"
        ),
        other => panic!("expected the exit as the last item, got {other:?}"),
    }
}

/// A host that takes one item a millisecond for two seconds from a plugin
/// that could produce ten million: credit keeps both processes flat.
pub async fn credit_keeps_both_sides_flat(plugin: Plugin, calc: StreamsClient) {
    let mut stream = calc.count(0, 10_000_000);
    // Warm up: the first items, and a moment for both sides to settle.
    for _ in 0..200 {
        stream.next().await.unwrap().unwrap();
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (host_before, plugin_before) = (Memory::of_self().rss, Memory::of(plugin.pid()).rss);
    let (mut host_max, mut plugin_max) = (host_before, plugin_before);
    let mut taken = 0u64;
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(2) {
        stream.next().await.unwrap().unwrap();
        taken += 1;
        tokio::time::sleep(Duration::from_millis(1)).await;
        if taken.is_multiple_of(100) {
            host_max = host_max.max(Memory::of_self().rss);
            plugin_max = plugin_max.max(Memory::of(plugin.pid()).rss);
        }
    }
    // Ten million items are 80 MB and more; the window is 1 MiB. Neither
    // side may grow by more than a few windows (allocator slack included).
    let bound = 16 << 20;
    assert!(
        plugin_max - plugin_before < bound,
        "the plugin grew from {plugin_before} to {plugin_max} bytes while the host took {taken} items"
    );
    assert!(
        host_max - host_before < bound,
        "the host grew from {host_before} to {host_max} bytes while it took {taken} items"
    );
    assert!(taken > 200, "the host took only {taken} items in 2 s");
}

/// A plugin (`builder`, serving `StreamGuest` and requiring the host's
/// `Streams`) reads a stream from its host and sends one to it. The host
/// grants a small window, so the plugin's upload waits for credit.
pub async fn a_plugin_streams_to_and_from_a_host_service(builder: PluginBuilder) {
    use streams::{StreamGuestClient, StreamsServer};
    let plugin = builder
        .contract::<StreamGuestClient>()
        .serve(StreamsServer::new(implementation::Plugin))
        .stream_window(4096)
        .spawn()
        .await
        .expect("starting the stream guest");
    let guest: StreamGuestClient = plugin.client().unwrap();
    assert_eq!(
        guest.sum_from_host(1, 100_000).await.unwrap(),
        (1..100_001).sum::<u64>()
    );
    let summary = guest.upload_to_host(40, 10_000).await.unwrap();
    assert_eq!(
        summary,
        UploadSummary {
            bytes: 400_000,
            chunks: 40,
            checksum: (0..40u64).map(|i| i * 10_000).sum(),
        }
    );
}

/// The scenarios above, as tests. Needs `builder()` and `FAILURE` in scope.
#[macro_export]
macro_rules! streams_tests {
    () => {
        #[tokio::test]
        async fn items_arrive_in_order_then_the_end() {
            let (_plugin, calc) = streams_support::start(builder()).await;
            streams_support::items_arrive_in_order_then_the_end(calc).await;
        }

        #[tokio::test]
        async fn a_failure_mid_stream_is_the_last_item() {
            let (_plugin, calc) = streams_support::start(builder()).await;
            streams_support::a_failure_mid_stream_is_the_last_item(calc, FAILURE).await;
        }

        #[tokio::test]
        async fn an_argument_stream_arrives_whole() {
            let (_plugin, calc) = streams_support::start(builder()).await;
            streams_support::an_argument_stream_arrives_whole(calc).await;
        }

        #[tokio::test]
        async fn a_failing_source_reaches_the_handler() {
            let (_plugin, calc) = streams_support::start(builder()).await;
            streams_support::a_failing_source_reaches_the_handler(calc).await;
        }

        #[tokio::test]
        async fn streams_flow_both_ways_at_once() {
            let (_plugin, calc) = streams_support::start(builder()).await;
            streams_support::streams_flow_both_ways_at_once(calc).await;
        }

        #[tokio::test]
        async fn dropping_the_stream_stops_the_producer() {
            let (_plugin, calc) = streams_support::start(builder()).await;
            streams_support::dropping_the_stream_stops_the_producer(calc).await;
        }

        #[tokio::test]
        async fn the_deadline_covers_the_whole_stream() {
            let (_plugin, calc) = streams_support::start(builder()).await;
            streams_support::the_deadline_covers_the_whole_stream(calc).await;
        }

        #[tokio::test]
        async fn a_plugin_killed_mid_stream_ends_it_with_the_exit() {
            let (plugin, calc) = streams_support::start(builder()).await;
            streams_support::a_plugin_killed_mid_stream_ends_it_with_the_exit(plugin, calc).await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn credit_keeps_both_sides_flat_under_a_slow_consumer() {
            let (plugin, calc) = streams_support::start(builder()).await;
            streams_support::credit_keeps_both_sides_flat(plugin, calc).await;
        }
    };
}
