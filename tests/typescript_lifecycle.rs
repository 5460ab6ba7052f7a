//! Plugin lifecycle with TypeScript plugins, under a Rust host: the same
//! rules as tests/lifecycle.rs and tests/pool.rs hold for the Rust plugin.
//! Deadlines and cancellation reach the handler's abort signal, graceful
//! shutdown, no orphans when the host is SIGKILLed, an uncaught exception is
//! one error event, and a pool of TypeScript instances survives a SIGKILL.

mod common;
mod lifecycle_support;

use std::path::PathBuf;
use std::time::Duration;

use goproc::{Error, Plugin, RemoteCode};
use lifecycle_support::lifecycle::LifecycleClient;
use lifecycle_support::Captured;

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

lifecycle_support::lifecycle_tests!();

#[tokio::test]
async fn a_thrown_error_is_handler_failed_and_the_plugin_keeps_serving() {
    let (plugin, client) = start().await;
    let err = client
        .fail("kaboom".into())
        .await
        .expect_err("the handler throws");
    // `<name>: <message>` and nothing else; the host names the call.
    assert!(
        matches!(&err, Error::Remote { code: RemoteCode::HandlerFailed, message, detail, .. }
            if message == "Error: kaboom" && detail.contains("lifecycle_plugin.js")),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "Lifecycle.fail failed in the plugin: handler failed: Error: kaboom"
    );
    assert_eq!(client.add(i64::MAX, 1).await.expect("add"), i64::MIN);
    assert_eq!(client.pid().await.expect("pid"), plugin.pid());
}

#[tokio::test]
async fn an_error_without_a_message_and_a_thrown_non_error_have_one_shape() {
    let (_plugin, client) = start().await;
    let remote = |e: Error| match e {
        Error::Remote {
            code: RemoteCode::HandlerFailed,
            message,
            detail,
            ..
        } => (message, detail),
        other => panic!("expected HandlerFailed, got {other:?}"),
    };
    // `throw new Error()`: the name alone, and the stack.
    let (message, detail) = remote(client.fail("empty".into()).await.expect_err("throws"));
    assert_eq!(message, "Error");
    assert!(detail.contains("lifecycle_plugin.js"), "no stack: {detail}");
    // `throw "..."`: `thrown: ` and the value as `String()` gives it; no stack.
    let (message, detail) = remote(
        client
            .fail("thrown-string".into())
            .await
            .expect_err("throws"),
    );
    assert_eq!(message, "thrown: a string, not an Error");
    assert_eq!(detail, "");
    assert_eq!(client.add(1, 2).await.expect("still serving"), 3);
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
            if message == "RangeError: half of an emoji: \u{fffd}, then the rest"),
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
    let prefix = "Error: ".len();
    let message = format!("{}😀{}", "x".repeat(4095 - prefix), "y".repeat(40_000));
    let err = client.fail(message).await.expect_err("the handler throws");
    match &err {
        Error::Remote {
            code: RemoteCode::HandlerFailed,
            message,
            ..
        } => {
            assert!(message.starts_with("Error: xxx"), "{message:.80}");
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
async fn graceful_shutdown_kills_a_plugin_that_outlives_the_grace_period() {
    let (plugin, client) = start().await;
    lifecycle_support::graceful_shutdown_kills_a_plugin_that_outlives_the_grace_period(
        plugin,
        client,
        // A frozen process answers nothing, not even the shutdown.
        |client| async move {
            let _ = client
                .with_timeout(Duration::from_millis(300))
                .freeze()
                .await;
        },
    )
    .await;
}

#[test]
fn when_the_host_is_sigkilled_its_typescript_plugins_exit_within_a_second() {
    let node = common::node::node();
    let js = plugin_js();
    let (node, js) = (node.to_str().expect("utf-8"), js.to_str().expect("utf-8"));
    let host = lifecycle_support::test_host(&[node, js]);
    lifecycle_support::plugins_exit_within_a_second_of_a_host_sigkill(host, "TypeScript");
}

#[tokio::test]
async fn an_uncaught_exception_is_one_error_event_and_the_exit_error_carries_stderr() {
    let (captured, _guard) = Captured::install();
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
    lifecycle_support::a_pool_survives_a_sigkill_of_one(builder()).await;
}

#[tokio::test]
async fn a_frozen_typescript_instance_is_replaced_by_the_health_check() {
    lifecycle_support::a_frozen_instance_is_replaced_by_the_health_check(builder()).await;
}
