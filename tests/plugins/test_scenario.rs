//! `test-scenario NAME`: a host that meets one hostile or broken plugin,
//! in a process of its own so that its memory can be measured alone. It
//! prints one line of `key=value` results that `tests/hostile_plugins.rs`
//! checks:
//!
//! - `frozen`, `frozen-pool`: a calculator stopped with SIGSTOP (directly,
//!   or as the one instance of a pool), called with 16 KiB requests and a
//!   5 ms deadline, then resumed with SIGCONT;
//! - `flood-requests`, `flood-pings`, `flood-answers`: a plugin that floods
//!   the host and never reads (test-plugin's roles of the same names);
//! - `never-reads`: a plugin that says hello and never reads again, called
//!   like the frozen one;
//! - `big-answer`: one large answer (see [`big_answer`]).
//!
//! Meanwhile a second, well-behaved calculator (the bystander) is called
//! every 10 ms. Results: `rss_growth_kib` (the host's peak resident memory
//! over its baseline), `overshoot_ms` (the most a failed call outlived its
//! deadline), `bystander_max_ms` (the slowest bystander call), `calls` and
//! `timeouts` made to the victim, and for the frozen ones `resumed_ms`, the
//! first call's time after SIGCONT.

#[path = "../../examples/calculator/contract.rs"]
mod calculator;
#[allow(dead_code)]
#[path = "../contracts/everything.rs"]
mod everything;
#[path = "../common/memory.rs"]
mod memory;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use calculator::CalculatorClient;
use goproc::{Error, Plugin, Pool};

const RUN_FOR: Duration = Duration::from_secs(3);
const CALLERS: usize = 32;

#[tokio::main]
async fn main() {
    let name = std::env::args().nth(1).unwrap_or_default();
    let plugin_bin = std::env::var("TEST_PLUGIN").expect("TEST_PLUGIN: the test-plugin binary");
    if name == "big-answer" {
        return big_answer(&plugin_bin).await;
    }
    let builder = |role: &str| {
        Plugin::builder(&plugin_bin)
            .arg(role)
            .name(role)
            .contract::<CalculatorClient>()
    };

    let bystander_plugin = builder("calculator").spawn().await.expect("bystander");
    let bystander: CalculatorClient = bystander_plugin.client().expect("client");
    let (victim, victim_pid, _keep): (CalculatorClient, u32, Box<dyn std::any::Any>) =
        match name.as_str() {
            "frozen" => {
                let p = builder("calculator").spawn().await.expect("victim");
                (p.client().expect("client"), p.pid(), Box::new(p))
            }
            "frozen-pool" => {
                let pool = Pool::builder(builder("calculator"))
                    .size(1)
                    .start()
                    .await
                    .expect("pool");
                let pid = pool.instances()[0].pid.expect("running");
                (pool.client().expect("client"), pid, Box::new(pool))
            }
            role => {
                let p = builder(role).spawn().await.expect("victim");
                (p.client().expect("client"), p.pid(), Box::new(p))
            }
        };
    let frozen = name.starts_with("frozen");
    // Callers that give up quickly pile up the most unsent requests; the
    // floods measure how late a longer deadline fires.
    let deadline = if name.starts_with("flood") {
        Duration::from_millis(300)
    } else {
        Duration::from_millis(5)
    };

    // Warm up, then take the baseline.
    for i in 0..50 {
        bystander.add(i, i).await.expect("warm-up");
    }
    if frozen {
        victim.greet("warm-up".into()).await.expect("warm-up");
        signal(victim_pid, "STOP");
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    let baseline = rss_kib();

    let stop = Arc::new(AtomicBool::new(false));
    let peak = Arc::new(AtomicU64::new(baseline));
    let sampler = tokio::spawn({
        let (stop, peak) = (stop.clone(), peak.clone());
        async move {
            while !stop.load(Ordering::Relaxed) {
                peak.fetch_max(rss_kib(), Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    });
    let overshoot_us = Arc::new(AtomicU64::new(0));
    let (calls, timeouts) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let name16k = "x".repeat(16 * 1024);
    let mut callers = Vec::new();
    for _ in 0..CALLERS {
        let victim = victim.with_timeout(deadline);
        let (stop, overshoot_us, calls, timeouts) = (
            stop.clone(),
            overshoot_us.clone(),
            calls.clone(),
            timeouts.clone(),
        );
        let name16k = name16k.clone();
        callers.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let started = Instant::now();
                let result = victim.greet(name16k.clone()).await;
                let took = started.elapsed();
                calls.fetch_add(1, Ordering::Relaxed);
                match result {
                    Err(Error::Timeout { .. }) => {
                        timeouts.fetch_add(1, Ordering::Relaxed);
                        let over = took.saturating_sub(deadline).as_micros() as u64;
                        overshoot_us.fetch_max(over, Ordering::Relaxed);
                    }
                    Err(_) => {
                        let over = took.saturating_sub(deadline).as_micros() as u64;
                        overshoot_us.fetch_max(over, Ordering::Relaxed);
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    }
                    Ok(_) => {}
                }
            }
        }));
    }
    let bystander_max_us = Arc::new(AtomicU64::new(0));
    let watcher = tokio::spawn({
        let (stop, max) = (stop.clone(), bystander_max_us.clone());
        let bystander = bystander.with_timeout(Duration::from_secs(5));
        async move {
            let mut i = 0;
            while !stop.load(Ordering::Relaxed) {
                let started = Instant::now();
                let sum = bystander.add(i, 1).await.expect("the bystander answers");
                assert_eq!(sum, i + 1);
                max.fetch_max(started.elapsed().as_micros() as u64, Ordering::Relaxed);
                i += 1;
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    });

    tokio::time::sleep(RUN_FOR).await;
    stop.store(true, Ordering::Relaxed);
    for caller in callers {
        caller.await.expect("caller");
    }
    watcher.await.expect("the bystander's calls never fail");
    sampler.await.expect("sampler");

    let mut resumed = String::new();
    if frozen {
        signal(victim_pid, "CONT");
        let started = Instant::now();
        let sum = victim
            .with_timeout(Duration::from_secs(10))
            .add(1, 2)
            .await
            .expect("the resumed plugin answers");
        assert_eq!(sum, 3);
        resumed = format!(" resumed_ms={}", started.elapsed().as_millis());
    }
    println!(
        "rss_growth_kib={} overshoot_ms={} bystander_max_ms={} calls={} timeouts={}{resumed}",
        peak.load(Ordering::Relaxed).saturating_sub(baseline),
        overshoot_us.load(Ordering::Relaxed) / 1000,
        bystander_max_us.load(Ordering::Relaxed) / 1000,
        calls.load(Ordering::Relaxed),
        timeouts.load(Ordering::Relaxed),
    );
}

/// `big-answer`: a 2,097,152-element `Vec<i64>` of zeros (2 MB on the
/// wire, 16 MiB in memory) sent to the `Everything` plugin and echoed back,
/// under a 64 MiB frame limit. Result: `call_peak_kib`, what the call raised
/// the host's peak memory by over the argument it already held (at the
/// least the request's 2 MB frame, the answer's 2 MB body and the decoded
/// 16 MiB).
async fn big_answer(plugin_bin: &str) {
    use everything::{EverythingClient, Page};
    let plugin = Plugin::builder(plugin_bin)
        .arg("everything")
        .max_frame(64 << 20)
        .contract::<EverythingClient>()
        .spawn()
        .await
        .expect("everything");
    let client: EverythingClient = plugin.client().expect("client");
    let page = Page {
        items: vec![0i64; 2 << 20],
        next: None,
    };
    let before = rss_kib();
    reset_peak();
    let echoed = client.echo_page_of_ints(page).await.expect("the echo");
    let peak = memory::Memory::of_self().peak >> 10;
    assert_eq!(echoed.items.len(), 2 << 20);
    println!("call_peak_kib={}", peak.saturating_sub(before));
}

/// Resets this process's peak resident memory to its current value.
fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// This process's resident memory, in KiB.
fn rss_kib() -> u64 {
    memory::Memory::of_self().rss >> 10
}

fn signal(pid: u32, which: &str) {
    let status = std::process::Command::new("kill")
        .arg(format!("-{which}"))
        .arg(pid.to_string())
        .status()
        .expect("kill");
    assert!(status.success(), "kill -{which} {pid}");
}
