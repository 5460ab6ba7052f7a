//! Streams between a Rust host and a Rust plugin (`Streams` in
//! tests/contracts/streams.rs): answer streams, argument streams, both at
//! once, errors mid-stream, cancel on drop, deadlines, a plugin killed
//! mid-stream, pool affinity, the credit bound on memory, and a 2 GiB body.

#[path = "common/memory.rs"]
mod memory;
#[path = "contracts/streams.rs"]
mod streams;

use std::time::{Duration, Instant};

use futures::StreamExt;
use goproc::{Error, Plugin, Pool, RemoteCode, Stream};
use memory::Memory;
use streams::StreamsClient;

fn builder() -> goproc::PluginBuilder {
    Plugin::builder(env!("CARGO_BIN_EXE_test-plugin"))
        .arg("streams")
        .name("streams")
        .contract::<StreamsClient>()
        .start_timeout(Duration::from_secs(20))
}

async fn start() -> (Plugin, StreamsClient) {
    let plugin = builder()
        .spawn()
        .await
        .expect("starting the streams plugin");
    let client = plugin.client().expect("serves Streams");
    (plugin, client)
}

fn marker(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("goproc-streams-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    let _ = std::fs::remove_file(&path);
    path
}

async fn wait_for_file(path: &std::path::Path, within: Duration) -> Option<String> {
    let until = Instant::now() + within;
    while Instant::now() < until {
        if let Ok(text) = std::fs::read_to_string(path) {
            return Some(text);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    None
}

#[tokio::test]
async fn an_answer_stream_delivers_every_item_in_order_then_ends() {
    let (_plugin, calc) = start().await;
    let items: Vec<u64> = calc
        .count(7, 100_000)
        .map(|item| item.expect("no failure"))
        .collect()
        .await;
    assert_eq!(items, (7..100_007).collect::<Vec<_>>());
    // A stream with no items ends at once.
    assert_eq!(calc.count(0, 0).count().await, 0);
}

#[tokio::test]
async fn a_handler_failing_mid_stream_ends_the_stream_with_its_error() {
    let (_plugin, calc) = start().await;
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
            assert!(message.contains("boom after 3"), "{message}");
            assert_eq!(method, "Streams.fail_after");
        }
        other => panic!("expected the handler's failure, got {other:?}"),
    }
}

#[tokio::test]
async fn an_argument_stream_arrives_whole() {
    let (_plugin, calc) = start().await;
    let chunks: Vec<Vec<u8>> = (0..300u32)
        .map(|i| vec![(i % 256) as u8; 1000 + i as usize])
        .collect();
    let bytes: u64 = chunks.iter().map(|c| c.len() as u64).sum();
    let checksum = chunks
        .iter()
        .flatten()
        .fold(0u64, |s, b| s.wrapping_add(u64::from(*b)));
    let summary = calc.upload(Stream::iter(chunks)).await.expect("upload");
    assert_eq!(summary.bytes, bytes);
    assert_eq!(summary.chunks, 300);
    assert_eq!(summary.checksum, checksum);
}

#[tokio::test]
async fn a_source_that_fails_reaches_the_handler_as_an_error() {
    let (_plugin, calc) = start().await;
    let items = futures::stream::iter(vec![
        Ok(vec![1u8, 2, 3]),
        Err(Error::stream_source("disk on fire")),
    ]);
    let err = calc
        .upload(Stream::from_results(items))
        .await
        .expect_err("the handler's stream fails, and so does it");
    let text = err.to_string();
    assert!(text.contains("disk on fire"), "{text}");
}

#[tokio::test]
async fn streams_flow_both_ways_at_once() {
    let (_plugin, calc) = start().await;
    let (tx, rx) = futures::channel::mpsc::unbounded::<String>();
    let mut out = calc.shout("> ".into(), Stream::new(rx));
    // Each answer comes back before the next line is sent: the two
    // directions interleave.
    for word in ["alpha", "beta", "gamma"] {
        tx.unbounded_send(word.to_string()).unwrap();
        let line = out.next().await.expect("an answer").expect("no failure");
        assert_eq!(line, format!("> {}", word.to_uppercase()));
    }
    drop(tx);
    assert!(
        out.next().await.is_none(),
        "the end of the lines ends the answers"
    );
}

#[tokio::test]
async fn dropping_the_stream_stops_the_producer() {
    let (_plugin, calc) = start().await;
    let path = marker("dropped");
    let mut stream = calc.forever(path.display().to_string());
    for expected in 0..1000u64 {
        assert_eq!(stream.next().await.unwrap().unwrap(), expected);
    }
    drop(stream);
    let said = wait_for_file(&path, Duration::from_secs(10)).await;
    assert_eq!(said.as_deref(), Some("stopped"));
}

#[tokio::test]
async fn the_deadline_covers_the_whole_stream() {
    let (_plugin, calc) = start().await;
    let path = marker("deadline");
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
    let said = wait_for_file(&path, Duration::from_secs(10)).await;
    assert_eq!(
        said.as_deref(),
        Some("stopped"),
        "the plugin stopped producing too"
    );
}

#[tokio::test]
async fn a_plugin_killed_mid_stream_ends_the_stream_with_the_exit() {
    let (plugin, calc) = start().await;
    let mut stream = calc.count(0, u64::MAX);
    for _ in 0..100 {
        stream.next().await.unwrap().unwrap();
    }
    plugin.kill();
    let last = loop {
        match tokio::time::timeout(Duration::from_secs(10), stream.next()).await {
            Ok(Some(Ok(_))) => continue,
            Ok(other) => break other,
            Err(_) => panic!("the stream did not end after the plugin was killed"),
        }
    };
    match last {
        Some(Err(e)) => assert!(
            matches!(e, Error::PluginExited { .. } | Error::Closed { .. }),
            "{e}"
        ),
        other => panic!("expected the exit as the last item, got {other:?}"),
    }
}

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
async fn credit_keeps_both_sides_flat_under_a_slow_consumer() {
    let plugin = builder()
        .stream_window(64 * 1024)
        .spawn()
        .await
        .expect("starting");
    let calc: StreamsClient = plugin.client().unwrap();
    let mut stream = calc.count(0, 10_000_000);
    // Warm up, then measure while the consumer takes one item per millisecond.
    for _ in 0..200 {
        stream.next().await.unwrap().unwrap();
    }
    let (host_before, plugin_before) = (Memory::of_self(), Memory::of(plugin.pid()));
    let mut taken = 0u64;
    let until = Instant::now() + Duration::from_secs(2);
    while Instant::now() < until {
        stream.next().await.unwrap().unwrap();
        taken += 1;
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let (host_after, plugin_after) = (Memory::of_self(), Memory::of(plugin.pid()));
    let grew = |a: Memory, b: Memory| b.rss.saturating_sub(a.rss);
    // 10 million items are 80 MB and more; the window is 64 KiB.
    let limit = 8 * 1024 * 1024;
    assert!(
        grew(plugin_before, plugin_after) < limit,
        "the plugin grew {} bytes while its consumer was slow",
        grew(plugin_before, plugin_after)
    );
    assert!(
        grew(host_before, host_after) < limit,
        "the host grew {} bytes while it read slowly",
        grew(host_before, host_after)
    );
    assert!(taken > 200, "the consumer took {taken} items");
}

#[tokio::test]
async fn a_two_gib_body_travels_in_chunks_with_bounded_memory() {
    const SIZE: u64 = 2 << 30;
    const CHUNK: u32 = 256 * 1024;
    let (plugin, calc) = start().await;
    let before = (Memory::of_self(), Memory::of(plugin.pid()));
    let mut stream = calc.without_timeout().download(SIZE, CHUNK);
    let mut received = 0u64;
    let mut peak_host = 0u64;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.expect("no failure");
        // Spot-check the content without touching every byte.
        assert_eq!(chunk[0], (received % 251) as u8);
        received += chunk.len() as u64;
        if received % (256 << 20) == 0 {
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
