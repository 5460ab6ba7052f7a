//! Throughput of the TypeScript calculator example plugin from a Rust host:
//! sequential round trips and 128 calls in flight. A measurement, not a
//! test of speed (nothing is asserted about timing); run it with
//!
//! ```text
//! cargo test --release --test typescript_bench -- --ignored --nocapture
//! ```

mod common;
#[path = "../examples/calculator/contract.rs"]
mod contract;

use std::time::{Duration, Instant};

use contract::CalculatorClient;
use futures::stream::{FuturesUnordered, StreamExt};

async fn measure(c: &CalculatorClient, label: &str, in_flight: usize, total: usize) {
    let start = Instant::now();
    let mut pending = FuturesUnordered::new();
    let mut sent = 0usize;
    let mut done = 0usize;
    while done < total {
        while sent < total && pending.len() < in_flight {
            let c = c.clone();
            let i = sent as i64;
            pending.push(async move { (i, c.add(i, 1).await) });
            sent += 1;
        }
        if let Some((i, answer)) = pending.next().await {
            assert_eq!(answer.expect("add"), i + 1);
            done += 1;
        }
    }
    let elapsed = start.elapsed();
    println!(
        "{label}: {total} calls in {:.2?}: {:.0} calls/s, {:.1} us per call",
        elapsed,
        total as f64 / elapsed.as_secs_f64(),
        elapsed.as_secs_f64() * 1e6 / total as f64
    );
}

async fn run(flavour: &str) {
    let out = common::scratch("ts-bench");
    common::node::mark_es_modules(&out);
    common::node::tsc(&[
        "-p",
        &common::root()
            .join("examples/calculator/typescript/tsconfig.json")
            .display()
            .to_string(),
        "--typeRoots",
        &common::node::type_roots(),
        "--outDir",
        &out.join("dist").display().to_string(),
    ]);
    let plugin = goproc::Plugin::builder(common::node::node())
        .arg(out.join("dist/plugin.js"))
        .contract::<CalculatorClient>()
        .spawn()
        .await
        .expect("starting the TypeScript calculator");
    let c: CalculatorClient = plugin.client().expect("client");
    // Warm up the JIT and the connection.
    measure(&c, "warm-up", 32, 20_000).await;
    measure(&c, &format!("{flavour}, sequential"), 1, 20_000).await;
    measure(&c, &format!("{flavour}, 128 in flight"), 128, 200_000).await;
    let _ = plugin.shutdown(Duration::from_secs(5)).await;
}

#[test]
#[ignore = "a measurement; run with --ignored --nocapture"]
fn typescript_calculator_calls_per_second() {
    for (flavour, rt) in [
        (
            "current-thread runtime",
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build(),
        ),
        (
            "multi-thread runtime",
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build(),
        ),
    ] {
        rt.expect("tokio runtime").block_on(run(flavour));
    }
}
