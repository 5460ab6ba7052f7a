//! Plugin lifecycle with Python plugins, under a Rust host: the same rules
//! as tests/lifecycle.rs and tests/pool.rs hold for the Rust plugin.
//! Deadlines and cancellation reach the handler's asyncio task, the handler
//! sees its call's deadline, graceful shutdown, no orphans when the host is
//! SIGKILLed or closes the socket, a traceback is one error event, and a
//! pool of Python instances survives a SIGKILL and a frozen instance.

mod common;
mod lifecycle_support;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use common::raw_host::{control_frame, request_frame, request_with_deadline, RawHost};
use goproc::wire::codec;
use goproc::wire::messages::ErrorBody;
use goproc::wire::Kind;
use goproc::{Error, Plugin, RemoteCode};
use lifecycle_support::lifecycle::LifecycleClient;
use lifecycle_support::Captured;

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

lifecycle_support::lifecycle_tests!();

#[tokio::test]
async fn a_raised_exception_is_handler_failed_with_its_traceback_and_the_plugin_keeps_serving() {
    let (plugin, client) = start().await;
    let err = client
        .fail("kaboom".into())
        .await
        .expect_err("the handler raises");
    // The message is the exception's class and text, no more: the host
    // names the method itself.
    assert!(
        matches!(&err, Error::Remote { code: RemoteCode::HandlerFailed, message, detail, .. }
            if message == "RuntimeError: kaboom"
                && detail.starts_with("Traceback (most recent call last):")
                && detail.contains("lifecycle_plugin.py")
                && detail.ends_with("RuntimeError: kaboom\n")),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "Lifecycle.fail failed in the plugin: handler failed: RuntimeError: kaboom"
    );
    // An exception whose text is empty is named by its class alone.
    let err = client
        .fail(String::new())
        .await
        .expect_err("the handler raises");
    assert!(
        matches!(&err, Error::Remote { code: RemoteCode::HandlerFailed, message, .. }
            if message == "RuntimeError"),
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
        matches!(&err, Error::Remote { code: RemoteCode::HandlerFailed, message, detail, .. }
            if message == "the handler raised CancelledError, but the call was not cancelled"
                && detail.contains("CancelledError")),
        "{err:?}"
    );
    assert_eq!(client.add(i64::MAX, 1).await.expect("add"), i64::MIN);
    assert_eq!(client.pid().await.expect("pid"), plugin.pid());
}

/// An exception whose text and traceback do not fit in a frame (16 MiB)
/// fails its call with the start of its message, not the connection.
#[tokio::test]
async fn an_error_too_long_for_a_frame_fails_its_call_with_the_start_of_its_message() {
    let (plugin, client) = start().await;
    let err = client
        .fail("x".repeat(10 << 20))
        .await
        .expect_err("the handler raises");
    match &err {
        Error::Remote {
            code: RemoteCode::HandlerFailed,
            message,
            detail,
            ..
        } => {
            assert_eq!(message.len(), 4096, "{}", &message[..40]);
            assert!(
                message.starts_with("RuntimeError: xxx"),
                "{}",
                &message[..40]
            );
            assert_eq!(detail, "");
        }
        other => panic!("expected a handler failure, got {other}"),
    }
    assert_eq!(client.pid().await.expect("pid"), plugin.pid());
}

#[tokio::test]
async fn graceful_shutdown_kills_a_plugin_that_outlives_the_grace_period() {
    let (plugin, client) = start().await;
    lifecycle_support::graceful_shutdown_kills_a_plugin_that_outlives_the_grace_period(
        plugin,
        client,
        |_| async {},
    )
    .await;
}

#[test]
fn when_the_host_is_sigkilled_its_python_plugins_exit_within_a_second() {
    let python = common::python::python3();
    let script = script();
    let (python, script) = (
        python.to_str().expect("utf-8"),
        script.to_str().expect("utf-8"),
    );
    let mut host = lifecycle_support::test_host(&[python, script]);
    host.env("PYTHONPATH", pythonpath())
        .env("PYTHONDONTWRITEBYTECODE", "1");
    lifecycle_support::plugins_exit_within_a_second_of_a_host_sigkill(host, "Python");
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

#[tokio::test]
async fn an_uncaught_traceback_is_one_error_event_and_the_exit_error_carries_stderr() {
    let (captured, _guard) = Captured::install();
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
    let events = captured.events();
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
    lifecycle_support::a_pool_survives_a_sigkill_of_one(builder()).await;
}

#[tokio::test]
async fn a_frozen_python_instance_is_replaced_by_the_health_check() {
    lifecycle_support::a_frozen_instance_is_replaced_by_the_health_check(builder()).await;
}

#[test]
fn the_lifecycle_plugin_passes_mypy_strict() {
    common::python::assert_mypy_strict_accepts(
        pythonpath(),
        &[pythonpath().join("goproc_stubs"), script()],
    );
}
