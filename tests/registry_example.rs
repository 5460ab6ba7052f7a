//! The registry example (`cargo run --example registry`) and the manifests
//! it reads: skeletons written from its contract carry the macro's
//! fingerprint and parse; its checked-in manifests list the right hashes of
//! the files they name; and the example itself runs as the README says,
//! broken manifest, three languages and a reload under load included.

mod common;

#[path = "../examples/registry/contract.rs"]
mod contract;

use std::path::{Path, PathBuf};
use std::process::Command;

use contract::TransformClient;
use goproc::registry::Manifest;
use goproc_codegen::manifest::{skeleton, RunLang, SkeletonOptions};

const CONTRACT: &str = "examples/registry/contract.rs";

fn plugins() -> PathBuf {
    common::root().join("examples/registry/plugins")
}

/// A manifest of the example as checked in: read and checked, without
/// looking for its program (the Rust plugin's is installed by the example).
fn example_manifest(path: &Path) -> Result<Manifest, goproc::Error> {
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    Manifest::parse(&text, path)
}

fn macro_fingerprint() -> &'static str {
    <TransformClient as goproc::Client>::CONTRACT.fingerprint
}

#[test]
fn a_skeleton_has_the_macros_fingerprint_and_parses_as_a_manifest() {
    for (lang, command, args) in [
        (RunLang::Rust, "bin/transform", vec![]),
        (RunLang::Python, "python3", vec!["plugin.py"]),
        (RunLang::Typescript, "node", vec!["dist/plugin.js"]),
    ] {
        let text = skeleton(
            &[common::root().join(CONTRACT)],
            &SkeletonOptions::new(lang),
        )
        .unwrap_or_else(|e| panic!("{lang:?}: {e}"));
        let path = common::scratch("registry-skeleton").join("plugin.toml");
        let manifest = Manifest::parse(&text, &path)
            .unwrap_or_else(|e| panic!("the {lang:?} skeleton does not parse: {e}\n{text}"));
        assert_eq!(manifest.id(), "local/transform");
        assert_eq!(manifest.version, "0.1.0");
        assert_eq!(manifest.run.command, command, "{lang:?}");
        assert_eq!(manifest.run.args, args, "{lang:?}");
        assert!(manifest.lazy);
        assert!(manifest.checksums.is_empty(), "{lang:?}");
        assert_eq!(manifest.serves.len(), 1);
        assert_eq!(manifest.serves[0].contract, "Transform");
        assert_eq!(
            manifest.serves[0].fingerprint,
            macro_fingerprint(),
            "the skeleton's fingerprint is not the one #[plugin_interface] gives"
        );
        assert!(manifest.requires.is_empty());
    }
}

#[test]
fn a_skeleton_with_every_option_filled_in_parses_to_what_was_asked() {
    let mut options = SkeletonOptions::new(RunLang::Python);
    options.name = Some("reverse".into());
    options.namespace = Some("text".into());
    options.version = Some("2.1.0".into());
    options.description = Some("Reverses \"text\"".into());
    options.args = vec!["--quiet".into()];
    options.checksums = vec![("plugin.py".into(), "ab".repeat(32))];
    options.command_line = Some("goproc manifest --lang python".into());
    let text = skeleton(&[common::root().join(CONTRACT)], &options).expect("a skeleton");
    let manifest = Manifest::parse(&text, Path::new("plugins/reverse/plugin.toml"))
        .unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(manifest.id(), "text/reverse");
    assert_eq!(manifest.version, "2.1.0");
    assert_eq!(manifest.description.as_deref(), Some("Reverses \"text\""));
    assert_eq!(manifest.run.args, ["plugin.py", "--quiet"]);
    assert_eq!(manifest.checksums.len(), 1);
    assert_eq!(manifest.checksums[0].path, Path::new("plugin.py"));
    assert_eq!(manifest.checksums[0].sha256, "ab".repeat(32));
}

#[test]
fn the_example_manifests_serve_the_examples_contract() {
    for folder in ["rust-upper", "python-reverse", "typescript-rot13"] {
        let manifest = example_manifest(&plugins().join(folder).join("plugin.toml"))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            manifest.serves_fingerprint("Transform"),
            Some(macro_fingerprint()),
            "{folder}/plugin.toml lists another fingerprint than examples/registry/contract.rs \
             gives; write the manifest again (its first lines say how)"
        );
    }
    let broken = example_manifest(&plugins().join("broken/plugin.toml"))
        .expect_err("the broken manifest is broken");
    let message = broken.to_string();
    assert!(
        message.contains("broken/plugin.toml:10:1: unknown field `comand`"),
        "{message}"
    );
}

#[test]
fn the_example_stubs_are_up_to_date() {
    let cases = [
        (
            goproc_codegen::Lang::Python,
            "examples/registry/plugins/python-reverse/generated",
        ),
        (
            goproc_codegen::Lang::Typescript,
            "examples/registry/plugins/typescript-rot13/generated",
        ),
    ];
    for (lang, out) in cases {
        // Run from the workspace root, as the stubs' headers name the contract.
        let files = goproc_codegen::generate(lang, &[PathBuf::from(CONTRACT)])
            .unwrap_or_else(|e| panic!("{e}"));
        let stale = goproc_codegen::output::stale(&common::root().join(out), &files);
        let flag = match lang {
            goproc_codegen::Lang::Python => "python",
            goproc_codegen::Lang::Typescript => "typescript",
        };
        assert!(
            stale.is_empty(),
            "{out} is stale ({stale:?}); regenerate it with `cargo run -p goproc-codegen -- \
             --lang {flag} --out {out} {CONTRACT}`, then write its manifest again for the new \
             hashes"
        );
    }
}

/// Every file a manifest lists in `[checksums]`, under `root`, has the
/// sha256 written there.
fn assert_hashes_match(plugin: &str, root: &Path) {
    let path = plugins().join(plugin).join("plugin.toml");
    let manifest = example_manifest(&path).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        !manifest.checksums.is_empty(),
        "{plugin}: its manifest lists no checksum"
    );
    for listed in &manifest.checksums {
        let file = root.join(&listed.path);
        let actual = goproc::registry::sha256_file(&file)
            .unwrap_or_else(|e| panic!("{plugin}: {}: {e}", file.display()));
        assert_eq!(
            actual,
            listed.sha256,
            "{plugin}: {} has sha256 {actual}, but {} says {}; the registry would refuse to \
             start it. If the change is meant, write the manifest again with the command in its \
             first lines (or put the new hash in its [checksums])",
            listed.path.display(),
            path.display(),
            listed.sha256
        );
    }
}

#[test]
fn the_python_manifest_lists_the_hashes_of_its_files() {
    assert_hashes_match("python-reverse", &plugins().join("python-reverse"));
}

#[test]
fn the_typescript_manifest_lists_the_hashes_of_its_compiled_files() {
    // Compiled with the pinned tsc, as the example compiles it, into a
    // scratch folder so that the example's own dist/ is left alone.
    let out = common::scratch("registry-example-rot13");
    let tsconfig = plugins().join("typescript-rot13/tsconfig.json");
    common::node::tsc(&[
        "-p",
        &tsconfig.display().to_string(),
        "--outDir",
        &out.join("dist").display().to_string(),
        "--typeRoots",
        &common::node::type_roots(),
    ]);
    assert_hashes_match("typescript-rot13", &out);
}

/// Runs `cargo run --example registry -- ARGS` from the workspace root.
fn run_example(args: &[&Path]) -> (bool, String, String) {
    common::python::python3();
    common::node::node();
    common::require_tool("npm");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args(["run", "--quiet", "--example", "registry", "--"])
        .args(args)
        .current_dir(common::root())
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env_remove("RUST_LOG")
        .output()
        .expect("running cargo run --example registry");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Run from the workspace root, the example loads `examples/registry/plugins`
/// as a relative folder: the Rust plugin's `bin/upper` must be found from
/// there, not from inside its own folder.
#[test]
fn the_example_loads_calls_all_three_and_reloads_one_under_load_without_a_failed_call() {
    let (ok, stdout, stderr) = run_example(&[]);
    assert!(ok, "the example failed:\n{stdout}\n{stderr}");
    for expected in [
        "loaded from examples/registry/plugins:\n",
        "  text/reverse     0.1.0    Reverses text (Python)",
        "  text/rot13       0.1.0    Rotates letters by 13 (TypeScript)",
        "  text/upper       0.1.0    Upper-cases text (Rust)",
        "broken/plugin.toml:10:1: unknown field `comand`",
        "  text/reverse     !snigulp ,olleH    reverses the text (Python)",
        "  text/rot13       Uryyb, cyhtvaf!    rotates letters by 13 (TypeScript)",
        "  text/upper       HELLO, PLUGINS!    upper-cases the text (Rust)",
        "reloaded text/reverse: generation 2 serves now",
        "\n4000 calls, 0 failed, 1 reload\n",
    ] {
        assert!(
            stdout.contains(expected),
            "the output lacks {expected:?}:\n{stdout}\n{stderr}"
        );
    }
    assert!(!stdout.contains("text/broken"), "{stdout}");
}

#[test]
fn the_example_refuses_a_plugin_file_edited_without_its_hash_and_says_how_to_refresh_it() {
    let folder = common::scratch("registry-example-edited");
    let _ = std::fs::remove_dir_all(&folder);
    let reverse = folder.join("python-reverse");
    std::fs::create_dir_all(reverse.join("generated")).expect("mkdir");
    let source = plugins().join("python-reverse");
    for file in [
        "plugin.toml",
        "plugin.py",
        "generated/__init__.py",
        "generated/goproc_runtime.py",
        "generated/transform.py",
    ] {
        std::fs::copy(source.join(file), reverse.join(file)).expect("copying the plugin");
    }
    let script = reverse.join("plugin.py");
    let edited = std::fs::read_to_string(&script)
        .expect("plugin.py")
        .replace("return text[::-1]", "return text[::-1] + \"!\"");
    std::fs::write(&script, edited).expect("editing plugin.py");
    let actual = goproc::registry::sha256_file(&script).expect("hashing");

    let (ok, stdout, stderr) = run_example(&[&folder]);
    assert!(!ok, "the example ran an edited plugin:\n{stdout}\n{stderr}");
    assert!(
        stdout.contains("text/reverse     failed: ") && stdout.contains("plugin.py"),
        "{stdout}\n{stderr}"
    );
    assert!(
        stdout.contains(&format!("\"plugin.py\" = \"{actual}\"")),
        "the hint does not give the new hash:\n{stdout}"
    );
}
