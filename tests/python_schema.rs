//! Schemas between a Rust host and Python plugins: stubs generated from a
//! copy of the contract whose types drifted (same trait, so the same
//! fingerprint) are refused at the handshake with the difference named;
//! the contract's own stubs are accepted and describe the contract with
//! every doc comment; and the canonical text the stubs carry is the bytes
//! `goproc-codegen`'s model and the Rust runtime's tracing give.

mod common;
mod schema_support;

use schema_support::stats::CounterClient;
use schema_support::{
    assert_refused_for_drift, assert_serves_and_describes_the_stats_contract,
    assert_stubs_carry_model_and_runtime_bytes, drifts, write_drifted, CARRIED_CONTRACTS,
    STATS_CONTRACT,
};

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
        assert_refused_for_drift(counter_plugin(&pythonpath).spawn().await, PLUGIN, &drift);
    }
}

#[tokio::test]
async fn python_stubs_of_the_same_contract_are_accepted_and_describe_it_with_its_type_docs() {
    let pythonpath = common::python::generate("python-schema-counter", &[STATS_CONTRACT]);
    let plugin = counter_plugin(&pythonpath)
        .spawn()
        .await
        .expect("the plugin built from the same contract starts");
    assert_serves_and_describes_the_stats_contract(plugin).await;
}

#[test]
fn python_stubs_carry_the_bytes_of_the_model_and_of_the_rust_runtime() {
    let pythonpath = common::python::generate("python-schema-bytes", &CARRIED_CONTRACTS);
    let out = common::python::run_script(
        &common::python::script("print_schemas.py"),
        &pythonpath,
        &[],
        "",
    );
    assert_stubs_carry_model_and_runtime_bytes("Python", "print_schemas.py", &out);
}
