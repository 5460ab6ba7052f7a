//! `cargo run --example pool`: a pool of plugin instances under load. One
//! instance is crashed on purpose partway; the pool fails that instance's
//! calls in flight, restarts it, and keeps serving.
//!
//! Like the other examples, this program is both host and plugin (run with
//! `plugin`, it serves).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Work a plugin instance does.
#[goproc::plugin_interface]
pub trait Worker {
    /// Hashes `input` a few thousand times (a little CPU per call).
    async fn work(&self, input: u64) -> u64;
    /// Crashes this instance, as a bug would.
    async fn crash(&self);
}

struct Instance;

impl Worker for Instance {
    async fn work(&self, input: u64) -> u64 {
        (0..2_000).fold(input, |h, i| h.rotate_left(5) ^ i)
    }

    async fn crash(&self) {
        eprintln!("instance {} crashing on purpose", std::process::id());
        std::process::abort();
    }
}

fn expected(input: u64) -> u64 {
    (0..2_000).fold(input, |h, i| h.rotate_left(5) ^ i)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    if std::env::args().nth(1).as_deref() == Some("plugin") {
        goproc::serve(WorkerServer::new(Instance)).await?;
        return Ok(());
    }
    let pool = goproc::Pool::builder(
        goproc::Plugin::builder(std::env::current_exe()?)
            .arg("plugin")
            .name("worker")
            .contract::<WorkerClient>(),
    )
    .size(4)
    .max_in_flight(32)
    .start()
    .await?;
    let pids: Vec<u32> = pool.instances().iter().filter_map(|i| i.pid).collect();
    println!("pool of {} instances started: pids {pids:?}", pids.len());

    let worker: WorkerClient = pool.client()?;
    let (done, failed) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let run_for = Duration::from_secs(3);
    let started = Instant::now();
    let mut callers = Vec::new();
    for caller in 0..64u64 {
        let (worker, done, failed) = (
            worker.with_timeout(Duration::from_secs(2)),
            done.clone(),
            failed.clone(),
        );
        callers.push(tokio::spawn(async move {
            let mut input = caller << 32;
            while started.elapsed() < run_for {
                input += 1;
                match worker.work(input).await {
                    Ok(out) if out == expected(input) => done.fetch_add(1, Ordering::Relaxed),
                    Ok(_) => panic!("a wrong answer"),
                    Err(_) => failed.fetch_add(1, Ordering::Relaxed),
                };
            }
        }));
    }

    tokio::time::sleep(Duration::from_secs(1)).await;
    println!("t=1s: crashing one instance on purpose");
    let crashed = worker.crash().await;
    println!(
        "       the crash call itself ended with: {}",
        crashed.err().map_or("ok".into(), |e| e
            .to_string()
            .lines()
            .next()
            .unwrap_or_default()
            .to_string())
    );

    for caller in callers {
        caller.await?;
    }
    let secs = started.elapsed().as_secs_f64();
    let (done, failed) = (done.load(Ordering::Relaxed), failed.load(Ordering::Relaxed));
    println!("calls completed: {done} ({:.0}/s)", done as f64 / secs);
    println!("calls failed:    {failed} (in flight on the crashed instance)");
    println!("restarts:        {}", pool.restarts());
    let pids: Vec<u32> = pool.instances().iter().filter_map(|i| i.pid).collect();
    println!("instances now:   pids {pids:?}");
    pool.shutdown(Duration::from_secs(2)).await;
    Ok(())
}
