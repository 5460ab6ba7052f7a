//! Schemas between a Rust host and TypeScript plugins: stubs generated from
//! a copy of the contract whose types drifted (same trait, so the same
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

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use goproc::Client;
use schema_support::{drifts, model_schema, refusal, write_drifted, STATS_CONTRACT};
use stats::{CounterClient, Stats};

/// The name the host knows the plugin by, in its messages.
const PLUGIN: &str = "counter_plugin.js";

fn counter_plugin(js: &Path) -> goproc::PluginBuilder {
    goproc::Plugin::builder(common::node::node())
        .arg(js)
        .name(PLUGIN)
        .contract::<CounterClient>()
        .start_timeout(Duration::from_secs(30))
}

/// Compiles `tests/typescript/counter_plugin.ts` against the stubs of each
/// contract file in `contracts`, each in a folder of its own under `dir`,
/// with one `tsc --strict` run; returns each folder's `counter_plugin.js`.
fn build_counters(dir: &Path, contracts: &[(&str, PathBuf)]) -> Vec<PathBuf> {
    let _ = std::fs::remove_dir_all(dir);
    let mut sources = Vec::new();
    for (name, contract) in contracts {
        let out = dir.join(name);
        common::node::generate(std::slice::from_ref(contract), &out);
        let source = out.join("counter_plugin.ts");
        std::fs::copy(
            common::root().join("tests/typescript/counter_plugin.ts"),
            &source,
        )
        .expect("copying the plugin");
        sources.push(source.display().to_string());
    }
    common::node::mark_es_modules(dir);
    common::node::tsc_strict(&[], &sources);
    contracts
        .iter()
        .map(|(name, _)| dir.join(name).join("counter_plugin.js"))
        .collect()
}

#[tokio::test]
async fn typescript_stubs_whose_types_drifted_are_refused_naming_the_first_difference() {
    let dir = common::scratch("ts-schema-drift");
    let drifts = drifts();
    let contracts: Vec<(&str, PathBuf)> = drifts
        .iter()
        .map(|d| {
            (
                d.name,
                write_drifted(d, &dir.join("contracts").join(d.name)),
            )
        })
        .collect();
    let plugins = build_counters(&dir.join("build"), &contracts);
    for (drift, js) in drifts.iter().zip(plugins) {
        let Err(err) = counter_plugin(&js).spawn().await else {
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
            refusal(PLUGIN, drift),
            "drift {}",
            drift.name
        );
    }
}

#[tokio::test]
async fn typescript_stubs_of_the_same_contract_are_accepted_and_describe_it_with_its_type_docs() {
    let dir = common::scratch("ts-schema-counter");
    let plugins = build_counters(&dir, &[("same", common::root().join(STATS_CONTRACT))]);
    let plugin = counter_plugin(&plugins[0])
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
        .shutdown(Duration::from_secs(5))
        .await
        .expect("the plugin shuts down");
}

#[test]
fn typescript_stubs_carry_the_bytes_of_the_model_and_of_the_rust_runtime() {
    let out = common::node::build(
        "schema-bytes",
        &[
            "tests/contracts/everything.rs",
            "examples/calculator/contract.rs",
        ],
        &["print_schemas.ts"],
    );
    let result = Command::new(common::node::node())
        .arg(out.join("print_schemas.js"))
        .output()
        .expect("running print_schemas.js");
    assert!(
        result.status.success(),
        "print_schemas.js failed: {}",
        String::from_utf8_lossy(&result.stderr)
    );
    let printed = String::from_utf8(result.stdout).expect("node printed UTF-8");
    let parts: Vec<&str> = printed.split('\0').collect();
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
        "print_schemas.js printed:\n{printed}"
    );
    for ((path, name, _), (ts_name, canonical, documented)) in cases.iter().zip(&carried) {
        assert_eq!(ts_name, name);
        let model = model_schema(path, name);
        assert_eq!(
            *canonical,
            model.canonical_text(),
            "{name}: the TypeScript stub's canonical text (left) and the model's (right)"
        );
        assert_eq!(
            *documented,
            model.documented_text(),
            "{name}: the TypeScript stub's documented text (left) and the model's (right)"
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
                "{name}: the TypeScript stub's canonical text\n{canonical}\nthe Rust runtime's\n{}",
                traced.canonical_text()
            )),
            Ok(_) => {}
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n\n"));
}
