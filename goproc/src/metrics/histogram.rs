//! A lock-free latency histogram: log-linear buckets of atomic counters
//! (HDR-style), so recording is one relaxed add and a snapshot can be merged
//! with others before percentiles are read.
//!
//! Values are clock ticks (see `clock.rs`; nanoseconds or a little less).
//! Below 1,024 ticks buckets are 32 ticks wide; above, each power of two is
//! split in 32 equal buckets, so a bucket's midpoint is within 1/64 (about
//! 1.6%) of any value in it. The top bucket starts at 2^40 ticks (18 minutes
//! of nanoseconds, 6 of 3 GHz ticks); longer values land in it, and the
//! exact maximum is kept apart.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use super::clock;

/// Bits of a value kept below its leading one: 32 buckets per power of two.
const SUB_BITS: u32 = 5;
const SUB: usize = 1 << SUB_BITS;
/// Values below `1 << LINEAR_BITS` ns share buckets of equal width.
const LINEAR_BITS: u32 = 10;
/// The highest power of two with buckets of its own.
const TOP_EXPONENT: u32 = 39;
/// The linear buckets, then 32 per power of two from 2^10 to 2^39.
pub(crate) const BUCKETS: usize = SUB + (TOP_EXPONENT - LINEAR_BITS + 1) as usize * SUB;

/// Counts of durations, recorded concurrently without locks. No sum is
/// kept (one add less per call): the mean is read from the buckets.
pub(crate) struct Histogram {
    buckets: Box<[AtomicU64]>,
    max: AtomicU64,
}

impl Histogram {
    pub(crate) fn new() -> Self {
        Histogram {
            buckets: (0..BUCKETS).map(|_| AtomicU64::new(0)).collect(),
            max: AtomicU64::new(0),
        }
    }

    /// Counts one duration of `ticks`.
    pub(crate) fn record(&self, ticks: u64) {
        self.buckets[bucket_of(ticks)].fetch_add(1, Ordering::Relaxed);
        // A load first: the maximum rarely moves, and a plain load does not
        // take the cache line away from the other recording threads.
        if ticks > self.max.load(Ordering::Relaxed) {
            self.max.fetch_max(ticks, Ordering::Relaxed);
        }
    }

    /// The counts as they are now, read with `nanos_per_tick`. Recording
    /// may go on meanwhile: the snapshot is then a moment of each counter,
    /// not of all at once.
    pub(crate) fn snapshot(&self, nanos_per_tick: f64) -> HistogramSnapshot {
        HistogramSnapshot {
            buckets: self
                .buckets
                .iter()
                .map(|b| b.load(Ordering::Relaxed))
                .collect(),
            max: self.max.load(Ordering::Relaxed),
            nanos_per_tick,
        }
    }
}

/// The bucket a value of `ns` nanoseconds is counted in.
fn bucket_of(ns: u64) -> usize {
    if ns < 1 << LINEAR_BITS {
        return (ns >> (LINEAR_BITS - SUB_BITS)) as usize;
    }
    let exponent = (63 - ns.leading_zeros()).min(TOP_EXPONENT);
    if ns >> exponent > 1 {
        // Past the top power of two: the last bucket.
        return BUCKETS - 1;
    }
    let mantissa = ((ns >> (exponent - SUB_BITS)) as usize) & (SUB - 1);
    SUB + (exponent - LINEAR_BITS) as usize * SUB + mantissa
}

/// The middle of bucket `index`, what its values read as.
fn midpoint(index: usize) -> u64 {
    let (low, width) = bucket_range(index);
    low + width / 2
}

/// The lowest value of bucket `index` and its width, in ticks.
fn bucket_range(index: usize) -> (u64, u64) {
    let linear_width = 1u64 << (LINEAR_BITS - SUB_BITS);
    if index < SUB {
        return (index as u64 * linear_width, linear_width);
    }
    let k = index - SUB;
    let exponent = LINEAR_BITS + (k / SUB) as u32;
    let mantissa = (k % SUB) as u64;
    let width = 1u64 << (exponent - SUB_BITS);
    ((SUB as u64 + mantissa) * width, width)
}

/// The counts of a [`Histogram`] at one moment; snapshots of several
/// histograms (a pool's instances, on the same clock) merge into one.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct HistogramSnapshot {
    buckets: Vec<u64>,
    /// In ticks.
    max: u64,
    nanos_per_tick: f64,
}

impl HistogramSnapshot {
    /// How many durations were counted.
    pub(crate) fn count(&self) -> u64 {
        self.buckets.iter().sum()
    }

    /// Adds `other`'s counts to these.
    pub(crate) fn merge(&mut self, other: &HistogramSnapshot) {
        for (mine, theirs) in self.buckets.iter_mut().zip(&other.buckets) {
            *mine += theirs;
        }
        self.max = self.max.max(other.max);
    }

    fn duration(&self, ticks: u64) -> Duration {
        clock::duration(ticks, self.nanos_per_tick)
    }

    /// The duration below which a fraction `q` (0 to 1) of the counted
    /// ones fall: the midpoint of the bucket holding that rank, never past
    /// the maximum. Zero when nothing was counted.
    pub(crate) fn percentile(&self, q: f64) -> Duration {
        let count = self.count();
        if count == 0 {
            return Duration::ZERO;
        }
        let rank = ((q.clamp(0.0, 1.0) * count as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for (index, &n) in self.buckets.iter().enumerate() {
            seen += n;
            if seen >= rank {
                return self.duration(midpoint(index).min(self.max));
            }
        }
        self.max()
    }

    /// The longest duration counted (exact).
    pub(crate) fn max(&self) -> Duration {
        self.duration(self.max)
    }

    /// The mean duration, of the buckets' midpoints (so within the same
    /// 1.6%), each never past the maximum.
    pub(crate) fn mean(&self) -> Duration {
        let count = self.count();
        if count == 0 {
            return Duration::ZERO;
        }
        let sum: u128 = self
            .buckets
            .iter()
            .enumerate()
            .filter(|(_, &n)| n > 0)
            .map(|(index, &n)| u128::from(n) * u128::from(midpoint(index).min(self.max)))
            .sum();
        self.duration((sum / u128::from(count)) as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    impl Histogram {
        /// Records in nanoseconds (ticks read at one nanosecond each).
        fn record_duration(&self, d: Duration) {
            self.record(d.as_nanos() as u64);
        }
    }

    /// The relative error a bucket's midpoint promises above 1 µs.
    const RELATIVE_ERROR: f64 = 1.0 / 64.0;

    fn assert_close(got: Duration, want: Duration) {
        let (got_ns, want_ns) = (got.as_nanos() as f64, want.as_nanos() as f64);
        let error = (got_ns - want_ns).abs() / want_ns;
        assert!(
            error <= RELATIVE_ERROR + 1e-9,
            "{got:?} is {:.2}% off {want:?}, past the promised {:.2}%",
            error * 100.0,
            RELATIVE_ERROR * 100.0
        );
    }

    #[test]
    fn every_value_lands_in_the_bucket_that_holds_it() {
        let mut ns = 0u64;
        while ns < 1 << (TOP_EXPONENT + 1) {
            let index = bucket_of(ns);
            let (low, width) = bucket_range(index);
            assert!(
                low <= ns && ns < low + width,
                "{ns} ns went to bucket {index} [{low}, {})",
                low + width
            );
            ns = ns * 17 / 16 + 1;
        }
        assert_eq!(bucket_of(u64::MAX), BUCKETS - 1);
        assert_eq!(bucket_of((1 << (TOP_EXPONENT + 1)) - 1), BUCKETS - 1);
    }

    #[test]
    fn buckets_are_contiguous() {
        for index in 1..BUCKETS {
            let (low, _) = bucket_range(index);
            let (prev_low, prev_width) = bucket_range(index - 1);
            assert_eq!(prev_low + prev_width, low, "gap before bucket {index}");
        }
    }

    #[test]
    fn uniform_distribution_percentiles_are_within_the_error() {
        let h = Histogram::new();
        // 1 µs to 10 ms in steps of 1 µs.
        for us in 1..=10_000u64 {
            h.record_duration(Duration::from_micros(us));
        }
        let s = h.snapshot(1.0);
        assert_eq!(s.count(), 10_000);
        assert_close(s.percentile(0.5), Duration::from_micros(5_000));
        assert_close(s.percentile(0.9), Duration::from_micros(9_000));
        assert_close(s.percentile(0.99), Duration::from_micros(9_900));
        assert_close(s.percentile(0.999), Duration::from_micros(9_990));
        assert_eq!(s.max(), Duration::from_micros(10_000));
        assert_close(s.mean(), Duration::from_nanos(5_000_500));
    }

    #[test]
    fn log_spread_distribution_percentiles_are_within_the_error() {
        // 1 µs to 100 s, evenly spread on a log scale.
        let values: Vec<Duration> = (0..=8_000)
            .map(|i| Duration::from_nanos((1_000.0 * 10f64.powf(i as f64 / 1_000.0)) as u64))
            .collect();
        let h = Histogram::new();
        for v in &values {
            h.record_duration(*v);
        }
        let s = h.snapshot(1.0);
        for q in [0.01, 0.25, 0.5, 0.9, 0.99, 0.999] {
            let rank = ((q * values.len() as f64).ceil() as usize).max(1);
            assert_close(s.percentile(q), values[rank - 1]);
        }
        assert_eq!(s.max(), *values.last().unwrap());
    }

    #[test]
    fn a_single_value_is_every_percentile_within_the_error() {
        let h = Histogram::new();
        h.record_duration(Duration::from_micros(137));
        let s = h.snapshot(1.0);
        for q in [0.0, 0.5, 0.999, 1.0] {
            assert_close(s.percentile(q), Duration::from_micros(137));
        }
    }

    #[test]
    fn below_a_microsecond_the_error_is_absolute() {
        let h = Histogram::new();
        h.record_duration(Duration::from_nanos(500));
        let p = h.snapshot(1.0).percentile(0.5).as_nanos() as i64;
        assert!((p - 500).abs() <= 16, "500 ns read back as {p} ns");
    }

    #[test]
    fn past_the_top_bucket_the_maximum_is_still_exact() {
        let h = Histogram::new();
        h.record_duration(Duration::from_secs(1_000_000));
        let s = h.snapshot(1.0);
        assert_eq!(s.max(), Duration::from_secs(1_000_000));
        assert_eq!(
            s.percentile(0.5),
            Duration::from_nanos(midpoint(BUCKETS - 1))
        );
    }

    #[test]
    fn ticks_read_at_their_rate() {
        let h = Histogram::new();
        h.record(1_000_000);
        let s = h.snapshot(0.5);
        assert_close(s.percentile(0.5), Duration::from_micros(500));
        assert_eq!(s.max(), Duration::from_micros(500));
    }

    #[test]
    fn merged_snapshots_equal_one_histogram_of_everything() {
        let (a, b, both) = (Histogram::new(), Histogram::new(), Histogram::new());
        for us in 1..=1_000u64 {
            let d = Duration::from_micros(us * 7 % 1_000 + 1);
            if us % 3 == 0 { &a } else { &b }.record_duration(d);
            both.record_duration(d);
        }
        let mut merged = a.snapshot(1.0);
        merged.merge(&b.snapshot(1.0));
        assert_eq!(merged, both.snapshot(1.0));
        // Merging is of counts, not of percentiles: one slow instance moves
        // the merged p99 where an average of the two p99s would not.
        let (fast, slow) = (Histogram::new(), Histogram::new());
        for _ in 0..98 {
            fast.record_duration(Duration::from_micros(10));
        }
        for _ in 0..2 {
            slow.record_duration(Duration::from_millis(10));
        }
        let mut merged = fast.snapshot(1.0);
        merged.merge(&slow.snapshot(1.0));
        assert_close(merged.percentile(0.99), Duration::from_millis(10));
        assert_close(merged.percentile(0.5), Duration::from_micros(10));
    }

    #[test]
    fn an_empty_histogram_reads_zero() {
        let s = Histogram::new().snapshot(1.0);
        assert_eq!(s.count(), 0);
        assert_eq!(s.percentile(0.99), Duration::ZERO);
        assert_eq!(s.mean(), Duration::ZERO);
    }

    #[test]
    fn concurrent_recording_loses_nothing() {
        let h = std::sync::Arc::new(Histogram::new());
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let h = h.clone();
                std::thread::spawn(move || {
                    for i in 0..10_000u64 {
                        h.record_duration(Duration::from_nanos(1_000 + (i * 13 + t) % 50_000));
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(h.snapshot(1.0).count(), 40_000);
    }
}
