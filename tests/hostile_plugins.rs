//! A plugin that freezes, floods or never reads costs its host a bounded
//! amount of memory, never delays a deadline, and does not slow the host's
//! other plugins (docs/WIRE.md, "Backpressure"). Each scenario runs in a
//! host process of its own (`test-scenario`, tests/plugins/test_scenario.rs)
//! so its memory is measured alone, one scenario at a time so that no two
//! compete for the two cores.

use std::collections::HashMap;
use std::sync::Mutex;

/// The most the host may grow: its two outbox budgets (1 MiB each), read
/// buffers and allocator slack. Without the budgets a frozen plugin grew
/// the host by hundreds of MiB in seconds.
const MEMORY_BOUND_KIB: u64 = 24 * 1024;
/// How late a call that failed may return after its deadline.
const DEADLINE_SLACK_MS: u64 = 50;
/// The slowest a call to the well-behaved plugin may be meanwhile.
const BYSTANDER_MS: u64 = 250;

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// Runs `test-scenario NAME` and parses its `key=value` line.
fn scenario(name: &str) -> HashMap<String, u64> {
    let _alone = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_test-scenario"))
        .arg(name)
        .env("TEST_PLUGIN", env!("CARGO_BIN_EXE_test-plugin"))
        .output()
        .expect("running test-scenario");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "test-scenario {name}: {}\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let line = stdout.lines().last().unwrap_or_default();
    eprintln!("{name}: {line}");
    line.split_whitespace()
        .filter_map(|kv| {
            let (k, v) = kv.split_once('=')?;
            Some((k.to_string(), v.parse().ok()?))
        })
        .collect()
}

fn check_bounds(name: &str, r: &HashMap<String, u64>) {
    assert!(
        r["rss_growth_kib"] < MEMORY_BOUND_KIB,
        "{name}: the host grew by {} KiB",
        r["rss_growth_kib"]
    );
    assert!(
        r["overshoot_ms"] < DEADLINE_SLACK_MS,
        "{name}: a call returned {} ms after its deadline",
        r["overshoot_ms"]
    );
    assert!(
        r["bystander_max_ms"] < BYSTANDER_MS,
        "{name}: the other plugin took {} ms to answer",
        r["bystander_max_ms"]
    );
    assert!(r["calls"] > 0, "{name}: no call was made");
}

/// Nothing answers a peer that does not read: every call times out.
fn check_all_timed_out(name: &str, r: &HashMap<String, u64>) {
    assert_eq!(r["timeouts"], r["calls"], "{name}: {r:?}");
}

#[test]
fn a_frozen_plugin_costs_bounded_memory_and_answers_at_once_when_resumed() {
    let r = scenario("frozen");
    check_bounds("frozen", &r);
    check_all_timed_out("frozen", &r);
    // The abandoned requests were withdrawn, not left queued before it.
    assert!(r["resumed_ms"] < 200, "first call after SIGCONT: {r:?}");
}

#[test]
fn a_frozen_pool_instance_costs_bounded_memory_and_answers_at_once_when_resumed() {
    let r = scenario("frozen-pool");
    check_bounds("frozen-pool", &r);
    check_all_timed_out("frozen-pool", &r);
    assert!(r["resumed_ms"] < 200, "first call after SIGCONT: {r:?}");
}

#[test]
fn a_plugin_flooding_requests_and_never_reading_costs_bounded_memory() {
    let r = scenario("flood-requests");
    check_bounds("flood-requests", &r);
    check_all_timed_out("flood-requests", &r);
}

#[test]
fn a_plugin_flooding_pings_and_never_reading_costs_bounded_memory() {
    let r = scenario("flood-pings");
    check_bounds("flood-pings", &r);
    check_all_timed_out("flood-pings", &r);
}

#[test]
fn a_plugin_flooding_answers_to_calls_never_made_keeps_deadlines() {
    let r = scenario("flood-answers");
    check_bounds("flood-answers", &r);
    check_all_timed_out("flood-answers", &r);
}

#[test]
fn a_plugin_that_never_reads_costs_bounded_memory() {
    let r = scenario("never-reads");
    check_bounds("never-reads", &r);
    check_all_timed_out("never-reads", &r);
}

#[test]
fn a_2_mb_answer_costs_the_host_its_decoded_value_and_its_bytes_no_more() {
    // 2,097,152 i64 zeros: the request's 2 MB frame, the answer's 2 MB body
    // and the 16 MiB vector it decodes to are 20 MiB; decoding adds no
    // copies on top (bincode's decoder refused it, or peaked at 55 MiB).
    let r = scenario("big-answer");
    assert!(
        r["call_peak_kib"] < 24 * 1024,
        "the call raised the host's peak by {} KiB",
        r["call_peak_kib"]
    );
}
