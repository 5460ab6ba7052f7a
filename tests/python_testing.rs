//! Python plugins tested in process, and stubs that read as Python: the
//! runtime's `testing` harness (tests/python/test_harness.py), the enums
//! as classes (tests/python/native_enums.py), one runtime shared by the
//! contracts generated into one folder, and the examples' `generated`
//! folders importable as packages with no `sys.path` edits.

mod common;

use std::path::Path;
use std::process::Command;

use goproc_codegen::{output, Lang};

#[test]
fn the_in_process_harness_calls_raises_cancels_times_out_and_catches_codec_bugs() {
    let pythonpath = common::python::generate(
        "python-harness",
        &[
            "examples/calculator/contract.rs",
            "tests/contracts/host_services.rs",
            "tests/contracts/streams.rs",
        ],
    );
    let out = common::python::run_script(
        &common::python::script("test_harness.py"),
        &pythonpath,
        &[],
        "",
    );
    let ran: usize = out
        .trim()
        .strip_suffix(" harness tests passed")
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("unexpected output of test_harness.py:\n{out}"));
    assert!(ran >= 12, "only {ran} harness tests ran:\n{out}");
}

#[test]
fn enums_are_classes_with_a_subclass_per_variant() {
    let pythonpath = common::python::generate(
        "python-native-enums",
        &[
            "tests/contracts/everything.rs",
            "examples/calculator/contract.rs",
        ],
    );
    let out = common::python::run_script(
        &common::python::script("native_enums.py"),
        &pythonpath,
        &[],
        "",
    );
    assert_eq!(out.trim(), "native enums ok");
}

/// The check run in the shared folder: both modules import, and their
/// error classes derive from the one `DomainError` of the one runtime.
const SHARED: &str = r#"
import goproc_stubs.goproc_runtime as rt
from goproc_stubs import calculator, key_value_store
assert calculator._rt is key_value_store._rt is rt, "two runtimes"
assert issubclass(calculator.MathError, rt.DomainError)
assert issubclass(key_value_store.StoreError, rt.DomainError)
try:
    raise key_value_store.StoreError.NotFound("k")
except rt.DomainError as e:
    assert type(e) is key_value_store.StoreError.NotFound
print("one runtime")
"#;

#[test]
fn contracts_generated_separately_into_one_folder_share_one_runtime() {
    let dir = common::scratch("python-shared-runtime");
    let stubs = dir.join("goproc_stubs");
    let _ = std::fs::remove_dir_all(&stubs);
    for contract in ["examples/calculator/contract.rs", "examples/kv/contract.rs"] {
        let files = goproc_codegen::generate(Lang::Python, &[common::root().join(contract)])
            .unwrap_or_else(|e| panic!("generating Python for {contract}: {e}"));
        output::write_all(&stubs, &files).expect("writing the stubs");
    }
    let script = dir.join("shared.py");
    std::fs::write(&script, SHARED).expect("writing the check");
    let out = common::python::run_script(&script, &dir, &[], "");
    assert_eq!(out.trim(), "one runtime");
}

/// Runs an example's plugin by hand, with nothing on `PYTHONPATH`: it
/// imports its stubs and says it wants a host (status 2), or fails with an
/// ImportError.
fn run_by_hand(dir: &Path, args: &[&str]) {
    let out = Command::new(common::python::python3())
        .args(args)
        .current_dir(dir)
        .env_remove("PYTHONPATH")
        .env_remove("GOPROC_ADDR")
        .env_remove("GOPROC_TOKEN")
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .expect("running python3");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.code() == Some(2) && stderr.contains("meant to be started by a host"),
        "`python3 {}` in {} did not import its stubs ({}):\n{stderr}",
        args.join(" "),
        dir.display(),
        out.status
    );
}

#[test]
fn example_plugins_import_their_generated_package_without_path_edits() {
    for example in ["calculator", "events", "host_services", "kv", "streams"] {
        let dir = common::root().join("examples").join(example).join("python");
        let plugin = std::fs::read_to_string(dir.join("plugin.py")).expect("reading plugin.py");
        assert!(
            !["sys.path.", "sys.path[", "sys.path +"]
                .iter()
                .any(|edit| plugin.contains(edit)),
            "examples/{example}/python/plugin.py edits sys.path"
        );
        // As a script (its folder on sys.path), and as a module (`-m`, the
        // current folder on sys.path).
        run_by_hand(&dir, &["plugin.py"]);
        run_by_hand(&dir, &["-m", "plugin"]);
        // From another folder, by path.
        run_by_hand(
            common::root(),
            &[dir.join("plugin.py").to_str().expect("a UTF-8 path")],
        );
    }
}
