//! Writes `BENCHMARKS.md` from criterion's estimates of this run.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Where criterion keeps this suite's results.
pub fn criterion_home() -> PathBuf {
    root().join("target/criterion-goproc")
}

/// The machine the figures come from.
pub struct Machine {
    cpu: String,
    cores: usize,
    kernel: String,
    rustc: String,
}

impl Machine {
    pub fn detect() -> Machine {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu = cpuinfo
            .lines()
            .find(|l| l.starts_with("model name"))
            .and_then(|l| l.split(':').nth(1))
            .map(|s| s.trim().to_string())
            .unwrap_or_else(|| "unknown".into());
        let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
        let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .map(|s| s.trim().to_string())
            .unwrap_or_else(|_| "unknown".into());
        let rustc = Command::new(std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into()))
            .arg("--version")
            .output()
            .ok()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .unwrap_or_else(|| "unknown".into());
        Machine {
            cpu,
            cores,
            kernel,
            rustc,
        }
    }
}

/// Host memory per idle plugin.
pub struct Memory {
    pub plugins: usize,
    pub heap_per_plugin: f64,
    pub rss_per_plugin: f64,
}

/// One benchmark's figures over its rounds.
struct Estimate {
    /// The median of the rounds' medians, nanoseconds per iteration.
    median: f64,
    /// Each round's median, nanoseconds per iteration.
    rounds: Vec<f64>,
    /// p50 and p99 in nanoseconds: of each call (the median over the
    /// rounds' call passes), or of criterion's per-iteration sample times.
    p50: f64,
    p99: f64,
    per_call: bool,
}

fn read_json(path: &Path) -> Option<serde_json::Value> {
    serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()
}

fn median(xs: &mut [f64]) -> f64 {
    xs.sort_by(f64::total_cmp);
    let n = xs.len();
    if n % 2 == 1 {
        xs[n / 2]
    } else {
        (xs[n / 2 - 1] + xs[n / 2]) / 2.0
    }
}

fn quantile(sorted: &[f64], q: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

fn estimate(home: &Path, group: &str, id: &str) -> Option<Estimate> {
    let base = home.join(group).join(id);
    let mut dirs: Vec<PathBuf> = (1..=crate::rounds::ROUNDS)
        .map(|r| base.join(r.to_string()))
        .filter(|d| d.join("new/estimates.json").exists())
        .collect();
    if dirs.is_empty() {
        // Results from before the rounds: one measurement.
        dirs.push(base);
    }
    let (mut rounds, mut p50s, mut p99s, mut samples) = (vec![], vec![], vec![], vec![]);
    for dir in &dirs {
        let Some(v) = read_json(&dir.join("new/estimates.json")) else {
            continue;
        };
        rounds.push(v["median"]["point_estimate"].as_f64()?);
        if let Some(c) = read_json(&dir.join("calls.json")) {
            p50s.push(c["p50_ns"].as_f64()?);
            p99s.push(c["p99_ns"].as_f64()?);
        } else if let Some(v) = read_json(&dir.join("new/sample.json")) {
            let iters = v["iters"].as_array()?;
            let times = v["times"].as_array()?;
            for (n, t) in iters.iter().zip(times) {
                samples.push(t.as_f64()? / n.as_f64()?);
            }
        }
    }
    if rounds.is_empty() {
        return None;
    }
    let per_call = !p50s.is_empty();
    let (p50, p99) = if per_call {
        (median(&mut p50s), median(&mut p99s))
    } else if !samples.is_empty() {
        samples.sort_by(f64::total_cmp);
        (quantile(&samples, 0.50), quantile(&samples, 0.99))
    } else {
        (f64::NAN, f64::NAN)
    };
    Some(Estimate {
        median: median(&mut rounds.clone()),
        rounds,
        p50,
        p99,
        per_call,
    })
}

/// How a figure is read.
#[derive(Clone, Copy)]
enum Unit {
    /// Time per call (one call per iteration).
    Latency,
    /// Calls per second, `n` calls per iteration.
    Rate(u64),
    /// Time per iteration, in milliseconds.
    Millis,
    /// `n` items (of the named kind) per iteration, per second.
    Per(u64, &'static str),
    /// `n` bytes per iteration, in MiB/s.
    Bytes(u64),
}

/// The figure `unit` shows for `ns` per iteration.
fn value(unit: Unit, ns: f64) -> f64 {
    match unit {
        Unit::Latency => ns / 1e3,
        Unit::Millis => ns / 1e6,
        Unit::Rate(n) | Unit::Per(n, _) => n as f64 * 1e9 / ns,
        Unit::Bytes(n) => n as f64 * 1e9 / ns / (1024.0 * 1024.0),
    }
}

/// The median figure, and how far the lowest and the highest round lay
/// from it.
fn show(unit: Unit, e: &Estimate) -> String {
    let mid = value(unit, e.median);
    let vals: Vec<f64> = e.rounds.iter().map(|&ns| value(unit, ns)).collect();
    let lo = vals.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = vals.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let spread = if vals.len() > 1 {
        format!(
            " −{:.0}/+{:.0}%",
            100.0 * (mid - lo) / mid,
            100.0 * (hi - mid) / mid
        )
    } else {
        String::new()
    };
    let figure = match unit {
        Unit::Latency => format!("{mid:.1} µs"),
        Unit::Rate(_) => format!("{} calls/s", group_digits(mid)),
        Unit::Millis => format!("{mid:.2} ms"),
        Unit::Per(_, what) => format!("{} {what}/s", group_digits(mid)),
        Unit::Bytes(_) => format!("{} MiB/s", group_digits(mid)),
    };
    figure + &spread
}

/// A time in the unit that suits it.
fn show_time(ns: f64) -> String {
    if ns.is_nan() {
        String::new()
    } else if ns < 1e3 {
        format!("{ns:.0} ns")
    } else if ns < 1e6 {
        format!("{:.1} µs", ns / 1e3)
    } else {
        format!("{:.2} ms", ns / 1e6)
    }
}

/// p50 and p99 cells; per-sample figures are marked.
fn show_tails(e: &Estimate) -> (String, String) {
    let mark = if e.per_call || e.p50.is_nan() {
        ""
    } else {
        " *"
    };
    (
        format!("{}{mark}", show_time(e.p50)),
        format!("{}{mark}", show_time(e.p99)),
    )
}

fn group_digits(x: f64) -> String {
    let s = format!("{:.0}", x);
    let mut out = String::new();
    for (i, ch) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// What a figure is held to.
#[derive(Clone, Copy)]
enum Target {
    None,
    /// goproc's time / the baseline's time at most this.
    TimeRatioAtMost(f64),
    /// goproc's rate / the baseline's rate at least this.
    RateRatioAtLeast(f64),
    /// goproc's rate / the baseline's rate, shown beside it; no target.
    RateRatioShown,
    /// At least this many calls per second.
    RateAtLeast(f64),
    /// At most this many milliseconds.
    MillisAtMost(f64),
    /// At most this many microseconds per call (the baseline shown beside).
    MicrosAtMost(f64),
}

struct Row {
    what: &'static str,
    group: &'static str,
    id: &'static str,
    unit: Unit,
    baseline: Option<(&'static str, &'static str)>,
    target: Target,
    /// The target is for round trips across cores: judged in `split` only.
    cross_core: bool,
    /// p99 at most this many times p50.
    tail: Option<f64>,
    /// One of the headline targets, repeated in the first table.
    headline: bool,
}

const fn cross_core(mut r: Row) -> Row {
    r.cross_core = true;
    r
}

const fn row(what: &'static str, group: &'static str, id: &'static str, unit: Unit) -> Row {
    Row {
        what,
        group,
        id,
        unit,
        baseline: None,
        target: Target::None,
        cross_core: false,
        tail: None,
        headline: false,
    }
}

/// The rows of the current performance issue's table, in its order.
const HEADLINES: &[&str] = &[
    "128 in flight, current-thread: goproc",
    "128 in flight, multi-thread: goproc",
    "128 in flight, current-thread: goproc vs tarpc",
    "128 in flight, multi-thread: goproc vs tarpc",
    "128 in flight, current-thread: goproc vs plain RPC",
    "128 in flight, multi-thread: goproc vs plain RPC",
    "pool of 10, 1,000 concurrent callers (one task each)",
    "1 MiB echo: goproc",
    "1 MiB echo, current-thread plugin: goproc",
    "Python 128 in flight: goproc plugin",
    "TypeScript 128 in flight: goproc plugin",
    "sequential, current-thread: goproc",
    "sequential, multi-thread: goproc",
    "sequential, current-thread: goproc vs plain RPC",
    "sequential, multi-thread: goproc vs plain RPC",
];

const fn vs(mut r: Row, baseline: &'static str, target: Target) -> Row {
    r.baseline = Some((r.group, baseline));
    r.target = target;
    r
}

const fn held(mut r: Row, target: Target) -> Row {
    r.target = target;
    r
}

const fn tail(mut r: Row, p99_over_p50: f64) -> Row {
    r.tail = Some(p99_over_p50);
    r
}

const N: u64 = crate::IN_FLIGHT as u64;

fn rows() -> Vec<Row> {
    let mut rows = all_rows();
    for r in &mut rows {
        r.headline = HEADLINES.contains(&r.what);
    }
    rows
}

fn all_rows() -> Vec<Row> {
    use Target::*;
    use Unit::*;
    vec![
        row(
            "sequential, current-thread: raw server",
            "seq-ct",
            "raw",
            Latency,
        ),
        vs(
            row(
                "sequential, current-thread: goproc",
                "seq-ct",
                "goproc",
                Latency,
            ),
            "raw",
            TimeRatioAtMost(1.1),
        ),
        row(
            "sequential, current-thread: plain RPC",
            "seq-ct",
            "plain-rpc",
            Latency,
        ),
        vs(
            row(
                "sequential, current-thread: goproc vs plain RPC",
                "seq-ct",
                "goproc",
                Latency,
            ),
            "plain-rpc",
            TimeRatioAtMost(1.0),
        ),
        vs(
            row(
                "sequential, current-thread: goproc vs tarpc",
                "seq-ct",
                "goproc",
                Latency,
            ),
            "tarpc",
            TimeRatioAtMost(1.0),
        ),
        row(
            "sequential, current-thread: tarpc",
            "seq-ct",
            "tarpc",
            Latency,
        ),
        vs(
            row(
                "sequential, current-thread: plugin → host (vs host → plugin)",
                "seq-ct",
                "plugin-to-host",
                Latency,
            ),
            "goproc",
            TimeRatioAtMost(1.1),
        ),
        cross_core(vs(
            row(
                "sequential, current-thread: goproc busy-poll (100 µs)",
                "seq-ct",
                "goproc-busy-poll",
                Latency,
            ),
            "raw",
            MicrosAtMost(15.0),
        )),
        row(
            "sequential, multi-thread: raw server",
            "seq-mt",
            "raw",
            Latency,
        ),
        vs(
            row(
                "sequential, multi-thread: goproc",
                "seq-mt",
                "goproc",
                Latency,
            ),
            "raw",
            TimeRatioAtMost(1.1),
        ),
        row(
            "sequential, multi-thread: plain RPC",
            "seq-mt",
            "plain-rpc",
            Latency,
        ),
        vs(
            row(
                "sequential, multi-thread: goproc vs plain RPC",
                "seq-mt",
                "goproc",
                Latency,
            ),
            "plain-rpc",
            TimeRatioAtMost(1.0),
        ),
        vs(
            row(
                "sequential, multi-thread: goproc vs tarpc",
                "seq-mt",
                "goproc",
                Latency,
            ),
            "tarpc",
            TimeRatioAtMost(1.0),
        ),
        row(
            "sequential, multi-thread: tarpc",
            "seq-mt",
            "tarpc",
            Latency,
        ),
        vs(
            row(
                "sequential, multi-thread: plugin → host (vs host → plugin)",
                "seq-mt",
                "plugin-to-host",
                Latency,
            ),
            "goproc",
            TimeRatioAtMost(1.1),
        ),
        cross_core(vs(
            row(
                "sequential, multi-thread: goproc busy-poll (100 µs)",
                "seq-mt",
                "goproc-busy-poll",
                Latency,
            ),
            "raw",
            MicrosAtMost(15.0),
        )),
        row(
            "128 in flight, current-thread: raw server",
            "inflight128-ct",
            "raw",
            Rate(N),
        ),
        vs(
            tail(
                row(
                    "128 in flight, current-thread: goproc",
                    "inflight128-ct",
                    "goproc",
                    Rate(N),
                ),
                2.0,
            ),
            "raw",
            RateRatioAtLeast(0.6),
        ),
        row(
            "128 in flight, current-thread: plain RPC",
            "inflight128-ct",
            "plain-rpc",
            Rate(N),
        ),
        vs(
            row(
                "128 in flight, current-thread: goproc vs plain RPC",
                "inflight128-ct",
                "goproc",
                Rate(N),
            ),
            "plain-rpc",
            RateRatioAtLeast(1.0),
        ),
        vs(
            row(
                "128 in flight, current-thread: goproc vs tarpc",
                "inflight128-ct",
                "goproc",
                Rate(N),
            ),
            "tarpc",
            RateRatioAtLeast(5.0),
        ),
        row(
            "128 in flight, current-thread: tarpc",
            "inflight128-ct",
            "tarpc",
            Rate(N),
        ),
        vs(
            row(
                "128 in flight, current-thread: plugin → host (vs host → plugin)",
                "inflight128-ct",
                "plugin-to-host",
                Rate(N),
            ),
            "goproc",
            RateRatioAtLeast(1.0 / 1.1),
        ),
        row(
            "128 in flight, multi-thread: raw server",
            "inflight128-mt",
            "raw",
            Rate(N),
        ),
        vs(
            tail(
                row(
                    "128 in flight, multi-thread: goproc",
                    "inflight128-mt",
                    "goproc",
                    Rate(N),
                ),
                2.0,
            ),
            "raw",
            RateRatioAtLeast(0.6),
        ),
        row(
            "128 in flight, multi-thread: plain RPC",
            "inflight128-mt",
            "plain-rpc",
            Rate(N),
        ),
        vs(
            row(
                "128 in flight, multi-thread: goproc vs plain RPC",
                "inflight128-mt",
                "goproc",
                Rate(N),
            ),
            "plain-rpc",
            RateRatioAtLeast(1.0),
        ),
        vs(
            row(
                "128 in flight, multi-thread: goproc vs tarpc",
                "inflight128-mt",
                "goproc",
                Rate(N),
            ),
            "tarpc",
            RateRatioAtLeast(5.0),
        ),
        row(
            "128 in flight, multi-thread: tarpc",
            "inflight128-mt",
            "tarpc",
            Rate(N),
        ),
        vs(
            row(
                "128 in flight, multi-thread: plugin → host (vs host → plugin)",
                "inflight128-mt",
                "plugin-to-host",
                Rate(N),
            ),
            "goproc",
            RateRatioAtLeast(1.0 / 1.1),
        ),
        row(
            "pool of 10, 1,000 calls in flight from one task",
            "pool10",
            "goproc-1000-futures",
            Rate(1000),
        ),
        held(
            tail(
                row(
                    "pool of 10, 1,000 concurrent callers (one task each)",
                    "pool10",
                    "goproc-1000-callers",
                    Rate(1000),
                ),
                5.0,
            ),
            RateAtLeast(1e6),
        ),
        row("1 MiB echo: raw", "echo1mib-ct", "raw", Millis),
        vs(
            row("1 MiB echo: goproc", "echo1mib-ct", "goproc", Millis),
            "raw",
            TimeRatioAtMost(1.25),
        ),
        row(
            "1 MiB echo, current-thread plugin: raw",
            "ctplugin-echo1mib-ct",
            "raw",
            Millis,
        ),
        vs(
            row(
                "1 MiB echo, current-thread plugin: goproc",
                "ctplugin-echo1mib-ct",
                "goproc",
                Millis,
            ),
            "raw",
            TimeRatioAtMost(1.25),
        ),
        row(
            "Python sequential: raw asyncio server",
            "python-seq-ct",
            "raw",
            Latency,
        ),
        vs(
            row(
                "Python sequential: goproc plugin",
                "python-seq-ct",
                "goproc",
                Latency,
            ),
            "raw",
            TimeRatioAtMost(1.5),
        ),
        row(
            "Python 128 in flight: raw asyncio server",
            "python-inflight128-ct",
            "raw",
            Rate(N),
        ),
        held(
            tail(
                row(
                    "Python 128 in flight: goproc plugin",
                    "python-inflight128-ct",
                    "goproc",
                    Rate(N),
                ),
                2.0,
            ),
            RateAtLeast(300e3),
        ),
        row(
            "TypeScript sequential: raw Node server",
            "node-seq-ct",
            "raw",
            Latency,
        ),
        vs(
            row(
                "TypeScript sequential: goproc plugin",
                "node-seq-ct",
                "goproc",
                Latency,
            ),
            "raw",
            TimeRatioAtMost(1.5),
        ),
        row(
            "TypeScript 128 in flight: raw Node server",
            "node-inflight128-ct",
            "raw",
            Rate(N),
        ),
        held(
            tail(
                row(
                    "TypeScript 128 in flight: goproc plugin",
                    "node-inflight128-ct",
                    "goproc",
                    Rate(N),
                ),
                2.0,
            ),
            RateAtLeast(1e6),
        ),
        row(
            "stream of 16-byte items: raw frames written and parsed",
            "stream16-ct",
            "raw",
            Per(crate::streams::ITEMS, "items"),
        ),
        vs(
            row(
                "stream of 16-byte items: goproc",
                "stream16-ct",
                "goproc",
                Per(crate::streams::ITEMS, "items"),
            ),
            "raw",
            RateRatioAtLeast(0.5),
        ),
        row(
            "byte stream, 64 MiB: raw socket copy",
            "bytestream-ct",
            "raw",
            Bytes(crate::streams::BYTES),
        ),
        vs(
            row(
                "byte stream, 64 MiB: goproc",
                "bytestream-ct",
                "goproc",
                Bytes(crate::streams::BYTES),
            ),
            "raw",
            RateRatioAtLeast(0.8),
        ),
        row(
            "event round trip: raw server round trip",
            "event-rtt-ct",
            "raw",
            Latency,
        ),
        vs(
            row(
                "event round trip: host publishes, a plugin publishes back",
                "event-rtt-ct",
                "goproc",
                Latency,
            ),
            "raw",
            TimeRatioAtMost(f64::INFINITY),
        ),
        row(
            "fan-out to 10 subscribers: raw servers",
            "fanout10-ct",
            "raw",
            Per(
                crate::streams::FAN_EVENTS * crate::streams::SUBSCRIBERS as u64,
                "events",
            ),
        ),
        vs(
            row(
                "fan-out to 10 plugins: goproc events delivered",
                "fanout10-ct",
                "goproc",
                Per(
                    crate::streams::FAN_EVENTS * crate::streams::SUBSCRIBERS as u64,
                    "events",
                ),
            ),
            "raw",
            RateRatioShown,
        ),
        row(
            "registry: a call through a plain `Plugin` client",
            "registry-seq-ct",
            "plugin",
            Latency,
        ),
        vs(
            row(
                "registry: the same call through a one-instance `Pool`",
                "registry-seq-ct",
                "pool",
                Latency,
            ),
            "plugin",
            TimeRatioAtMost(f64::INFINITY),
        ),
        vs(
            row(
                "registry: the same call through `Registry::get`, beside the plain client",
                "registry-seq-ct",
                "registry",
                Latency,
            ),
            "plugin",
            TimeRatioAtMost(f64::INFINITY),
        ),
        // The registry runs each plugin in a pool: what it adds itself is
        // its switch (the current version, held for the call).
        vs(
            row(
                "registry: the same call through `Registry::get`, beside the pool it calls",
                "registry-seq-ct",
                "registry",
                Latency,
            ),
            "pool",
            TimeRatioAtMost(1.15),
        ),
        row(
            "50 MiB plugin file: `std::fs::read` (page cache)",
            "checksum50mib",
            "read",
            Millis,
        ),
        vs(
            row(
                "50 MiB plugin file: `registry::sha256_file`, the check before spawn",
                "checksum50mib",
                "sha256",
                Millis,
            ),
            "read",
            TimeRatioAtMost(f64::INFINITY),
        ),
        held(
            row("spawn to first call: Rust", "spawn", "rust", Millis),
            MillisAtMost(5.0),
        ),
        held(
            row("spawn to first call: Python", "spawn", "python", Millis),
            MillisAtMost(80.0),
        ),
        held(
            row("spawn to first call: TypeScript", "spawn", "node", Millis),
            MillisAtMost(100.0),
        ),
    ]
}

/// Writes `BENCHMARKS.md` and returns its path.
pub fn write(
    machine: &Machine,
    home: &Path,
    placements: &str,
    memory: Option<Memory>,
    notes: &[String],
    quick: bool,
) -> PathBuf {
    let mut md = String::new();
    let _ = writeln!(md, "# Benchmarks\n");
    let _ = writeln!(
        md,
        "Written by `cargo bench --features bench-peers --bench suite{}` \
         (`benches/suite/`). Every goproc figure is measured in the same run, on the \
         same CPU placement, as the baseline it is compared with. Each benchmark is \
         measured in {} rounds, one after another through its group (so a baseline and \
         goproc alternate); the figure is the median of the rounds' medians, and \
         −a/+b% how far the lowest and the highest round lay from it{}. \
         p50 and p99 are of each call's own time, from the call's send to its answer \
         (within its batch of 128, or among the pool's 1,000), timed in a separate \
         pass after each round so that the clock reads do not slow the figure; \
         each is the median of the rounds' p50s and p99s. A figure is a mean over \
         each sample, so on a loaded machine it lies above p50 by what the slowest \
         calls (beyond p99) cost. Marked *: no single call to time (streams, \
         events, a whole batch driven inside the plugin, spawns, files), so these \
         are of criterion's samples, each sample's time per iteration.\n",
        if quick { " -- --quick" } else { "" },
        crate::rounds::ROUNDS,
        if quick {
            " (quick: each round 10 samples in about 1 s, after 0.3 s of warm-up)"
        } else {
            ""
        }
    );
    let _ = writeln!(md, "## Machine\n");
    let _ = writeln!(
        md,
        "- CPU: {} ({} cores available)",
        machine.cpu, machine.cores
    );
    let _ = writeln!(md, "- kernel: Linux {}", machine.kernel);
    let _ = writeln!(md, "- {}", machine.rustc);
    let _ = writeln!(
        md,
        "- placements: `default` lets the scheduler place the host and the peer \
         anywhere; `split` runs the host on CPU 0 and every peer on CPU 1 \
         (`taskset -c 1`), so every round trip crosses cores (Rust peers only); `pinned` \
         restricts the host and every peer process it starts to CPU 0 \
         (`sched_setaffinity`, inherited by the children, so tokio's multi-thread \
         runtime has one worker there)."
    );
    let _ = writeln!(
        md,
        "- runtimes: `current-thread` and `multi-thread` are the host's tokio runtime; \
         the Rust plugin and the tarpc server run tokio's default multi-thread runtime. \
         The raw server is each row's floor: an RPC minus the framework, in its own \
         process on the runtime flavour of the plugin beside it. It parses every \
         frame (`u32` length, `u64` call id, the bytes) and answers each with its id \
         and bytes, all answers to one read in one write; its client encodes each \
         call's frame and parses every answer, checking its id. Registered for \
         writing, a socket is woken each time its peer reads: goproc turns that \
         on when its reads wait long and off when they do not; the raw server and \
         client have it off when the processes share a CPU (`pinned`) and on \
         elsewhere, whichever is faster there. The plain RPC \
         client is the plain design: a oneshot per call, a `HashMap` of waiters \
         behind a `Mutex`, one writer task fed by an mpsc channel and one reader \
         task, the same frames, driven like goproc (`join_all` of 128 calls) against \
         the same raw server. Python and TypeScript use the calculator plugins of \
         `examples/calculator/` (`greet` with a 16-byte argument) beside a raw \
         asyncio `BufferedProtocol` / Node `net` server that parses and answers the same \
         frames with 16-byte bodies.\n"
    );
    let _ = writeln!(
        md,
        "The sequential and 128-in-flight calls carry a 16-byte `Vec<u8>` and get it back.\n"
    );

    let mut met = Vec::new();
    let mut glance = Glance::default();
    let mut tables = String::new();
    let placements: Vec<&str> = placements
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect();
    for &placement in &placements {
        let md = &mut tables;
        let _ = writeln!(md, "## Placement `{placement}`\n");
        let _ = writeln!(
            md,
            "| benchmark | figure | p50 | p99 | baseline | ratio | target | met |"
        );
        let _ = writeln!(md, "| --- | --- | --- | --- | --- | --- | --- | --- |");
        for r in rows() {
            let group = format!("{placement}-{}", r.group);
            let Some(e) = estimate(home, &group, r.id) else {
                continue;
            };
            let base = r.baseline.and_then(|(g, id)| {
                estimate(home, &format!("{placement}-{g}"), id).map(|b| (id, b))
            });
            let (base_text, ratio_text, mut target_text, mut ok) = judge(&r, &e, base.as_ref());
            if r.cross_core && placement != "split" {
                target_text = format!("({target_text} across cores)");
                ok = None;
            }
            if let Some(ok) = ok {
                met.push((placement.to_string(), r.what.to_string(), ok));
            }
            if r.headline && !r.cross_core {
                let figure = if ratio_text.is_empty() {
                    show(r.unit, &e)
                } else {
                    ratio_text.clone()
                };
                let what = match r.baseline {
                    Some((_, "raw")) if !r.what.contains(" vs ") => {
                        format!("{} vs the raw server", r.what)
                    }
                    _ => r.what.to_string(),
                };
                glance.add(&what, &target_text, placement, &figure, ok);
            }
            let mut met_text = match ok {
                Some(true) => "yes".to_string(),
                Some(false) => "**no**".to_string(),
                None => String::new(),
            };
            if let (Some(max), false) = (r.tail, e.p50.is_nan()) {
                let ratio = e.p99 / e.p50;
                let ok = ratio <= max;
                met.push((
                    placement.to_string(),
                    format!("{}, p99 ≤ {}× p50", r.what, number(max)),
                    ok,
                ));
                if r.headline {
                    glance.add(
                        &format!("{}, p99 / p50", r.what),
                        &format!("≤ {}×", number(max)),
                        placement,
                        &format!("{ratio:.1}×"),
                        Some(ok),
                    );
                }
                let sep = if target_text.is_empty() { "" } else { "; " };
                target_text = format!("{target_text}{sep}p99 ≤ {}× p50", number(max));
                let sep = if met_text.is_empty() { "" } else { "; " };
                met_text = format!(
                    "{met_text}{sep}{} (p99 {ratio:.1}× p50)",
                    if ok { "yes" } else { "**no**" }
                );
            }
            let (p50, p99) = show_tails(&e);
            let _ = writeln!(
                md,
                "| {} | {} | {p50} | {p99} | {} | {} | {} | {met_text} |",
                r.what,
                show(r.unit, &e),
                base_text,
                ratio_text,
                target_text,
            );
        }
        let _ = writeln!(md);
    }
    glance.write(&mut md, &placements);
    md.push_str(&tables);
    if let Some(m) = memory {
        let _ = writeln!(md, "## Host memory per idle plugin\n");
        let ok = m.heap_per_plugin <= 256.0 * 1024.0;
        let _ = writeln!(
            md,
            "{} idle Rust plugins, each after one call: the host's live heap grew by \
             **{:.1} KiB** per plugin (counting global allocator; target ≤ 256 KiB: {}), \
             its RSS by {:.1} KiB per plugin.\n",
            m.plugins,
            m.heap_per_plugin / 1024.0,
            if ok { "met" } else { "**missed**" },
            m.rss_per_plugin / 1024.0
        );
    }
    if !notes.is_empty() {
        let _ = writeln!(md, "## Notes\n");
        for n in notes {
            let _ = writeln!(md, "- {n}");
        }
        let _ = writeln!(md);
    }
    let missed: Vec<_> = met.iter().filter(|(_, _, ok)| !ok).collect();
    let _ = writeln!(
        md,
        "## Summary\n\n{} of {} targets met in this run.{}",
        met.len() - missed.len(),
        met.len(),
        if missed.is_empty() {
            String::new()
        } else {
            format!(
                " Missed: {}.",
                missed
                    .iter()
                    .map(|(p, w, _)| format!("{w} (`{p}`)"))
                    .collect::<Vec<_>>()
                    .join("; ")
            )
        }
    );
    let path = root().join("BENCHMARKS.md");
    md.push_str(&where_the_time_goes(&path));
    std::fs::write(&path, md).expect("writing BENCHMARKS.md");
    path
}

/// A headline row: what, its target, and a cell per placement it ran in.
type GlanceLine = (String, String, Vec<(String, String)>);

/// The headline targets, one line each, a column per placement.
#[derive(Default)]
struct Glance {
    lines: Vec<GlanceLine>,
}

impl Glance {
    fn add(&mut self, what: &str, target: &str, placement: &str, figure: &str, ok: Option<bool>) {
        let cell = match ok {
            Some(true) => format!("{figure} yes"),
            Some(false) => format!("{figure} **no**"),
            None => figure.to_string(),
        };
        let at = match self.lines.iter().position(|(w, _, _)| w == what) {
            Some(i) => i,
            None => {
                self.lines
                    .push((what.to_string(), target.to_string(), Vec::new()));
                self.lines.len() - 1
            }
        };
        self.lines[at].2.push((placement.to_string(), cell));
    }

    fn write(&self, md: &mut String, placements: &[&str]) {
        if self.lines.is_empty() {
            return;
        }
        let _ = writeln!(md, "## The issue's targets\n");
        let _ = writeln!(
            md,
            "The rows the current performance issue holds goproc to, from the tables \
             below (same run): each figure, or its ratio to the baseline, per placement.\n"
        );
        let _ = writeln!(md, "| row | target | {} |", placements.join(" | "));
        let _ = writeln!(md, "| --- | --- |{}", " --- |".repeat(placements.len()));
        // In the order, each tail right after its row.
        let mut lines: Vec<_> = self.lines.iter().collect();
        lines.sort_by_key(|(what, _, _)| {
            let row = what.strip_suffix(", p99 / p50");
            let base = row.unwrap_or(what);
            let base = base.strip_suffix(" vs the raw server").unwrap_or(base);
            let at = HEADLINES.iter().position(|h| *h == base);
            (at.unwrap_or(usize::MAX), row.is_some())
        });
        for (what, target, cells) in lines {
            let cells: Vec<&str> = placements
                .iter()
                .map(|p| {
                    cells
                        .iter()
                        .find(|(q, _)| q == p)
                        .map_or("", |(_, c)| c.as_str())
                })
                .collect();
            let _ = writeln!(md, "| {what} | {target} | {} |", cells.join(" | "));
        }
        let _ = writeln!(md);
    }
}

fn judge(
    r: &Row,
    e: &Estimate,
    base: Option<&(&str, Estimate)>,
) -> (String, String, String, Option<bool>) {
    let rate = |unit: Unit, x: &Estimate| match unit {
        Unit::Rate(n) | Unit::Per(n, _) | Unit::Bytes(n) => n as f64 * 1e9 / x.median,
        _ => 1e9 / x.median,
    };
    match (r.target, base) {
        (Target::TimeRatioAtMost(max), Some((id, b))) => {
            let ratio = e.median / b.median;
            let target = if max.is_finite() {
                format!("≤ {}×", number(max))
            } else {
                String::new()
            };
            let ok = max.is_finite().then_some(ratio <= max);
            (
                format!("{id}: {}", show(r.unit, b)),
                format!("{ratio:.2}× time"),
                target,
                ok,
            )
        }
        (Target::RateRatioAtLeast(min), Some((id, b))) => {
            let ratio = rate(r.unit, e) / rate(r.unit, b);
            (
                format!("{id}: {}", show(r.unit, b)),
                format!("{ratio:.2}× rate"),
                format!("≥ {}×", number(min)),
                Some(ratio >= min),
            )
        }
        (Target::RateRatioShown, Some((id, b))) => (
            format!("{id}: {}", show(r.unit, b)),
            format!("{:.2}× rate", rate(r.unit, e) / rate(r.unit, b)),
            String::new(),
            None,
        ),
        (Target::MicrosAtMost(max), Some((id, b))) => (
            format!("{id}: {}", show(r.unit, b)),
            format!("{:.2}× time", e.median / b.median),
            format!("≤ {max} µs"),
            Some(e.median / 1e3 <= max),
        ),
        (Target::RateAtLeast(min), _) => (
            String::new(),
            String::new(),
            format!("≥ {} calls/s", group_digits(min)),
            Some(rate(r.unit, e) >= min),
        ),
        (Target::MillisAtMost(max), _) => (
            String::new(),
            String::new(),
            format!("≤ {max} ms"),
            Some(e.median / 1e6 <= max),
        ),
        _ => (String::new(), String::new(), String::new(), None),
    }
}

/// The "Where the time goes" section of the report at `path` as it stands
/// (written by hand between runs, so a run keeps it), or [`GAPS`].
fn where_the_time_goes(path: &Path) -> String {
    const HEADING: &str = "## Where the time goes";
    let Ok(old) = std::fs::read_to_string(path) else {
        return GAPS.to_string();
    };
    let Some(start) = old.find(HEADING) else {
        return GAPS.to_string();
    };
    let rest = &old[start..];
    // Up to the next section of the same level, if one follows.
    let end = rest[HEADING.len()..]
        .find("\n## ")
        .map_or(rest.len(), |i| HEADING.len() + i + 1);
    format!("\n{}", rest[..end].trim_end()) + "\n"
}

/// A target's number as written by hand: `0.6`, `5`, `1.1`.
fn number(x: f64) -> String {
    let s = format!("{x:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// The section a report starts with when no earlier one has it: the
/// analysis is written by hand, from profiles, in BENCHMARKS.md itself.
const GAPS: &str = "
## Where the time goes

Not written yet: profile the rows that miss their targets (`perf record -g`,
`perf stat` on `target/release/deps/suite-* --bench --quick <group>`) and
say here where their time goes. Later runs keep this section as written.
";
