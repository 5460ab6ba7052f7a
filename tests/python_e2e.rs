//! End to end: Python plugins built from generated stubs, called by a Rust
//! host. The calculator and key-value examples answer exactly as the Rust
//! plugins do (domain errors included); the host_services example calls the
//! host's Store and Logger while it serves; a raised exception reaches the
//! host as a handler failure with its traceback; stale stubs are refused at
//! the handshake.

mod common;

#[allow(dead_code)]
#[path = "../examples/calculator/contract.rs"]
mod calculator;
#[allow(dead_code)]
#[path = "common/example_host.rs"]
mod example_host;
#[path = "../examples/host_services/contract.rs"]
mod host_services;
#[allow(dead_code)]
#[path = "../examples/kv/contract.rs"]
mod kv;

use std::path::PathBuf;
use std::time::Duration;

use calculator::{CalculatorClient, MathError};
use goproc::{Error, RemoteCode};
use kv::{KeyValueStoreClient, Op};

fn rust_plugin(role: &str) -> goproc::PluginBuilder {
    goproc::Plugin::builder(env!("CARGO_BIN_EXE_test-plugin")).arg(role)
}

fn example(path: &str) -> PathBuf {
    common::root().join(path)
}

/// Python plugins that import the checked-in stubs need no PYTHONPATH.
fn example_plugin(path: &str) -> goproc::PluginBuilder {
    common::python::plugin(&example(path), &common::root().join("target"))
}

#[derive(Debug, PartialEq)]
enum CalcAnswer {
    Int(i64),
    Div(Result<i64, MathError>),
    Float(u64),
    Text(String),
}

async fn calculator_session(c: &CalculatorClient) -> Vec<CalcAnswer> {
    let mut out = Vec::new();
    let ints = [
        0,
        1,
        -1,
        7,
        -7,
        3,
        250,
        251,
        i64::MAX,
        i64::MIN,
        i64::MIN + 1,
    ];
    for &a in &ints {
        for &b in &ints {
            out.push(CalcAnswer::Int(c.add(a, b).await.expect("add")));
            out.push(CalcAnswer::Div(c.divide(a, b).await.expect("divide")));
        }
    }
    let lists: [Vec<f64>; 5] = [
        vec![],
        vec![1.5, 2.5, 3.0],
        vec![-0.0],
        vec![0.1, 0.2, 0.3, 1e300, -1e300],
        vec![f64::INFINITY, 1.0],
    ];
    for l in lists {
        out.push(CalcAnswer::Float(c.sum(l).await.expect("sum").to_bits()));
    }
    for name in ["goproc", "", "wörld 🦀", "\u{feff}x"] {
        out.push(CalcAnswer::Text(c.greet(name.into()).await.expect("greet")));
    }
    out
}

#[tokio::test]
async fn the_python_calculator_answers_exactly_as_the_rust_one() {
    let rust = rust_plugin("calculator")
        .contract::<CalculatorClient>()
        .spawn()
        .await
        .expect("starting the Rust calculator");
    let python = example_plugin("examples/calculator/python/plugin.py")
        .contract::<CalculatorClient>()
        .spawn()
        .await
        .expect("starting the Python calculator");
    assert_eq!(python.language(), "python");
    let want = calculator_session(&rust.client().expect("client")).await;
    let got = calculator_session(&python.client().expect("client")).await;
    assert_eq!(got.len(), want.len());
    for (k, (g, w)) in got.iter().zip(&want).enumerate() {
        assert_eq!(g, w, "answer {k}: python (left) differs from Rust (right)");
    }
    assert!(want.contains(&CalcAnswer::Div(Err(MathError::DivisionByZero))));
    assert!(want
        .iter()
        .any(|a| matches!(a, CalcAnswer::Div(Err(MathError::Overflow { .. })))));
}

#[derive(Debug, PartialEq)]
enum KvAnswer {
    Put(Result<u64, kv::StoreError>),
    Get(Option<kv::Entry>),
    Delete(Result<kv::Entry, kv::StoreError>),
    Batch(Result<kv::BatchReport, kv::StoreError>),
    Tags(std::collections::BTreeMap<String, u64>),
    Keys(Vec<String>),
}

async fn kv_session(c: &KeyValueStoreClient) -> Vec<KvAnswer> {
    let mut out = Vec::new();
    let tags = |k: usize| -> Vec<String> { (0..k % 3).map(|t| format!("tag{t}")).collect() };
    for k in 0..40usize {
        let key = format!("key-{}", k % 25);
        let ttl = (k % 4 == 0).then_some(k as u32 * 10);
        out.push(KvAnswer::Put(
            c.put(key, vec![k as u8; k * 13], tags(k), ttl)
                .await
                .expect("put"),
        ));
    }
    for key in ["key-3", "key-24", "missing", "ключ"] {
        out.push(KvAnswer::Get(c.get(key.into()).await.expect("get")));
        out.push(KvAnswer::Delete(
            c.delete(key.into()).await.expect("delete"),
        ));
    }
    out.push(KvAnswer::Tags(
        c.tag_counts().await.expect("tags").into_iter().collect(),
    ));
    out.push(KvAnswer::Keys(c.keys().await.expect("keys")));
    let batches = vec![
        vec![
            Op::Put {
                key: "b1".into(),
                value: vec![1, 2],
            },
            Op::Delete("key-0".into()),
        ],
        vec![
            Op::Delete("nope".into()),
            Op::Put {
                key: "never".into(),
                value: vec![],
            },
        ],
        vec![
            Op::Clear,
            Op::Put {
                key: "after".into(),
                value: vec![9],
            },
        ],
        vec![],
    ];
    for ops in batches {
        out.push(KvAnswer::Batch(c.batch(ops).await.expect("batch")));
        out.push(KvAnswer::Keys(c.keys().await.expect("keys")));
    }
    // Fill the store to its capacity: the next new key is a domain error.
    let fill: Vec<Op> = (0..1200)
        .map(|k| Op::Put {
            key: format!("fill-{k:04}"),
            value: vec![],
        })
        .collect();
    out.push(KvAnswer::Batch(c.batch(fill).await.expect("batch")));
    out.push(KvAnswer::Put(
        c.put("one-more".into(), vec![], vec![], None)
            .await
            .expect("put"),
    ));
    out.push(KvAnswer::Keys(c.keys().await.expect("keys")));
    out
}

#[tokio::test]
async fn the_python_key_value_store_answers_exactly_as_the_rust_one() {
    let rust = rust_plugin("kv")
        .contract::<KeyValueStoreClient>()
        .spawn()
        .await
        .expect("starting the Rust store");
    let python = example_plugin("examples/kv/python/plugin.py")
        .contract::<KeyValueStoreClient>()
        .spawn()
        .await
        .expect("starting the Python store");
    let want = kv_session(&rust.client().expect("client")).await;
    let got = kv_session(&python.client().expect("client")).await;
    assert_eq!(got.len(), want.len());
    for (k, (g, w)) in got.iter().zip(&want).enumerate() {
        assert_eq!(g, w, "answer {k}: python (left) differs from Rust (right)");
    }
    assert!(want
        .iter()
        .any(|a| matches!(a, KvAnswer::Put(Err(kv::StoreError::Full { .. })))));
    assert!(want
        .iter()
        .any(|a| matches!(a, KvAnswer::Delete(Err(kv::StoreError::NotFound(_))))));
}

/// Each test generates into its own scratch folder, as tests run in parallel.
async fn faulty(test: &str) -> (goproc::Plugin, CalculatorClient) {
    let pythonpath = common::python::generate(
        &format!("python-e2e-{test}"),
        &["examples/calculator/contract.rs"],
    );
    let plugin =
        common::python::plugin(&common::python::script("faulty_calculator.py"), &pythonpath)
            .contract::<CalculatorClient>()
            .spawn()
            .await
            .expect("starting the faulty Python calculator");
    let client = plugin.client().expect("client");
    (plugin, client)
}

#[tokio::test]
async fn a_raised_exception_reaches_the_host_as_a_handler_failure_with_its_traceback() {
    let (_plugin, c) = faulty("raise").await;
    match c.greet("bob".into()).await {
        Err(Error::Remote {
            code,
            message,
            detail,
            method,
        }) => {
            assert_eq!(code, RemoteCode::HandlerFailed);
            assert_eq!(method, "Calculator.greet");
            // The exception's class and text, no more: the host names the method.
            assert_eq!(message, "ValueError: no greeting for 'bob'");
            assert!(
                detail.starts_with("Traceback (most recent call last):"),
                "detail: {detail}"
            );
            assert!(detail.contains("helper_that_raises"), "detail: {detail}");
            assert!(detail.contains("faulty_calculator.py"), "detail: {detail}");
        }
        other => panic!("expected a handler failure, got {other:?}"),
    }
    // An answer that does not fit its type is refused by the encoder, as a handler failure.
    match c.divide(3, 1).await {
        Err(Error::Remote { code, message, .. }) => {
            assert_eq!(code, RemoteCode::HandlerFailed);
            assert_eq!(
                message,
                format!(
                    "the handler's return value cannot be encoded: EncodeError: {} is out of range for i64",
                    3u128 << 70
                )
            );
        }
        other => panic!("expected a handler failure, got {other:?}"),
    }
    // The plugin is still serving; typed domain errors and plain `def` handlers work.
    assert_eq!(
        c.divide(1, 0).await.expect("divide"),
        Err(MathError::DivisionByZero)
    );
    assert_eq!(c.divide(7, 2).await.expect("divide"), Ok(3));
    assert_eq!(c.sum(vec![1.0, 2.0, 3.0]).await.expect("sum"), 3.0);
}

#[tokio::test]
async fn calls_run_concurrently_and_a_cancelled_or_timed_out_call_leaves_the_plugin_serving() {
    let (plugin, c) = faulty("concurrent").await;
    // 50 calls that each sleep 300 ms finish together, not one after another.
    let start = std::time::Instant::now();
    let calls = (0..50).map(|k| c.add(-300, k));
    let answers = futures::future::join_all(calls).await;
    for (k, a) in answers.into_iter().enumerate() {
        assert_eq!(a.expect("add"), -300 + k as i64);
    }
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "50 sleeping calls took {:?}",
        start.elapsed()
    );

    let short = c.with_timeout(Duration::from_millis(100));
    match short.add(-5000, 0).await {
        Err(Error::Timeout { .. })
        | Err(Error::Remote {
            code: RemoteCode::DeadlineExceeded,
            ..
        }) => {}
        other => panic!("expected a timeout, got {other:?}"),
    }
    // Dropping a call future cancels it in the plugin.
    let dropped = tokio::time::timeout(Duration::from_millis(50), c.add(-5000, 0)).await;
    assert!(dropped.is_err(), "the slow call finished early");
    assert_eq!(c.add(2, 3).await.expect("add"), 5);
    plugin.ping(Duration::from_secs(5)).await.expect("ping");
}

#[tokio::test]
async fn shutdown_lets_the_running_call_finish_and_the_plugin_exits_cleanly() {
    let (plugin, c) = faulty("shutdown").await;
    let slow = tokio::spawn({
        let c = c.clone();
        async move { c.add(-400, 1).await }
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let exit = plugin.shutdown(Duration::from_secs(10)).await;
    assert_eq!(
        slow.await
            .expect("the call task")
            .expect("the running call finished"),
        -399
    );
    let status = exit.expect("the plugin exits by itself");
    assert!(status.success(), "{status}");
}

#[tokio::test]
async fn a_python_plugin_generated_from_a_changed_contract_is_refused_at_the_handshake() {
    // The same contract with one argument type changed: sum takes f32 values.
    let original = std::fs::read_to_string(example("examples/calculator/contract.rs"))
        .expect("reading the calculator contract");
    let changed = original.replace("values: Vec<f64>", "values: Vec<f32>");
    assert_ne!(
        changed, original,
        "the contract no longer has `values: Vec<f64>`"
    );
    let dir = common::scratch("python-e2e-stale-contract");
    let contract = dir.join("contract.rs");
    std::fs::write(&contract, changed).expect("writing the changed contract");
    let pythonpath = common::python::generate_from("python-e2e-stale", &[contract]);

    let stale_fingerprint = std::fs::read_to_string(pythonpath.join("goproc_stubs/calculator.py"))
        .expect("reading the stale stubs")
        .lines()
        .find_map(|l| {
            l.strip_prefix("# Contract Calculator fingerprint ")
                .map(String::from)
        })
        .expect("the stubs name their fingerprint");
    let host_fingerprint = <CalculatorClient as goproc::Client>::CONTRACT.fingerprint;
    assert_ne!(stale_fingerprint, host_fingerprint);

    let spawned =
        common::python::plugin(&common::python::script("faulty_calculator.py"), &pythonpath)
            .contract::<CalculatorClient>()
            .spawn()
            .await;
    let Err(err) = spawned else {
        panic!("the host accepted a plugin built from another contract");
    };
    // Both sides state their schema, so the host names the first difference
    // rather than the two fingerprints.
    match &err {
        Error::SchemaMismatch {
            contract,
            difference,
            ..
        } => {
            assert_eq!(contract, "Calculator");
            assert_eq!(
                difference,
                "Calculator.sum: the host has argument 1 values: Vec<f64>, the plugin has argument 1 values: Vec<f32>"
            );
        }
        other => panic!("expected SchemaMismatch, got {other:?}"),
    }
    assert_eq!(
        err.to_string(),
        "plugin faulty_calculator.py disagrees on Calculator.sum: the host has argument 1 values: \
         Vec<f64>, the plugin has argument 1 values: Vec<f32>; rebuild the plugin or regenerate \
         its stubs"
    );
}

#[test]
fn a_python_plugin_run_by_hand_says_so_and_exits_with_status_2() {
    let out = std::process::Command::new(common::python::python3())
        .arg(example("examples/calculator/python/plugin.py"))
        .env_remove("GOPROC_ADDR")
        .env_remove("GOPROC_TOKEN")
        .output()
        .expect("running the plugin by hand");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "stderr: {stderr}");
    assert!(
        stderr.starts_with(
            "this program is a goproc plugin; it is meant to be started by a host program, not run directly"
        ),
        "stderr: {stderr}"
    );
}

/// Runs the calculator example after making `sys.version_info` say 3.10.13:
/// the runtime checks the version when it is imported.
#[tokio::test]
async fn a_python_older_than_the_runtime_needs_is_named_in_one_line_and_the_plugin_exits_2() {
    let spawned = goproc::Plugin::builder(common::python::python3())
        .args([
            "-c",
            "import runpy, sys; sys.version_info = (3, 10, 13, 'final', 0); \
             runpy.run_path(sys.argv[1], run_name='__main__')",
        ])
        .arg(example("examples/calculator/python/plugin.py"))
        .env("PYTHONPATH", example("examples/calculator/python"))
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .name("old-python")
        .contract::<CalculatorClient>()
        .start_timeout(Duration::from_secs(30))
        .spawn()
        .await;
    let Err(err) = spawned else {
        panic!("the plugin started on a Python it does not support");
    };
    match &err {
        Error::PluginExited { status, stderr, .. } => {
            assert_eq!(status, "exit status: 2, before it connected", "{err}");
            assert_eq!(stderr.len(), 1, "one line: {stderr:?}");
            let line = &stderr[0];
            assert!(
                line.starts_with(
                    "goproc plugin: this plugin needs Python 3.11 or newer; it runs on Python 3.10.13 (/"
                ) && line.ends_with(')'),
                "{line}"
            );
        }
        other => panic!("expected PluginExited, got {other:?}"),
    }
}

#[test]
fn the_checked_in_python_example_stubs_are_up_to_date() {
    for (contract, out) in [
        (
            "examples/calculator/contract.rs",
            "examples/calculator/python/generated",
        ),
        ("examples/kv/contract.rs", "examples/kv/python/generated"),
        (
            "examples/host_services/contract.rs",
            "examples/host_services/python/generated",
        ),
        (
            "examples/streams/contract.rs",
            "examples/streams/python/generated",
        ),
        (
            "examples/events/contract.rs",
            "examples/events/python/generated",
        ),
    ] {
        // What `goproc-codegen --lang python --check --out OUT CONTRACT` run
        // from the workspace root compares (the CLI itself is tested in
        // goproc-codegen/tests/python_cli.rs).
        let files =
            goproc_codegen::generate(goproc_codegen::Lang::Python, &[PathBuf::from(contract)])
                .unwrap_or_else(|e| panic!("{contract}: {e}"));
        let stale = goproc_codegen::output::stale(&common::root().join(out), &files);
        assert!(
            stale.is_empty(),
            "{out} is stale ({stale:?}); regenerate it with `cargo run -p goproc-codegen -- --lang python --out {out} {contract}`"
        );
    }
}

#[tokio::test]
async fn the_python_page_counter_counts_in_the_hosts_store_and_logs_through_its_logger() {
    use host_services::{Level, LoggerServer, PageCounterClient, StoreServer};
    let host = example_host::ExampleHost::default();
    let plugin = example_plugin("examples/host_services/python/plugin.py")
        .contract::<PageCounterClient>()
        .serve(StoreServer::new(host.clone()))
        .serve(LoggerServer::new(host.clone()))
        .start_timeout(Duration::from_secs(30))
        .spawn()
        .await
        .expect("starting the Python page counter");
    let counter: PageCounterClient = plugin.client().expect("serves PageCounter");
    assert_eq!(counter.visit("home".into()).await.expect("visit"), 1);
    assert_eq!(counter.visit("home".into()).await.expect("visit"), 2);
    assert_eq!(counter.visit("about".into()).await.expect("visit"), 1);
    // Visits to one page at once are counted one after the other.
    let visits = (0..20).map(|_| counter.visit("busy".into()));
    let mut counts: Vec<u64> = futures::future::join_all(visits)
        .await
        .into_iter()
        .map(|n| n.expect("visit"))
        .collect();
    counts.sort_unstable();
    assert_eq!(counts, (1..=20).collect::<Vec<u64>>());
    let store = host.store.lock().unwrap().clone();
    assert_eq!(store.get("visits/home").map(String::as_str), Some("2"));
    assert_eq!(store.get("visits/about").map(String::as_str), Some("1"));
    assert_eq!(store.get("visits/busy").map(String::as_str), Some("20"));
    let log = host.log.lock().unwrap().clone();
    assert_eq!(log.len(), 23, "{log:?}");
    assert!(
        log.iter().all(|(level, _)| *level == Level::Info),
        "{log:?}"
    );
    assert_eq!(log[1].1, "python counted visit 2 of home");
    // Without the host services it requires, the plugin does not start.
    let err = example_plugin("examples/host_services/python/plugin.py")
        .contract::<PageCounterClient>()
        .serve(StoreServer::new(host.clone()))
        .start_timeout(Duration::from_secs(30))
        .spawn()
        .await
        .expect_err("the host serves no Logger");
    assert!(
        matches!(err, Error::Handshake { .. }) && err.to_string().contains("Logger"),
        "{err}"
    );
}
