//! The summary printed after a run, laid out as ghz and wrk print theirs.

use std::fmt::Write;
use std::time::Duration;

use super::run::Tally;

/// Who was measured, and how.
pub struct Setup<'a> {
    pub method: &'a str,
    pub concurrency: usize,
    pub plugin: &'a str,
    pub pid: u32,
    pub language: &'a str,
    pub runtime: &'a str,
}

/// The summary as text, ending with a newline.
pub fn summary(setup: &Setup<'_>, tally: &Tally) -> String {
    let mut out = String::new();
    let errors: u64 = tally.errors.values().sum();
    let _ = writeln!(out, "Summary:");
    let _ = writeln!(out, "  Method:       {}", setup.method);
    let _ = writeln!(
        out,
        "  Plugin:       {} (pid {}, {}, {})",
        setup.plugin, setup.pid, setup.language, setup.runtime
    );
    let _ = writeln!(out, "  Concurrency:  {}", setup.concurrency);
    let _ = writeln!(out, "  Duration:     {}", human(tally.elapsed));
    let _ = writeln!(out, "  Total calls:  {}", tally.calls);
    let _ = writeln!(out, "  Calls/s:      {:.1}", tally.rate());
    let _ = writeln!(out, "  Errors:       {errors}");
    let _ = writeln!(out);
    let _ = writeln!(out, "Latency distribution:");
    if tally.calls == 0 {
        let _ = writeln!(out, "  no call finished");
    } else {
        for (label, quantile) in [("p50", 0.5), ("p90", 0.9), ("p99", 0.99), ("p99.9", 0.999)] {
            let at = tally.latency.value_at_quantile(quantile);
            let _ = writeln!(out, "  {label:<6} {}", human(Duration::from_nanos(at)));
        }
        let _ = writeln!(
            out,
            "  {:<6} {}",
            "max",
            human(Duration::from_nanos(tally.latency.max()))
        );
    }
    if errors > 0 {
        let _ = writeln!(out);
        let _ = writeln!(out, "Errors by kind:");
        for (kind, n) in &tally.errors {
            let _ = writeln!(out, "  {n:>8}  {kind}");
        }
    }
    out
}

/// `85.2 µs`, `1.20 ms`, `2.01 s`: three significant digits, a readable unit.
pub fn human(d: Duration) -> String {
    let ns = d.as_nanos() as f64;
    let (value, unit) = if ns < 1e3 {
        (ns, "ns")
    } else if ns < 1e6 {
        (ns / 1e3, "µs")
    } else if ns < 1e9 {
        (ns / 1e6, "ms")
    } else {
        (ns / 1e9, "s")
    };
    let decimals = if value >= 100.0 {
        0
    } else if value >= 10.0 {
        1
    } else {
        2
    };
    format!("{value:.decimals$} {unit}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn durations_read_with_three_digits() {
        assert_eq!(human(Duration::from_nanos(850)), "850 ns");
        assert_eq!(human(Duration::from_nanos(85_230)), "85.2 µs");
        assert_eq!(human(Duration::from_micros(1_204)), "1.20 ms");
        assert_eq!(human(Duration::from_millis(10_020)), "10.0 s");
    }

    #[test]
    fn the_summary_names_rate_percentiles_errors_and_plugin() {
        let mut latency = hdrhistogram::Histogram::<u64>::new(3).unwrap();
        for us in 1..=1000u64 {
            latency.record(us * 1000).unwrap();
        }
        let tally = Tally {
            calls: 1000,
            errors: BTreeMap::from([("timeout".to_string(), 3)]),
            latency,
            elapsed: Duration::from_secs(2),
        };
        let setup = Setup {
            method: "Calculator.add",
            concurrency: 8,
            plugin: "calc",
            pid: 42,
            language: "rust",
            runtime: "goproc 0.1.0",
        };
        let text = summary(&setup, &tally);
        assert!(text.contains("  Calls/s:      500.0\n"), "{text}");
        assert!(
            text.contains("  Plugin:       calc (pid 42, rust, goproc 0.1.0)\n"),
            "{text}"
        );
        assert!(text.contains("  p50    500 µs\n"), "{text}");
        assert!(text.contains("  p99.9  999 µs\n"), "{text}");
        assert!(text.contains("  max    1.00 ms\n"), "{text}");
        assert!(text.contains("         3  timeout\n"), "{text}");
    }
}
