//! The blocking API from plain threads: real plugin processes, started and
//! called without an async runtime; and its misuse from inside one.

#[path = "../examples/calculator/contract.rs"]
mod calculator;
#[path = "contracts/lifecycle.rs"]
mod lifecycle;
#[path = "contracts/streams.rs"]
mod streams;

use std::time::{Duration, Instant};

use calculator::{CalculatorBlockingClient, CalculatorClient, MathError};
use goproc::blocking::{BlockingClient, Plugin, Pool};
use goproc::Error;
use lifecycle::LifecycleBlockingClient;
use streams::StreamsBlockingClient;

fn builder(role: &str) -> goproc::blocking::PluginBuilder {
    Plugin::builder(env!("CARGO_BIN_EXE_test-plugin"))
        .arg(role)
        .name(format!("test-plugin {role}"))
        .start_timeout(Duration::from_secs(20))
}

fn start(role: &str) -> Plugin {
    builder(role)
        .spawn()
        .unwrap_or_else(|e| panic!("starting `test-plugin {role}`: {e}"))
}

/// Whether process `pid` exists (a zombie counts: it was not reaped).
fn process_exists(pid: u32) -> bool {
    // SAFETY: signal 0 only checks that the process exists.
    unsafe { libc::kill(pid as libc::pid_t, 0) == 0 }
}

#[test]
fn eight_plain_threads_call_one_client_at_once() {
    let plugin = start("calculator");
    let calc: CalculatorBlockingClient = plugin.client().expect("serves Calculator");
    let threads: Vec<_> = (0..8i64)
        .map(|t| {
            let calc = calc.clone();
            std::thread::spawn(move || {
                (0..200i64)
                    .filter(|i| calc.add(t * 1_000, *i).expect("add") != t * 1_000 + i)
                    .count()
            })
        })
        .collect();
    let wrong: usize = threads.into_iter().map(|t| t.join().expect("thread")).sum();
    assert_eq!(wrong, 0, "every one of 1,600 answers is correct");
    assert_eq!(calc.greet("Ada".into()).expect("greet"), "Hello, Ada!");
}

#[test]
fn a_domain_error_arrives_typed() {
    let calc: CalculatorBlockingClient = start("calculator").client().expect("client");
    assert_eq!(calc.divide(84, 2).expect("divide"), Ok(42));
    assert_eq!(
        calc.divide(1, 0).expect("division by zero is answered"),
        Err(MathError::DivisionByZero)
    );
}

#[test]
fn a_call_past_its_timeout_fails_with_timeout() {
    let plugin = start("lifecycle");
    let slow: LifecycleBlockingClient = plugin.client().expect("client");
    let started = Instant::now();
    let err = slow
        .with_timeout(Duration::from_millis(200))
        .sleep(10_000)
        .expect_err("the call times out");
    assert!(
        matches!(&err, Error::Timeout { method, .. } if method.contains("Lifecycle.sleep")),
        "{err:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    // The plugin is still there for the next call.
    assert_eq!(slow.add(1, 2).expect("add after a timeout"), 3);
}

#[test]
fn a_call_in_flight_fails_when_the_plugin_is_killed() {
    let plugin = start("lifecycle");
    let slow: LifecycleBlockingClient = plugin.client().expect("client");
    let call = std::thread::spawn(move || slow.sleep(30_000));
    std::thread::sleep(Duration::from_millis(300));
    let started = Instant::now();
    plugin.kill();
    let err = call.join().expect("thread").expect_err("the call fails");
    assert!(matches!(err, Error::PluginExited { .. }), "{err:?}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    // The calls fail as the connection drops; the exit is recorded once
    // the process is reaped.
    let exit = plugin.exited().expect("waits on a plain thread");
    assert!(matches!(exit, Error::PluginExited { .. }), "{exit:?}");
    assert!(plugin.has_exited());
}

#[test]
fn a_pool_spreads_calls_from_threads_over_its_instances() {
    let pool = Pool::builder(builder("calculator").contract::<CalculatorClient>())
        .size(2)
        .start()
        .expect("the pool starts");
    let calc: CalculatorBlockingClient = pool.client().expect("client");
    let threads: Vec<_> = (0..4i64)
        .map(|t| {
            let calc = calc.clone();
            std::thread::spawn(move || (0..50).all(|i| calc.add(t, i).expect("add") == t + i))
        })
        .collect();
    assert!(threads.into_iter().all(|t| t.join().expect("thread")));
    let pids: Vec<u32> = pool.instances().iter().filter_map(|i| i.pid).collect();
    assert_eq!(pids.len(), 2, "{:?}", pool.instances());
    drop(calc);
    drop(pool);
    for pid in pids {
        assert!(!process_exists(pid), "instance {pid} outlived its pool");
    }
}

#[test]
fn an_answer_stream_is_an_iterator() {
    let plugin = start("streams");
    let streams: StreamsBlockingClient = plugin.client().expect("client");
    let items: Vec<u64> = streams
        .count(5, 4)
        .collect::<Result<_, _>>()
        .expect("every item");
    assert_eq!(items, [5, 6, 7, 8]);
    let mut failing = streams.fail_after(2);
    assert!(matches!(failing.next(), Some(Ok(_))));
    assert!(matches!(failing.next(), Some(Ok(_))));
    assert!(
        matches!(failing.next(), Some(Err(_))),
        "the failure is the last item"
    );
    assert!(failing.next().is_none());
    // A stream argument is a `goproc::Stream`, built from an iterator.
    let summary = streams
        .upload(goproc::Stream::iter(vec![vec![1u8, 2], vec![3]]))
        .expect("upload");
    assert_eq!((summary.bytes, summary.chunks, summary.checksum), (3, 2, 6));
    let shouted: Vec<String> = streams
        .shout("> ".into(), goproc::Stream::iter(vec!["a".to_string()]))
        .collect::<Result<_, _>>()
        .expect("every line");
    assert_eq!(shouted, ["> A"]);
}

#[test]
fn dropping_the_plugin_and_its_clients_kills_the_process() {
    let plugin = start("calculator");
    let calc: CalculatorBlockingClient = plugin.client().expect("client");
    let pid = plugin.pid();
    assert!(process_exists(pid));
    drop(plugin);
    // A client keeps the plugin alive.
    assert_eq!(calc.add(1, 1).expect("add"), 2);
    drop(calc);
    // Dropped on a plain thread: killed and reaped before `drop` returns.
    assert!(
        !process_exists(pid),
        "plugin {pid} outlived its last handle"
    );
}

/// A plugin and its client, started from a plain thread.
fn start_off_runtime() -> (Plugin, CalculatorBlockingClient) {
    std::thread::spawn(|| {
        let plugin = start("calculator");
        let calc = plugin.client().expect("client");
        (plugin, calc)
    })
    .join()
    .expect("thread")
}

/// Inside the runtime: every blocking method refuses at once, and says
/// what to do instead; from `spawn_blocking` the same client works.
async fn misuse_is_refused_at_once() {
    let started = Instant::now();
    let err = builder("calculator").spawn().expect_err("refused");
    assert!(matches!(err, Error::BlockingInAsync { .. }), "{err:?}");
    assert!(err.to_string().contains("goproc::Plugin::builder"), "{err}");

    let (plugin, calc) = start_off_runtime();
    let started_calls = Instant::now();
    let err = calc.add(1, 2).expect_err("refused");
    let text = err.to_string();
    assert!(matches!(err, Error::BlockingInAsync { .. }), "{err:?}");
    for part in [
        "Calculator.add",
        "`CalculatorClient`",
        "tokio::task::spawn_blocking",
    ] {
        assert!(text.contains(part), "`{part}` is missing from: {text}");
    }
    assert!(matches!(
        plugin.ping(Duration::from_secs(1)),
        Err(Error::BlockingInAsync { .. })
    ));
    // Inside a task too.
    let in_task = calc.clone();
    let err = tokio::spawn(async move { in_task.add(1, 2) })
        .await
        .expect("task")
        .expect_err("refused in a task");
    assert!(matches!(err, Error::BlockingInAsync { .. }), "{err:?}");
    assert!(started_calls.elapsed() < Duration::from_secs(1));
    assert!(started.elapsed() < Duration::from_secs(20));

    let from_blocking = calc.clone();
    let sum = tokio::task::spawn_blocking(move || from_blocking.add(1, 2))
        .await
        .expect("spawn_blocking");
    assert_eq!(sum.expect("works from spawn_blocking"), 3);
    // Dropping inside the runtime neither blocks it nor panics.
    drop((plugin, calc));
}

#[tokio::test(flavor = "current_thread")]
async fn misuse_inside_a_current_thread_runtime_fails_at_once() {
    misuse_is_refused_at_once().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn misuse_inside_a_multi_thread_runtime_fails_at_once() {
    misuse_is_refused_at_once().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_async_hosts_client_is_called_from_plain_threads() {
    let plugin = goproc::Plugin::builder(env!("CARGO_BIN_EXE_test-plugin"))
        .arg("calculator")
        .start_timeout(Duration::from_secs(20))
        .spawn()
        .await
        .expect("starts");
    let calc: CalculatorClient = plugin.client().expect("client");
    let blocking = CalculatorBlockingClient::from_async(calc.clone());
    let err = blocking.add(1, 2).expect_err("refused inside the runtime");
    assert!(matches!(err, Error::BlockingInAsync { .. }), "{err:?}");
    let on_thread = blocking.clone();
    let from_thread = std::thread::spawn(move || on_thread.divide(1, 0))
        .join()
        .expect("thread");
    assert_eq!(from_thread.expect("divide"), Err(MathError::DivisionByZero));
    let sum = tokio::task::spawn_blocking(move || blocking.add(2, 3))
        .await
        .expect("spawn_blocking");
    assert_eq!(sum.expect("add"), 5);
    assert_eq!(
        calc.add(1, 1).await.expect("the async client still works"),
        2
    );
}
