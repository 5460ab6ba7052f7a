//! Plugin lifecycle with TypeScript plugins, under a Rust host: the same
//! rules as tests/lifecycle.rs and tests/pool.rs hold for the Rust plugin.
//! Deadlines and cancellation reach the handler's abort signal, graceful
//! shutdown, no orphans when the host is SIGKILLed, an uncaught exception is
//! one error event, and a pool of TypeScript instances survives a SIGKILL.

mod common;
#[path = "contracts/lifecycle.rs"]
mod lifecycle;

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use goproc::{Error, Plugin, Pool, RemoteCode};
use lifecycle::LifecycleClient;

/// `tests/typescript/lifecycle_plugin.ts` with stubs generated from
/// `tests/contracts/lifecycle.rs`, compiled with the pinned `tsc --strict`.
fn plugin_js() -> PathBuf {
    common::node::build(
        "lifecycle",
        &["tests/contracts/lifecycle.rs"],
        &["lifecycle_plugin.ts"],
    )
    .join("lifecycle_plugin.js")
}

fn builder() -> goproc::PluginBuilder {
    Plugin::builder(common::node::node())
        .arg(plugin_js())
        .name("ts-lifecycle")
        .contract::<LifecycleClient>()
        .start_timeout(Duration::from_secs(30))
}

async fn start() -> (Plugin, LifecycleClient) {
    let plugin = builder()
        .spawn()
        .await
        .expect("starting the TypeScript lifecycle plugin");
    assert_eq!(plugin.language(), "typescript");
    let client = plugin.client().expect("serves Lifecycle");
    (plugin, client)
}

/// Polls `cancelled()` until it returns `want` or two seconds pass.
async fn eventually(client: &LifecycleClient, want: u64) -> u64 {
    let until = Instant::now() + Duration::from_secs(2);
    loop {
        let got = client.cancelled().await.expect("cancelled()");
        if got == want || Instant::now() > until {
            return got;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn running(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| !s.contains(") Z "))
}

fn sigkill(pid: u32) {
    let _ = std::process::Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status();
}

async fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let until = Instant::now() + Duration::from_secs(10);
    while !done() {
        assert!(Instant::now() < until, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn a_call_past_its_deadline_times_out_at_the_host_and_the_handler_sees_the_abort() {
    let (_plugin, client) = start().await;
    let started = Instant::now();
    let err = client
        .with_timeout(Duration::from_millis(300))
        .sleep(10_000)
        .await
        .expect_err("the deadline passes first");
    let took = started.elapsed();
    assert!(
        matches!(&err, Error::Timeout { method, after } if method == "Lifecycle.sleep" && *after == Duration::from_millis(300)),
        "{err}"
    );
    assert!(took < Duration::from_secs(3), "{took:?}");
    assert_eq!(
        eventually(&client, 1).await,
        1,
        "the handler's signal was aborted"
    );
}

#[tokio::test]
async fn the_handler_sees_the_deadline_its_call_carries() {
    let (_plugin, client) = start().await;
    let left = client
        .with_timeout(Duration::from_secs(10))
        .deadline_ms()
        .await
        .expect("answered")
        .expect("the call carried a deadline");
    assert!((9_000..=10_000).contains(&left), "{left} ms left");
    assert_eq!(client.deadline_ms().await.expect("answered"), None);
    // Longer than a Node timer can hold (2^31-1 ms): the handler still sees it.
    let month = 30 * 24 * 3600 * 1000;
    let left = client
        .with_timeout(Duration::from_millis(month))
        .deadline_ms()
        .await
        .expect("answered")
        .expect("the call carried a deadline");
    assert!((month - 10_000..=month).contains(&left), "{left} ms left");
}

#[tokio::test]
async fn dropping_a_call_future_cancels_the_handler_and_a_late_answer_is_dropped_quietly() {
    let (plugin, client) = start().await;
    let abandoned = tokio::time::timeout(Duration::from_millis(100), client.sleep(5_000)).await;
    assert!(abandoned.is_err(), "the caller gave up");
    assert_eq!(eventually(&client, 1).await, 1);
    // Several at once: each one's signal is aborted.
    let many = futures::future::join_all((0..5).map(|_| client.sleep(5_000)));
    assert!(tokio::time::timeout(Duration::from_millis(200), many)
        .await
        .is_err());
    assert_eq!(eventually(&client, 6).await, 6);
    // A call cancelled too late to stop: its answer arrives and is ignored.
    let quick = tokio::time::timeout(Duration::from_millis(30), client.sleep(50)).await;
    assert!(quick.is_err());
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(client.add(2, 2).await.expect("still fine"), 4);
    assert!(!plugin.has_exited());
}

#[tokio::test]
async fn a_thrown_error_is_handler_failed_and_the_plugin_keeps_serving() {
    let (plugin, client) = start().await;
    let err = client
        .fail("kaboom".into())
        .await
        .expect_err("the handler throws");
    assert!(
        matches!(&err, Error::Remote { code: RemoteCode::HandlerFailed, message, detail, .. }
            if message.contains("Error: kaboom") && detail.contains("lifecycle_plugin.js")),
        "{err:?}"
    );
    assert_eq!(client.add(i64::MAX, 1).await.expect("add"), i64::MIN);
    assert_eq!(client.pid().await.expect("pid"), plugin.pid());
}

#[tokio::test]
async fn an_error_message_that_is_not_valid_unicode_still_reaches_the_host() {
    let (plugin, client) = start().await;
    let err = client
        .fail("lone-surrogate".into())
        .await
        .expect_err("the handler throws");
    assert!(
        matches!(&err, Error::Remote { code: RemoteCode::HandlerFailed, message, .. }
            if message.contains("RangeError: half of an emoji: \u{fffd}, then the rest")),
        "{err:?}"
    );
    assert_eq!(client.add(1, 1).await.expect("still serving"), 2);
    assert!(!plugin.has_exited());
}

#[tokio::test]
async fn an_error_too_long_for_a_frame_is_cut_short_and_still_reaches_the_host() {
    let plugin = builder()
        .max_frame(64 * 1024)
        .spawn()
        .await
        .expect("starting the plugin");
    let client: LifecycleClient = plugin.client().expect("client");
    // The message and the stack that repeats it do not fit in 64 KiB
    // together; the cut falls in the middle of an emoji.
    let prefix = "the handler raised Error: ".len();
    let message = format!("{}😀{}", "x".repeat(4095 - prefix), "y".repeat(40_000));
    let err = client.fail(message).await.expect_err("the handler throws");
    match &err {
        Error::Remote {
            code: RemoteCode::HandlerFailed,
            message,
            ..
        } => {
            assert!(
                message.starts_with("the handler raised Error: xxx"),
                "{message:.80}"
            );
            assert!(
                message.len() < 8 * 1024,
                "cut short: {} bytes",
                message.len()
            );
        }
        other => panic!(
            "expected HandlerFailed, got {}",
            other.to_string().chars().take(300).collect::<String>()
        ),
    }
    assert_eq!(client.add(1, 1).await.expect("still serving"), 2);
    assert!(!plugin.has_exited());
}

#[tokio::test]
async fn graceful_shutdown_lets_calls_in_flight_finish_and_refuses_new_ones() {
    let (plugin, client) = start().await;
    let in_flight: Vec<_> = (0..3)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move { client.sleep(400).await })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let stopping = tokio::spawn({
        let plugin = plugin.clone();
        async move { plugin.shutdown(Duration::from_secs(10)).await }
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    let refused = client.add(1, 1).await.expect_err("no new calls");
    assert!(
        matches!(&refused, Error::Closed { reason, .. } if reason.contains("shutting down")),
        "{refused}"
    );
    for call in in_flight {
        assert_eq!(call.await.expect("task").expect("finished"), 400);
    }
    let ended = tokio::time::timeout(Duration::from_secs(5), stopping)
        .await
        .expect("the plugin exits by itself")
        .expect("task");
    assert!(
        matches!(&ended, Error::PluginExited { status, .. } if status == "exit status: 0"),
        "{ended}"
    );
}

#[tokio::test]
async fn graceful_shutdown_kills_a_plugin_that_outlives_the_grace_period() {
    let (plugin, client) = start().await;
    // A frozen process answers nothing, not even the shutdown.
    let slow = tokio::spawn({
        let client = client.clone();
        async move { client.sleep(30_000).await }
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let _ = client
        .with_timeout(Duration::from_millis(300))
        .freeze()
        .await;
    let started = Instant::now();
    let ended = plugin.shutdown(Duration::from_millis(300)).await;
    assert!(started.elapsed() < Duration::from_secs(3));
    assert!(
        matches!(&ended, Error::PluginExited { status, .. } if status.contains("signal: 9")),
        "{ended}"
    );
    let err = slow.await.expect("task").expect_err("killed");
    assert!(matches!(err, Error::PluginExited { .. }), "{err}");
}

#[test]
fn when_the_host_is_sigkilled_its_typescript_plugins_exit_within_a_second() {
    let node = common::node::node();
    let js = plugin_js();
    let (node, js) = (node.to_str().expect("utf-8"), js.to_str().expect("utf-8"));
    let mut host = std::process::Command::new(env!("CARGO_BIN_EXE_test-host"))
        .args([node, js, "--", node, js])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("starting the test host");
    let mut line = String::new();
    BufReader::new(host.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("the host prints its plugins' pids");
    let pids: Vec<u32> = line
        .trim()
        .strip_prefix("pids ")
        .unwrap_or_else(|| panic!("a pids line, got {line:?}"))
        .split(' ')
        .map(|p| p.parse().expect("a pid"))
        .collect();
    assert_eq!(pids.len(), 2);
    assert!(pids.iter().all(|p| running(*p)), "the plugins run");
    host.kill().expect("SIGKILL the host");
    let killed = Instant::now();
    host.wait().expect("reap the host");
    while pids.iter().any(|p| running(*p)) && killed.elapsed() < Duration::from_secs(1) {
        std::thread::sleep(Duration::from_millis(10));
    }
    let left: Vec<_> = pids.iter().filter(|p| running(**p)).collect();
    for pid in &left {
        sigkill(**pid);
    }
    assert!(
        left.is_empty(),
        "TypeScript plugins {left:?} outlived their host by a second"
    );
}

/// Records `goproc::plugin` events: (level, message).
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<(tracing::Level, String)>>>);

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Captured {
    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        struct Message(String);
        impl tracing::field::Visit for Message {
            fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
                if field.name() == "message" {
                    self.0 = format!("{value:?}");
                }
            }
        }
        if event.metadata().target() == "goproc::plugin" {
            let mut message = Message(String::new());
            event.record(&mut message);
            self.0
                .lock()
                .expect("capture lock")
                .push((*event.metadata().level(), message.0));
        }
    }
}

#[tokio::test]
async fn an_uncaught_exception_is_one_error_event_and_the_exit_error_carries_stderr() {
    use tracing_subscriber::layer::SubscriberExt;
    let captured = Captured::default();
    let _guard =
        tracing::subscriber::set_default(tracing_subscriber::registry().with(captured.clone()));
    let (plugin, client) = start().await;
    client
        .log(vec!["[ERROR] disk on fire".into(), "no level here".into()])
        .await
        .expect("log");
    let err = client
        .fail("uncaught".into())
        .await
        .expect_err("the plugin dies before it answers");
    assert!(
        matches!(&err, Error::PluginExited { status, .. } if status == "exit status: 1"),
        "{err}"
    );
    let exited = tokio::time::timeout(Duration::from_secs(5), plugin.exited())
        .await
        .expect("the plugin has exited");
    match &exited {
        Error::PluginExited { stderr, status, .. } => {
            assert_eq!(status, "exit status: 1");
            assert!(
                stderr
                    .iter()
                    .any(|l| l.contains("Error: uncaught: the plugin crashed outside any handler")),
                "{stderr:?}"
            );
            assert!(
                stderr.iter().any(|l| l.starts_with("Node.js v")),
                "the last stderr lines: {stderr:?}"
            );
        }
        other => panic!("expected PluginExited, got {other}"),
    }
    // Give the log reader a moment to close the report.
    tokio::time::sleep(Duration::from_millis(400)).await;
    let events = captured.0.lock().expect("capture lock").clone();
    let level_of = |text: &str| {
        events
            .iter()
            .find(|(_, m)| m.contains(text))
            .map(|(l, _)| *l)
    };
    assert_eq!(
        level_of("disk on fire"),
        Some(tracing::Level::ERROR),
        "{events:?}"
    );
    assert_eq!(
        level_of("no level here"),
        Some(tracing::Level::WARN),
        "{events:?}"
    );
    let reports: Vec<_> = events
        .iter()
        .filter(|(_, m)| m.contains("crashed outside any handler"))
        .collect();
    assert_eq!(reports.len(), 1, "one event for the exception: {events:?}");
    let (level, report) = reports[0];
    assert_eq!(*level, tracing::Level::ERROR);
    assert!(
        report.contains("lifecycle_plugin.js")
            && report.contains("\n    at ")
            && report.contains("Node.js v"),
        "the whole report, stack included: {report}"
    );
    // No line of the report arrives on its own.
    let stray: Vec<_> = events
        .iter()
        .filter(|(_, m)| {
            !m.contains('\n') && (m.starts_with("    at ") || m.starts_with("Node.js v"))
        })
        .collect();
    assert!(stray.is_empty(), "{stray:?}");
}

#[tokio::test]
async fn a_pool_of_typescript_instances_survives_a_sigkill_of_one() {
    let pool = Pool::builder(builder())
        .size(3)
        .start()
        .await
        .expect("the pool starts");
    let client: LifecycleClient = pool.client().expect("client");
    let pids =
        |pool: &Pool| -> Vec<u32> { pool.instances().iter().filter_map(|i| i.pid).collect() };
    let answers = futures::future::join_all((0..30).map(|_| {
        let client = client.clone();
        async move {
            let pid = client.pid().await.expect("pid");
            client.sleep(50).await.expect("sleep");
            pid
        }
    }))
    .await;
    let distinct: std::collections::BTreeSet<u32> = answers.into_iter().collect();
    assert_eq!(distinct.len(), 3, "concurrent calls reach every instance");

    let before = pids(&pool);
    assert_eq!(before.len(), 3);
    let victim = before[0];
    sigkill(victim);
    wait_until("the instance is replaced", || {
        let now = pids(&pool);
        now.len() == 3 && !now.contains(&victim)
    })
    .await;
    assert_eq!(pool.restarts(), 1);
    for i in 0..20 {
        assert_eq!(
            client.add(i, 2).await.expect("the same client still works"),
            i + 2
        );
    }
    let all = pids(&pool);
    drop(client);
    drop(pool);
    wait_until("every instance is gone", || {
        !all.iter().any(|p| running(*p))
    })
    .await;
}

#[tokio::test]
async fn a_frozen_typescript_instance_is_replaced_by_the_health_check() {
    let pool = Pool::builder(builder())
        .size(1)
        .health_check(Duration::from_millis(100), Duration::from_millis(300))
        .start()
        .await
        .expect("the pool starts");
    let client: LifecycleClient = pool.client().expect("client");
    let frozen = pool.instances()[0].pid.expect("running");
    let _ = client
        .with_timeout(Duration::from_millis(300))
        .freeze()
        .await;
    wait_until("the frozen instance is replaced", || {
        pool.restarts() >= 1
            && pool
                .instances()
                .first()
                .and_then(|i| i.pid)
                .is_some_and(|p| p != frozen)
    })
    .await;
    assert!(!running(frozen), "the frozen process was killed");
    assert_eq!(
        client
            .with_timeout(Duration::from_secs(10))
            .add(20, 22)
            .await
            .expect("the new instance answers"),
        42
    );
}
