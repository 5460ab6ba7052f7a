//! `mypy --strict` accepts the generated Python: the runtime, the stubs of
//! every test contract, the example plugins and the test plugins. mypy is
//! installed once per machine from `tests/python/requirements.txt`.

mod common;

use std::process::Command;

#[test]
fn mypy_strict_accepts_the_generated_python_and_the_plugins() {
    let mypy = common::python::mypy();
    // The stubs the test plugins import, as one package.
    let pythonpath = common::python::generate(
        "python-mypy",
        &[
            "tests/contracts/everything.rs",
            "examples/calculator/contract.rs",
        ],
    );
    let root = common::root();
    let mut checks: Vec<(std::path::PathBuf, Vec<std::path::PathBuf>)> = vec![(
        pythonpath.clone(),
        vec![
            pythonpath.join("goproc_stubs"),
            root.join("tests/python/everything_plugin.py"),
            root.join("tests/python/faulty_calculator.py"),
            root.join("tests/python/golden_roundtrip.py"),
            root.join("tests/python/test_runtime.py"),
        ],
    )];
    for example in ["examples/calculator/python", "examples/kv/python"] {
        let dir = root.join(example);
        checks.push((
            dir.clone(),
            vec![dir.join("generated"), dir.join("plugin.py")],
        ));
    }
    for (path, files) in checks {
        let out = Command::new(&mypy)
            .args([
                "--strict",
                "--python-version",
                "3.11",
                "--no-incremental",
                "--cache-dir=/dev/null",
            ])
            .args(&files)
            .env("MYPYPATH", &path)
            .current_dir(&path)
            .output()
            .expect("running mypy");
        assert!(
            out.status.success(),
            "mypy --strict found problems in {files:?}:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
