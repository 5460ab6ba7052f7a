//! The load: `concurrency` callers calling back to back until the time is
//! up, each timing its calls into a histogram of its own (merged at the end,
//! so callers never contend on one).

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

/// The longest latency recorded as itself: an hour (a call's deadline is
/// far shorter); longer ones count as an hour.
const MAX_NANOS: u128 = 3_600 * 1_000_000_000;

/// What a run measured.
#[derive(Debug)]
pub struct Tally {
    /// Calls finished, successful or not.
    pub calls: u64,
    /// Failed calls by kind of failure.
    pub errors: BTreeMap<String, u64>,
    /// Latency of every finished call, in nanoseconds.
    pub latency: Histogram<u64>,
    /// From the start until the last caller stopped.
    pub elapsed: Duration,
}

impl Tally {
    /// Finished calls per second.
    pub fn rate(&self) -> f64 {
        self.calls as f64 / self.elapsed.as_secs_f64().max(f64::MIN_POSITIVE)
    }
}

/// Calls seen so far, for a live display while the run goes on.
#[derive(Debug, Default)]
pub struct Counter(AtomicU64);

impl Counter {
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// Runs `call` from `concurrency` callers for `duration`. A call that fails
/// is counted under the kind it returns; a call in flight when the time is
/// up is waited for and counted.
pub async fn run<F, Fut>(
    call: F,
    concurrency: usize,
    duration: Duration,
    seen: Arc<Counter>,
) -> Tally
where
    F: Fn() -> Fut + Clone + Send + 'static,
    Fut: Future<Output = Result<(), String>> + Send,
{
    let start = Instant::now();
    let end = start + duration;
    let callers: Vec<_> = (0..concurrency.max(1))
        .map(|_| {
            let call = call.clone();
            let seen = seen.clone();
            tokio::spawn(async move {
                let mut latency = new_histogram();
                let mut errors = BTreeMap::<String, u64>::new();
                while Instant::now() < end {
                    let began = Instant::now();
                    let outcome = call().await;
                    let nanos = began.elapsed().as_nanos().clamp(1, MAX_NANOS) as u64;
                    // `record` grows the histogram to fit (saturating_record
                    // would clamp to its current, small, range instead).
                    latency
                        .record(nanos)
                        .expect("a histogram that resizes itself takes an hour in nanoseconds");
                    if let Err(kind) = outcome {
                        *errors.entry(kind).or_default() += 1;
                    }
                    seen.0.fetch_add(1, Ordering::Relaxed);
                }
                (latency, errors)
            })
        })
        .collect();
    let mut tally = Tally {
        calls: 0,
        errors: BTreeMap::new(),
        latency: new_histogram(),
        elapsed: Duration::ZERO,
    };
    for caller in callers {
        let (latency, errors) = caller.await.expect("a bench caller does not panic");
        tally
            .latency
            .add(&latency)
            .expect("histograms that resize themselves always merge");
        for (kind, n) in errors {
            *tally.errors.entry(kind).or_default() += n;
        }
    }
    tally.calls = tally.latency.len();
    tally.elapsed = start.elapsed();
    tally
}

/// Nanoseconds with three significant digits; grows with what it records.
fn new_histogram() -> Histogram<u64> {
    Histogram::new(3).expect("3 significant digits is a valid precision")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn every_call_is_counted_with_its_latency_and_failures_by_kind() {
        let n = Arc::new(AtomicU64::new(0));
        let seen = Arc::new(Counter::default());
        let calls = n.clone();
        let tally = run(
            move || {
                let calls = calls.clone();
                async move {
                    let i = calls.fetch_add(1, Ordering::Relaxed);
                    tokio::time::sleep(Duration::from_millis(2)).await;
                    if i % 4 == 0 {
                        Err("timeout".to_string())
                    } else {
                        Ok(())
                    }
                }
            },
            4,
            Duration::from_millis(200),
            seen.clone(),
        )
        .await;
        let made = n.load(Ordering::Relaxed);
        assert_eq!(tally.calls, made);
        assert_eq!(seen.get(), made);
        assert!(
            made >= 8,
            "4 callers for 200 ms of 2 ms calls made only {made}"
        );
        assert_eq!(tally.errors.get("timeout").copied(), Some(made.div_ceil(4)));
        assert!(tally.latency.min() >= 2_000_000, "{}", tally.latency.min());
        assert!(tally.elapsed >= Duration::from_millis(200));
    }
}
