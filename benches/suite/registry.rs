//! The registry's costs: the checksum of a 50 MiB plugin file before it
//! starts (beside reading the same file), and a call routed through the
//! registry (beside the same call through a plain `Plugin` client and a
//! one-instance pool, which the registry runs each plugin in).

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput};
use goproc::Client;

use crate::contract::{BenchEchoClient, BenchEchoServer, Echo};
use crate::rounds::Rounds;
use crate::{c_wants, exe, peers, rust_plugin, scratch_dir, Flavor, Placement};

/// The size of the file checksummed: a large plugin binary.
pub const CHECKSUM_BYTES: u64 = 50 << 20;

/// `sha256_file` and `std::fs::read` of the same 50 MiB file (from the
/// page cache: the cost of hashing, not of the disk).
pub fn bench_checksum(c: &mut Criterion, p: &Placement) {
    let name = format!("{}-checksum50mib", p.name);
    if !c_wants(c, &name) {
        return;
    }
    let dir = scratch_dir();
    let file = dir.path().join("plugin.bin");
    // Not all zeros, so that nothing along the way can shortcut it.
    let data: Vec<u8> = (0..CHECKSUM_BYTES)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(&file, &data).expect("writing the 50 MiB file");
    drop(data);
    let mut g = Rounds::new(c, &name);
    g.throughput(Throughput::Bytes(CHECKSUM_BYTES));
    g.bench("read", |b| {
        b.iter(|| std::fs::read(&file).expect("read").len())
    });
    g.bench("sha256", |b| {
        b.iter(|| goproc::registry::sha256_file(&file).expect("sha256"))
    });
    g.finish();
}

struct Routes {
    plugin: BenchEchoClient,
    pool: BenchEchoClient,
    registry: BenchEchoClient,
    payload: Vec<u8>,
    _plugin: goproc::Plugin,
    _pool: goproc::Pool,
    _registry: goproc::Registry,
    _dir: tempfile::TempDir,
}

/// The bench plugin as a registry folder holds it.
fn manifest() -> String {
    let echo = BenchEchoClient::CONTRACT;
    let driver = crate::contract::BenchDriverClient::CONTRACT;
    format!(
        "name = \"echo\"\nnamespace = \"bench\"\nversion = \"1.0.0\"\nlazy = false\n\n\
         [run]\ncommand = \"{exe}\"\nenv = {{ {role} = \"plugin\" }}\n\n\
         [[serves]]\ncontract = \"{}\"\nfingerprint = \"{}\"\n\n\
         [[serves]]\ncontract = \"{}\"\nfingerprint = \"{}\"\n\n\
         [[requires]]\ncontract = \"{}\"\nfingerprint = \"{}\"\n",
        echo.name,
        echo.fingerprint,
        driver.name,
        driver.fingerprint,
        echo.name,
        echo.fingerprint,
        exe = exe().display(),
        role = peers::ROLE,
    )
}

async fn routes() -> Routes {
    let dir = scratch_dir();
    let folder = dir.path().join("echo");
    std::fs::create_dir_all(&folder).expect("the plugin folder");
    std::fs::write(folder.join("plugin.toml"), manifest()).expect("plugin.toml");
    let registry = goproc::Registry::builder()
        .folder(dir.path())
        .contract::<BenchEchoClient>()
        .serve(BenchEchoServer::new(Echo))
        .load()
        .await
        .expect("loading the registry");
    assert!(registry.problems().is_empty(), "{:?}", registry.problems());
    let plugin = rust_plugin().spawn().await.expect("starting the plugin");
    let pool = goproc::Pool::builder(rust_plugin())
        .size(1)
        .start()
        .await
        .expect("starting the pool");
    let payload: Vec<u8> = (0..crate::SMALL as u8).collect();
    let routes = Routes {
        plugin: plugin.client().expect("the plugin client"),
        pool: pool.client().expect("the pool client"),
        registry: registry.get("bench/echo").expect("the registry client"),
        payload,
        _plugin: plugin,
        _pool: pool,
        _registry: registry,
        _dir: dir,
    };
    for client in [&routes.plugin, &routes.pool, &routes.registry] {
        let answer = client
            .echo(routes.payload.clone())
            .await
            .expect("first call");
        assert_eq!(answer, routes.payload);
    }
    routes
}

/// Sequential calls on the current-thread runtime: a plain plugin client,
/// a one-instance pool's, and the registry's (which calls through a pool).
pub fn bench_routes(c: &mut Criterion, p: &Placement) {
    let name = format!("{}-registry-seq-ct", p.name);
    if !c_wants(c, &name) {
        return;
    }
    let rt = Flavor::Current.runtime();
    let state = Arc::new(tokio::sync::Mutex::new(rt.block_on(routes())));
    let mut g = Rounds::new(c, &name);
    g.throughput(Throughput::Elements(1));
    g.measure_calls(
        "plugin",
        &rt,
        &state,
        |s, n| Box::pin(calls(&s.plugin, &s.payload, n)),
        |s, t| Box::pin(timed_calls(&s.plugin, &s.payload, t)),
    );
    g.measure_calls(
        "pool",
        &rt,
        &state,
        |s, n| Box::pin(calls(&s.pool, &s.payload, n)),
        |s, t| Box::pin(timed_calls(&s.pool, &s.payload, t)),
    );
    g.measure_calls(
        "registry",
        &rt,
        &state,
        |s, n| Box::pin(calls(&s.registry, &s.payload, n)),
        |s, t| Box::pin(timed_calls(&s.registry, &s.payload, t)),
    );
    g.finish();
}

async fn calls(client: &BenchEchoClient, payload: &[u8], n: u64) {
    for _ in 0..n {
        client.echo(payload.to_vec()).await.expect("echo call");
    }
}

/// Sequential calls timed in each call pass.
const TIMED_CALLS: usize = 2000;

async fn timed_calls(client: &BenchEchoClient, payload: &[u8], times: &mut Vec<Duration>) {
    for _ in 0..TIMED_CALLS {
        let t0 = Instant::now();
        client.echo(payload.to_vec()).await.expect("echo call");
        times.push(t0.elapsed());
    }
}
