//! Plugin lifecycle with Rust plugins: deadlines, cancellation, graceful
//! shutdown, no orphans when the host is SIGKILLed, logs. The scenarios are
//! shared with the Python and TypeScript plugins (tests/lifecycle_support).

mod lifecycle_support;

use std::time::Duration;

use goproc::{Error, Plugin};
use lifecycle_support::lifecycle::LifecycleClient;
use lifecycle_support::Captured;

async fn start() -> (Plugin, LifecycleClient) {
    let plugin = Plugin::builder(env!("CARGO_BIN_EXE_test-plugin"))
        .arg("lifecycle")
        .name("lifecycle")
        .contract::<LifecycleClient>()
        .start_timeout(Duration::from_secs(20))
        .spawn()
        .await
        .expect("starting the lifecycle plugin");
    let client = plugin.client().expect("serves Lifecycle");
    (plugin, client)
}

#[tokio::test]
async fn a_call_past_its_deadline_times_out_at_the_host_and_the_handler_is_cancelled() {
    let (_plugin, client) = start().await;
    lifecycle_support::a_call_past_its_deadline_times_out_and_the_handler_is_cancelled(&client)
        .await;
}

#[tokio::test]
async fn the_handler_sees_the_deadline_its_call_carries() {
    let (_plugin, client) = start().await;
    lifecycle_support::the_handler_sees_the_deadline_its_call_carries(&client).await;
}

#[tokio::test]
async fn dropping_a_call_future_cancels_the_handler_and_a_late_answer_is_dropped_quietly() {
    let (plugin, client) = start().await;
    lifecycle_support::dropping_a_call_future_cancels_the_handler(&plugin, &client).await;
}

#[tokio::test]
async fn graceful_shutdown_lets_calls_in_flight_finish_and_refuses_new_ones() {
    let (plugin, client) = start().await;
    lifecycle_support::graceful_shutdown_lets_calls_in_flight_finish_and_refuses_new_ones(
        plugin, client,
    )
    .await;
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
fn when_the_host_is_sigkilled_its_plugins_exit_within_a_second() {
    let plugin = env!("CARGO_BIN_EXE_test-plugin");
    let mut host = std::process::Command::new(env!("CARGO_BIN_EXE_test-host"));
    // Two different plugins: one serves calls, one idles.
    host.args([plugin, "lifecycle", "--", plugin, "calculator"]);
    lifecycle_support::plugins_exit_within_a_second_of_a_host_sigkill(host, "Rust");
}

#[tokio::test]
async fn plugin_stderr_becomes_events_at_the_stated_level_and_a_panic_is_one_error_event() {
    let (captured, _guard) = Captured::install();
    let (_plugin, client) = start().await;
    client
        .log(vec![
            "[ERROR] disk on fire".into(),
            r#"{"level":"debug","msg":"json says hi"}"#.into(),
            "WARNING:root:old api".into(),
            "no level here".into(),
        ])
        .await
        .expect("log");
    let err = client
        .fail("kaboom".into())
        .await
        .expect_err("the handler panics");
    assert!(
        matches!(&err, Error::Remote { code: goproc::RemoteCode::HandlerFailed, message, .. } if message.contains("kaboom")),
        "{err}"
    );
    // Give the log reader a moment to close the panic report.
    tokio::time::sleep(Duration::from_millis(400)).await;
    let events = captured.events();
    let find = |text: &str| {
        events
            .iter()
            .find(|(_, m)| m.contains(text))
            .map(|(l, _)| *l)
    };
    assert_eq!(
        find("disk on fire"),
        Some(tracing::Level::ERROR),
        "{events:?}"
    );
    assert_eq!(
        find("json says hi"),
        Some(tracing::Level::DEBUG),
        "{events:?}"
    );
    assert_eq!(find("old api"), Some(tracing::Level::WARN), "{events:?}");
    assert_eq!(
        find("no level here"),
        Some(tracing::Level::WARN),
        "{events:?}"
    );
    let panics: Vec<_> = events
        .iter()
        .filter(|(_, m)| m.contains("panicked at"))
        .collect();
    assert_eq!(panics.len(), 1, "{events:?}");
    assert_eq!(panics[0].0, tracing::Level::ERROR);
    assert!(
        panics[0].1.contains("kaboom") && panics[0].1.contains('\n'),
        "{:?}",
        panics[0]
    );
    assert!(
        !events.iter().any(|(_, m)| m == "kaboom"),
        "the message line is inside the report"
    );
}
