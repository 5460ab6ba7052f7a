//! Schemas between a Rust host and TypeScript plugins: stubs generated from
//! a copy of the contract whose types drifted (same trait, so the same
//! fingerprint) are refused at the handshake with the difference named;
//! the contract's own stubs are accepted and describe the contract with
//! every doc comment; and the canonical text the stubs carry is the bytes
//! `goproc-codegen`'s model and the Rust runtime's tracing give.

mod common;
mod schema_support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use schema_support::stats::CounterClient;
use schema_support::{
    assert_refused_for_drift, assert_serves_and_describes_the_stats_contract,
    assert_stubs_carry_model_and_runtime_bytes, drifts, write_drifted, CARRIED_CONTRACTS,
    STATS_CONTRACT,
};

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
        assert_refused_for_drift(counter_plugin(&js).spawn().await, PLUGIN, drift);
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
    assert_serves_and_describes_the_stats_contract(plugin).await;
}

#[test]
fn typescript_stubs_carry_the_bytes_of_the_model_and_of_the_rust_runtime() {
    let out = common::node::build("schema-bytes", &CARRIED_CONTRACTS, &["print_schemas.ts"]);
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
    assert_stubs_carry_model_and_runtime_bytes("TypeScript", "print_schemas.js", &printed);
}
