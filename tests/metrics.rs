//! Call metrics and spans: exact counts by outcome for a plugin's calls,
//! a pool's instances merged and its restarts counted, and the
//! `goproc.call` span each call runs in.

#[path = "../examples/calculator/contract.rs"]
mod calculator;
mod lifecycle_support;
#[path = "contracts/streams.rs"]
mod streams;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use calculator::{CalculatorClient, MathError};
use futures::StreamExt;
use goproc::{Error, MethodMetrics, Plugin, PluginMetrics, Pool, RestartPolicy};
use lifecycle_support::lifecycle::LifecycleClient;
use lifecycle_support::{pids, sigkill, wait_until};
use streams::StreamsClient;

fn builder() -> goproc::PluginBuilder {
    spans();
    Plugin::builder(env!("CARGO_BIN_EXE_test-plugin"))
        .arg("calculator-lifecycle")
        .name("metrics-probe")
        .contract::<CalculatorClient>()
        .contract::<LifecycleClient>()
        .start_timeout(Duration::from_secs(20))
}

async fn start() -> Plugin {
    builder().spawn().await.expect("the test plugin starts")
}

fn method<'a>(methods: &'a [MethodMetrics], contract: &str, name: &str) -> &'a MethodMetrics {
    methods
        .iter()
        .find(|m| m.contract == contract && m.method == name)
        .unwrap_or_else(|| panic!("no metrics for {contract}.{name} in {methods:#?}"))
}

/// The percentiles of a method that was called are ordered and non-zero.
fn assert_latency_ordered(m: &MethodMetrics) {
    let l = &m.latency;
    assert!(
        Duration::ZERO < l.p50 && l.p50 <= l.p90 && l.p90 <= l.p99 && l.p99 <= l.p999,
        "{}.{} percentiles out of order: {l:?}",
        m.contract,
        m.method
    );
    assert!(
        l.p999 <= l.max && l.mean > Duration::ZERO && l.mean <= l.max,
        "{l:?}"
    );
}

#[tokio::test]
async fn every_outcome_of_a_plugins_calls_is_counted_exactly() {
    let plugin = start().await;
    let calc: CalculatorClient = plugin.client().expect("calculator client");
    let life: LifecycleClient = plugin.client().expect("lifecycle client");

    for i in 0..20 {
        assert_eq!(calc.add(i, 1).await.expect("add"), i + 1);
    }
    for _ in 0..5 {
        let answer = calc.divide(1, 0).await.expect("the call itself succeeds");
        assert_eq!(answer, Err(MathError::DivisionByZero));
    }
    for _ in 0..3 {
        assert_eq!(calc.divide(6, 3).await.expect("divide"), Ok(2));
    }
    let short = life.with_timeout(Duration::from_millis(50));
    for _ in 0..3 {
        let err = short.sleep(5_000).await.expect_err("past its deadline");
        assert!(matches!(err, Error::Timeout { .. }), "{err}");
    }
    for _ in 0..2 {
        let err = life
            .fail("on purpose".into())
            .await
            .expect_err("the handler panics");
        assert!(matches!(err, Error::Remote { .. }), "{err}");
    }
    // The caller stops waiting: the call's future is dropped.
    let dropped = tokio::time::timeout(Duration::from_millis(50), life.sleep(5_000)).await;
    assert!(dropped.is_err(), "the outer timeout drops the call");

    // A call in flight is counted so until it ends.
    let slow = tokio::spawn({
        let life = life.clone();
        async move { life.sleep(300).await }
    });
    wait_until("the slow call is counted in flight", || {
        plugin.metrics().in_flight == 1
    })
    .await;
    let m = plugin.metrics();
    assert_eq!(method(&m.methods, "Lifecycle", "sleep").in_flight, 1);
    assert_eq!(slow.await.expect("task").expect("sleep"), 300);

    let m = plugin.metrics();
    assert_eq!((m.plugin.as_str(), m.pid), ("metrics-probe", plugin.pid()));
    assert_eq!(m.in_flight, 0, "{m:#?}");
    assert_eq!(m.calls, 20 + 5 + 3 + 3 + 2 + 1 + 1);
    assert_eq!(m.errors.domain, 5);
    assert_eq!(m.errors.timeout, 3);
    assert_eq!(m.errors.remote, 2);
    assert_eq!(m.errors.cancelled, 1);
    assert_eq!((m.errors.connection, m.errors.other), (0, 0));
    assert_eq!(m.errors.total(), 11);
    assert_eq!(m.restarts, 0);
    // Every method of both contracts is listed, called or not.
    assert_eq!(m.methods.len(), 4 + 8, "{:#?}", m.methods);

    let add = method(&m.methods, "Calculator", "add");
    assert_eq!((add.calls, add.errors.total()), (20, 0));
    assert_latency_ordered(add);
    let divide = method(&m.methods, "Calculator", "divide");
    assert_eq!(
        (divide.calls, divide.errors.domain, divide.errors.total()),
        (8, 5, 5)
    );
    assert_latency_ordered(divide);
    let sleep = method(&m.methods, "Lifecycle", "sleep");
    assert_eq!(sleep.calls, 5);
    assert_eq!((sleep.errors.timeout, sleep.errors.cancelled), (3, 1));
    assert_latency_ordered(sleep);
    // The timed-out calls waited their 50 ms; the one that finished, 300.
    assert!(
        sleep.latency.p50 >= Duration::from_millis(49),
        "{:?}",
        sleep.latency
    );
    assert!(
        sleep.latency.max >= Duration::from_millis(300),
        "{:?}",
        sleep.latency
    );
    let fail = method(&m.methods, "Lifecycle", "fail");
    assert_eq!((fail.calls, fail.errors.remote), (2, 2));
    let sum = method(&m.methods, "Calculator", "sum");
    assert_eq!((sum.calls, sum.latency.p99), (0, Duration::ZERO));

    // A plugin that is gone fails the calls made to it: connection errors.
    plugin.kill();
    let _ = plugin.exited().await;
    let err = calc.add(1, 2).await.expect_err("the plugin was killed");
    assert!(
        matches!(err, Error::PluginExited { .. } | Error::Closed { .. }),
        "{err}"
    );
    let m = plugin.metrics();
    assert_eq!((m.errors.connection, m.calls, m.in_flight), (1, 36, 0));
}

#[tokio::test]
async fn a_stream_call_counts_from_its_start_to_the_end_of_its_stream() {
    let plugin = Plugin::builder(env!("CARGO_BIN_EXE_test-plugin"))
        .arg("streams")
        .contract::<StreamsClient>()
        .start_timeout(Duration::from_secs(20))
        .spawn()
        .await
        .expect("the streams plugin starts");
    let client: StreamsClient = plugin.client().expect("client");

    let counted: Vec<u64> = client
        .count(0, 10)
        .map(|n| n.expect("item"))
        .collect()
        .await;
    assert_eq!(counted.len(), 10);
    let items: Vec<Result<u32, Error>> = client.fail_after(3).collect().await;
    assert!(
        matches!(items.last(), Some(Err(Error::Remote { .. }))),
        "{items:?}"
    );
    // Dropped while items keep coming: the caller cancelled it.
    let dir = tempfile::tempdir().expect("a scratch folder");
    let marker = dir.path().join("stopped").display().to_string();
    let mut forever = client.forever(marker);
    forever.next().await.expect("an item").expect("no failure");
    let m = plugin.metrics();
    assert_eq!(method(&m.methods, "Streams", "forever").in_flight, 1);
    drop(forever);
    let chunks = (0..4).map(|i| vec![i as u8; 1_000]);
    let summary = client
        .upload(goproc::Stream::iter(chunks))
        .await
        .expect("upload");
    assert_eq!(summary.chunks, 4);

    let m = plugin.metrics();
    assert_eq!((m.calls, m.in_flight), (4, 0), "{m:#?}");
    assert_eq!(
        (m.errors.remote, m.errors.cancelled, m.errors.total()),
        (1, 1, 2)
    );
    let count = method(&m.methods, "Streams", "count");
    assert_eq!((count.calls, count.errors.total()), (1, 0));
    assert_latency_ordered(count);
    assert_eq!(method(&m.methods, "Streams", "fail_after").errors.remote, 1);
    assert_eq!(method(&m.methods, "Streams", "forever").errors.cancelled, 1);
    assert_eq!(method(&m.methods, "Streams", "upload").calls, 1);
}

#[tokio::test]
async fn a_snapshot_serializes_to_json_with_durations_in_nanoseconds() {
    let plugin = start().await;
    let calc: CalculatorClient = plugin.client().expect("client");
    calc.add(1, 2).await.expect("add");
    let json = serde_json::to_value(plugin.metrics()).expect("metrics serialize");
    assert_eq!(json["plugin"], "metrics-probe");
    assert_eq!(json["calls"], 1);
    let add = &json["methods"][0];
    assert_eq!(
        (&add["contract"], &add["method"]),
        (&"Calculator".into(), &"add".into())
    );
    let p50 = add["latency"]["p50_ns"]
        .as_u64()
        .expect("p50 in nanoseconds");
    assert!(p50 > 0, "{json}");
    assert_eq!(add["errors"]["domain"], 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pools_metrics_merge_its_instances_and_count_a_restart() {
    let pool = Pool::builder(builder())
        .size(2)
        .restart(RestartPolicy {
            initial_backoff: Duration::from_millis(10),
            ..RestartPolicy::default()
        })
        .start()
        .await
        .expect("pool starts");
    let life: LifecycleClient = pool.client().expect("client");
    // Concurrent calls, so that both instances take some.
    let calls = (0..40).map(|i| {
        let life = life.clone();
        async move { life.sleep(20 + i % 3).await }
    });
    for answer in futures::future::join_all(calls).await {
        answer.expect("sleep");
    }
    let m = pool.metrics();
    assert_eq!(
        (m.plugin.as_str(), m.calls, m.in_flight),
        ("metrics-probe", 40, 0)
    );
    assert_eq!(m.instances.len(), 2);
    let per_instance: Vec<u64> = m.instances.iter().map(|i| i.calls).collect();
    assert_eq!(per_instance.iter().sum::<u64>(), 40);
    assert!(
        per_instance.iter().all(|&n| n > 0),
        "both instances served: {per_instance:?}"
    );
    let mut live = pids(&pool);
    live.sort_unstable();
    let mut reported: Vec<u32> = m.instances.iter().map(|i| i.pid).collect();
    reported.sort_unstable();
    assert_eq!(reported, live);
    // The totals merge the instances' histograms.
    let merged = method(&m.methods, "Lifecycle", "sleep");
    assert_eq!(merged.calls, 40);
    let maxes = m
        .instances
        .iter()
        .map(|i| method(&i.methods, "Lifecycle", "sleep").latency.max);
    assert_eq!(merged.latency.max, maxes.max().expect("two instances"));
    assert_latency_ordered(merged);
    assert!(
        merged.latency.p50 >= Duration::from_millis(19),
        "{:?}",
        merged.latency
    );

    // Kill the first instance; it is replaced, and its counts carry over.
    let victim = pool.instances()[0].pid.expect("running");
    let before = m.instances[0].calls;
    sigkill(victim);
    wait_until("the killed instance is replaced", || {
        pool.restarts() == 1 && pool.instances()[0].pid.is_some_and(|pid| pid != victim)
    })
    .await;
    for _ in 0..10 {
        life.add(1, 1).await.expect("add after the restart");
    }
    let m = pool.metrics();
    assert_eq!(m.restarts, 1);
    let restarted: &PluginMetrics = &m.instances[0];
    assert_eq!(restarted.restarts, 1);
    assert_eq!(restarted.pid, pool.instances()[0].pid.expect("running"));
    assert_ne!(restarted.pid, victim);
    assert!(restarted.calls >= before, "{} < {before}", restarted.calls);
    assert_eq!(m.instances[1].restarts, 0);
    assert_eq!((m.calls, m.in_flight), (50, 0));
    assert_eq!(method(&m.methods, "Lifecycle", "add").calls, 10);

    // A call that reaches no instance counts in the totals only.
    pool.shutdown(Duration::from_secs(5)).await;
    let err = life.add(1, 1).await.expect_err("the pool is shut down");
    assert!(matches!(err, Error::Closed { .. }), "{err}");
    let m = pool.metrics();
    assert_eq!((m.calls, m.errors.connection, m.in_flight), (51, 1, 0));
    assert_eq!(m.instances.iter().map(|i| i.calls).sum::<u64>(), 50);
    assert_eq!(method(&m.methods, "Lifecycle", "add").calls, 11);
}

/// The fields of each `goproc.call` span, as recorded when it closed.
#[derive(Clone, Default)]
struct Spans(Arc<Mutex<SpanLog>>);

/// The spans of every test in this process. Installed once, globally,
/// before any test calls: a subscriber set per thread races with the
/// other tests' threads over `tracing`'s process-wide cache of which
/// callsites are wanted, and could miss the spans.
fn spans() -> &'static Spans {
    static SPANS: OnceLock<Spans> = OnceLock::new();
    SPANS.get_or_init(|| {
        use tracing_subscriber::layer::SubscriberExt;
        let spans = Spans::default();
        tracing::subscriber::set_global_default(tracing_subscriber::registry().with(spans.clone()))
            .expect("no other global subscriber in this test process");
        spans
    })
}

#[derive(Default)]
struct SpanLog {
    open: HashMap<tracing::span::Id, HashMap<String, String>>,
    closed: Vec<HashMap<String, String>>,
}

struct Fields<'a>(&'a mut HashMap<String, String>);

impl tracing::field::Visit for Fields<'_> {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        self.0
            .insert(field.name().to_string(), format!("{value:?}"));
    }
    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        self.0.insert(field.name().to_string(), value.to_string());
    }
}

impl<S> tracing_subscriber::Layer<S> for Spans
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    fn on_new_span(
        &self,
        attrs: &tracing::span::Attributes<'_>,
        id: &tracing::span::Id,
        _: tracing_subscriber::layer::Context<'_, S>,
    ) {
        if attrs.metadata().name() != "goproc.call" {
            return;
        }
        let mut fields = HashMap::from([("level".into(), attrs.metadata().level().to_string())]);
        attrs.record(&mut Fields(&mut fields));
        self.0
            .lock()
            .expect("span log")
            .open
            .insert(id.clone(), fields);
    }

    fn on_record(
        &self,
        id: &tracing::span::Id,
        values: &tracing::span::Record<'_>,
        _: tracing_subscriber::layer::Context<'_, S>,
    ) {
        if let Some(fields) = self.0.lock().expect("span log").open.get_mut(id) {
            values.record(&mut Fields(fields));
        }
    }

    fn on_close(&self, id: tracing::span::Id, _: tracing_subscriber::layer::Context<'_, S>) {
        let mut log = self.0.lock().expect("span log");
        if let Some(fields) = log.open.remove(&id) {
            log.closed.push(fields);
        }
    }
}

#[tokio::test]
async fn each_call_runs_in_a_goproc_call_span_that_records_its_outcome() {
    let plugin = start().await;
    let calc: CalculatorClient = plugin.client().expect("calculator client");
    let life: LifecycleClient = plugin.client().expect("lifecycle client");
    calc.add(2, 3).await.expect("add");
    let _ = calc.divide(1, 0).await.expect("the call succeeds");
    let _ = life
        .with_timeout(Duration::from_millis(30))
        .sleep(5_000)
        .await
        .expect_err("times out");
    let _ = life.fail("on purpose".into()).await.expect_err("panics");

    let pid = plugin.pid().to_string();
    // This test's spans: those of its plugin.
    let closed: Vec<HashMap<String, String>> = (spans().0.lock().expect("span log").closed)
        .iter()
        .filter(|f| f.get("pid") == Some(&pid))
        .cloned()
        .collect();
    let seen: Vec<(String, String, String)> = closed
        .iter()
        .map(|f| {
            let field = |name: &str| {
                f.get(name)
                    .unwrap_or_else(|| panic!("span without `{name}`: {f:?}"))
                    .clone()
            };
            assert_eq!(field("level"), "DEBUG", "{f:?}");
            assert_eq!(field("plugin"), "metrics-probe", "{f:?}");
            assert_eq!(field("pid"), pid, "{f:?}");
            field("duration_us")
                .parse::<u64>()
                .expect("duration_us is a number");
            (field("contract"), field("method"), field("outcome"))
        })
        .collect();
    let expected = [
        ("Calculator", "add", "ok"),
        ("Calculator", "divide", "domain_error"),
        ("Lifecycle", "sleep", "timeout"),
        ("Lifecycle", "fail", "remote_error"),
    ]
    .map(|(c, m, o)| (c.to_string(), m.to_string(), o.to_string()));
    assert_eq!(seen, expected);
    let timed_out = &closed[2]["duration_us"];
    assert!(
        timed_out.parse::<u64>().expect("number") >= 29_000,
        "{timed_out}"
    );
}

#[tokio::test]
async fn calls_by_name_with_json_are_counted_and_spanned_with_the_typed_calls() {
    use serde_json::json;
    let plugin = start().await;
    let pid = plugin.pid().to_string();

    // By name first: the contract's counters are made for the JSON call,
    // then shared with the typed client made after it.
    let fail = plugin
        .call_json("Lifecycle.fail", json!(["on purpose"]))
        .await
        .expect_err("the handler panics");
    assert!(matches!(fail, Error::Remote { .. }), "{fail}");
    let late = plugin
        .prepare_json("Lifecycle.sleep", json!([5_000]))
        .expect("prepared")
        .with_timeout(Some(Duration::from_millis(30)))
        .call()
        .await
        .expect_err("past its deadline");
    assert!(matches!(late, Error::Timeout { .. }), "{late}");
    let life: LifecycleClient = plugin.client().expect("lifecycle client");
    assert_eq!(life.add(1, 2).await.expect("add"), 3);

    // Typed first: the JSON calls count in the typed client's counters.
    let calc: CalculatorClient = plugin.client().expect("calculator client");
    assert_eq!(calc.add(1, 1).await.expect("add"), 2);
    let answer = calc.divide(1, 0).await.expect("the call succeeds");
    assert_eq!(answer, Err(MathError::DivisionByZero));
    for _ in 0..2 {
        let sum = plugin.call_json("Calculator.add", json!([40, 2])).await;
        assert_eq!(sum.expect("add by name"), json!(42));
    }
    let err = plugin
        .call_json("Calculator.divide", json!([1, 0]))
        .await
        .expect_err("a domain error");
    assert!(matches!(err, Error::Domain { .. }), "{err}");
    let raw = plugin
        .prepare_json("Calculator.add", json!([1, 2]))
        .expect("prepared")
        .call_raw()
        .await
        .expect("add by name, raw");
    assert!(!raw.is_empty());

    let m = plugin.metrics();
    assert_eq!((m.calls, m.in_flight), (3 + 4 + 2, 0), "{m:#?}");
    assert_eq!(
        (m.errors.domain, m.errors.remote, m.errors.timeout),
        (2, 1, 1)
    );
    assert_eq!(m.errors.total(), 4);
    // One entry per method: both ways of calling share the counters.
    assert_eq!(m.methods.len(), 4 + 8, "{:#?}", m.methods);
    let add = method(&m.methods, "Calculator", "add");
    assert_eq!((add.calls, add.errors.total()), (4, 0));
    assert_latency_ordered(add);
    let divide = method(&m.methods, "Calculator", "divide");
    assert_eq!((divide.calls, divide.errors.domain), (2, 2));
    let fail = method(&m.methods, "Lifecycle", "fail");
    assert_eq!((fail.calls, fail.errors.remote), (1, 1));
    let sleep = method(&m.methods, "Lifecycle", "sleep");
    assert_eq!((sleep.calls, sleep.errors.timeout), (1, 1));
    assert_eq!(method(&m.methods, "Lifecycle", "add").calls, 1);

    // This test's spans: those of its plugin, in the order the calls ended.
    let seen: Vec<(String, String, String)> = (spans().0.lock().expect("span log").closed)
        .iter()
        .filter(|f| f.get("pid") == Some(&pid))
        .map(|f| {
            assert_eq!(f.get("plugin").map(String::as_str), Some("metrics-probe"));
            let field = |name: &str| f.get(name).cloned().unwrap_or_default();
            (field("contract"), field("method"), field("outcome"))
        })
        .collect();
    let expected = [
        ("Lifecycle", "fail", "remote_error"),
        ("Lifecycle", "sleep", "timeout"),
        ("Lifecycle", "add", "ok"),
        ("Calculator", "add", "ok"),
        ("Calculator", "divide", "domain_error"),
        ("Calculator", "add", "ok"),
        ("Calculator", "add", "ok"),
        ("Calculator", "divide", "domain_error"),
        ("Calculator", "add", "ok"),
    ]
    .map(|(c, m, o)| (c.to_string(), m.to_string(), o.to_string()));
    assert_eq!(seen, expected);
}
