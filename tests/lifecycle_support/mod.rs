//! What the lifecycle and pool tests share across plugin languages: the
//! `Lifecycle` test contract, process helpers, a capture of the host's
//! plugin log events, and the scenarios every runtime must pass. Each
//! language's test file starts its own plugin and runs these.
#![allow(dead_code)]

#[path = "../common/wait.rs"]
mod wait;
pub use wait::wait_until;

#[path = "../contracts/lifecycle.rs"]
pub mod lifecycle;

use std::collections::BTreeSet;
use std::future::Future;
use std::io::{BufRead, BufReader};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use goproc::{Error, Plugin, PluginBuilder, Pool};
use lifecycle::LifecycleClient;

/// The scenarios every runtime runs the same way, one `#[tokio::test]`
/// each; the invoking test file defines `start()` (a started plugin and its
/// client) and `builder()` (the plugin's builder).
#[allow(unused_macros)] // tests/pool.rs and others share the module, not these
macro_rules! lifecycle_tests {
    () => {
        #[tokio::test]
        async fn a_call_past_its_deadline_times_out_at_the_host_and_the_handler_is_cancelled() {
            let (_plugin, client) = start().await;
            lifecycle_support::a_call_past_its_deadline_times_out_and_the_handler_is_cancelled(
                &client,
            )
            .await;
        }

        #[tokio::test]
        async fn a_hung_handler_times_out_at_the_builders_call_timeout_with_no_with_timeout_written(
        ) {
            lifecycle_support::a_hung_handler_times_out_at_the_builders_call_timeout(builder())
                .await;
        }

        #[tokio::test]
        async fn shutting_down_an_idle_plugin_returns_its_exit_status() {
            let (plugin, _client) = start().await;
            lifecycle_support::shutting_down_an_idle_plugin_returns_its_exit_status(plugin).await;
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
    };
}
#[allow(unused_imports)]
pub(crate) use lifecycle_tests;

/// Whether `pid` runs (a zombie does not).
pub fn running(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| !s.contains(") Z "))
}

pub fn sigkill(pid: u32) {
    let _ = std::process::Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status();
}

/// Polls `cancelled()` until it returns `want` or two seconds pass.
pub async fn eventually_cancelled(client: &LifecycleClient, want: u64) -> u64 {
    let until = Instant::now() + Duration::from_secs(2);
    loop {
        let got = client.cancelled().await.expect("cancelled()");
        if got == want || Instant::now() > until {
            return got;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The pids of a pool's running instances.
pub fn pids(pool: &Pool) -> Vec<u32> {
    pool.instances().iter().filter_map(|i| i.pid).collect()
}

/// Records the host's `goproc::plugin` events: (level, message).
#[derive(Clone, Default)]
pub struct Captured(Arc<Mutex<Vec<(tracing::Level, String)>>>);

impl Captured {
    /// Starts capturing on this thread until the guard is dropped.
    pub fn install() -> (Captured, tracing::subscriber::DefaultGuard) {
        use tracing_subscriber::layer::SubscriberExt;
        let captured = Captured::default();
        let guard =
            tracing::subscriber::set_default(tracing_subscriber::registry().with(captured.clone()));
        (captured, guard)
    }

    /// The events so far.
    pub fn events(&self) -> Vec<(tracing::Level, String)> {
        self.0.lock().expect("capture lock").clone()
    }
}

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

/// A call past its deadline fails with `Error::Timeout` at the host, and
/// the plugin's handler is stopped (it counts it).
pub async fn a_call_past_its_deadline_times_out_and_the_handler_is_cancelled(
    client: &LifecycleClient,
) {
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
        eventually_cancelled(client, 1).await,
        1,
        "the plugin saw its handler stopped"
    );
}

/// The handler sees the deadline its call carries, a month-long one too.
pub async fn the_handler_sees_the_deadline_its_call_carries(client: &LifecycleClient) {
    let left = client
        .with_timeout(Duration::from_secs(10))
        .deadline_ms()
        .await
        .expect("answered")
        .expect("the call carried a deadline");
    assert!((9_000..=10_000).contains(&left), "{left} ms left");
    // Unless told otherwise, a client's calls carry the default 30 s.
    let left = client
        .deadline_ms()
        .await
        .expect("answered")
        .expect("the default deadline");
    assert!((29_000..=30_000).contains(&left), "{left} ms left");
    assert_eq!(
        client
            .without_timeout()
            .deadline_ms()
            .await
            .expect("answered"),
        None
    );
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

/// A dropped call future cancels its handler, several at once too, and a
/// late answer to a cancelled call is dropped quietly.
pub async fn dropping_a_call_future_cancels_the_handler(plugin: &Plugin, client: &LifecycleClient) {
    let abandoned = tokio::time::timeout(Duration::from_millis(100), client.sleep(5_000)).await;
    assert!(abandoned.is_err(), "the caller gave up");
    assert_eq!(eventually_cancelled(client, 1).await, 1);
    // Several at once: each handler is cancelled.
    let many = futures::future::join_all((0..5).map(|_| client.sleep(5_000)));
    assert!(tokio::time::timeout(Duration::from_millis(200), many)
        .await
        .is_err());
    assert_eq!(eventually_cancelled(client, 6).await, 6);
    // A call cancelled too late to stop: its answer arrives and is ignored.
    let quick = tokio::time::timeout(Duration::from_millis(30), client.sleep(50)).await;
    assert!(quick.is_err());
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(client.add(2, 2).await.expect("still fine"), 4);
    assert!(!plugin.has_exited());
}

/// A graceful shutdown lets calls in flight finish, refuses new ones at
/// once, and the plugin exits by itself with status 0.
pub async fn graceful_shutdown_lets_calls_in_flight_finish_and_refuses_new_ones(
    plugin: Plugin,
    client: LifecycleClient,
) {
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
    let status = tokio::time::timeout(Duration::from_secs(5), stopping)
        .await
        .expect("the plugin exits by itself")
        .expect("task")
        .expect("a shutdown the plugin follows is a success");
    assert!(status.success(), "{status}");
    // Later calls say what happened: this host shut it down.
    let after = client.add(1, 1).await.expect_err("shut down");
    assert!(
        matches!(&after, Error::Closed { reason, .. } if reason.contains("shut down by this host")),
        "{after}"
    );
}

/// Shutting down an idle plugin is a success that reports its exit status.
pub async fn shutting_down_an_idle_plugin_returns_its_exit_status(plugin: Plugin) {
    let status = plugin
        .shutdown(Duration::from_secs(10))
        .await
        .expect("an idle plugin shuts down cleanly");
    assert!(status.success(), "{status}");
    let again = plugin.exited().await;
    assert!(
        matches!(&again, Error::Closed { reason, .. } if reason.contains("shut down by this host")),
        "{again}"
    );
}

/// With no `with_timeout` written, a call to a hung handler fails with
/// `Error::Timeout` at the builder's call timeout (`call_timeout`; 30 s
/// unless set).
pub async fn a_hung_handler_times_out_at_the_builders_call_timeout(builder: PluginBuilder) {
    let plugin = builder
        .call_timeout(Some(Duration::from_millis(400)))
        .spawn()
        .await
        .expect("starts");
    let client: LifecycleClient = plugin.client().expect("client");
    let started = Instant::now();
    let err = client
        .sleep(60_000)
        .await
        .expect_err("the default deadline passes");
    let took = started.elapsed();
    assert!(
        matches!(&err, Error::Timeout { after, .. } if *after == Duration::from_millis(400)),
        "{err}"
    );
    assert!(took < Duration::from_secs(3), "{took:?}");
    // `without_timeout` still waits as long as the plugin takes.
    assert_eq!(
        client.without_timeout().sleep(600).await.expect("waits"),
        600
    );
}

/// A graceful shutdown kills a plugin whose calls outlive the grace period;
/// `before_shutdown` runs after the slow call started.
pub async fn graceful_shutdown_kills_a_plugin_that_outlives_the_grace_period<F>(
    plugin: Plugin,
    client: LifecycleClient,
    before_shutdown: impl FnOnce(LifecycleClient) -> F,
) where
    F: Future<Output = ()>,
{
    let slow = tokio::spawn({
        let client = client.clone();
        async move { client.sleep(30_000).await }
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    before_shutdown(client).await;
    let started = Instant::now();
    let ended = plugin
        .shutdown(Duration::from_millis(300))
        .await
        .expect_err("killed at the end of the grace");
    assert!(started.elapsed() < Duration::from_secs(3));
    let killed = "killed by the host: still running when the 300ms shutdown grace ended";
    assert!(
        matches!(&ended, Error::PluginExited { status, .. } if status == killed),
        "{ended}"
    );
    let err = slow.await.expect("task").expect_err("killed");
    assert!(
        matches!(&err, Error::PluginExited { status, .. } if status == killed),
        "{err}"
    );
}

/// Starts `test-host` with `plugins` (its arguments), SIGKILLs it once it
/// printed its plugins' pids, and checks they all exit within a second.
pub fn plugins_exit_within_a_second_of_a_host_sigkill(
    mut host: std::process::Command,
    which: &str,
) {
    let mut host = host
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
    let all_run = pids.len() == 2 && pids.iter().all(|p| running(*p));
    host.kill().expect("SIGKILL the host");
    assert!(
        all_run,
        "{which} plugins {pids:?} should run while their host does"
    );
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
        "{which} plugins {left:?} outlived their host by a second"
    );
}

/// `test-host` starting `plugin` twice (a program and its arguments).
pub fn test_host(plugin: &[&str]) -> std::process::Command {
    let mut host = std::process::Command::new(env!("CARGO_BIN_EXE_test-host"));
    host.args(plugin).arg("--").args(plugin);
    host
}

/// A pool of three instances spreads calls over all of them, replaces one
/// that is SIGKILLed, the same client keeps working, and no process is left
/// after the pool is dropped.
pub async fn a_pool_survives_a_sigkill_of_one(plugin: PluginBuilder) {
    let pool = Pool::builder(plugin)
        .size(3)
        .start()
        .await
        .expect("the pool starts");
    let client: LifecycleClient = pool.client().expect("client");
    let answers = futures::future::join_all((0..30).map(|_| {
        let client = client.clone();
        async move {
            let pid = client.pid().await.expect("pid");
            client.sleep(50).await.expect("sleep");
            pid
        }
    }))
    .await;
    let distinct: BTreeSet<u32> = answers.into_iter().collect();
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

/// An instance that stops answering pings (it stopped itself) is killed
/// and replaced by the pool's health check.
pub async fn a_frozen_instance_is_replaced_by_the_health_check(plugin: PluginBuilder) {
    let pool = Pool::builder(plugin)
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
