//! The clock call latencies are measured with. Two readings per call are
//! a large part of what counting a call costs, so where the kernel itself
//! keeps time with the CPU's time-stamp counter (Linux on x86-64 with the
//! `tsc` clocksource: invariant, and in step across cores) it is read
//! directly, at about a third of the cost of `Instant::now()`. Elsewhere
//! ticks are nanoseconds of `Instant`.
//!
//! Ticks become nanoseconds when a snapshot is read, at the rate measured
//! against `Instant` since the clock was first used.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

enum Source {
    /// The time-stamp counter, and a reading of it paired with `Instant`.
    #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
    Tsc { anchor: (Instant, u64) },
    /// Nanoseconds since `anchor`.
    Monotonic { anchor: Instant },
}

static SOURCE: OnceLock<Source> = OnceLock::new();

fn source() -> &'static Source {
    SOURCE.get_or_init(|| {
        #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
        if kernel_uses_tsc() {
            return Source::Tsc {
                anchor: paired_reading(),
            };
        }
        Source::Monotonic {
            anchor: Instant::now(),
        }
    })
}

/// Picks the clock now, so that the first call does not pay for it.
pub(crate) fn init() {
    source();
}

/// The time now, in ticks.
#[inline]
pub(crate) fn ticks() -> u64 {
    match source() {
        #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
        Source::Tsc { .. } => tsc(),
        Source::Monotonic { anchor } => {
            u64::try_from(anchor.elapsed().as_nanos()).unwrap_or(u64::MAX)
        }
    }
}

/// How many nanoseconds a tick lasts.
pub(crate) fn nanos_per_tick() -> f64 {
    match source() {
        #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
        Source::Tsc {
            anchor: (at, ticks),
        } => {
            // Each paired reading is off by a few tens of nanoseconds at
            // most, so the rate is within 0.1% once 0.1 ms has passed since
            // the anchor (taken when the first plugin or pool was made).
            let (now, now_ticks) = paired_reading();
            let elapsed_ticks = now_ticks.saturating_sub(*ticks).max(1);
            (now - *at).as_nanos() as f64 / elapsed_ticks as f64
        }
        Source::Monotonic { .. } => 1.0,
    }
}

/// `ticks` ticks as a duration.
pub(crate) fn duration(ticks: u64, nanos_per_tick: f64) -> Duration {
    Duration::from_nanos((ticks as f64 * nanos_per_tick) as u64)
}

#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
#[inline]
fn tsc() -> u64 {
    // SAFETY: RDTSC is on every x86-64 CPU and reads no memory.
    unsafe { std::arch::x86_64::_rdtsc() }
}

#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
fn kernel_uses_tsc() -> bool {
    std::fs::read_to_string("/sys/devices/system/clocksource/clocksource0/current_clocksource")
        .is_ok_and(|s| s.trim() == "tsc")
}

/// `Instant::now()` and the counter read at the same moment: the closest
/// of a few tries (the thread may be preempted between the two reads).
#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
fn paired_reading() -> (Instant, u64) {
    let mut best: Option<(u64, Instant, u64)> = None;
    for _ in 0..8 {
        let before = tsc();
        let now = Instant::now();
        let after = tsc();
        let spread = after.saturating_sub(before);
        if best.is_none_or(|(s, _, _)| spread < s) {
            best = Some((spread, now, before + spread / 2));
        }
    }
    let (_, now, ticks) = best.unwrap_or((0, Instant::now(), tsc()));
    (now, ticks)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_measure_a_sleep_within_a_few_percent() {
        init();
        let (start, at) = (ticks(), Instant::now());
        std::thread::sleep(Duration::from_millis(30));
        let (end, real) = (ticks(), at.elapsed());
        // Read as a snapshot would: at the rate measured by then.
        let measured = duration(end - start, nanos_per_tick()).as_nanos() as f64;
        let real = real.as_nanos() as f64;
        assert!(
            (measured - real).abs() / real < 0.03,
            "30 ms slept measured {measured} ns by ticks, {real} ns by Instant"
        );
    }
}
