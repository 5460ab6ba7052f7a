//! Plugin lifecycle with Python plugins, under a Rust host: the same rules
//! as tests/lifecycle.rs and tests/pool.rs hold for the Rust plugin.
//! Deadlines and cancellation reach the handler's asyncio task, the handler
//! sees its call's deadline, graceful shutdown, no orphans when the host is
//! SIGKILLed or closes the socket, a traceback is one error event, and a
//! pool of Python instances survives a SIGKILL and a frozen instance.

mod common;
#[path = "contracts/lifecycle.rs"]
mod lifecycle;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use common::raw_host::{control_frame, request_frame, request_with_deadline, RawHost};
use goproc::wire::codec;
use goproc::wire::messages::ErrorBody;
use goproc::wire::Kind;
use goproc::{Error, Plugin, Pool, RemoteCode};
use lifecycle::LifecycleClient;

/// The folder to put on PYTHONPATH: stubs generated from
/// `tests/contracts/lifecycle.rs`, as the package `goproc_stubs`.
fn pythonpath() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        common::python::generate("python-lifecycle", &["tests/contracts/lifecycle.rs"])
    })
}

fn script() -> PathBuf {
    common::python::script("lifecycle_plugin.py")
}

fn builder() -> goproc::PluginBuilder {
    common::python::plugin(&script(), pythonpath())
        .name("py-lifecycle")
        .contract::<LifecycleClient>()
        .start_timeout(Duration::from_secs(30))
}

async fn start() -> (Plugin, LifecycleClient) {
    let plugin = builder()
        .spawn()
        .await
        .expect("starting the Python lifecycle plugin");
    assert_eq!(plugin.language(), "python");
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
async fn a_call_past_its_deadline_times_out_at_the_host_and_the_handler_is_cancelled() {
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
        "the handler saw CancelledError"
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
    // Several at once: each handler is cancelled.
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
async fn a_raised_exception_is_handler_failed_with_its_traceback_and_the_plugin_keeps_serving() {
    let (plugin, client) = start().await;
    let err = client
        .fail("kaboom".into())
        .await
        .expect_err("the handler raises");
    assert!(
        matches!(&err, Error::Remote { code: RemoteCode::HandlerFailed, message, detail, .. }
            if message.contains("RuntimeError: kaboom")
                && detail.starts_with("Traceback (most recent call last):")
                && detail.contains("lifecycle_plugin.py")),
        "{err:?}"
    );
    // A CancelledError the handler raises itself, with the call not
    // cancelled, is a failure too: the call must not wait forever.
    let err = client
        .with_timeout(Duration::from_secs(10))
        .fail("cancelled".into())
        .await
        .expect_err("the handler raises CancelledError");
    assert!(
        matches!(&err, Error::Remote { code: RemoteCode::HandlerFailed, message, .. }
            if message.contains("CancelledError")),
        "{err:?}"
    );
    assert_eq!(client.add(i64::MAX, 1).await.expect("add"), i64::MIN);
    assert_eq!(client.pid().await.expect("pid"), plugin.pid());
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
    let slow = tokio::spawn({
        let client = client.clone();
        async move { client.sleep(30_000).await }
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
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
fn when_the_host_is_sigkilled_its_python_plugins_exit_within_a_second() {
    let python = common::python::python3();
    let script = script();
    let (python, script) = (
        python.to_str().expect("utf-8"),
        script.to_str().expect("utf-8"),
    );
    let mut host = std::process::Command::new(env!("CARGO_BIN_EXE_test-host"))
        .args([python, script, "--", python, script])
        .env("PYTHONPATH", pythonpath())
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .stdout(Stdio::piped())
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
        "Python plugins {left:?} outlived their host by a second"
    );
}

/// The lifecycle plugin under the raw host, which speaks the wire by hand.
async fn raw_host() -> RawHost {
    raw_host_with(&[]).await
}

/// [`raw_host`] with `env` added to the plugin's environment.
async fn raw_host_with(env: &[(&str, &str)]) -> RawHost {
    let mut plugin = tokio::process::Command::new(common::python::python3());
    plugin
        .arg(script())
        .envs(env.iter().copied())
        .env("PYTHONPATH", pythonpath())
        .env("PYTHONDONTWRITEBYTECODE", "1");
    let host = RawHost::start(plugin).await;
    assert_eq!(host.hello.language, "python");
    host
}

/// `cancelled()` (method 1), answered with the given id.
async fn cancelled(host: &mut RawHost, id: u64) -> u64 {
    host.send(&request_frame(id, 0, 1, &[])).await;
    let (header, body) = host.answer().await;
    assert_eq!((header.kind, header.id), (Kind::Response, id));
    codec::decode(&body).expect("u64")
}

#[tokio::test]
async fn the_runtime_itself_cancels_a_handler_on_cancel_and_when_its_deadline_passes() {
    let mut host = raw_host().await;
    let ten_seconds = codec::encode(&10_000u64).expect("args");
    let cancel = |id: u64| control_frame(Kind::Cancel, id);
    // A call cancelled before its handler started, in the same write.
    let mut both = request_frame(1, 0, 0, &ten_seconds);
    both.extend(cancel(1));
    host.send(&both).await;
    // (Its handler almost surely never started, so it has nothing to count.)
    let base = cancelled(&mut host, 2).await;
    assert!(base <= 1, "{base}");
    // CANCEL of a running handler: it sees CancelledError, and nothing more
    // is sent for that id.
    host.send(&request_with_deadline(3, 0, 0, 0, &ten_seconds))
        .await;
    assert_eq!(
        cancelled(&mut host, 4).await,
        base,
        "the handler is running"
    );
    host.send(&cancel(3)).await;
    assert_eq!(
        cancelled(&mut host, 5).await,
        base + 1,
        "the CANCEL reached the handler"
    );
    // A deadline the plugin enforces alone, with no CANCEL from the host.
    let started = Instant::now();
    host.send(&request_with_deadline(6, 0, 0, 200, &ten_seconds))
        .await;
    let (header, body) = host.answer().await;
    assert_eq!((header.kind, header.id), (Kind::Error, 6));
    let err: ErrorBody = codec::decode(&body).expect("error body");
    assert_eq!(err.code, 6, "{}", err.message);
    assert!(err.message.contains("deadline"), "{}", err.message);
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(
        cancelled(&mut host, 7).await,
        base + 2,
        "the deadline reached the handler"
    );
    // Nothing was answered for the cancelled calls, and nothing was
    // written to stderr (no coroutine left never awaited).
    let (code, stderr) = host.hang_up().await;
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.is_empty(), "{stderr}");
}

#[tokio::test]
async fn the_plugin_exits_within_a_second_of_end_of_file_even_with_calls_in_flight() {
    // Each `sleep` blocks a worker thread that cancellation cannot stop.
    let mut host = raw_host_with(&[("LIFECYCLE_SLEEP_IN_THREAD", "1")]).await;
    let thirty_seconds = codec::encode(&30_000u64).expect("args");
    for id in 1..=3 {
        host.send(&request_with_deadline(id, 0, 0, 0, &thirty_seconds))
            .await;
    }
    // The handlers are running: the plugin answers a later call.
    assert_eq!(cancelled(&mut host, 9).await, 0);
    let closed = Instant::now();
    let (code, stderr) = host.hang_up().await;
    let took = closed.elapsed();
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.is_empty(), "{stderr}");
    assert!(
        took < Duration::from_secs(1),
        "the plugin took {took:?} to exit"
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
async fn an_uncaught_traceback_is_one_error_event_and_the_exit_error_carries_stderr() {
    use tracing_subscriber::layer::SubscriberExt;
    let captured = Captured::default();
    let _guard =
        tracing::subscriber::set_default(tracing_subscriber::registry().with(captured.clone()));
    let (plugin, client) = start().await;
    client
        .log(vec![
            "[ERROR] disk on fire".into(),
            "WARNING:root:old api".into(),
            "no level here".into(),
        ])
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
            assert_eq!(
                stderr.last().map(String::as_str),
                Some("RuntimeError: uncaught: the plugin crashed outside any handler"),
                "the last stderr lines: {stderr:?}"
            );
            assert!(
                stderr.iter().any(|l| l.contains("lifecycle_plugin.py")),
                "{stderr:?}"
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
        level_of("old api"),
        Some(tracing::Level::WARN),
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
    assert_eq!(reports.len(), 1, "one event for the traceback: {events:?}");
    let (level, report) = reports[0];
    assert_eq!(*level, tracing::Level::ERROR);
    assert!(
        report.starts_with("Traceback (most recent call last):")
            && report.contains("lifecycle_plugin.py\", line ")
            && report.contains("\n  File ")
            && report.ends_with("RuntimeError: uncaught: the plugin crashed outside any handler"),
        "the whole traceback: {report}"
    );
    // No line of the traceback arrives on its own.
    let stray: Vec<_> = events
        .iter()
        .filter(|(_, m)| {
            !m.contains('\n') && (m.starts_with("  File ") || m.starts_with("Traceback"))
        })
        .collect();
    assert!(stray.is_empty(), "{stray:?}");
}

#[tokio::test]
async fn a_pool_of_python_instances_survives_a_sigkill_of_one() {
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
async fn a_frozen_python_instance_is_replaced_by_the_health_check() {
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

#[test]
fn the_lifecycle_plugin_passes_mypy_strict() {
    let mypy = common::python::mypy();
    let out = std::process::Command::new(&mypy)
        .args([
            "--strict",
            "--python-version",
            "3.11",
            "--no-incremental",
            "--cache-dir=/dev/null",
        ])
        .arg(pythonpath().join("goproc_stubs"))
        .arg(script())
        .env("MYPYPATH", pythonpath())
        .current_dir(pythonpath())
        .output()
        .expect("running mypy");
    assert!(
        out.status.success(),
        "mypy --strict found problems:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
