//! Plugin lifecycle with Rust plugins: deadlines, cancellation, graceful
//! shutdown, no orphans when the host is SIGKILLed, logs. The scenarios are
//! shared with the Python and TypeScript plugins (tests/lifecycle_support).

mod lifecycle_support;

use std::time::Duration;

use goproc::{Error, Plugin};
use lifecycle_support::lifecycle::LifecycleClient;
use lifecycle_support::Captured;

fn builder() -> goproc::PluginBuilder {
    Plugin::builder(env!("CARGO_BIN_EXE_test-plugin"))
        .arg("lifecycle")
        .name("lifecycle")
        .contract::<LifecycleClient>()
        .start_timeout(Duration::from_secs(20))
}

async fn start() -> (Plugin, LifecycleClient) {
    let plugin = builder()
        .spawn()
        .await
        .expect("starting the lifecycle plugin");
    let client = plugin.client().expect("serves Lifecycle");
    (plugin, client)
}

lifecycle_support::lifecycle_tests!();

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
    // One shape in every runtime: `<kind>: <text>`, where it happened in
    // `detail`.
    assert!(
        matches!(&err, Error::Remote { code: goproc::RemoteCode::HandlerFailed, message, detail, .. }
            if message == "panic: kaboom" && detail.starts_with("panicked at tests/plugins/lifecycle.rs:")),
        "{err:?}"
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

#[tokio::test]
async fn plugin_output_can_go_to_a_writer_of_the_hosts() {
    #[derive(Clone, Default)]
    struct Shared(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);
    impl std::io::Write for Shared {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().expect("lock").extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let written = Shared::default();
    let plugin = builder()
        .output(goproc::PluginOutput::writer(written.clone()))
        .spawn()
        .await
        .expect("starts");
    let client: LifecycleClient = plugin.client().expect("client");
    client.log(vec!["to the writer".into()]).await.expect("log");
    let want = format!("[lifecycle {}] to the writer\n", plugin.pid());
    let until = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        let text = String::from_utf8_lossy(&written.0.lock().expect("lock")).into_owned();
        if text.contains(&want) {
            break;
        }
        assert!(std::time::Instant::now() < until, "{text:?} lacks {want:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[test]
fn with_no_tracing_subscriber_plugin_output_reaches_the_hosts_stderr() {
    use std::io::BufRead;
    // test-host installs no subscriber.
    let mut host = std::process::Command::new(env!("CARGO_BIN_EXE_test-host"))
        .args([env!("CARGO_BIN_EXE_test-plugin"), "chatty"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("test-host");
    let stderr = host.stderr.take().expect("stderr");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut seen = Vec::new();
    let until = std::time::Instant::now() + Duration::from_secs(10);
    while !(seen
        .iter()
        .any(|l: &String| l.ends_with("] chatty: to stderr"))
        && seen.iter().any(|l| l.ends_with("] chatty: to stdout")))
    {
        let left = until.saturating_duration_since(std::time::Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) => seen.push(line),
            Err(_) => break,
        }
    }
    let _ = host.kill();
    let _ = host.wait();
    assert!(
        seen.iter()
            .any(|l| l.starts_with("[test-plugin ") && l.ends_with("] chatty: to stderr"))
            && seen.iter().any(|l| l.ends_with("] chatty: to stdout")),
        "the host's stderr: {seen:?}"
    );
}
