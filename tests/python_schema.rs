//! Schemas between a Rust host and Python plugins: stubs generated from a
//! copy of the contract whose types drifted (same trait, so the same
//! fingerprint) are refused at the handshake with the difference named;
//! the contract's own stubs are accepted and describe the contract with
//! every doc comment; and the canonical text the stubs carry is the bytes
//! `goproc-codegen`'s model and the Rust runtime's tracing give.

mod common;
mod schema_support;

#[allow(dead_code)]
#[path = "../examples/calculator/contract.rs"]
mod calculator;
#[allow(dead_code)]
#[path = "contracts/everything.rs"]
mod everything;
#[path = "contracts/stats.rs"]
mod stats;

use goproc::Client;
use schema_support::{drifts, model_schema, refusal, write_drifted, STATS_CONTRACT};
use stats::{CounterClient, Stats};

/// The name the host knows the plugin by, in its messages.
const PLUGIN: &str = "counter_plugin.py";

fn counter_plugin(pythonpath: &std::path::Path) -> goproc::PluginBuilder {
    common::python::plugin(&common::python::script("counter_plugin.py"), pythonpath)
        .name(PLUGIN)
        .contract::<CounterClient>()
}

#[tokio::test]
async fn python_stubs_whose_types_drifted_are_refused_naming_the_first_difference() {
    for drift in drifts() {
        let dir = common::scratch(&format!("python-schema-drift-{}", drift.name));
        let contract = write_drifted(&drift, &dir);
        let pythonpath =
            common::python::generate_from(&format!("python-schema-{}", drift.name), &[contract]);
        let Err(err) = counter_plugin(&pythonpath).spawn().await else {
            panic!(
                "drift {}: the host accepted a plugin whose types differ",
                drift.name
            );
        };
        match &err {
            goproc::Error::SchemaMismatch {
                plugin,
                contract,
                difference,
            } => {
                assert_eq!(
                    (plugin.as_str(), contract.as_str(), difference.as_str()),
                    (PLUGIN, "Counter", drift.difference),
                    "drift {}",
                    drift.name
                );
            }
            other => panic!(
                "drift {}: expected SchemaMismatch, got {other:?}",
                drift.name
            ),
        }
        assert_eq!(
            err.to_string(),
            refusal(PLUGIN, &drift),
            "drift {}",
            drift.name
        );
    }
}

#[tokio::test]
async fn python_stubs_of_the_same_contract_are_accepted_and_describe_it_with_its_type_docs() {
    let pythonpath = common::python::generate("python-schema-counter", &[STATS_CONTRACT]);
    let plugin = counter_plugin(&pythonpath)
        .spawn()
        .await
        .expect("the plugin built from the same contract starts");
    let counter = plugin
        .client::<CounterClient>()
        .expect("the Counter client");
    assert_eq!(
        counter.stats().await.expect("stats"),
        Stats {
            calls: 4,
            bytes_in: 1,
            bytes_out: 2
        }
    );
    let described = plugin.describe().await.expect("describe");
    let expected = model_schema(STATS_CONTRACT, "Counter");
    assert_eq!(
        described,
        vec![expected.clone()],
        "left: what the plugin described, right: the contract file's schema"
    );
    // The docs of the types come from the stubs: Rust has none at run time.
    assert!(
        expected.documented_text().contains(
            "/// Totals since the last reset.\nstruct Stats {\n    /// Calls answered.\n"
        ),
        "{}",
        expected.documented_text()
    );
    plugin
        .shutdown(std::time::Duration::from_secs(5))
        .await
        .expect("the plugin shuts down");
}

#[test]
fn python_stubs_carry_the_bytes_of_the_model_and_of_the_rust_runtime() {
    let pythonpath = common::python::generate(
        "python-schema-bytes",
        &[
            "tests/contracts/everything.rs",
            "examples/calculator/contract.rs",
        ],
    );
    let out = common::python::run_script(
        &common::python::script("print_schemas.py"),
        &pythonpath,
        &[],
        "",
    );
    let parts: Vec<&str> = out.split('\0').collect();
    let carried: Vec<(&str, &str, &str)> = parts
        .chunks(3)
        .filter(|c| c.len() == 3)
        .map(|c| (c[0], c[1], c[2]))
        .collect();
    let cases: [(&str, &str, &goproc::ContractInfo); 2] = [
        (
            "tests/contracts/everything.rs",
            "Everything",
            everything::EverythingClient::CONTRACT,
        ),
        (
            "examples/calculator/contract.rs",
            "Calculator",
            calculator::CalculatorClient::CONTRACT,
        ),
    ];
    assert_eq!(
        carried.len(),
        cases.len(),
        "print_schemas.py printed:\n{out}"
    );
    for ((path, name, _), (py_name, canonical, documented)) in cases.iter().zip(&carried) {
        assert_eq!(py_name, name);
        let model = model_schema(path, name);
        assert_eq!(
            *canonical,
            model.canonical_text(),
            "{name}: the Python stub's canonical text (left) and the model's (right)"
        );
        assert_eq!(
            *documented,
            model.documented_text(),
            "{name}: the Python stub's documented text (left) and the model's (right)"
        );
    }
    // Every contract is compared before failing, so one message lists them all.
    let mut wrong = Vec::new();
    for ((_, name, info), (_, canonical, _)) in cases.iter().zip(&carried) {
        match (info.schema)() {
            Err(e) => wrong.push(format!(
                "{name}: the Rust runtime cannot trace the schema: {e}"
            )),
            Ok(traced) if traced.canonical_text() != *canonical => wrong.push(format!(
                "{name}: the Python stub's canonical text\n{canonical}\nthe Rust runtime's\n{}",
                traced.canonical_text()
            )),
            Ok(_) => {}
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n\n"));
}
