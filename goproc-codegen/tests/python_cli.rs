//! The `goproc-codegen --lang python` command line: `--check` on fresh and
//! stale folders, and every contract the model refuses, reported at its
//! file and line.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn codegen() -> Command {
    Command::new(env!("CARGO_BIN_EXE_goproc-codegen"))
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("goproc-codegen sits in the workspace")
        .to_path_buf()
}

/// A fresh folder for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("python-cli")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("creating a scratch folder");
    dir
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn check_passes_on_a_fresh_folder_and_fails_listing_the_stale_files() {
    let dir = scratch("check");
    let out_dir = dir.join("stubs");
    let contract = workspace_root().join("examples/kv/contract.rs");
    let run = |check: bool| {
        let mut cmd = codegen();
        cmd.args(["--lang", "python", "--out"]).arg(&out_dir);
        if check {
            cmd.arg("--check");
        }
        cmd.arg(&contract).output().expect("running goproc-codegen")
    };

    let missing = run(true);
    assert_eq!(
        missing.status.code(),
        Some(1),
        "--check on an empty folder: {}",
        stderr(&missing)
    );

    let wrote = run(false);
    assert!(wrote.status.success(), "generating: {}", stderr(&wrote));
    for f in ["__init__.py", "goproc_runtime.py", "key_value_store.py"] {
        assert!(out_dir.join(f).is_file(), "{f} was not written");
    }
    let fresh = run(true);
    assert_eq!(
        fresh.status.code(),
        Some(0),
        "--check on a fresh folder: {}",
        stderr(&fresh)
    );

    // Edit one file and delete another: both are listed.
    let module = out_dir.join("key_value_store.py");
    let mut text = std::fs::read_to_string(&module).expect("reading the module");
    text.push_str("# a hand edit\n");
    std::fs::write(&module, text).expect("editing the module");
    std::fs::remove_file(out_dir.join("goproc_runtime.py")).expect("deleting the runtime");
    let stale = run(true);
    assert_eq!(
        stale.status.code(),
        Some(1),
        "--check on a stale folder: {}",
        stderr(&stale)
    );
    let err = stderr(&stale);
    assert!(err.contains("stale"), "{err}");
    assert!(err.contains("key_value_store.py"), "{err}");
    assert!(err.contains("goproc_runtime.py"), "{err}");
    assert!(
        !err.contains("__init__.py"),
        "an unchanged file is listed: {err}"
    );

    // Generating again repairs the folder.
    assert!(run(false).status.success());
    assert_eq!(run(true).status.code(), Some(0));
}

#[test]
fn check_passes_on_the_checked_in_example_stubs() {
    for (contract, out) in [
        (
            "examples/calculator/contract.rs",
            "examples/calculator/python/generated",
        ),
        ("examples/kv/contract.rs", "examples/kv/python/generated"),
        (
            "examples/host_services/contract.rs",
            "examples/host_services/python/generated",
        ),
    ] {
        let result = codegen()
            .current_dir(workspace_root())
            .args(["--lang", "python", "--check", "--out", out, contract])
            .output()
            .expect("running goproc-codegen");
        assert!(
            result.status.success(),
            "{out} is stale; regenerate: goproc-codegen --lang python --out {out} {contract}\n{}",
            stderr(&result)
        );
    }
}

/// Runs the generator on `files` (name, text) and returns its stderr; the
/// run must fail with status 2 and write nothing.
fn refused(test: &str, files: &[(&str, &str)]) -> (PathBuf, String) {
    let dir = scratch(test);
    let mut cmd = codegen();
    cmd.args(["--lang", "python", "--out"]).arg(dir.join("out"));
    for (name, text) in files {
        std::fs::write(dir.join(name), text).expect("writing a contract");
        cmd.arg(dir.join(name));
    }
    let out = cmd.output().expect("running goproc-codegen");
    assert_eq!(
        out.status.code(),
        Some(2),
        "{test}: expected a refusal, got {:?}: {}",
        out.status,
        stderr(&out)
    );
    assert!(
        !dir.join("out").exists(),
        "{test}: files were written despite the errors"
    );
    (dir, stderr(&out))
}

/// The 1-based line of the first line of `text` containing `marker`.
fn line_of(text: &str, marker: &str) -> usize {
    text.lines()
        .position(|l| l.contains(marker))
        .unwrap_or_else(|| panic!("no line contains {marker:?}"))
        + 1
}

const TRAIT: &str = "#[goproc::plugin_interface]
pub trait Store {
    async fn put(&self, v: Thing) -> u8;
}
";

/// A contract whose argument type `Thing` is defined by `thing`; asserts the
/// refusal names the file and the line holding `marker`, and each of `words`.
fn assert_refused(test: &str, thing: &str, marker: &str, words: &[&str]) {
    let text = format!("{TRAIT}\n{thing}");
    let (dir, err) = refused(test, &[("contract.rs", &text)]);
    let at = format!(
        "{}:{}:",
        dir.join("contract.rs").display(),
        line_of(&text, marker)
    );
    assert!(
        err.contains(&at),
        "{test}: the error does not point at {at}:\n{err}"
    );
    for w in words {
        assert!(
            err.contains(w),
            "{test}: the error does not say {w:?}:\n{err}"
        );
    }
}

#[test]
fn untagged_enums_are_refused_at_the_line() {
    assert_refused(
        "untagged",
        "#[derive(Serialize)]\n#[serde(untagged)]\npub enum Thing { A(u8), B(String) }\n",
        "untagged",
        &["untagged", "deserialize_any", "bincode"],
    );
}

#[test]
fn internally_tagged_enums_are_refused_at_the_line() {
    assert_refused(
        "tag",
        "#[derive(Serialize)]\n#[serde(tag = \"kind\")]\npub enum Thing { A { x: u8 } }\n",
        "tag = ",
        &["tag = ...", "deserialize_any"],
    );
}

#[test]
fn adjacently_tagged_enums_are_refused_at_the_line() {
    assert_refused(
        "content",
        "#[derive(Serialize)]\n#[serde(\n    tag = \"t\",\n    content = \"c\",\n)]\npub enum Thing { A(u8) }\n",
        "content = ",
        &["content = ...", "adjacently tagged"],
    );
}

#[test]
fn flattened_fields_are_refused_at_the_line() {
    assert_refused(
        "flatten",
        "pub struct Inner { a: u8 }\npub struct Thing {\n    x: u8,\n    #[serde(flatten)]\n    inner: Inner,\n}\n",
        "flatten",
        &["flatten", "deserialize_any", "nest the struct"],
    );
}

#[test]
fn skip_serializing_if_is_refused_at_the_line() {
    assert_refused(
        "skip_serializing_if",
        "pub struct Thing {\n    x: u8,\n    #[serde(skip_serializing_if = \"Option::is_none\")]\n    y: Option<u8>,\n}\n",
        "skip_serializing_if",
        &["skip_serializing_if", "misreads every later field"],
    );
}

#[test]
fn skipped_variants_are_refused_at_the_line() {
    assert_refused(
        "skip_variant",
        "pub enum Thing {\n    A,\n    #[serde(skip)]\n    B,\n    C(u8),\n}\n",
        "skip)]",
        &["serde(skip)", "positions of the variants"],
    );
}

#[test]
fn an_unknown_type_is_refused_at_the_method_that_uses_it() {
    let text = TRAIT.to_string();
    let (dir, err) = refused("unknown_type", &[("contract.rs", &text)]);
    let at = format!(
        "{}:{}:",
        dir.join("contract.rs").display(),
        line_of(&text, "async fn put")
    );
    assert!(
        err.contains(&at),
        "the error does not point at {at}:\n{err}"
    );
    assert!(
        err.contains("type `Thing`") && err.contains("is not defined in the inputs"),
        "{err}"
    );
}

#[test]
fn a_type_defined_twice_is_refused_naming_both_definitions() {
    let first = format!("{TRAIT}\npub struct Thing {{ a: u8 }}\n");
    let second = "// another file\n\npub struct Thing { b: u16 }\n";
    let (dir, err) = refused("defined_twice", &[("a.rs", &first), ("b.rs", second)]);
    let at = format!(
        "{}:{}:",
        dir.join("b.rs").display(),
        line_of(second, "pub struct Thing")
    );
    assert!(
        err.contains(&at),
        "the error does not point at {at}:\n{err}"
    );
    assert!(err.contains("defined more than once"), "{err}");
    let first_at = format!(
        "{}:{}",
        dir.join("a.rs").display(),
        line_of(&first, "pub struct Thing")
    );
    assert!(
        err.contains(&first_at),
        "the error does not name the first definition {first_at}:\n{err}"
    );
}

#[test]
fn python_names_that_would_collide_are_refused() {
    // `Shape::Circle` becomes the class `ShapeCircle`, as does the struct.
    let text = "#[goproc::plugin_interface]
pub trait Store {
    async fn put(&self, v: Shape) -> ShapeCircle;
}
pub enum Shape { Circle }
pub struct ShapeCircle { s: u8 }
";
    let (_, err) = refused("collision", &[("contract.rs", text)]);
    assert!(err.contains("`ShapeCircle` twice"), "{err}");
}

#[test]
fn a_client_class_that_would_collide_or_hide_its_own_methods_is_refused() {
    // The client of `Store` is `StoreClient`, which a type already names.
    let text = "#[goproc::plugin_interface]
pub trait Store {
    async fn put(&self, v: u8) -> StoreClient;
}
pub struct StoreClient { s: u8 }
";
    let (_, err) = refused("client-collision", &[("contract.rs", text)]);
    assert!(err.contains("`StoreClient` twice"), "{err}");
    assert!(err.contains("contract Store's client class"), "{err}");
    // A method named like the client's own `from_host` would hide it.
    let text = "#[goproc::plugin_interface]
pub trait Store {
    async fn from_host(&self, v: u8) -> u8;
}
";
    let (_, err) = refused("client-method", &[("contract.rs", text)]);
    assert!(
        err.contains("method `from_host` of contract Store would hide"),
        "{err}"
    );
}
