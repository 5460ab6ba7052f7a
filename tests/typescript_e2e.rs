//! End to end: the calculator and key-value contracts served by TypeScript
//! plugins and called from a Rust host give the same results as the Rust
//! plugins; handler exceptions, cancellation, deadlines, shutdown and a
//! stale stub behave as docs/WIRE.md says.

mod common;
#[path = "../examples/calculator/contract.rs"]
mod contract;
#[path = "../examples/kv/contract.rs"]
mod kv_contract;

use std::path::PathBuf;
use std::time::Duration;

use contract::{CalculatorClient, MathError};
use goproc::{Error, RemoteCode};
use kv_contract::{KeyValueStoreClient, Op};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const RUST_PLUGIN: &str = env!("CARGO_BIN_EXE_test-plugin");

/// The calculator example (`examples/calculator/typescript`), compiled with
/// its own tsconfig.json into a scratch folder.
fn example_calculator() -> PathBuf {
    static BUILT: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BUILT
        .get_or_init(|| common::node::build_example("calculator", "ts-example-calculator"))
        .clone()
}

async fn spawn_calculator(program: &str, args: &[PathBuf]) -> goproc::Plugin {
    goproc::Plugin::builder(program)
        .args(args)
        .contract::<CalculatorClient>()
        .spawn()
        .await
        .unwrap_or_else(|e| panic!("starting {program} {args:?}: {e}"))
}

async fn behaviour_plugin() -> goproc::Plugin {
    let out = common::node::build(
        "behaviour",
        &["examples/calculator/contract.rs"],
        &["calculator_behaviour.ts"],
    );
    let node = common::node::node();
    spawn_calculator(
        node.to_str().expect("utf-8 path"),
        &[out.join("calculator_behaviour.js")],
    )
    .await
}

/// Everything the calculator answers for a set of inputs, as text.
async fn calculator_transcript(c: &CalculatorClient) -> Vec<String> {
    let mut out = Vec::new();
    let ints = [
        0,
        1,
        -1,
        7,
        -7,
        2,
        i64::MAX,
        i64::MIN,
        1 << 40,
        -(1 << 53) - 1,
    ];
    for &a in &ints {
        for &b in &ints {
            out.push(format!("add({a}, {b}) = {:?}", c.add(a, b).await));
            out.push(format!("divide({a}, {b}) = {:?}", c.divide(a, b).await));
        }
    }
    let sums: [&[f64]; 6] = [
        &[],
        &[-0.0],
        &[1.5, 2.5, 3.0],
        &[0.1, 0.2, 0.3],
        &[f64::MAX, f64::MAX],
        &[1e308, -1e308, f64::MIN_POSITIVE],
    ];
    for values in sums {
        // Bits, so that -0.0 and 0.0 differ.
        let got = c.sum(values.to_vec()).await.map(f64::to_bits);
        out.push(format!("sum({values:?}) = {got:?}"));
    }
    for name in ["", "goproc", "é\u{feff}😀", "\u{10ffff}"] {
        out.push(format!(
            "greet({name:?}) = {:?}",
            c.greet(name.into()).await
        ));
    }
    out
}

#[tokio::test]
async fn typescript_calculator_answers_like_the_rust_one() {
    let js = example_calculator();
    let node = common::node::node();
    let ts = spawn_calculator(node.to_str().expect("utf-8 path"), &[js]).await;
    assert_eq!(ts.language(), "typescript");
    let rust = spawn_calculator(RUST_PLUGIN, &["calculator".into()]).await;
    let ts_answers = calculator_transcript(&ts.client().expect("client")).await;
    let rust_answers = calculator_transcript(&rust.client().expect("client")).await;
    assert_eq!(ts_answers.len(), rust_answers.len());
    for (t, r) in ts_answers.iter().zip(&rust_answers) {
        assert_eq!(t, r, "TypeScript and Rust plugins disagree");
    }
    // The domain errors are typed on the host.
    let c: CalculatorClient = ts.client().expect("client");
    assert_eq!(
        c.divide(1, 0).await.unwrap(),
        Err(MathError::DivisionByZero)
    );
    assert_eq!(
        c.divide(i64::MIN, -1).await.unwrap(),
        Err(MathError::Overflow {
            operation: format!("{} / -1", i64::MIN)
        })
    );
}

/// A random script of key-value operations and every answer, as text.
async fn kv_transcript(kv: &KeyValueStoreClient, seed: u64) -> Vec<String> {
    let mut rng = StdRng::seed_from_u64(seed);
    let keys = ["a", "b", "c", "é", "😀", "", "zz", "B"];
    let tags = ["red", "green", "blue"];
    let mut out = Vec::new();
    for _ in 0..400 {
        let key = keys[rng.random_range(0..keys.len())].to_string();
        let line = match rng.random_range(0..7) {
            0 | 1 => {
                let n = rng.random_range(0..40);
                let value: Vec<u8> = (0..n).map(|_| rng.random()).collect();
                let t: Vec<String> = (0..rng.random_range(0..3))
                    .map(|_| tags[rng.random_range(0..tags.len())].to_string())
                    .collect();
                let ttl = rng.random_bool(0.5).then(|| rng.random());
                format!("put = {:?}", kv.put(key.clone(), value, t, ttl).await)
            }
            2 => format!("get = {:?}", kv.get(key.clone()).await),
            3 => format!("delete = {:?}", kv.delete(key.clone()).await),
            4 => {
                let ops: Vec<Op> = (0..rng.random_range(0..4))
                    .map(|_| {
                        let k = keys[rng.random_range(0..keys.len())].to_string();
                        match rng.random_range(0..5) {
                            0 => Op::Clear,
                            1 | 2 => Op::Delete(k),
                            _ => Op::Put {
                                key: k,
                                value: vec![rng.random(); 3],
                            },
                        }
                    })
                    .collect();
                format!("batch({ops:?}) = {:?}", kv.batch(ops.clone()).await)
            }
            5 => {
                let mut counts: Vec<_> = kv
                    .tag_counts()
                    .await
                    .expect("tag_counts")
                    .into_iter()
                    .collect();
                counts.sort();
                format!("tag_counts = {counts:?}")
            }
            _ => format!("keys = {:?}", kv.keys().await),
        };
        out.push(format!("{key:?}: {line}"));
    }
    out
}

#[tokio::test]
async fn typescript_key_value_store_answers_like_the_rust_one() {
    let out = common::node::build("kv", &["examples/kv/contract.rs"], &["kv_plugin.ts"]);
    let spawn = |program: PathBuf, args: Vec<PathBuf>| async move {
        goproc::Plugin::builder(program)
            .args(args)
            .contract::<KeyValueStoreClient>()
            .spawn()
            .await
            .expect("starting a key-value plugin")
    };
    let ts = spawn(common::node::node(), vec![out.join("kv_plugin.js")]).await;
    let rust = spawn(PathBuf::from(RUST_PLUGIN), vec!["kv".into()]).await;
    let seed = 0x6b76;
    let t = kv_transcript(&ts.client().expect("client"), seed).await;
    let r = kv_transcript(&rust.client().expect("client"), seed).await;
    for (i, (t, r)) in t.iter().zip(&r).enumerate() {
        assert_eq!(
            t, r,
            "seed {seed:#x}, step {i}: TypeScript and Rust disagree"
        );
    }
    assert!(
        r.iter().any(|l| l.contains("Err(NotFound")),
        "the script should reach the domain error"
    );
}

fn remote(e: Result<String, Error>) -> (RemoteCode, String, String) {
    match e {
        Err(Error::Remote {
            code,
            message,
            detail,
            ..
        }) => (code, message, detail),
        other => panic!("expected a remote error, got {other:?}"),
    }
}

#[tokio::test]
async fn a_thrown_exception_reaches_the_host_with_its_stack() {
    let plugin = behaviour_plugin().await;
    let c: CalculatorClient = plugin.client().expect("client");

    // A rejected promise: `<name>: <message>` and nothing else (the host
    // names the call), the stack as the detail.
    let (code, message, detail) = remote(c.greet("throw".into()).await);
    assert_eq!(code, RemoteCode::HandlerFailed);
    assert_eq!(message, "TypeError: greet was told to throw");
    assert!(
        detail.contains("calculator_behaviour.js"),
        "no stack: {detail}"
    );

    let (code, message, detail) = remote(c.greet("throw-value".into()).await);
    assert_eq!(code, RemoteCode::HandlerFailed);
    assert_eq!(message, "thrown: 42");
    assert_eq!(detail, "");

    let (code, message, _) = remote(c.greet("throw-empty".into()).await);
    assert_eq!(code, RemoteCode::HandlerFailed);
    assert_eq!(message, "RangeError");

    // An answer that is not valid UTF-8 is refused by the encoder, not sent
    // mangled; the message does not name the method either.
    let (code, message, _) = remote(c.greet("lone-surrogate".into()).await);
    assert_eq!(code, RemoteCode::HandlerFailed);
    assert!(
        message.starts_with("the handler's answer cannot be sent: EncodeError: ")
            && message.contains("lone surrogate"),
        "{message}"
    );

    // The plugin keeps serving after all that.
    assert_eq!(c.add(2, 3).await.unwrap(), 5);
}

async fn aborted_count(c: &CalculatorClient) -> String {
    c.greet("stats".into()).await.expect("stats")
}

/// Polls until the plugin has seen `n` aborted signals.
async fn wait_for_aborts(c: &CalculatorClient, n: u32) {
    let want = format!("aborted={n}");
    for _ in 0..100 {
        if aborted_count(c).await == want {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "the handler's signal was not aborted: {}",
        aborted_count(c).await
    );
}

#[tokio::test]
async fn cancel_and_deadline_abort_the_handler_signal_while_other_calls_go_on() {
    let plugin = behaviour_plugin().await;
    let c: CalculatorClient = plugin.client().expect("client");
    assert_eq!(aborted_count(&c).await, "aborted=0");

    // A waiting handler does not hold up other calls: they run concurrently.
    let waiting = tokio::spawn({
        let c = c.clone();
        async move { c.greet("wait".into()).await }
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(c.add(40, 2).await.unwrap(), 42);
    // Dropping the call sends CANCEL; the plugin aborts the handler's signal.
    waiting.abort();
    wait_for_aborts(&c, 1).await;

    // A deadline aborts the signal and the host gets a timeout.
    let timed = c.with_timeout(Duration::from_millis(200));
    match timed.greet("wait".into()).await {
        Err(Error::Timeout { .. }) => {}
        other => panic!("expected a timeout, got {other:?}"),
    }
    wait_for_aborts(&c, 2).await;
}

#[tokio::test]
async fn shutdown_lets_the_running_call_finish_then_the_plugin_exits_cleanly() {
    let plugin = behaviour_plugin().await;
    let c: CalculatorClient = plugin.client().expect("client");
    let slow = tokio::spawn({
        let c = c.clone();
        async move { c.greet("slow".into()).await }
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let ended = plugin.shutdown(Duration::from_secs(10)).await;
    assert_eq!(slow.await.expect("join").expect("slow call"), "slow done");
    let status = ended.expect("the plugin exits by itself");
    assert!(status.success(), "{status}");
}

#[test]
fn run_without_a_host_the_plugin_says_so_and_exits_2() {
    let js = example_calculator();
    let out = std::process::Command::new(common::node::node())
        .arg(js)
        .env_remove("GOPROC_ADDR")
        .env_remove("GOPROC_TOKEN")
        .output()
        .expect("running node");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with(
            "this program is a goproc plugin; it is meant to be started by a host program, not run directly"
        ),
        "{stderr}"
    );
}

#[tokio::test]
async fn a_stale_typescript_stub_is_refused_naming_the_first_difference() {
    // A copy of the calculator contract with one argument type changed.
    let dir = common::scratch("ts-stale-contract");
    let original = std::fs::read_to_string(common::root().join("examples/calculator/contract.rs"))
        .expect("reading the calculator contract");
    let changed = original.replace("values: Vec<f64>", "values: Vec<f32>");
    assert_ne!(original, changed, "the contract should have changed");
    let stale_contract = dir.join("contract.rs");
    std::fs::write(&stale_contract, changed).expect("writing the stale contract");
    let stale_fingerprint =
        goproc_codegen::model::schema::load(std::slice::from_ref(&stale_contract))
            .expect("the stale contract parses")
            .contracts[0]
            .contract
            .fingerprint
            .clone();
    let host_fingerprint = <CalculatorClient as goproc::Client>::CONTRACT.fingerprint;
    assert_ne!(stale_fingerprint, host_fingerprint);

    // Stubs from the stale contract; the plugin source compiles unchanged.
    let build = dir.join("build");
    let _ = std::fs::remove_dir_all(&build);
    common::node::generate(&[stale_contract], &build);
    std::fs::copy(
        common::root().join("tests/typescript/calculator_behaviour.ts"),
        build.join("calculator_behaviour.ts"),
    )
    .expect("copying the plugin");
    common::node::mark_es_modules(&build);
    common::node::tsc_strict(
        &[],
        &[build.join("calculator_behaviour.ts").display().to_string()],
    );

    let result = goproc::Plugin::builder(common::node::node())
        .arg(build.join("calculator_behaviour.js"))
        .name("calculator_behaviour.js")
        .contract::<CalculatorClient>()
        .spawn()
        .await;
    // Both sides state their schema, so the host names the first difference
    // rather than the two fingerprints.
    match result {
        Err(ref e @ Error::SchemaMismatch { ref difference, .. }) => {
            assert_eq!(
                difference,
                "Calculator.sum: the host has argument 1 values: Vec<f64>, the plugin has argument 1 values: Vec<f32>"
            );
            assert_eq!(
                e.to_string(),
                "plugin calculator_behaviour.js disagrees on Calculator.sum: the host has argument \
                 1 values: Vec<f64>, the plugin has argument 1 values: Vec<f32>; rebuild the \
                 plugin or regenerate its stubs"
            );
        }
        Err(other) => panic!("expected SchemaMismatch, got {other}"),
        Ok(_) => panic!("a stale stub was accepted"),
    }
}

#[tokio::test]
async fn a_plugin_whose_implementation_lacks_methods_exits_before_the_hello_naming_them() {
    let out = common::node::build(
        "incomplete",
        &["examples/calculator/contract.rs"],
        &["calculator_handler.ts", "calculator_incomplete.ts"],
    );
    let started = goproc::Plugin::builder(common::node::node())
        .arg(out.join("calculator_incomplete.js"))
        .contract::<CalculatorClient>()
        .start_timeout(Duration::from_secs(30))
        .spawn()
        .await;
    let err = match started {
        Ok(_) => panic!("a plugin without sum and greet started"),
        Err(e) => e,
    };
    let Error::PluginExited { status, stderr, .. } = &err else {
        panic!("expected the plugin to exit before its hello, got: {err}");
    };
    assert!(status.contains("exit status: 1"), "{err}");
    assert!(
        stderr.iter().any(|l| l.contains(
            "the implementation given to serve is incomplete: contract Calculator lacks methods sum, greet"
        )),
        "stderr does not name the missing methods: {stderr:?}"
    );
    // The host's error carries that line too.
    assert!(
        err.to_string().contains("lacks methods sum, greet"),
        "{err}"
    );
}
