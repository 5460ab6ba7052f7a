//! The stream and event rows: a stream of 16-byte items beside a raw
//! socket that writes the same frames (parsed one by one by the reader),
//! a byte stream beside a raw copy of the same bytes, an event's round
//! trip through a plugin beside a raw ping-pong, and one publish fanned out
//! to ten plugins beside the same frames echoed by ten raw peers.

use std::sync::Arc;
use std::time::Duration;

use criterion::{Criterion, Throughput};
use futures::StreamExt;
use tokio::net::UnixStream;

use crate::contract::{BenchStreamsClient, BenchTicksEvents};
use crate::floor_socket::FloorStream;
use crate::peers::{self, ChildGuard, RawClient};
use crate::rounds::Rounds;
use crate::{c_wants, rust_plugin, scratch_dir, Flavor, Placement};

/// Items per iteration of the item rows.
pub const ITEMS: u64 = 10_000;
/// The encoded size of one item (a 15-byte `Vec<u8>` and its length).
const ITEM_BODY: u32 = 16;
/// Bytes per iteration of the byte rows, and the chunk size.
pub const BYTES: u64 = 64 << 20;
const CHUNK: u32 = 256 * 1024;
/// Events per iteration of the fan-out rows, and the subscribers.
pub const FAN_EVENTS: u64 = 200;
pub const SUBSCRIBERS: usize = 10;

/// The raw producer: reads `mode u8 | count u64 | size u32` and writes
/// either `count` frames of goproc's layout with `size`-byte bodies
/// (mode 0), or `count` bytes in writes of `size` (mode 1).
pub async fn raw_stream_serve(addr: String) {
    let stream = UnixStream::connect(addr)
        .await
        .expect("connecting to the bench host");
    let stream = peers::floor_stream(stream, true);
    let mut command = [0u8; 13];
    let mut out = Vec::with_capacity(256 * 1024);
    while stream.read_exact(&mut command).await.is_ok() {
        let count = u64::from_le_bytes(command[1..9].try_into().unwrap());
        let size = u32::from_le_bytes(command[9..13].try_into().unwrap()) as usize;
        if command[0] == 0 {
            let mut frame = Vec::with_capacity(13 + size);
            frame.extend_from_slice(&(9 + size as u32).to_le_bytes());
            frame.push(0x41);
            frame.extend_from_slice(&1u64.to_le_bytes());
            frame.extend(std::iter::repeat_n(7u8, size));
            for _ in 0..count {
                out.extend_from_slice(&frame);
                if out.len() >= 64 * 1024 {
                    stream.write_all(&out).await.expect("raw write");
                    out.clear();
                }
            }
            stream.write_all(&out).await.expect("raw write");
            out.clear();
        } else {
            let chunk = vec![7u8; size];
            let mut left = count as usize;
            while left > 0 {
                let n = left.min(size);
                stream.write_all(&chunk[..n]).await.expect("raw write");
                left -= n;
            }
        }
    }
}

/// Drives the raw producer.
struct RawStream {
    stream: FloorStream,
    buf: Vec<u8>,
}

impl RawStream {
    async fn command(&mut self, mode: u8, count: u64, size: u32) {
        let mut c = vec![mode];
        c.extend_from_slice(&count.to_le_bytes());
        c.extend_from_slice(&size.to_le_bytes());
        self.stream.write_all(&c).await.expect("raw command");
    }

    /// Asks for `count` frames and reads them, checking each frame's length.
    async fn frames(&mut self, count: u64, size: u32) {
        self.command(0, count, size).await;
        let frame = 13 + size as usize;
        let (mut have, mut seen) = (0usize, 0u64);
        while seen < count {
            let n = self
                .stream
                .read(&mut self.buf[have..])
                .await
                .expect("raw read");
            assert!(n > 0, "the raw producer closed");
            have += n;
            let mut at = 0;
            while have - at >= 4 {
                let len = u32::from_le_bytes(self.buf[at..at + 4].try_into().unwrap()) as usize;
                if have - at < 4 + len {
                    break;
                }
                assert_eq!(4 + len, frame);
                at += 4 + len;
                seen += 1;
            }
            self.buf.copy_within(at..have, 0);
            have -= at;
        }
    }

    /// Asks for `total` bytes and reads them.
    async fn bytes(&mut self, total: u64) {
        self.command(1, total, CHUNK).await;
        let mut left = total as usize;
        while left > 0 {
            let n = self.stream.read(&mut self.buf).await.expect("raw read");
            assert!(n > 0, "the raw producer closed");
            left -= n.min(left);
        }
    }
}

async fn raw_stream_peer(dir: &tempfile::TempDir) -> (RawStream, ChildGuard) {
    let path = peers::socket_path(dir, "raw-stream");
    let _ = std::fs::remove_file(&path);
    let listener = tokio::net::UnixListener::bind(&path).expect("binding");
    let child = peers::command(crate::exe())
        .env(peers::ROLE, "raw-stream")
        .env(peers::ADDR, &path)
        .env(
            peers::WAKE_EARLY,
            if peers::floor_wakes_early() { "1" } else { "0" },
        )
        .stdin(std::process::Stdio::null())
        .spawn()
        .expect("starting the raw producer");
    let guard = ChildGuard(child);
    let (stream, _) = tokio::time::timeout(Duration::from_secs(20), listener.accept())
        .await
        .expect("the raw producer did not connect")
        .expect("accepting the raw producer");
    (
        RawStream {
            stream: peers::floor_stream(stream, false),
            buf: vec![0u8; 1 << 20],
        },
        guard,
    )
}

struct StreamPeers {
    goproc: BenchStreamsClient,
    raw: RawStream,
    _plugin: goproc::Plugin,
    _child: ChildGuard,
    _dir: tempfile::TempDir,
}

/// Items per second and bytes per second through a stream, each beside
/// its raw floor.
pub fn bench_streams(c: &mut Criterion, p: &Placement) {
    let items = format!("{}-stream16-ct", p.name);
    let bytes = format!("{}-bytestream-ct", p.name);
    if !c_wants(c, &items) && !c_wants(c, &bytes) {
        return;
    }
    let rt = Flavor::Current.runtime();
    let state = rt.block_on(async {
        let dir = scratch_dir();
        let plugin = rust_plugin()
            .contract::<BenchStreamsClient>()
            .spawn()
            .await
            .expect("starting the bench plugin");
        let goproc: BenchStreamsClient = plugin.client().expect("client");
        let (raw, child) = raw_stream_peer(&dir).await;
        StreamPeers {
            goproc: goproc.without_timeout(),
            raw,
            _plugin: plugin,
            _child: child,
            _dir: dir,
        }
    });
    let state = Arc::new(tokio::sync::Mutex::new(state));
    let mut g = Rounds::new(c, &items);
    g.throughput(Throughput::Elements(ITEMS));
    g.measure("raw", &rt, &state, |s, n| {
        Box::pin(async move {
            s.raw.frames(n * ITEMS, ITEM_BODY).await;
        })
    });
    g.measure("goproc", &rt, &state, |s, n| {
        Box::pin(async move {
            let got = s.goproc.items(n * ITEMS, ITEM_BODY - 1).count().await;
            assert_eq!(got as u64, n * ITEMS);
        })
    });
    g.finish();
    let mut g = Rounds::new(c, &bytes);
    g.throughput(Throughput::Bytes(BYTES));
    g.measure("raw", &rt, &state, |s, n| {
        Box::pin(async move {
            s.raw.bytes(n * BYTES).await;
        })
    });
    g.measure("goproc", &rt, &state, |s, n| {
        Box::pin(async move {
            let chunks = n * BYTES / u64::from(CHUNK);
            let mut got = 0u64;
            let mut stream = s.goproc.items(chunks, CHUNK);
            while let Some(chunk) = stream.next().await {
                got += chunk.expect("a chunk").len() as u64;
            }
            assert_eq!(got, n * BYTES);
        })
    });
    g.finish();
    rt.block_on(async move { drop(state) });
}

struct EventPeers {
    ticks: BenchTicksEvents,
    pongs: goproc::Subscription<u64>,
    /// One report stream per fan-out subscriber.
    fans: Vec<goproc::Stream<(u64, u64)>>,
    /// How many events each fan-out subscriber was sent so far.
    sent: u64,
    /// Deliveries the subscribers' queues dropped (lagged), in all.
    dropped: u64,
    raw: RawClient,
    raw_fans: Vec<RawClient>,
    _plugins: Vec<goproc::Plugin>,
    _children: Vec<ChildGuard>,
    _dir: tempfile::TempDir,
}

/// An event's round trip through a plugin, and one publish reaching ten
/// plugins, each beside the raw socket doing the same.
pub fn bench_events(c: &mut Criterion, p: &Placement, notes: &mut Vec<String>) {
    let rtt = format!("{}-event-rtt-ct", p.name);
    let fan = format!("{}-fanout10-ct", p.name);
    if !c_wants(c, &rtt) && !c_wants(c, &fan) {
        return;
    }
    let rt = Flavor::Current.runtime();
    let state = rt.block_on(async {
        let dir = scratch_dir();
        let bus = goproc::Bus::with_capacity(4096);
        let mut plugins = Vec::new();
        for _ in 0..=SUBSCRIBERS {
            let plugin = rust_plugin()
                .contract::<BenchStreamsClient>()
                .bus(&bus)
                .spawn()
                .await
                .expect("starting a bench plugin");
            plugins.push(plugin);
        }
        let ticks = BenchTicksEvents::on(&bus);
        let pongs = ticks.subscribe_tick("bench/pong").expect("subscribing");
        let watcher = |plugin: &goproc::Plugin, pattern: &str, echo: &str, every: u64| {
            plugin
                .client::<BenchStreamsClient>()
                .expect("client")
                .without_timeout()
                .watch(pattern.into(), echo.into(), every)
        };
        let mut echo = watcher(&plugins[0], "bench/ping", "bench/pong", u64::MAX);
        assert_eq!(
            echo.next().await.unwrap().unwrap(),
            (0, 0),
            "the echo subscribed"
        );
        let mut fans = Vec::new();
        for plugin in &plugins[1..] {
            let mut fan = watcher(plugin, "bench/fan/#", "", FAN_EVENTS);
            assert_eq!(
                fan.next().await.unwrap().unwrap(),
                (0, 0),
                "a subscriber subscribed"
            );
            fans.push(fan);
        }
        // The echo's stream stays open for the run: keep it polled by a task.
        tokio::spawn(async move { while echo.next().await.is_some() {} });
        let mut children = Vec::new();
        let path = peers::socket_path(&dir, "raw");
        // The plugins run the multi-thread runtime, and so do the raw servers.
        let (mut raw, child) =
            peers::raw_peer(peers::raw_rust_command("raw-echo", &path), &path).await;
        raw.prepare(1, 32);
        children.push(child);
        let mut raw_fans = Vec::new();
        for i in 0..SUBSCRIBERS {
            let path = peers::socket_path(&dir, &format!("raw-fan-{i}"));
            let (mut raw, child) =
                peers::raw_peer(peers::raw_rust_command("raw-echo", &path), &path).await;
            raw.prepare(FAN_EVENTS as usize, 32);
            raw_fans.push(raw);
            children.push(child);
        }
        EventPeers {
            ticks,
            pongs,
            fans,
            sent: 0,
            dropped: 0,
            raw,
            raw_fans,
            _plugins: plugins,
            _children: children,
            _dir: dir,
        }
    });
    let state = Arc::new(tokio::sync::Mutex::new(state));
    let mut g = Rounds::new(c, &rtt);
    g.measure("raw", &rt, &state, |s, n| {
        Box::pin(async move {
            for _ in 0..n {
                s.raw.round_trip().await;
            }
        })
    });
    g.measure("goproc", &rt, &state, |s, n| {
        Box::pin(async move {
            for i in 0..n {
                s.ticks.publish_tick("bench/ping", &i).expect("publishing");
                let pong = s.pongs.next().await.expect("the echo answers");
                assert_eq!(pong.payload, i);
            }
        })
    });
    g.finish();
    let mut g = Rounds::new(c, &fan);
    g.throughput(Throughput::Elements(FAN_EVENTS * SUBSCRIBERS as u64));
    g.measure("raw", &rt, &state, |s, n| {
        Box::pin(async move {
            for _ in 0..n {
                let echoes = s.raw_fans.iter_mut().map(|raw| raw.round_trip());
                futures::future::join_all(echoes).await;
            }
        })
    });
    g.measure("goproc", &rt, &state, |s, n| {
        Box::pin(async move {
            for _ in 0..n {
                for i in 0..FAN_EVENTS {
                    s.ticks
                        .publish_tick(&format!("bench/fan/{}", i % 4), &i)
                        .expect("publishing");
                }
                s.sent += FAN_EVENTS;
                let mut dropped = 0;
                for fan in &mut s.fans {
                    loop {
                        let (received, lost) =
                            fan.next().await.expect("a report").expect("no failure");
                        if received + lost >= s.sent {
                            dropped += lost;
                            break;
                        }
                    }
                }
                s.dropped = dropped;
            }
        })
    });
    g.finish();
    let (dropped, sent) = rt.block_on(async {
        let s = state.lock().await;
        (s.dropped, s.sent * SUBSCRIBERS as u64)
    });
    notes.push(format!(
        "Fan-out to {SUBSCRIBERS} plugins ({}): {dropped} of {sent} deliveries were dropped by \
         the subscribers' bounded queues (lagged); the rest arrived.",
        p.name
    ));
    rt.block_on(async move { drop(state) });
}
