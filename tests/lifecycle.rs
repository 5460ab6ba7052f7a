//! Plugin lifecycle with Rust plugins: deadlines, cancellation, graceful
//! shutdown, no orphans when the host is SIGKILLed, logs.

#[path = "contracts/lifecycle.rs"]
mod lifecycle;

use std::io::{BufRead, BufReader};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use goproc::{Error, Plugin};
use lifecycle::LifecycleClient;

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

/// Polls `probe` until it returns `want` or two seconds pass.
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
    assert!(
        took >= Duration::from_millis(300) && took < Duration::from_secs(3),
        "{took:?}"
    );
    assert_eq!(
        eventually(&client, 1).await,
        1,
        "the plugin saw its handler stopped"
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
}

#[tokio::test]
async fn dropping_a_call_future_cancels_the_handler_and_a_late_answer_is_dropped_quietly() {
    let (plugin, client) = start().await;
    let abandoned = tokio::time::timeout(Duration::from_millis(100), client.sleep(5_000)).await;
    assert!(abandoned.is_err(), "the caller gave up");
    assert_eq!(eventually(&client, 1).await, 1);
    // A call cancelled too late to stop: its answer arrives and is ignored.
    let quick = tokio::time::timeout(Duration::from_millis(30), client.sleep(50)).await;
    assert!(quick.is_err());
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(client.add(2, 2).await.expect("still fine"), 4);
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
fn when_the_host_is_sigkilled_its_plugins_exit_within_a_second() {
    let plugin = env!("CARGO_BIN_EXE_test-plugin");
    let mut host = std::process::Command::new(env!("CARGO_BIN_EXE_test-host"))
        .args([plugin, "lifecycle", "--", plugin, "calculator"])
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
        .expect("a pids line")
        .split(' ')
        .map(|p| p.parse().expect("a pid"))
        .collect();
    assert_eq!(pids.len(), 2);
    host.kill().expect("SIGKILL the host");
    let killed = Instant::now();
    host.wait().expect("reap the host");
    let alive = |pid: &u32| {
        std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .is_ok_and(|stat| !stat.contains(") Z "))
    };
    while pids.iter().any(alive) && killed.elapsed() < Duration::from_secs(1) {
        std::thread::sleep(Duration::from_millis(10));
    }
    let left: Vec<_> = pids.iter().filter(|p| alive(p)).collect();
    assert!(
        left.is_empty(),
        "plugins {left:?} outlived their host by a second"
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
async fn plugin_stderr_becomes_events_at_the_stated_level_and_a_panic_is_one_error_event() {
    use tracing_subscriber::layer::SubscriberExt;
    let captured = Captured::default();
    let _guard =
        tracing::subscriber::set_default(tracing_subscriber::registry().with(captured.clone()));
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
    let events = captured.0.lock().expect("capture lock").clone();
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
