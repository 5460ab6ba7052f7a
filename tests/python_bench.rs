//! Throughput of the Python calculator plugin from a Rust host: sequential
//! round trips and 128 calls in flight. A measurement, not a test of
//! behaviour, so it is ignored by default and asserts nothing about time:
//!
//! ```text
//! cargo test --release --test python_bench -- --ignored --nocapture
//! ```

mod common;

#[allow(dead_code)]
#[path = "../examples/calculator/contract.rs"]
mod calculator;

use std::time::{Duration, Instant};

use calculator::CalculatorClient;

async fn measure(label: &str, program: goproc::PluginBuilder) {
    let plugin = program
        .contract::<CalculatorClient>()
        .spawn()
        .await
        .expect("starting the plugin");
    let c: CalculatorClient = plugin.client().expect("client");
    // Warm up.
    for k in 0..2000 {
        c.add(k, 1).await.expect("add");
    }
    let window = Duration::from_secs(3);

    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < window {
        for _ in 0..100 {
            assert_eq!(c.add(n as i64, 1).await.expect("add"), n as i64 + 1);
            n += 1;
        }
    }
    let seq = n as f64 / start.elapsed().as_secs_f64();

    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < window {
        let calls = (0..128).map(|k| c.add(k, 1));
        for (k, r) in futures::future::join_all(calls)
            .await
            .into_iter()
            .enumerate()
        {
            assert_eq!(r.expect("add"), k as i64 + 1);
        }
        n += 128;
    }
    let par = n as f64 / start.elapsed().as_secs_f64();
    println!(
        "{label:>8}: sequential {seq:>8.0} calls/s ({:.1} µs per round trip); 128 in flight {par:>8.0} calls/s",
        1e6 / seq
    );
}

#[test]
#[ignore = "a measurement; run with --ignored --nocapture"]
fn python_calculator_throughput() {
    for flavor in ["current_thread", "multi_thread"] {
        let rt = match flavor {
            "current_thread" => tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build(),
            _ => tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build(),
        }
        .expect("a tokio runtime");
        println!("host runtime: {flavor}");
        rt.block_on(async {
            measure(
                "python",
                common::python::plugin(
                    &common::root().join("examples/calculator/python/plugin.py"),
                    &common::root().join("target"),
                ),
            )
            .await;
            measure(
                "rust",
                goproc::Plugin::builder(env!("CARGO_BIN_EXE_test-plugin")).arg("calculator"),
            )
            .await;
        });
    }
}
