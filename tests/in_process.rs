//! Plugins served in the test's own process (`goproc::testing`): calls
//! through the real handshake, encoding, dispatcher, deadlines and
//! cancellation, over an in-memory pipe.

#[path = "../examples/calculator/contract.rs"]
mod calculator;
#[path = "contracts/lifecycle.rs"]
mod lifecycle;
#[path = "plugins/lifecycle.rs"]
mod lifecycle_impl;
#[path = "contracts/streams.rs"]
mod streams;
#[path = "plugins/streams.rs"]
mod streams_impl;

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use calculator::{Calculator, CalculatorClient, CalculatorServer, MathError};
use goproc::testing::TestPlugin;
use goproc::{Error, RemoteCode};
use lifecycle::{LifecycleClient, LifecycleServer};

struct Calc;

impl Calculator for Calc {
    async fn add(&self, a: i64, b: i64) -> i64 {
        a + b
    }
    async fn divide(&self, a: i64, b: i64) -> Result<i64, MathError> {
        if b == 0 {
            return Err(MathError::DivisionByZero);
        }
        a.checked_div(b).ok_or(MathError::Overflow {
            operation: format!("{a} / {b}"),
        })
    }
    async fn sum(&self, values: Vec<f64>) -> f64 {
        values.iter().sum()
    }
    async fn greet(&self, name: String) -> String {
        format!("Hello, {name}!")
    }
}

/// Host code under test: it takes the client, with no generics.
async fn average(calc: &CalculatorClient, values: Vec<f64>) -> Result<f64, Error> {
    let n = values.len() as f64;
    Ok(calc.sum(values).await? / n)
}

#[tokio::test]
async fn calls_and_domain_errors_cross_the_pipe() {
    let calc = goproc::testing::serve(CalculatorServer::new(Calc)).await;
    assert_eq!(calc.add(40, 2).await.expect("add"), 42);
    assert_eq!(
        calc.greet("Ada".into()).await.expect("greet"),
        "Hello, Ada!"
    );
    assert_eq!(calc.divide(84, 2).await.expect("divide"), Ok(42));
    assert_eq!(
        calc.divide(1, 0).await.expect("answered"),
        Err(MathError::DivisionByZero)
    );
    assert_eq!(
        average(&calc, vec![1.0, 2.0, 6.0]).await.expect("average"),
        3.0
    );
    // Clones share the plugin; calls run side by side.
    let sums = futures::future::join_all((0..100).map(|i| {
        let calc = calc.clone();
        async move { calc.add(i, i).await }
    }))
    .await;
    assert!(sums
        .iter()
        .enumerate()
        .all(|(i, s)| *s.as_ref().unwrap() == 2 * i as i64));
}

/// A fake of the contract, for host code: counts its calls.
#[derive(Default)]
struct FakeCalc {
    calls: AtomicU32,
}

impl Calculator for Arc<FakeCalc> {
    async fn add(&self, _: i64, _: i64) -> i64 {
        self.calls.fetch_add(1, Ordering::SeqCst);
        0
    }
    async fn divide(&self, _: i64, _: i64) -> Result<i64, MathError> {
        Err(MathError::Overflow {
            operation: "always".into(),
        })
    }
    async fn sum(&self, values: Vec<f64>) -> f64 {
        self.calls.fetch_add(1, Ordering::SeqCst);
        values.len() as f64 * 10.0
    }
    async fn greet(&self, _: String) -> String {
        String::new()
    }
}

#[tokio::test]
async fn host_code_is_tested_against_a_fake_without_a_process() {
    let fake = Arc::new(FakeCalc::default());
    let calc = goproc::testing::serve(CalculatorServer::new(fake.clone())).await;
    assert_eq!(average(&calc, vec![1.0, 2.0]).await.expect("average"), 10.0);
    assert_eq!(fake.calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_slow_handler_past_its_deadline_times_out_and_is_stopped() {
    let slow =
        goproc::testing::serve(LifecycleServer::new(lifecycle_impl::Plugin::default())).await;
    // The deadline reaches the handler.
    let left = slow
        .with_timeout(Duration::from_secs(5))
        .deadline_ms()
        .await
        .expect("deadline_ms")
        .expect("the call carries a deadline");
    assert!((4_000..=5_000).contains(&left), "{left} ms left");

    let started = Instant::now();
    let err = slow
        .with_timeout(Duration::from_millis(100))
        .sleep(10_000)
        .await
        .expect_err("past its deadline");
    assert!(
        matches!(&err, Error::Timeout { method, .. } if method == "Lifecycle.sleep"),
        "{err:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    wait_for_cancelled(&slow, 1).await;
}

#[tokio::test]
async fn dropping_a_call_cancels_its_handler() {
    let slow =
        goproc::testing::serve(LifecycleServer::new(lifecycle_impl::Plugin::default())).await;
    let call = slow.sleep(10_000);
    assert!(
        tokio::time::timeout(Duration::from_millis(100), call)
            .await
            .is_err(),
        "the call is still running when dropped"
    );
    wait_for_cancelled(&slow, 1).await;
    assert_eq!(slow.sleep(1).await.expect("a later call"), 1);
}

/// Waits until the plugin counts `n` handlers stopped before their end.
async fn wait_for_cancelled(slow: &LifecycleClient, n: u64) {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let cancelled = slow.cancelled().await.expect("cancelled");
        if cancelled >= n {
            assert_eq!(cancelled, n);
            return;
        }
        assert!(Instant::now() < deadline, "the handler was never stopped");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// The plugin's contract and the host's, for host services.
mod services {
    #[goproc::plugin_interface]
    pub trait Greeter {
        async fn greet(&self, id: u32) -> String;
    }

    #[goproc::plugin_interface]
    pub trait Directory {
        async fn name_of(&self, id: u32) -> Option<String>;
    }
}

use services::{
    Directory, DirectoryClient, DirectoryServer, Greeter, GreeterClient, GreeterServer,
};

struct Greeting;

impl Greeter for Greeting {
    async fn greet(&self, id: u32) -> String {
        let directory: DirectoryClient = goproc::peer().expect("the host serves Directory");
        match directory.name_of(id).await.expect("name_of") {
            Some(name) => format!("Hello, {name}!"),
            None => "Hello, stranger!".into(),
        }
    }
}

struct Names;

impl Directory for Names {
    async fn name_of(&self, id: u32) -> Option<String> {
        (id == 7).then(|| "Ada".to_string())
    }
}

#[tokio::test]
async fn a_handler_calls_the_hosts_services() {
    let plugin = TestPlugin::builder()
        .add(GreeterServer::new(Greeting))
        .require::<DirectoryClient>()
        .serve(DirectoryServer::new(Names))
        .start()
        .await
        .expect("the handshake passes");
    let greeter: GreeterClient = plugin.client().expect("serves Greeter");
    assert_eq!(greeter.greet(7).await.expect("greet"), "Hello, Ada!");
    assert_eq!(greeter.greet(1).await.expect("greet"), "Hello, stranger!");
    let err = plugin.client::<CalculatorClient>().expect_err("not served");
    assert!(matches!(err, Error::ContractNotServed { .. }), "{err:?}");
}

#[tokio::test]
async fn a_required_host_service_that_is_missing_fails_the_handshake() {
    let err = TestPlugin::builder()
        .add(GreeterServer::new(Greeting))
        .require::<DirectoryClient>()
        .start()
        .await
        .expect_err("refused");
    let text = err.to_string();
    assert!(
        text.contains("Directory") && text.contains(".serve("),
        "{text}"
    );
}

/// Contract types whose serde impls do not round-trip through bincode.
mod buggy {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    /// Leaves `note` out of the bytes when it is `None`; the decoder still
    /// expects it.
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub struct Entry {
        pub key: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub note: Option<String>,
    }

    /// Writes its digits as a string, reads a number.
    #[derive(Debug, Clone, Copy, PartialEq)]
    pub struct Count(pub u64);

    impl Serialize for Count {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            s.serialize_str(&self.0.to_string())
        }
    }

    impl<'de> Deserialize<'de> for Count {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            u64::deserialize(d).map(Count)
        }
    }

    #[goproc::plugin_interface]
    pub trait Ledger {
        async fn store(&self, entry: Entry) -> u32;
        async fn count(&self) -> Count;
    }
}

use buggy::{Count, Entry, Ledger, LedgerServer};

struct Book;

impl Ledger for Book {
    async fn store(&self, entry: Entry) -> u32 {
        entry.key.len() as u32
    }
    async fn count(&self) -> Count {
        Count(300)
    }
}

#[tokio::test]
async fn a_type_that_does_not_round_trip_fails_the_call_naming_the_method() {
    // Called directly, the implementation "works".
    let entry = Entry {
        key: "k".into(),
        note: None,
    };
    assert_eq!(Book.store(entry.clone()).await, 1);
    assert_eq!(Book.count().await, Count(300));

    let ledger = goproc::testing::serve(LedgerServer::new(Book)).await;
    // With the field present, the bytes are whole.
    let noted = Entry {
        note: Some("n".into()),
        ..entry.clone()
    };
    assert_eq!(ledger.store(noted).await.expect("store"), 1);

    let err = ledger
        .store(entry)
        .await
        .expect_err("the arguments do not decode");
    match &err {
        Error::Remote {
            method,
            code: RemoteCode::BadRequest,
            message,
            ..
        } => {
            assert_eq!(method, "Ledger.store");
            assert!(
                message.contains("the arguments of Ledger.store do not decode"),
                "{message}"
            );
            assert!(message.contains("skip_serializing_if"), "{message}");
        }
        other => panic!("expected a refused request, got {other:?}"),
    }

    let err = ledger
        .count()
        .await
        .expect_err("the answer does not decode");
    let text = err.to_string();
    assert!(matches!(err, Error::Codec { .. }), "{err:?}");
    assert!(text.contains("Ledger.count"), "{text}");
    assert!(text.contains("does not round-trip"), "{text}");
}

#[tokio::test]
async fn streams_both_ways_cross_the_pipe_under_credit() {
    use futures::StreamExt;

    let plugin = goproc::testing::serve(streams::StreamsServer::new(streams_impl::Plugin)).await;
    let counted: Vec<u64> = plugin
        .count(5, 4)
        .map(|item| item.expect("item"))
        .collect()
        .await;
    assert_eq!(counted, [5, 6, 7, 8]);
    // A few MiB through the default 1 MiB window and the 256 KiB pipe.
    let chunks: Vec<Vec<u8>> = (0..64u8).map(|i| vec![i; 64 * 1024]).collect();
    let summary = plugin
        .upload(goproc::Stream::iter(chunks))
        .await
        .expect("upload");
    assert_eq!((summary.bytes, summary.chunks), (64 * 64 * 1024, 64));
    let shouted: Vec<String> = plugin
        .shout(
            "> ".into(),
            goproc::Stream::iter(vec!["a".to_string(), "b".into()]),
        )
        .map(|item| item.expect("line"))
        .collect()
        .await;
    assert_eq!(shouted, ["> A", "> B"]);
}
