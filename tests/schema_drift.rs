//! The handshake compares schemas: a plugin whose types drifted from the
//! host's (same trait, same fingerprint) is refused before any call, and the
//! refusal names the type and the first difference. A running plugin
//! describes its contracts. And the schema a Rust program traces from its
//! serde impls is the same text `goproc-codegen` prints from the contract
//! file, byte for byte.

#[path = "../examples/calculator/contract.rs"]
mod calculator;
#[path = "contracts/everything.rs"]
#[allow(dead_code)]
mod everything;
#[path = "contracts/meter.rs"]
#[allow(dead_code)]
mod meter;
#[path = "contracts/streams.rs"]
#[allow(dead_code)]
mod streams;

use std::path::PathBuf;
use std::time::Duration;

use calculator::CalculatorClient;
use goproc::{Client, Error, Plugin};

fn builder(name: &str, args: &[&str]) -> goproc::PluginBuilder {
    Plugin::builder(env!("CARGO_BIN_EXE_test-plugin"))
        .args(args.iter().copied())
        .name(name)
        .start_timeout(Duration::from_secs(20))
}

/// Starts `test-plugin meter <copy>` expecting the host's `Meter`, and
/// checks that it is refused with `plugin stats-rs disagrees on
/// <difference>; rebuild the plugin or regenerate its stubs`.
async fn assert_copy_refused(copy: &str, difference: &str) {
    let spawned = builder("stats-rs", &["meter", copy])
        .contract::<meter::host::MeterClient>()
        .spawn()
        .await;
    match spawned {
        Err(e @ Error::SchemaMismatch { .. }) => assert_eq!(
            e.to_string(),
            format!("plugin stats-rs disagrees on {difference}{REBUILD}"),
            "the `{copy}` copy"
        ),
        Err(other) => panic!("expected a schema mismatch for `{copy}`, got: {other}"),
        Ok(_) => panic!("a plugin built from the `{copy}` copy was accepted"),
    }
}

const REBUILD: &str = "; rebuild the plugin or regenerate its stubs";

#[tokio::test]
async fn the_copies_share_the_trait_fingerprint() {
    // Otherwise these tests would prove nothing about schemas.
    let host = meter::host::MeterClient::CONTRACT.fingerprint;
    for other in [
        meter::reordered::MeterClient::CONTRACT,
        meter::added::MeterClient::CONTRACT,
        meter::removed::MeterClient::CONTRACT,
        meter::renamed::MeterClient::CONTRACT,
        meter::retyped::MeterClient::CONTRACT,
        meter::variant_moved::MeterClient::CONTRACT,
    ] {
        assert_eq!(other.fingerprint, host);
        assert_ne!(
            other.canonical_text(),
            meter::host::MeterClient::CONTRACT.canonical_text()
        );
    }
}

#[tokio::test]
async fn a_plugin_of_the_same_schema_starts_and_answers() {
    let plugin = builder("stats-rs", &["meter", "host"])
        .contract::<meter::host::MeterClient>()
        .spawn()
        .await
        .expect("the same schema is accepted");
    let meter: meter::host::MeterClient = plugin.client().expect("a client");
    assert_eq!(meter.stats().await.unwrap(), meter::host::sample());
    assert_eq!(meter.level().await.unwrap(), meter::host::level());
}

#[tokio::test]
async fn each_drifted_copy_is_refused_naming_the_first_difference() {
    // The copy of `Meter` the plugin is built from, and the difference the
    // host must name.
    let cases = [
        (
            "reordered",
            "Stats: the host has field 2 bytes_in: u64, the plugin \
             has field 2 bytes_out: u64",
        ),
        (
            "added",
            "Stats: the host has no field 4, the plugin has field 4 \
             errors: u64",
        ),
        (
            "removed",
            "Stats: the host has field 3 bytes_out: u64, the plugin \
             has no field 3",
        ),
        (
            "renamed",
            "Stats: the host has field 3 bytes_out: u64, the plugin \
             has field 3 bytes_sent: u64",
        ),
        (
            "retyped",
            "Stats: the host has field 3 bytes_out: u64, the plugin \
             has field 3 bytes_out: u32",
        ),
        (
            "variant-moved",
            "Level: the host has variant 1 Low, the plugin has \
             variant 1 High { limit: u32 }",
        ),
    ];
    for (copy, difference) in cases {
        assert_copy_refused(copy, difference).await;
    }
}

#[tokio::test]
async fn a_client_asked_for_later_is_refused_the_same_way() {
    // Not named in the builder: the plugin starts, and the client is refused.
    let plugin = builder("stats-rs", &["meter", "reordered"])
        .spawn()
        .await
        .expect("starts without an expected contract");
    let err = plugin
        .client::<meter::host::MeterClient>()
        .expect_err("refused");
    assert_eq!(
        err.to_string(),
        format!(
            "plugin stats-rs disagrees on Stats: the host has field 2 bytes_in: u64, the plugin \
             has field 2 bytes_out: u64{REBUILD}"
        )
    );
    // Its own schema is there to look at.
    let theirs = plugin
        .schema("Meter")
        .expect("the plugin stated its schema");
    assert_eq!(
        theirs.canonical_text(),
        meter::reordered::MeterClient::CONTRACT
            .canonical_text()
            .unwrap()
    );
}

#[tokio::test]
async fn a_host_contract_the_plugin_requires_is_compared_too() {
    let host_meter = || meter::host::MeterServer::new(meter::host::Plugin);
    let refused = builder("meter-guest", &["meter-guest", "variant-moved"])
        .serve(host_meter())
        .spawn()
        .await
        .expect_err("refused");
    assert_eq!(
        refused.to_string(),
        format!(
            "plugin meter-guest disagrees on Level: the host has variant 1 Low, the plugin has \
             variant 1 High {{ limit: u32 }}{REBUILD}"
        )
    );
    // The same requirement, from the host's own copy, is accepted.
    builder("meter-guest", &["meter-guest", "host"])
        .serve(host_meter())
        .spawn()
        .await
        .expect("the same schema is accepted");
}

#[tokio::test]
async fn a_hello_without_one_schema_per_contract_is_refused() {
    let err = builder("schemas-missing", &["schemas-missing"])
        .contract::<CalculatorClient>()
        .spawn()
        .await
        .expect_err("refused");
    assert_eq!(
        err.to_string(),
        "handshake with plugin `schemas-missing` failed: its hello lists 1 contracts and 0 \
         required host contracts but 0 schemas; it must state one schema per contract (an empty \
         one when it cannot)"
    );
}

#[tokio::test]
async fn a_schema_that_does_not_read_is_refused_saying_where() {
    let err = builder("schema-unreadable", &["schema-unreadable"])
        .contract::<CalculatorClient>()
        .spawn()
        .await
        .expect_err("refused");
    let text = err.to_string();
    assert!(
        text.starts_with(
            "handshake with plugin `schema-unreadable` failed: its schema of contract Calculator \
             does not read: "
        ),
        "{text}"
    );
}

#[tokio::test]
async fn a_plugin_that_states_no_schema_is_checked_by_its_fingerprint() {
    let plugin = builder("schema-empty", &["schema-empty"])
        .contract::<CalculatorClient>()
        .spawn()
        .await
        .expect("the fingerprints match, so it is served");
    let calc: CalculatorClient = plugin.client().expect("a client");
    assert_eq!(calc.add(1, 2).await.unwrap(), 3);
    let err = plugin.schema("Calculator").expect_err("no schema stated");
    assert_eq!(
        err.to_string(),
        "plugin `schema-empty` has no schema of contract Calculator: its runtime could not \
         state it (a type it could not trace)"
    );
}

#[tokio::test]
async fn a_plugin_describes_its_contracts_with_their_docs() {
    let plugin = builder("calculator", &["calculator"])
        .contract::<CalculatorClient>()
        .spawn()
        .await
        .expect("the calculator starts");
    let described = plugin.describe().await.expect("it describes itself");
    assert_eq!(described.len(), 1);
    // The trait's and the methods' docs; Rust keeps no docs of its types.
    assert_eq!(
        described[0].documented_text(),
        "\
/// A calculator that lives in another process.
contract Calculator {
    /// Adds two numbers.
    fn add(a: i64, b: i64) -> i64;
    /// Divides `a` by `b`; dividing by zero is a domain error, not a crash.
    fn divide(a: i64, b: i64) -> Result<i64, MathError>;
    /// Sums a list of numbers.
    fn sum(values: Vec<f64>) -> f64;
    /// Greets someone by name.
    fn greet(name: String) -> String;
}

enum MathError {
    DivisionByZero,
    Overflow {
        operation: String,
    },
}
"
    );
    // The HELLO's schema is the same, without docs.
    let stated = plugin.schema("Calculator").expect("stated in the hello");
    assert_eq!(stated, &described[0].without_docs());
    assert!(matches!(
        plugin.schema("Nope"),
        Err(Error::ContractNotServed { .. })
    ));
    // The connection goes on as before.
    let calc: CalculatorClient = plugin.client().unwrap();
    assert_eq!(calc.add(40, 2).await.unwrap(), 42);
}

#[tokio::test]
async fn a_pool_describes_its_contracts_through_a_running_instance() {
    let pool = goproc::Pool::builder(builder("calculator", &["calculator"]))
        .size(2)
        .start()
        .await
        .expect("the pool starts");
    pool.wait_all_started().await.expect("both instances run");
    let described = pool.describe().await.expect("an instance describes itself");
    let ours = (CalculatorClient::CONTRACT.schema)().as_ref().unwrap();
    assert_eq!(described, vec![ours.clone()]);
    pool.shutdown(Duration::from_secs(5)).await;
}

#[test]
fn the_rust_schema_of_the_type_table_is_the_generators_byte_for_byte() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/contracts/everything.rs");
    let model = goproc_codegen::model::schema::load(&[path]).expect("the contract file reads");
    let source = &model.contracts[0].contract;
    let generated = goproc_codegen::canonical::from_model(source, &model.types)
        .expect("the model gives a schema");
    let traced = (everything::EverythingClient::CONTRACT.schema)()
        .as_ref()
        .expect("every type of the table traces");
    assert_eq!(traced.canonical_text(), generated.canonical_text());
    // The trait's and methods' docs agree too (types' docs are Rust's gap).
    assert_eq!(traced.docs, generated.docs);
    let method_docs = |s: &goproc::schema::ContractSchema| -> Vec<Vec<String>> {
        s.methods.iter().map(|m| m.docs.clone()).collect()
    };
    assert_eq!(method_docs(traced), method_docs(&generated));
}

#[test]
fn stream_and_event_contracts_trace_as_the_generator_prints_them() {
    type SchemaFn = fn() -> &'static Result<goproc::schema::ContractSchema, String>;
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/contracts/streams.rs");
    let model = goproc_codegen::model::schema::load(&[path]).expect("the contract file reads");
    let rust: [(&str, SchemaFn); 4] = [
        ("Streams", streams::StreamsClient::CONTRACT.schema),
        ("EventProbe", streams::EventProbeClient::CONTRACT.schema),
        ("StreamGuest", streams::StreamGuestClient::CONTRACT.schema),
        (
            "Telemetry",
            <streams::TelemetryEvents as goproc::EventContract>::SCHEMA,
        ),
    ];
    assert_eq!(model.contracts.len(), rust.len());
    for (name, schema) in rust {
        let source = model
            .contracts
            .iter()
            .find(|c| c.contract.name == name)
            .unwrap_or_else(|| panic!("{name} in the file"));
        let generated = goproc_codegen::canonical::from_model(&source.contract, &model.types)
            .expect("the model gives a schema");
        let traced = schema().as_ref().expect("the types trace");
        assert_eq!(
            traced.canonical_text(),
            generated.canonical_text(),
            "{name}"
        );
    }
}
