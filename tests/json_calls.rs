//! Calls by name with JSON (docs/CONTRACTS.md, "Calls by name with JSON")
//! against real plugins of the `Everything` contract in Rust, Python and
//! TypeScript: every method's type goes out and comes back with exact
//! values, converted through the schema each plugin states; a domain error,
//! an unknown method or contract, and a bad value are reported as such.

mod common;
#[allow(dead_code)]
#[path = "contracts/everything.rs"]
mod everything;

use std::path::PathBuf;
use std::time::Duration;

use everything::{EchoError, EverythingClient};
use goproc::wire::codec;
use goproc::{Error, Plugin};
use serde_json::{json, Value};

/// `(method, arguments, answer)`: each echo method answers its argument.
fn cases() -> Vec<(&'static str, Value, Value)> {
    let record = json!({
        "id": u64::MAX,
        "name": "Ada \"Countess\" Lovelace\n",
        "score": -0.1,
        "flags": [true, false],
        "nickname": "λ",
        "shape": {"Labeled": [{"Polygon": [[1, -2], [i32::MIN, i32::MAX]]}, "p"]},
        "blob": "AAH+/w==",
    });
    let echo = |method: &'static str, v: Value| (method, json!([v.clone()]), v);
    vec![
        echo("echo_bool", json!(true)),
        echo("echo_u8", json!(u8::MAX)),
        echo("echo_u16", json!(u16::MAX)),
        echo("echo_u32", json!(u32::MAX)),
        echo("echo_u64", json!(u64::MAX)),
        echo(
            "echo_u128",
            json!("340282366920938463463374607431768211455"),
        ),
        echo("echo_usize", json!(u64::MAX)),
        echo("echo_i8", json!(i8::MIN)),
        echo("echo_i16", json!(i16::MIN)),
        echo("echo_i32", json!(i32::MIN)),
        echo("echo_i64", json!(i64::MIN)),
        echo(
            "echo_i128",
            json!("-170141183460469231731687303715884105728"),
        ),
        echo("echo_isize", json!(i64::MAX)),
        echo("echo_f32", json!(0.1)),
        echo("echo_f32", json!("-Infinity")),
        echo("echo_f64", json!(f64::MAX)),
        echo("echo_f64", json!("NaN")),
        echo("echo_char", json!("😀")),
        echo("echo_string", json!("tab\t \"quoted\" ☃")),
        echo("echo_bytes", json!("AAH/")),
        echo("echo_byte_buf", json!("")),
        echo("echo_vec", json!([-1, 0, i32::MAX])),
        echo("echo_array", json!([0, 1, 2, u16::MAX])),
        echo("echo_deque", json!(["a", "b"])),
        echo("echo_option", json!(null)),
        echo("echo_option", json!(i64::MIN)),
        echo("echo_option_option", json!(7)),
        echo("echo_hash_map", json!({"a": 1, "zed": u64::MAX})),
        echo("echo_btree_map", json!([[1, ["x"]], [u32::MAX, []]])),
        echo("echo_tuple", json!([7, "x", 2.5])),
        echo("echo_unit", json!(null)),
        echo("echo_boxed", record.clone()),
        echo("echo_record", record.clone()),
        echo("echo_shape", json!("Empty")),
        echo("echo_shape", json!({"Circle": 1.5})),
        echo("echo_shape", json!({"Rect": {"width": 3, "height": 4}})),
        echo("echo_shapes", json!([null, "Empty", {"Circle": 0.25}])),
        echo("echo_pair", json!([-32768, 65535])),
        echo("echo_marker", json!(null)),
        echo("echo_page", json!({"items": [record.clone()], "next": 2})),
        echo(
            "echo_page_of_ints",
            json!({"items": [i64::MIN, 0], "next": null}),
        ),
        echo(
            "echo_keywords",
            json!({"from": 1, "class": -1, "delete": true, "type": "t", "lambda": "λ"}),
        ),
        echo("echo_map_of_records", json!([[3, [record]]])),
        (
            "echo_many",
            json!({"a": -1, "b": "b", "c": [1, 2]}),
            json!([-1, "b", "AQI="]),
        ),
        ("nothing", json!([]), json!(null)),
        echo("echo_tree", json!({"Node": [{"Leaf": 1}, {"Node": []}]})),
        ("count_units", json!([[null, null, null]]), json!(3)),
        ("checked", json!([-5, false]), json!(-5)),
    ]
}

/// Every method of the contract has a case.
#[test]
fn every_method_has_a_case() {
    let cases = cases();
    for method in <EverythingClient as goproc::Client>::CONTRACT.methods {
        assert!(
            cases.iter().any(|(m, ..)| m == method),
            "no JSON case for Everything.{method}"
        );
    }
}

/// Calls every case on `plugin` and checks each answer.
async fn round_trip_every_case(plugin: &Plugin) {
    let language = plugin.language().to_string();
    for (method, args, answer) in cases() {
        let path = format!("Everything.{method}");
        let got = plugin
            .call_json(&path, args.clone())
            .await
            .unwrap_or_else(|e| panic!("{language}: {path}({args}) failed: {e}"));
        assert_eq!(got, answer, "{language}: {path}({args})");
    }
}

/// The domain error, unknown names and a bad value, on `plugin`.
async fn errors_are_named(plugin: &Plugin) {
    let language = plugin.language().to_string();
    match plugin
        .call_json("Everything.checked", json!([7, true]))
        .await
    {
        Err(Error::Domain { method, error }) => {
            assert_eq!(method, "Everything.checked", "{language}");
            assert_eq!(
                error,
                json!({"Refused": {"reason": "refused 7"}}),
                "{language}"
            );
        }
        other => panic!("{language}: expected a domain error, got {other:?}"),
    }

    let err = plugin
        .call_json("Everything.echo_nothing", json!([]))
        .await
        .expect_err("no such method");
    assert!(
        matches!(err, Error::UnknownMethod { .. }),
        "{language}: {err:?}"
    );
    let text = err.to_string();
    assert!(
        text.contains("has no method Everything.echo_nothing")
            && text.contains("echo_bool, echo_u8"),
        "{language}: {text}"
    );

    let err = plugin
        .call_json("Calculator.add", json!([1, 2]))
        .await
        .expect_err("no such contract");
    assert!(
        matches!(&err, Error::ContractNotServed { contract, .. } if contract == "Calculator"),
        "{language}: {err:?}"
    );

    let err = plugin
        .call_json("echo_u8", json!([1]))
        .await
        .expect_err("not a path");
    assert!(
        err.to_string().contains("Contract.method"),
        "{language}: {err}"
    );

    let mut record = cases()
        .into_iter()
        .find(|(m, ..)| *m == "echo_record")
        .expect("a record case")
        .2;
    record["shape"] = json!({"Rect": {"width": "wide", "height": 1}});
    let err = plugin
        .call_json("Everything.echo_record", json!([record]))
        .await
        .expect_err("a bad field");
    assert_eq!(
        err.to_string(),
        "the arguments of Everything.echo_record(v: Record) -> Record: \
         args[0].shape.Rect.width: expected u32, found \"wide\"",
        "{language}"
    );
}

fn rust_plugin() -> goproc::PluginBuilder {
    Plugin::builder(env!("CARGO_BIN_EXE_test-plugin"))
        .arg("everything")
        .name("everything-rs")
        .start_timeout(Duration::from_secs(20))
}

async fn python_plugin() -> Plugin {
    let pythonpath = common::python::generate("json-calls", &["tests/contracts/everything.rs"]);
    common::python::plugin(&common::python::script("everything_plugin.py"), &pythonpath)
        .spawn()
        .await
        .expect("starting the Python Everything plugin")
}

async fn typescript_plugin() -> Plugin {
    let out = common::node::build(
        "json-calls",
        &["tests/contracts/everything.rs"],
        &["echo.ts", "everything_plugin.ts"],
    );
    Plugin::builder(common::node::node())
        .arg(out.join("everything_plugin.js"))
        .name("everything.ts")
        .spawn()
        .await
        .expect("starting the TypeScript Everything plugin")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rust_plugin_answers_every_type_by_name_with_exact_values() {
    let plugin = rust_plugin().spawn().await.expect("the plugin starts");
    round_trip_every_case(&plugin).await;
    errors_are_named(&plugin).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_python_plugin_answers_every_type_by_name_with_exact_values() {
    let plugin = python_plugin().await;
    assert_eq!(plugin.language(), "python");
    round_trip_every_case(&plugin).await;
    errors_are_named(&plugin).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_typescript_plugin_answers_every_type_by_name_with_exact_values() {
    let plugin = typescript_plugin().await;
    assert_eq!(plugin.language(), "typescript");
    round_trip_every_case(&plugin).await;
    errors_are_named(&plugin).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_prepared_call_is_encoded_once_and_sent_many_times() {
    let plugin = rust_plugin().spawn().await.expect("the plugin starts");
    let call = plugin
        .prepare_json("Everything.echo_i128", json!(["-42"]))
        .expect("prepared");
    assert_eq!(call.method_path(), "Everything.echo_i128");
    assert_eq!(
        call.encoded_args(),
        codec::encode(&-42i128).expect("encode")
    );
    let answers = futures::future::join_all((0..16).map(|_| call.call())).await;
    for answer in answers {
        assert_eq!(answer.expect("answered"), json!("-42"));
    }
    // The raw answer is the typed encoding, undecoded.
    assert_eq!(
        call.call_raw().await.expect("answered"),
        codec::encode(&-42i128).expect("encode")
    );

    // A domain error is still one when the answer is not converted.
    let refused = plugin
        .prepare_json("Everything.checked", json!({"v": 3, "fail": true}))
        .expect("prepared");
    match refused.call_raw().await {
        Err(Error::Domain { error, .. }) => {
            assert_eq!(error, json!({"Refused": {"reason": "refused 3"}}))
        }
        other => panic!("expected a domain error, got {other:?}"),
    }
    let fine = plugin
        .prepare_json("Everything.checked", json!({"v": 3, "fail": false}))
        .expect("prepared");
    assert_eq!(
        fine.call_raw().await.expect("answered"),
        codec::encode(&Ok::<i32, EchoError>(3)).expect("encode")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_can_use_the_schema_of_a_contract_file() {
    // The schema a contract file describes, as `goproc-codegen` reads it:
    // for a plugin that cannot state its own.
    let model = goproc_codegen::model::schema::load(&[PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/contracts/everything.rs"
    ))])
    .expect("the contract file reads");
    let everything = model
        .contracts
        .iter()
        .find(|c| c.contract.name == "Everything")
        .expect("Everything");
    let schema = goproc_codegen::canonical::from_model(&everything.contract, &model.types)
        .expect("a schema");
    let plugin = rust_plugin().spawn().await.expect("the plugin starts");
    let call = plugin
        .prepare_json_with(&schema, "Everything.echo_shape", json!([{"Circle": 2.5}]))
        .expect("prepared");
    assert_eq!(call.call().await.expect("answered"), json!({"Circle": 2.5}));
    let err = plugin
        .prepare_json_with(&schema, "Other.echo_shape", json!([]))
        .expect_err("another contract's name");
    assert!(
        err.to_string()
            .contains("contract Everything's, not Other's"),
        "{err}"
    );
}
