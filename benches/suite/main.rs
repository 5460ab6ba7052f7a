//! goproc's benchmark suite: every figure beside its baseline, in the same
//! run and the same CPU placement.
//!
//! ```text
//! cargo bench --features bench-peers --bench suite -- --quick   # ~12 minutes, writes BENCHMARKS.md
//! cargo bench --features bench-peers --bench suite              # full criterion runs
//! cargo bench --features bench-peers --bench suite -- seq       # only groups matching `seq`
//! cargo bench --features bench-peers --bench suite -- --quick --report-only  # BENCHMARKS.md from saved results
//! ```
//!
//! Each placement (`GOPROC_BENCH_PLACEMENTS`, default `default,split,pinned`)
//! runs the suite once: `default` leaves the scheduler free; `split` puts
//! this process on CPU 0 and every peer on CPU 1 (`taskset`), so each round
//! trip crosses cores (Rust peers only); `pinned` restricts this process and
//! every peer it starts to CPU 0 (children inherit the affinity mask, and
//! tokio sizes its multi-thread runtime from it).
//!
//! The binary also plays the Rust peers: started with `GOPROC_BENCH_ROLE`,
//! it serves as the goproc plugin, the raw echo or the tarpc server.

mod alloc;
#[path = "../../examples/calculator/contract.rs"]
mod calculator;
mod contract;
mod floor_socket;
mod peers;
mod plain_rpc;
mod registry;
mod report;
mod rounds;
mod scripts;
mod streams;

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput};
use tokio::runtime::Runtime;

use calculator::CalculatorClient;
use contract::{
    BenchDriverClient, BenchDriverServer, BenchEchoClient, BenchEchoServer, BenchStreamsServer,
    Driver, Echo, Streamer,
};
use peers::{ChildGuard, RawClient, TarpcEchoClient};
use plain_rpc::PlainRpc;
use rounds::Rounds;

#[global_allocator]
static ALLOC: alloc::Counting = alloc::Counting;

/// Calls in flight for the pipelined benchmarks.
const IN_FLIGHT: usize = 128;
/// How long the low-latency mode polls before sleeping.
const BUSY_POLL: Duration = Duration::from_micros(100);
/// The small argument: 16 bytes.
const SMALL: usize = 16;
/// The large argument: 1 MiB.
const LARGE: usize = 1 << 20;

type BoxFuture<'a> = Pin<Box<dyn Future<Output = ()> + Send + 'a>>;

fn main() {
    if let Ok(role) = std::env::var(peers::ROLE) {
        run_role(&role);
        return;
    }
    let args: Vec<String> = std::env::args().skip(1).collect();
    let quick = args.iter().any(|a| a == "--quick");
    let filter = args.iter().find(|a| !a.starts_with('-')).cloned();
    let placements =
        std::env::var("GOPROC_BENCH_PLACEMENTS").unwrap_or_else(|_| "default,split,pinned".into());
    let home = report::criterion_home();
    // SAFETY: set before any other thread exists.
    std::env::set_var("CRITERION_HOME", &home);

    let mut c = if quick {
        // Criterion's own `--quick` keeps two samples, too few for a spread;
        // this keeps ten short ones, in each of the three rounds.
        let mut c = Criterion::default()
            .sample_size(10)
            .warm_up_time(Duration::from_millis(300))
            .measurement_time(Duration::from_millis(1000))
            .nresamples(10_000)
            .without_plots();
        if let Some(f) = &filter {
            c = c.with_filter(f.clone());
        }
        c
    } else {
        Criterion::default().configure_from_args()
    };

    let machine = report::Machine::detect();
    if args.iter().any(|a| a == "--report-only") {
        // Renders BENCHMARKS.md from the results criterion saved last
        // (without the notes and the memory figure, which only a run makes).
        let path = report::write(&machine, &home, &placements, None, &[], quick);
        println!("wrote {}", path.display());
        return;
    }
    let mut notes = Vec::new();
    let mut memory = None;
    for placement in placements
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
    {
        match placement {
            "default" => {
                peers::set_child_cpu(None);
                peers::set_floor_wakes_early(true);
            }
            "split" => {
                pin_to_cpu0();
                peers::set_child_cpu(Some(1));
                peers::set_floor_wakes_early(true);
            }
            "pinned" => {
                pin_to_cpu0();
                peers::set_child_cpu(None);
                peers::set_floor_wakes_early(false);
            }
            other => panic!("unknown placement `{other}` (default, split, pinned)"),
        }
        let p = Placement {
            name: placement.to_string(),
        };
        for flavor in [Flavor::Current, Flavor::Multi] {
            bench_rust_peers(&mut c, &p, flavor);
        }
        if placement == "split" {
            // Across cores on purpose: the sequential and pipelined Rust
            // figures only, to keep the quick run short.
            continue;
        }
        bench_pool(&mut c, &p);
        bench_large(&mut c, &p);
        streams::bench_streams(&mut c, &p);
        streams::bench_events(&mut c, &p, &mut notes);
        bench_python(&mut c, &p, &mut notes);
        bench_node(&mut c, &p, &mut notes);
        // Where calls are cheapest (pinned), a registry's extra cost shows most.
        registry::bench_routes(&mut c, &p);
        if placement == "default" {
            bench_spawn(&mut c, &p, &mut notes);
            registry::bench_checksum(&mut c, &p);
            memory = Some(measure_memory());
        }
    }
    c.final_summary();
    if filter.is_none() {
        let path = report::write(&machine, &home, &placements, memory, &notes, quick);
        println!("wrote {}", path.display());
    }
}

fn run_role(role: &str) {
    if role == "plugin" || role == "plugin-ct" {
        // A plugin as users write one: `#[tokio::main]`, the multi-thread
        // runtime; or `#[tokio::main(flavor = "current_thread")]`.
        let rt = if role == "plugin" {
            tokio::runtime::Runtime::new()
        } else {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
        }
        .expect("plugin runtime");
        let server = goproc::Server::new()
            .add(BenchEchoServer::new(Echo))
            .add(BenchDriverServer::new(Driver))
            .add(BenchStreamsServer::new(Streamer))
            .require::<BenchEchoClient>();
        if let Err(e) = rt.block_on(server.serve()) {
            eprintln!("bench plugin: {e}");
            std::process::exit(1);
        }
        return;
    }
    if role == "raw-stream" {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("raw producer runtime");
        rt.block_on(streams::raw_stream_serve(
            std::env::var(peers::ADDR).expect("the producer's socket"),
        ));
        return;
    }
    if !peers::run_role(role) {
        eprintln!("unknown {} `{role}`", peers::ROLE);
        std::process::exit(2);
    }
}

/// Restricts this process (and so every child it starts) to CPU 0.
fn pin_to_cpu0() {
    // SAFETY: a zeroed cpu_set_t is valid; the calls only read and write it.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(0, &mut set);
        let rc = libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
        assert_eq!(
            rc,
            0,
            "sched_setaffinity: {}",
            std::io::Error::last_os_error()
        );
    }
    // Only this thread's mask changes; the runtimes and children of the
    // pinned run are all made from this thread afterwards.
}

struct Placement {
    name: String,
}

#[derive(Clone, Copy, PartialEq)]
enum Flavor {
    Current,
    Multi,
}

impl Flavor {
    fn tag(self) -> &'static str {
        match self {
            Flavor::Current => "ct",
            Flavor::Multi => "mt",
        }
    }

    fn runtime(self) -> Runtime {
        match self {
            Flavor::Current => tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("current-thread runtime"),
            Flavor::Multi => Runtime::new().expect("multi-thread runtime"),
        }
    }
}

/// Runs `body` `iters` times' worth inside a task of `rt` (a worker thread
/// on the multi-thread runtime, as a server's tasks run) and times it.
fn sample<S: Send + 'static>(
    rt: &Runtime,
    state: &Arc<tokio::sync::Mutex<S>>,
    iters: u64,
    body: for<'a> fn(&'a mut S, u64) -> BoxFuture<'a>,
) -> Duration {
    let state = state.clone();
    rt.block_on(async move {
        tokio::spawn(async move {
            let mut s = state.lock().await;
            let start = Instant::now();
            body(&mut s, iters).await;
            start.elapsed()
        })
        .await
        .expect("the benchmark task panicked")
    })
}

/// A private scratch folder for sockets, under `/tmp` (socket paths are
/// short there), removed when dropped.
fn scratch_dir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("gpb-")
        .tempdir_in("/tmp")
        .expect("a scratch folder")
}

fn exe() -> PathBuf {
    std::env::current_exe().expect("the benchmark binary's path")
}

fn rust_plugin() -> goproc::PluginBuilder {
    rust_plugin_as("plugin")
}

/// The Rust bench plugin in `role`: `plugin` (multi-thread runtime) or
/// `plugin-ct` (current-thread runtime).
fn rust_plugin_as(role: &str) -> goproc::PluginBuilder {
    peers::plugin_builder(exe())
        .env(peers::ROLE, role)
        .name("bench-plugin")
        .contract::<BenchEchoClient>()
        .contract::<BenchDriverClient>()
        .serve(BenchEchoServer::new(Echo))
}

struct RustPeers {
    goproc: BenchEchoClient,
    /// Makes the plugin call the host's echo (the plugin → host rows).
    driver: BenchDriverClient,
    /// A second plugin in low-latency mode ([`BUSY_POLL`]).
    busy: BenchEchoClient,
    raw: RawClient,
    plain: PlainRpc,
    tarpc: TarpcEchoClient,
    payload: Vec<u8>,
    _plugins: Vec<goproc::Plugin>,
    _children: Vec<ChildGuard>,
    _dir: tempfile::TempDir,
}

async fn rust_peers(small_frames: usize) -> RustPeers {
    let dir = scratch_dir();
    let plugin = rust_plugin()
        .spawn()
        .await
        .expect("starting the bench plugin");
    let goproc: BenchEchoClient = plugin.client().expect("the bench client");
    let driver = plugin
        .client::<BenchDriverClient>()
        .expect("the bench driver")
        .without_timeout();
    let busy_plugin = rust_plugin()
        .busy_poll(BUSY_POLL)
        .spawn()
        .await
        .expect("starting the busy-polling bench plugin");
    let busy: BenchEchoClient = busy_plugin.client().expect("the bench client");
    // Both baselines talk to a raw server on the plugin's runtime flavour.
    let raw_role = peers::raw_role_for("plugin");
    let raw_path = peers::socket_path(&dir, "raw");
    let (mut raw, raw_child) =
        peers::raw_peer(peers::raw_rust_command(raw_role, &raw_path), &raw_path).await;
    raw.prepare(small_frames, SMALL);
    let plain_path = peers::socket_path(&dir, "plain");
    let (plain, plain_child) =
        peers::raw_connection(peers::raw_rust_command(raw_role, &plain_path), &plain_path).await;
    let plain = PlainRpc::new(plain);
    let (tarpc, tarpc_child) = peers::tarpc_peer(&peers::socket_path(&dir, "tarpc")).await;
    let payload: Vec<u8> = (0..SMALL as u8).collect();
    // Every peer answers before it is measured.
    assert_eq!(
        goproc
            .echo(payload.clone())
            .await
            .expect("first goproc call"),
        payload
    );
    assert_eq!(plain.call(&payload).await, payload);
    tarpc
        .echo(
            peers::tarpc_context(),
            serde_bytes::ByteBuf::from(payload.clone()),
        )
        .await
        .expect("first tarpc call");
    busy.echo(payload.clone())
        .await
        .expect("first busy-poll call");
    assert_eq!(
        driver
            .call_host(1, 1, payload.clone())
            .await
            .expect("first plugin → host call"),
        1
    );
    RustPeers {
        goproc,
        driver,
        busy,
        raw,
        plain,
        tarpc,
        payload,
        _plugins: vec![plugin, busy_plugin],
        _children: vec![raw_child, plain_child, tarpc_child],
        _dir: dir,
    }
}

/// A benchmark's state that drives a raw server beside goproc.
trait WithRaw: Send + 'static {
    fn raw(&mut self) -> &mut RawClient;
}

impl WithRaw for RustPeers {
    fn raw(&mut self) -> &mut RawClient {
        &mut self.raw
    }
}

impl WithRaw for LargePeers {
    fn raw(&mut self) -> &mut RawClient {
        &mut self.raw
    }
}

impl WithRaw for ScriptPeers {
    fn raw(&mut self) -> &mut RawClient {
        &mut self.raw
    }
}

/// Measures the group's raw server: one prepared round per iteration, and
/// `PASSES` rounds in each pass that times its calls.
fn measure_raw<'a, S: WithRaw, const PASSES: usize>(
    g: &mut Rounds<'_, 'a>,
    rt: &'a Runtime,
    state: &'a Arc<tokio::sync::Mutex<S>>,
) {
    g.measure_calls(
        "raw",
        rt,
        state,
        |s, n| {
            Box::pin(async move {
                for _ in 0..n {
                    s.raw().round_trip().await;
                }
            })
        },
        |s, t| {
            Box::pin(async move {
                for _ in 0..PASSES {
                    s.raw().round_trip_timed(t).await;
                }
            })
        },
    );
}

/// Sequential round trips timed in each call pass.
const SEQ_CALLS: usize = 2000;
/// Batches of [`IN_FLIGHT`] calls timed in each call pass.
const BATCHES: usize = 40;

/// Sequential round trips and 128 calls in flight, goproc beside the raw
/// server, the plain RPC client and tarpc, on one runtime flavour.
fn bench_rust_peers(c: &mut Criterion, p: &Placement, flavor: Flavor) {
    let rt = flavor.runtime();
    let seq_name = format!("{}-seq-{}", p.name, flavor.tag());
    let pipe_name = format!("{}-inflight128-{}", p.name, flavor.tag());
    if !c_wants(c, &seq_name) && !c_wants(c, &pipe_name) {
        return;
    }
    let seq = Arc::new(tokio::sync::Mutex::new(rt.block_on(rust_peers(1))));
    {
        let mut g = Rounds::new(c, &seq_name);
        g.throughput(Throughput::Elements(1));
        measure_raw::<_, SEQ_CALLS>(&mut g, &rt, &seq);
        g.measure_calls(
            "goproc",
            &rt,
            &seq,
            |s, n| {
                Box::pin(async move {
                    for _ in 0..n {
                        s.goproc.echo(s.payload.clone()).await.expect("goproc call");
                    }
                })
            },
            |s, t| {
                Box::pin(async move {
                    for _ in 0..SEQ_CALLS {
                        let (r, d) = rounds::timed(s.goproc.echo(s.payload.clone())).await;
                        r.expect("goproc call");
                        t.push(d);
                    }
                })
            },
        );
        g.measure_calls(
            "plain-rpc",
            &rt,
            &seq,
            |s, n| {
                Box::pin(async move {
                    for _ in 0..n {
                        s.plain.call(&s.payload).await;
                    }
                })
            },
            |s, t| {
                Box::pin(async move {
                    for _ in 0..SEQ_CALLS {
                        t.push(rounds::timed(s.plain.call(&s.payload)).await.1);
                    }
                })
            },
        );
        g.measure("plugin-to-host", &rt, &seq, |s, n| {
            Box::pin(async move {
                let answered = s
                    .driver
                    .call_host(n, 1, s.payload.clone())
                    .await
                    .expect("driver call");
                assert_eq!(answered, n, "every plugin → host call answered");
            })
        });
        g.measure_calls(
            "goproc-busy-poll",
            &rt,
            &seq,
            |s, n| {
                Box::pin(async move {
                    for _ in 0..n {
                        s.busy.echo(s.payload.clone()).await.expect("goproc call");
                    }
                })
            },
            |s, t| {
                Box::pin(async move {
                    for _ in 0..SEQ_CALLS {
                        let (r, d) = rounds::timed(s.busy.echo(s.payload.clone())).await;
                        r.expect("goproc call");
                        t.push(d);
                    }
                })
            },
        );
        g.measure_calls(
            "tarpc",
            &rt,
            &seq,
            |s, n| {
                Box::pin(async move {
                    for _ in 0..n {
                        let arg = serde_bytes::ByteBuf::from(s.payload.clone());
                        s.tarpc
                            .echo(peers::tarpc_context(), arg)
                            .await
                            .expect("tarpc call");
                    }
                })
            },
            |s, t| {
                Box::pin(async move {
                    for _ in 0..SEQ_CALLS {
                        let arg = serde_bytes::ByteBuf::from(s.payload.clone());
                        let (r, d) = rounds::timed(s.tarpc.echo(peers::tarpc_context(), arg)).await;
                        r.expect("tarpc call");
                        t.push(d);
                    }
                })
            },
        );
        g.finish();
    }
    {
        let mut s = seq.blocking_lock_owned_in(&rt);
        s.raw.prepare(IN_FLIGHT, SMALL);
    }
    let mut g = Rounds::new(c, &pipe_name);
    g.throughput(Throughput::Elements(IN_FLIGHT as u64));
    measure_raw::<_, BATCHES>(&mut g, &rt, &seq);
    g.measure_calls(
        "goproc",
        &rt,
        &seq,
        |s, n| {
            Box::pin(async move {
                for _ in 0..n {
                    let calls = (0..IN_FLIGHT).map(|_| s.goproc.echo(s.payload.clone()));
                    for r in futures::future::join_all(calls).await {
                        r.expect("goproc call");
                    }
                }
            })
        },
        |s, t| {
            Box::pin(async move {
                for _ in 0..BATCHES {
                    let calls =
                        (0..IN_FLIGHT).map(|_| rounds::timed(s.goproc.echo(s.payload.clone())));
                    for (r, d) in futures::future::join_all(calls).await {
                        r.expect("goproc call");
                        t.push(d);
                    }
                }
            })
        },
    );
    g.measure_calls(
        "plain-rpc",
        &rt,
        &seq,
        |s, n| {
            Box::pin(async move {
                for _ in 0..n {
                    let calls = (0..IN_FLIGHT).map(|_| s.plain.call(&s.payload));
                    futures::future::join_all(calls).await;
                }
            })
        },
        |s, t| {
            Box::pin(async move {
                for _ in 0..BATCHES {
                    let calls = (0..IN_FLIGHT).map(|_| rounds::timed(s.plain.call(&s.payload)));
                    t.extend(
                        futures::future::join_all(calls)
                            .await
                            .into_iter()
                            .map(|r| r.1),
                    );
                }
            })
        },
    );
    g.measure("plugin-to-host", &rt, &seq, |s, n| {
        Box::pin(async move {
            let calls = n * IN_FLIGHT as u64;
            let answered = s
                .driver
                .call_host(calls, IN_FLIGHT as u32, s.payload.clone())
                .await
                .expect("driver call");
            assert_eq!(answered, calls, "every plugin → host call answered");
        })
    });
    g.measure_calls(
        "tarpc",
        &rt,
        &seq,
        |s, n| {
            Box::pin(async move {
                for _ in 0..n {
                    let calls = (0..IN_FLIGHT).map(|_| {
                        let arg = serde_bytes::ByteBuf::from(s.payload.clone());
                        s.tarpc.echo(peers::tarpc_context(), arg)
                    });
                    for r in futures::future::join_all(calls).await {
                        r.expect("tarpc call");
                    }
                }
            })
        },
        |s, t| {
            Box::pin(async move {
                for _ in 0..BATCHES {
                    let calls = (0..IN_FLIGHT).map(|_| {
                        let arg = serde_bytes::ByteBuf::from(s.payload.clone());
                        rounds::timed(s.tarpc.echo(peers::tarpc_context(), arg))
                    });
                    for (r, d) in futures::future::join_all(calls).await {
                        r.expect("tarpc call");
                        t.push(d);
                    }
                }
            })
        },
    );
    g.finish();
    rt.block_on(async move { drop(seq) });
}

/// Whether criterion's filter (if any) could select a benchmark of `group`.
fn c_wants(_c: &Criterion, group: &str) -> bool {
    match std::env::args().skip(1).find(|a| !a.starts_with('-')) {
        Some(f) => group.contains(&f) || f.contains(group),
        None => true,
    }
}

trait BlockingLockIn<S> {
    fn blocking_lock_owned_in(&self, rt: &Runtime) -> tokio::sync::OwnedMutexGuard<S>;
}

impl<S> BlockingLockIn<S> for Arc<tokio::sync::Mutex<S>> {
    fn blocking_lock_owned_in(&self, rt: &Runtime) -> tokio::sync::OwnedMutexGuard<S> {
        rt.block_on(self.clone().lock_owned())
    }
}

struct PoolPeers {
    client: BenchEchoClient,
    payload: Vec<u8>,
    _pool: goproc::Pool,
}

/// A 10-instance pool, 1,000 concurrent callers, on the multi-thread runtime.
fn bench_pool(c: &mut Criterion, p: &Placement) {
    const CALLERS: usize = 1000;
    let name = format!("{}-pool10", p.name);
    if !c_wants(c, &name) {
        return;
    }
    let rt = Flavor::Multi.runtime();
    let state = rt.block_on(async {
        let pool = goproc::Pool::builder(rust_plugin())
            .size(10)
            .start()
            .await
            .expect("starting the pool");
        let client: BenchEchoClient = pool.client().expect("the pool client");
        PoolPeers {
            client,
            payload: (0..SMALL as u8).collect(),
            _pool: pool,
        }
    });
    let state = Arc::new(tokio::sync::Mutex::new(state));
    let mut g = Rounds::new(c, &name);
    g.throughput(Throughput::Elements(CALLERS as u64));
    g.measure_calls(
        "goproc-1000-callers",
        &rt,
        &state,
        |s, n| {
            Box::pin(async move {
                for _ in 0..n {
                    // 1,000 callers, each its own task, as separate requests arrive.
                    let tasks: Vec<_> = (0..CALLERS)
                        .map(|_| {
                            let client = s.client.clone();
                            let arg = s.payload.clone();
                            tokio::spawn(async move { client.echo(arg).await })
                        })
                        .collect();
                    for t in tasks {
                        t.await.expect("caller task").expect("pool call");
                    }
                }
            })
        },
        |s, times| {
            Box::pin(async move {
                // Each call's own time, from inside its caller's task.
                for _ in 0..POOL_BURSTS {
                    let tasks: Vec<_> = (0..CALLERS)
                        .map(|_| {
                            let client = s.client.clone();
                            let arg = s.payload.clone();
                            tokio::spawn(rounds::timed(async move { client.echo(arg).await }))
                        })
                        .collect();
                    for t in tasks {
                        let (r, d) = t.await.expect("caller task");
                        r.expect("pool call");
                        times.push(d);
                    }
                }
            })
        },
    );
    g.measure_calls(
        "goproc-1000-futures",
        &rt,
        &state,
        |s, n| {
            Box::pin(async move {
                for _ in 0..n {
                    // 1,000 calls in flight from one task.
                    let calls = (0..CALLERS).map(|_| s.client.echo(s.payload.clone()));
                    for r in futures::future::join_all(calls).await {
                        r.expect("pool call");
                    }
                }
            })
        },
        |s, times| {
            Box::pin(async move {
                for _ in 0..POOL_BURSTS {
                    let calls =
                        (0..CALLERS).map(|_| rounds::timed(s.client.echo(s.payload.clone())));
                    for (r, d) in futures::future::join_all(calls).await {
                        r.expect("pool call");
                        times.push(d);
                    }
                }
            })
        },
    );
    g.finish();
    rt.block_on(async move { drop(state) });
}

/// Bursts of 1,000 pool calls timed in each call pass.
const POOL_BURSTS: usize = 20;

struct LargePeers {
    goproc: BenchEchoClient,
    raw: RawClient,
    payload: Vec<u8>,
    _plugin: goproc::Plugin,
    _child: ChildGuard,
    _dir: tempfile::TempDir,
}

/// A 1 MiB `Vec<u8>` echo beside the raw echo of the same bytes: against
/// the multi-thread plugin, then the current-thread one.
fn bench_large(c: &mut Criterion, p: &Placement) {
    bench_large_with(c, &format!("{}-echo1mib-ct", p.name), "plugin");
    bench_large_with(c, &format!("{}-ctplugin-echo1mib-ct", p.name), "plugin-ct");
}

fn bench_large_with(c: &mut Criterion, name: &str, role: &str) {
    if !c_wants(c, name) {
        return;
    }
    let rt = Flavor::Current.runtime();
    let state = rt.block_on(async {
        let dir = scratch_dir();
        let plugin = rust_plugin_as(role)
            .spawn()
            .await
            .expect("starting the bench plugin");
        let goproc: BenchEchoClient = plugin.client().expect("client");
        let path = peers::socket_path(&dir, "raw");
        let command = peers::raw_rust_command(peers::raw_role_for(role), &path);
        let (mut raw, child) = peers::raw_peer(command, &path).await;
        raw.prepare(1, LARGE);
        LargePeers {
            goproc,
            raw,
            payload: (0..LARGE).map(|i| i as u8).collect(),
            _plugin: plugin,
            _child: child,
            _dir: dir,
        }
    });
    let state = Arc::new(tokio::sync::Mutex::new(state));
    let mut g = Rounds::new(c, name);
    g.throughput(Throughput::Bytes(LARGE as u64));
    measure_raw::<_, LARGE_CALLS>(&mut g, &rt, &state);
    g.measure_calls(
        "goproc",
        &rt,
        &state,
        |s, n| {
            Box::pin(async move {
                for _ in 0..n {
                    large_echo(s).await;
                }
            })
        },
        |s, t| {
            Box::pin(async move {
                for _ in 0..LARGE_CALLS {
                    t.push(rounds::timed(large_echo(s)).await.1);
                }
            })
        },
    );
    g.finish();
    rt.block_on(async move { drop(state) });
}

/// 1 MiB echoes timed in each call pass.
const LARGE_CALLS: usize = 200;

/// The answer is the next argument, as an echo loop is written: no copy
/// of the megabyte by the caller (the raw client makes none either).
async fn large_echo(s: &mut LargePeers) {
    let sent = std::mem::take(&mut s.payload);
    s.payload = s.goproc.echo(sent).await.expect("goproc call");
    assert_eq!(s.payload.len(), LARGE);
}

struct ScriptPeers {
    client: CalculatorClient,
    raw: RawClient,
    name: String,
    _plugin: goproc::Plugin,
    _child: ChildGuard,
    _dir: tempfile::TempDir,
}

/// A 16-byte argument for the calculator's `greet` (a 15-character string
/// and its length prefix).
const NAME: &str = "abcdefghijklmno";

fn bench_script(
    c: &mut Criterion,
    p: &Placement,
    lang: &str,
    plugin: goproc::PluginBuilder,
    raw_command: impl FnOnce(&std::path::Path) -> std::process::Command,
) {
    let seq_name = format!("{}-{lang}-seq-ct", p.name);
    let pipe_name = format!("{}-{lang}-inflight128-ct", p.name);
    if !c_wants(c, &seq_name) && !c_wants(c, &pipe_name) {
        return;
    }
    let rt = Flavor::Current.runtime();
    let state = rt.block_on(async {
        let dir = scratch_dir();
        let plugin = plugin
            .spawn()
            .await
            .unwrap_or_else(|e| panic!("starting the {lang} plugin: {e}"));
        let client: CalculatorClient = plugin.client().expect("calculator client");
        assert_eq!(
            client.greet(NAME.into()).await.expect("first call"),
            format!("Hello, {NAME}!")
        );
        let path = peers::socket_path(&dir, "raw");
        let (mut raw, child) = peers::raw_peer(raw_command(&path), &path).await;
        raw.prepare(1, SMALL);
        raw.round_trip().await;
        ScriptPeers {
            client,
            raw,
            name: NAME.into(),
            _plugin: plugin,
            _child: child,
            _dir: dir,
        }
    });
    let state = Arc::new(tokio::sync::Mutex::new(state));
    {
        let mut g = Rounds::new(c, &seq_name);
        g.throughput(Throughput::Elements(1));
        measure_raw::<_, SEQ_CALLS>(&mut g, &rt, &state);
        g.measure_calls(
            "goproc",
            &rt,
            &state,
            |s, n| {
                Box::pin(async move {
                    for _ in 0..n {
                        s.client.greet(s.name.clone()).await.expect("greet");
                    }
                })
            },
            |s, t| {
                Box::pin(async move {
                    for _ in 0..SEQ_CALLS {
                        let (r, d) = rounds::timed(s.client.greet(s.name.clone())).await;
                        r.expect("greet");
                        t.push(d);
                    }
                })
            },
        );
        g.finish();
    }
    state
        .blocking_lock_owned_in(&rt)
        .raw
        .prepare(IN_FLIGHT, SMALL);
    let mut g = Rounds::new(c, &pipe_name);
    g.throughput(Throughput::Elements(IN_FLIGHT as u64));
    measure_raw::<_, BATCHES>(&mut g, &rt, &state);
    g.measure_calls(
        "goproc",
        &rt,
        &state,
        |s, n| {
            Box::pin(async move {
                for _ in 0..n {
                    let calls = (0..IN_FLIGHT).map(|_| s.client.greet(s.name.clone()));
                    for r in futures::future::join_all(calls).await {
                        r.expect("greet");
                    }
                }
            })
        },
        |s, t| {
            Box::pin(async move {
                for _ in 0..BATCHES {
                    let calls =
                        (0..IN_FLIGHT).map(|_| rounds::timed(s.client.greet(s.name.clone())));
                    for (r, d) in futures::future::join_all(calls).await {
                        r.expect("greet");
                        t.push(d);
                    }
                }
            })
        },
    );
    g.finish();
    rt.block_on(async move { drop(state) });
}

fn bench_python(c: &mut Criterion, p: &Placement, notes: &mut Vec<String>) {
    if !c_wants(c, &format!("{}-python", p.name)) {
        return;
    }
    let Some(plugin) = scripts::python_plugin(notes) else {
        return;
    };
    bench_script(c, p, "python", plugin, scripts::python_raw_command);
}

fn bench_node(c: &mut Criterion, p: &Placement, notes: &mut Vec<String>) {
    if !c_wants(c, &format!("{}-node", p.name)) {
        return;
    }
    let Some(plugin) = scripts::node_plugin(notes) else {
        return;
    };
    bench_script(c, p, "node", plugin, scripts::node_raw_command);
}

/// From `spawn()` to the first answered call: Rust, Python, TypeScript.
fn bench_spawn(c: &mut Criterion, p: &Placement, notes: &mut Vec<String>) {
    let name = format!("{}-spawn", p.name);
    if !c_wants(c, &name) {
        return;
    }
    let mut scripted = Vec::new();
    if let Some(py) = scripts::python_plugin(notes) {
        scripted.push(("python", py));
    }
    if let Some(node) = scripts::node_plugin(notes) {
        scripted.push(("node", node));
    }
    let rt = Flavor::Multi.runtime();
    let mut g = Rounds::new(c, &name);
    g.sample_size(10);
    g.bench("rust", |b| {
        b.iter_custom(|n| {
            rt.block_on(async {
                let mut total = Duration::ZERO;
                for _ in 0..n {
                    let start = Instant::now();
                    let plugin = rust_plugin().spawn().await.expect("spawn");
                    let client: BenchEchoClient = plugin.client().expect("client");
                    client.echo(vec![1; SMALL]).await.expect("first call");
                    total += start.elapsed();
                    plugin.kill();
                    let _ = plugin.exited().await;
                }
                total
            })
        })
    });
    for (lang, builder) in &scripted {
        g.bench(lang, |b| {
            b.iter_custom(|n| {
                rt.block_on(async {
                    let mut total = Duration::ZERO;
                    for _ in 0..n {
                        let start = Instant::now();
                        let plugin = builder.clone().spawn().await.expect("spawn");
                        let client: CalculatorClient = plugin.client().expect("client");
                        client.greet(NAME.into()).await.expect("first call");
                        total += start.elapsed();
                        plugin.kill();
                        let _ = plugin.exited().await;
                    }
                    total
                })
            })
        });
    }
    g.finish();
}

/// Host memory per idle plugin connection: spawn N idle Rust plugins and
/// divide the growth of the host's live heap (counted by the global
/// allocator) and of its RSS by N.
fn measure_memory() -> report::Memory {
    const N: usize = 32;
    let rt = Flavor::Multi.runtime();
    rt.block_on(async {
        // Warm up: the first plugin pays for lazily made globals.
        let first = rust_plugin().spawn().await.expect("spawn");
        let client: BenchEchoClient = first.client().expect("client");
        client.echo(vec![0; SMALL]).await.expect("call");
        tokio::time::sleep(Duration::from_millis(100)).await;
        let heap0 = alloc::live_bytes();
        let rss0 = alloc::rss_bytes().unwrap_or(0);
        let mut plugins = Vec::new();
        for _ in 0..N {
            let plugin = rust_plugin().spawn().await.expect("spawn");
            let client: BenchEchoClient = plugin.client().expect("client");
            client.echo(vec![0; SMALL]).await.expect("call");
            plugins.push((plugin, client));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        let heap1 = alloc::live_bytes();
        let rss1 = alloc::rss_bytes().unwrap_or(0);
        drop(plugins);
        report::Memory {
            plugins: N,
            heap_per_plugin: (heap1 - heap0) as f64 / N as f64,
            rss_per_plugin: (rss1 as f64 - rss0 as f64) / N as f64,
        }
    })
}
