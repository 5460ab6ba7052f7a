//! Throughput of the TypeScript calculator example plugin from a Rust host:
//! sequential round trips and 128 calls in flight, as it is and with host
//! clients in use (a `host(...)` client made, so its handlers run in an
//! `AsyncLocalStorage` context). A measurement, not a test of speed (nothing
//! is asserted about timing); run it with
//!
//! ```text
//! cargo test --release --test typescript_bench -- --ignored --nocapture
//! ```

mod common;
#[path = "../examples/calculator/contract.rs"]
mod contract;

use std::path::{Path, PathBuf};
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

/// The example compiled, as it is (`dist/plugin.js`) and with a host
/// client made at the start (`dist/plugin_host_calls.js`).
fn build() -> PathBuf {
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
    let dist = out.join("dist");
    let plugin = std::fs::read_to_string(dist.join("plugin.js")).expect("reading plugin.js");
    let import = "import { serveCalculator } from \"./generated/calculator.js\";";
    assert!(plugin.contains(import), "{plugin}");
    let with_client = plugin.replace(
        import,
        "import { CalculatorClient, host, serveCalculator } from \"./generated/calculator.js\";\n\
         host(CalculatorClient);",
    );
    std::fs::write(dist.join("plugin_host_calls.js"), with_client).expect("writing the variant");
    dist
}

async fn run(flavour: &str, js: &Path) {
    let plugin = goproc::Plugin::builder(common::node::node())
        .arg(js)
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
        let dist = build();
        let rt = rt.expect("tokio runtime");
        rt.block_on(run(flavour, &dist.join("plugin.js")));
        rt.block_on(run(
            &format!("{flavour}, host clients in use"),
            &dist.join("plugin_host_calls.js"),
        ));
    }
}
