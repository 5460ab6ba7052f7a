//! Python helpers for the end-to-end tests: stubs generated into scratch
//! folders, plugin commands, and a pinned mypy in a virtualenv.

use std::path::{Path, PathBuf};
use std::process::Command;

use goproc_codegen::output;

/// The `python3` on PATH; fails the test with a clear message when missing.
pub fn python3() -> PathBuf {
    super::require_tool("python3")
}

/// Generates the Python stubs for `inputs` (paths relative to the workspace
/// root) into `target/goproc-tests/<name>/goproc_stubs/`, and returns the
/// folder to put on `PYTHONPATH` (the stubs' parent).
pub fn generate(name: &str, inputs: &[&str]) -> PathBuf {
    let inputs: Vec<PathBuf> = inputs.iter().map(|p| super::root().join(p)).collect();
    generate_from(name, &inputs)
}

/// Like [`generate`], for absolute input paths.
pub fn generate_from(name: &str, inputs: &[PathBuf]) -> PathBuf {
    let files = goproc_codegen::generate(goproc_codegen::Lang::Python, inputs)
        .unwrap_or_else(|e| panic!("generating Python for {inputs:?}: {e}"));
    let dir = super::scratch(name);
    let stubs = dir.join("goproc_stubs");
    let _ = std::fs::remove_dir_all(&stubs);
    output::write_all(&stubs, &files).expect("writing the generated Python stubs");
    dir
}

/// A host-side builder for a Python plugin script: `python3 <script>` with
/// `pythonpath` on `PYTHONPATH` (the script imports `goproc_stubs.<module>`).
pub fn plugin(script: &Path, pythonpath: &Path) -> goproc::PluginBuilder {
    goproc::Plugin::builder(python3())
        .arg(script)
        .env("PYTHONPATH", pythonpath)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .name(
            script
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
        )
}

/// A Python script of the test suite, under `tests/python/`.
pub fn script(name: &str) -> PathBuf {
    super::root().join("tests").join("python").join(name)
}

/// The pinned mypy from `tests/python/requirements.txt`, installed once per
/// machine into `target/goproc-tests/pyenv` (a marker file records the
/// requirements it was installed from).
pub fn mypy() -> PathBuf {
    let python = python3();
    let requirements = super::root().join("tests/python/requirements.txt");
    let wanted =
        std::fs::read_to_string(&requirements).expect("reading tests/python/requirements.txt");
    let env = super::root().join("target/goproc-tests/pyenv");
    let marker = env.join("goproc-installed.txt");
    let bin = env.join("bin");
    if std::fs::read_to_string(&marker).ok().as_deref() != Some(wanted.as_str()) {
        let status = Command::new(&python)
            .args(["-m", "venv", "--clear"])
            .arg(&env)
            .status()
            .expect("running python3 -m venv");
        assert!(status.success(), "python3 -m venv {} failed ({status}); is the venv module installed (Debian: python3-venv)?", env.display());
        let status = Command::new(bin.join("pip"))
            .args([
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "--no-deps",
                "-r",
            ])
            .arg(&requirements)
            .status()
            .expect("running pip in the test virtualenv");
        assert!(
            status.success(),
            "installing {} into {} failed ({status})",
            requirements.display(),
            env.display()
        );
        std::fs::write(&marker, &wanted).expect("writing the pyenv marker file");
    }
    bin.join("mypy")
}

/// Runs the pinned `mypy --strict` on `files` from `dir` (also its
/// `MYPYPATH`), and fails the test with what it printed unless it accepts
/// them all.
pub fn assert_mypy_strict_accepts(dir: &Path, files: &[PathBuf]) {
    let out = Command::new(mypy())
        .args([
            "--strict",
            "--python-version",
            "3.11",
            "--no-incremental",
            "--cache-dir=/dev/null",
        ])
        .args(files)
        .env("MYPYPATH", dir)
        .current_dir(dir)
        .output()
        .expect("running mypy");
    assert!(
        out.status.success(),
        "mypy --strict found problems in {files:?}:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Runs `python3 -c <code>`-style commands: a script with arguments, stdin
/// text, returns stdout; fails the test with stderr on a non-zero exit.
pub fn run_script(script: &Path, pythonpath: &Path, args: &[&str], stdin: &str) -> String {
    use std::io::Write;
    let mut child = Command::new(python3())
        .arg(script)
        .args(args)
        .env("PYTHONPATH", pythonpath)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("starting python3");
    let mut input = child.stdin.take().expect("python3's stdin");
    let text = stdin.to_string();
    let writer = std::thread::spawn(move || {
        let _ = input.write_all(text.as_bytes());
    });
    let out = child.wait_with_output().expect("waiting for python3");
    let _ = writer.join();
    assert!(
        out.status.success(),
        "{} failed ({}):\n{}",
        script.display(),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("python3 printed UTF-8")
}
