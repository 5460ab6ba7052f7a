//! Every benchmark measured [`ROUNDS`] times, the rounds interleaved (each
//! round runs every benchmark of its group once), so that a figure's
//! spread shows how much a loaded machine moved it. Benchmarks that make
//! calls also time each call in a short pass after each round's
//! measurement, apart from it, so that the clock reads do not slow the
//! throughput figure: the p50 and p99 of the report.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::measurement::WallTime;
use criterion::{Bencher, BenchmarkId, Criterion, SamplingMode, Throughput};
use tokio::runtime::Runtime;

use crate::BoxFuture;

/// Criterion measurements of every benchmark (the report's median and spread).
pub const ROUNDS: usize = 3;

/// Adds each call's time to the vector: `for<'a> fn(&'a mut S, &'a mut Vec<Duration>)`.
pub type CallTimes<S> = for<'a> fn(&'a mut S, &'a mut Vec<Duration>) -> BoxFuture<'a>;

type Run<'a> = Box<dyn FnMut(&mut Bencher<'_, WallTime>) + 'a>;

struct Bench<'a> {
    id: &'static str,
    run: Run<'a>,
    calls: Option<Box<dyn FnMut() -> Vec<Duration> + 'a>>,
}

/// A benchmark group whose benchmarks run when it is finished.
pub struct Rounds<'c, 'a> {
    c: &'c mut Criterion,
    name: String,
    throughput: Option<Throughput>,
    sample_size: Option<usize>,
    benches: Vec<Bench<'a>>,
}

impl<'c, 'a> Rounds<'c, 'a> {
    pub fn new(c: &'c mut Criterion, name: &str) -> Self {
        Rounds {
            c,
            name: name.to_string(),
            throughput: None,
            sample_size: None,
            benches: Vec::new(),
        }
    }

    pub fn throughput(&mut self, t: Throughput) {
        self.throughput = Some(t);
    }

    pub fn sample_size(&mut self, n: usize) {
        self.sample_size = Some(n);
    }

    /// A benchmark with no single call to time: the report's p50 and p99
    /// come from criterion's samples.
    pub fn bench(&mut self, id: &'static str, run: impl FnMut(&mut Bencher<'_, WallTime>) + 'a) {
        self.benches.push(Bench {
            id,
            run: Box::new(run),
            calls: None,
        });
    }

    /// `body` run `iters` times' worth inside a task of `rt` (see
    /// [`crate::sample`]); p50 and p99 from criterion's samples.
    pub fn measure<S: Send + 'static>(
        &mut self,
        id: &'static str,
        rt: &'a Runtime,
        state: &'a Arc<tokio::sync::Mutex<S>>,
        body: for<'x> fn(&'x mut S, u64) -> BoxFuture<'x>,
    ) {
        self.bench(id, move |b| {
            b.iter_custom(|n| crate::sample(rt, state, n, body))
        });
    }

    /// [`Self::measure`], and after each round `calls` times each call.
    pub fn measure_calls<S: Send + 'static>(
        &mut self,
        id: &'static str,
        rt: &'a Runtime,
        state: &'a Arc<tokio::sync::Mutex<S>>,
        body: for<'x> fn(&'x mut S, u64) -> BoxFuture<'x>,
        calls: CallTimes<S>,
    ) {
        self.measure(id, rt, state, body);
        self.benches.last_mut().expect("just added").calls =
            Some(Box::new(move || call_times(rt, state, calls)));
    }

    /// Runs every round and saves each round's call times beside
    /// criterion's results.
    pub fn finish(mut self) {
        let home = crate::report::criterion_home();
        for round in 1..=ROUNDS {
            let mut g = self.c.benchmark_group(&self.name);
            g.sampling_mode(SamplingMode::Flat);
            if let Some(t) = &self.throughput {
                g.throughput(t.clone());
            }
            if let Some(n) = self.sample_size {
                g.sample_size(n);
            }
            for b in &mut self.benches {
                // Criterion's filter decides whether the benchmark runs.
                let mut ran = false;
                g.bench_function(BenchmarkId::new(b.id, round), |bencher| {
                    ran = true;
                    (b.run)(bencher)
                });
                if let (true, Some(calls)) = (ran, b.calls.as_mut()) {
                    let times = calls();
                    save(&calls_path(&home, &self.name, b.id, round), times);
                }
            }
            g.finish();
        }
    }
}

/// Where a round's call times are kept.
pub fn calls_path(home: &std::path::Path, group: &str, id: &str, round: usize) -> PathBuf {
    home.join(group)
        .join(id)
        .join(round.to_string())
        .join("calls.json")
}

fn save(path: &std::path::Path, mut times: Vec<Duration>) {
    assert!(!times.is_empty(), "a call pass timed no call");
    times.sort_unstable();
    let ns: Vec<u64> = times.iter().map(|t| t.as_nanos() as u64).collect();
    let at = |q: f64| ns[((ns.len() - 1) as f64 * q).round() as usize];
    let mean = ns.iter().sum::<u64>() / ns.len() as u64;
    let json = serde_json::json!({
        "calls": ns.len(),
        "mean_ns": mean,
        "p50_ns": at(0.50),
        "p99_ns": at(0.99),
    });
    if let Some(dir) = path.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    std::fs::write(path, json.to_string()).expect("saving the call times");
}

fn call_times<S: Send + 'static>(
    rt: &Runtime,
    state: &Arc<tokio::sync::Mutex<S>>,
    calls: CallTimes<S>,
) -> Vec<Duration> {
    let state = state.clone();
    rt.block_on(async move {
        tokio::spawn(async move {
            let mut s = state.lock().await;
            let mut times = Vec::new();
            calls(&mut s, &mut times).await;
            times
        })
        .await
        .expect("the call-timing task panicked")
    })
}

/// A call's future that yields its own time, from its first poll (when
/// it sends) to its answer.
pub async fn timed<T>(call: impl std::future::Future<Output = T>) -> (T, Duration) {
    let t0 = Instant::now();
    let out = call.await;
    (out, t0.elapsed())
}
