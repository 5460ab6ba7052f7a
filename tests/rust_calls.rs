//! A Rust host calling Rust plugins: typed calls, domain errors, many calls
//! in flight, a richer contract, several contracts in one process.

#[path = "../examples/calculator/contract.rs"]
mod calculator;
#[path = "contracts/everything.rs"]
mod everything;
#[path = "../examples/kv/contract.rs"]
mod kv;

use std::collections::HashMap;
use std::time::Duration;

use calculator::{CalculatorClient, MathError};
use everything::{EchoError, EverythingClient, Record, Shape};
use goproc::Plugin;
use kv::{BatchReport, KeyValueStoreClient, Op, StoreError};

async fn start(role: &str) -> Plugin {
    Plugin::builder(env!("CARGO_BIN_EXE_test-plugin"))
        .arg(role)
        .name(format!("test-plugin {role}"))
        .start_timeout(Duration::from_secs(20))
        .spawn()
        .await
        .unwrap_or_else(|e| panic!("starting `test-plugin {role}`: {e}"))
}

#[tokio::test]
async fn calculator_answers_and_domain_errors_arrive_typed() {
    let plugin = start("calculator").await;
    assert_eq!(plugin.language(), "rust");
    let calc: CalculatorClient = plugin.client().expect("serves Calculator");
    assert_eq!(calc.add(40, 2).await.expect("add"), 42);
    assert_eq!(calc.divide(84, 2).await.expect("divide"), Ok(42));
    assert_eq!(
        calc.divide(1, 0).await.expect("divide by zero is answered"),
        Err(MathError::DivisionByZero)
    );
    assert_eq!(
        calc.divide(i64::MIN, -1)
            .await
            .expect("overflow is answered"),
        Err(MathError::Overflow {
            operation: format!("{} / -1", i64::MIN)
        })
    );
    assert_eq!(calc.sum(vec![1.5, 2.5]).await.expect("sum"), 4.0);
    assert_eq!(
        calc.greet("Ada".into()).await.expect("greet"),
        "Hello, Ada!"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_tasks_make_ten_thousand_calls_on_one_cloned_client() {
    let plugin = start("calculator").await;
    let calc: CalculatorClient = plugin.client().expect("serves Calculator");
    let mut tasks = Vec::new();
    for t in 0..100i64 {
        let calc = calc.clone();
        tasks.push(tokio::spawn(async move {
            let mut wrong = 0;
            for i in 0..100i64 {
                let (a, b) = (t * 1_000_003, i * 7 - 350);
                if calc.add(a, b).await.expect("add") != a + b {
                    wrong += 1;
                }
            }
            wrong
        }));
    }
    let mut wrong = 0;
    for task in tasks {
        wrong += task.await.expect("task");
    }
    assert_eq!(wrong, 0, "every one of 10,000 answers is correct");
}

#[tokio::test]
async fn the_key_value_store_round_trips_structs_enums_maps_and_bytes() {
    let plugin = start("kv").await;
    let kv: KeyValueStoreClient = plugin.client().expect("serves KeyValueStore");
    let blob: Vec<u8> = (0..=255).collect();
    assert_eq!(
        kv.put(
            "a".into(),
            blob.clone(),
            vec!["x".into(), "y".into()],
            Some(60)
        )
        .await
        .expect("put"),
        Ok(1)
    );
    assert_eq!(
        kv.put("a".into(), blob.clone(), vec!["x".into()], None)
            .await
            .expect("put"),
        Ok(2)
    );
    let entry = kv.get("a".into()).await.expect("get").expect("present");
    assert_eq!(
        (entry.value, entry.tags, entry.ttl_seconds, entry.version),
        (blob, vec!["x".to_string()], None, 2)
    );
    assert_eq!(kv.get("missing".into()).await.expect("get"), None);
    assert_eq!(
        kv.delete("missing".into()).await.expect("delete"),
        Err(StoreError::NotFound("missing".into()))
    );
    let report = kv
        .batch(vec![
            Op::Put {
                key: "b".into(),
                value: vec![1],
            },
            Op::Put {
                key: "c".into(),
                value: vec![],
            },
            Op::Delete("a".into()),
        ])
        .await
        .expect("batch");
    assert_eq!(
        report,
        Ok(BatchReport {
            written: 2,
            removed: 1
        })
    );
    assert_eq!(
        kv.keys().await.expect("keys"),
        vec!["b".to_string(), "c".to_string()]
    );
    assert_eq!(kv.tag_counts().await.expect("tags"), HashMap::new());
}

#[tokio::test]
async fn one_plugin_process_serves_several_contracts() {
    let plugin = start("all").await;
    let names: Vec<&str> = plugin.contracts().map(|(name, _)| name).collect();
    assert_eq!(names, ["Everything", "KeyValueStore"]);
    let echo: EverythingClient = plugin.client().expect("serves Everything");
    let kv: KeyValueStoreClient = plugin.client().expect("serves KeyValueStore");
    let record = Record {
        id: u64::MAX,
        name: "ünïcødé ✓".into(),
        score: -0.5,
        flags: vec![true, false],
        nickname: None,
        shape: Shape::Labeled(
            Box::new(Shape::Rect {
                width: 3,
                height: 4,
            }),
            "box".into(),
        ),
        blob: vec![0, 255],
    };
    assert_eq!(
        echo.echo_record(record.clone()).await.expect("echo"),
        record
    );
    assert_eq!(
        echo.checked(5, true).await.expect("checked"),
        Err(EchoError::Refused {
            reason: "refused 5".into()
        })
    );
    echo.nothing().await.expect("a unit method answers");
    assert_eq!(kv.keys().await.expect("keys"), Vec::<String>::new());
    let err = plugin
        .client::<CalculatorClient>()
        .expect_err("Calculator is not served");
    assert!(
        matches!(&err, goproc::Error::ContractNotServed { contract, served, .. }
            if contract == "Calculator" && served.len() == 2),
        "{err}"
    );
}

#[tokio::test]
async fn a_client_with_a_timeout_fails_with_timeout_and_the_plugin_keeps_serving() {
    let plugin = start("calculator").await;
    let calc: CalculatorClient = plugin.client().expect("serves Calculator");
    // A generous deadline still answers.
    let quick = calc.with_timeout(Duration::from_secs(30));
    assert_eq!(quick.add(1, 1).await.expect("add"), 2);
    assert!(plugin.ping(Duration::from_secs(5)).await.is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn byte_vectors_of_every_size_come_back_whole() {
    let plugin = start("all").await;
    let echo: EverythingClient = plugin.client().expect("serves Everything");
    // Around the size from which a vector is sent from its own buffer, and
    // past the largest buffer a connection keeps for the next body.
    let k = 1024;
    for len in [
        0,
        1,
        250,
        16 * k - 1,
        16 * k,
        16 * k + 1,
        100 * k,
        k * k,
        5 * k * k,
        k * k,
    ] {
        let sent: Vec<u8> = (0..len).map(|i| (i * 7 + len) as u8).collect();
        let got = echo.echo_bytes(sent.clone()).await.expect("echo_bytes");
        assert!(got == sent, "{len} bytes came back changed");
    }
    // Many in flight at once: every answer is its own call's.
    let calls = (0..16usize).map(|n| {
        let echo = echo.clone();
        async move {
            let sent = vec![n as u8; 200_000 + n];
            let got = echo.echo_bytes(sent.clone()).await.expect("echo_bytes");
            assert!(got == sent, "call {n} came back changed");
        }
    });
    futures::future::join_all(calls).await;
    // Calls given up while their large requests wait to be written, or are
    // being written, leave the connection whole.
    for _ in 0..8 {
        let _ = echo
            .with_timeout(Duration::from_micros(50))
            .echo_bytes(vec![9; 4 * k * k])
            .await;
    }
    let sent = vec![1; 300_000];
    let got = echo
        .echo_bytes(sent.clone())
        .await
        .expect("after the timeouts");
    assert!(got == sent, "the call after the timeouts came back changed");
}
