//! `mypy --strict` accepts the generated Python: the runtime, the stubs of
//! every test contract, the example plugins and the test plugins; and
//! narrows the enums' variants in `isinstance` and `match`
//! (tests/python/native_enums.py asserts the types it must find). mypy is
//! installed once per machine from `tests/python/requirements.txt`.

mod common;

use std::process::Command;

#[test]
fn mypy_strict_accepts_the_generated_python_and_the_plugins() {
    // The stubs the test plugins import, as one package.
    let pythonpath = common::python::generate(
        "python-mypy",
        &[
            "tests/contracts/everything.rs",
            "tests/contracts/host_services.rs",
            "tests/contracts/streams.rs",
            "tests/contracts/stats.rs",
            "examples/calculator/contract.rs",
        ],
    );
    let root = common::root();
    let mut checks: Vec<(std::path::PathBuf, Vec<std::path::PathBuf>)> = vec![(
        pythonpath.clone(),
        vec![
            pythonpath.join("goproc_stubs"),
            root.join("tests/python/counter_plugin.py"),
            root.join("tests/python/everything_plugin.py"),
            root.join("tests/python/faulty_calculator.py"),
            root.join("tests/python/golden_roundtrip.py"),
            root.join("tests/python/guest_plugin.py"),
            root.join("tests/python/native_enums.py"),
            root.join("tests/python/print_schemas.py"),
            root.join("tests/python/stream_guest_plugin.py"),
            root.join("tests/python/streams_plugin.py"),
            root.join("tests/python/test_harness.py"),
            root.join("tests/python/test_runtime.py"),
        ],
    )];
    for example in [
        "examples/calculator/python",
        "examples/kv/python",
        "examples/host_services/python",
        "examples/streams/python",
        "examples/events/python",
        "examples/registry/plugins/python-reverse",
    ] {
        let dir = root.join(example);
        checks.push((
            dir.clone(),
            vec![dir.join("generated"), dir.join("plugin.py")],
        ));
    }
    for (path, files) in checks {
        common::python::assert_mypy_strict_accepts(&path, &files);
    }
}

/// A contract with `Result`s inside its values, which no other test
/// contract has in an argument.
const RESULTS: &str = r#"
use serde::{Deserialize, Serialize};

/// Each link is an enum and a `Result`: two levels of nesting.
#[derive(Serialize, Deserialize)]
pub enum Chain {
    End,
    Next(Box<Result<Chain, u8>>),
}

#[derive(Serialize, Deserialize)]
pub struct Page<T> {
    pub items: Vec<Result<T, String>>,
}

#[goproc::plugin_interface]
pub trait Results {
    async fn chain(&self, v: Chain) -> u8;
    async fn mixed(&self, v: Vec<Result<u8, String>>, w: Option<Result<Chain, ()>>, p: Page<Chain>) -> u8;
}
"#;

/// Decodes `Result`s inside values, and counts each as one level of the
/// nesting limit (docs/WIRE.md section 3.1).
const RESULTS_CHECK: &str = r#"
from goproc_stubs import goproc_runtime as rt
from goproc_stubs import results as m

chain, mixed = m.RESULTS_CONTRACT.methods


def decode(spec: rt.MethodSpec, data: bytes) -> tuple[object, ...]:
    r = rt.Reader(data)
    args = spec.decode_args(r)
    r.done()
    assert r.levels == rt.NESTING_LIMIT
    return args


# Next(Ok(...)) 63 times, then Next(Err(5)): 128 levels; then End: 129.
assert decode(chain, bytes([1, 0] * 63 + [1, 1, 5]))[0] is not None
try:
    decode(chain, bytes([1, 0] * 63 + [1, 0, 0]))
except rt.DecodeError as e:
    assert "nesting limit" in str(e), e
else:
    raise AssertionError("129 levels decoded")
args = decode(mixed, bytes([2, 0, 5, 1, 2, 104, 105] + [1, 0, 1, 0, 0] + [2, 0, 0, 1, 1, 33]))
items: list[rt.Ok[m.Chain] | rt.Err[str]] = [rt.Ok(m.Chain.End()), rt.Err("!")]
assert args == (
    [rt.Ok(5), rt.Err("hi")],
    rt.Ok(m.Chain.Next(rt.Ok(m.Chain.End()))),
    m.Page(items=items),
), args
print("results decode")
"#;

#[test]
fn results_inside_values_type_check_decode_and_count_toward_the_nesting_limit() {
    let dir = common::scratch("python-mypy-results");
    let contract = dir.join("results.rs");
    std::fs::write(&contract, RESULTS).expect("writing the contract");
    let check = dir.join("check_results.py");
    std::fs::write(&check, RESULTS_CHECK).expect("writing the check");
    let pythonpath = common::python::generate_from("python-mypy-results", &[contract]);
    common::python::assert_mypy_strict_accepts(
        &pythonpath,
        &[pythonpath.join("goproc_stubs"), check.clone()],
    );
    let printed = common::python::run_script(&check, &pythonpath, &[], "");
    assert_eq!(printed, "results decode\n");
}

/// docs/PYTHON.md's type check of a plugin, `mypy --strict plugin/plugin.py`
/// run from the folder that holds `plugin/`: it accepts the calculator
/// example against its stubs, and once the stubs are regenerated from a
/// changed contract it fails, naming each method the plugin no longer
/// matches, before anything runs.
#[test]
fn mypy_strict_names_the_methods_of_a_plugin_that_regenerated_stubs_no_longer_match() {
    let mypy = common::python::mypy();
    let root = common::root();
    let dir = common::scratch("python-mypy-plugin-check");
    let plugin = dir.join("plugin");
    let _ = std::fs::remove_dir_all(&plugin);
    let _ = std::fs::remove_dir_all(dir.join(".mypy_cache"));
    std::fs::create_dir_all(&plugin).expect("creating plugin/");
    std::fs::copy(
        root.join("examples/calculator/python/plugin.py"),
        plugin.join("plugin.py"),
    )
    .expect("copying the calculator example");
    let generate = |contract: &std::path::Path| {
        let files = goproc_codegen::generate(goproc_codegen::Lang::Python, &[contract.into()])
            .unwrap_or_else(|e| panic!("generating Python for {}: {e}", contract.display()));
        let out = plugin.join("generated");
        let _ = std::fs::remove_dir_all(&out);
        goproc_codegen::output::write_all(&out, &files).expect("writing the stubs");
    };
    let check = || {
        Command::new(&mypy)
            .args(["--strict", "plugin/plugin.py"])
            .current_dir(&dir)
            .env_remove("MYPYPATH")
            .output()
            .expect("running mypy")
    };

    let contract = root.join("examples/calculator/contract.rs");
    generate(&contract);
    let out = check();
    assert!(
        out.status.success(),
        "mypy --strict rejects the calculator example:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );

    // The contract changes: `greet` takes one more argument, and there is a
    // new method.
    let original = std::fs::read_to_string(&contract).expect("reading the contract");
    let changed = original.replace(
        "async fn greet(&self, name: String) -> String;",
        "async fn greet(&self, name: String, polite: bool) -> String;\n    \
         async fn square(&self, a: i64) -> i64;",
    );
    assert_ne!(changed, original, "the contract no longer declares greet");
    let changed_path = dir.join("contract.rs");
    std::fs::write(&changed_path, changed).expect("writing the changed contract");
    generate(&changed_path);
    let out = check();
    let report = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{report}");
    let error = |says: &str| {
        report
            .lines()
            .any(|l| l.starts_with("plugin/plugin.py:") && l.ends_with(says))
    };
    assert!(
        error(
            ": error: Signature of \"greet\" incompatible with supertype \"Calculator\"  [override]"
        ),
        "{report}"
    );
    assert!(
        error(
            ": error: Cannot instantiate abstract class \"Calc\" with abstract attribute \"square\"  [abstract]"
        ),
        "{report}"
    );
    assert!(
        report.ends_with("Found 2 errors in 1 file (checked 1 source file)\n"),
        "{report}"
    );
}
