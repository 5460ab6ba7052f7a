//! The generated TypeScript (runtime and contract modules) compiles with
//! `tsc --strict` and the stricter checks projects often turn on, for every
//! test contract; types named after globals (`Record`, `Map`, ...) leave the
//! globals usable; the example plugins compile with their own tsconfig.json,
//! and the example project (package.json, tsconfig.json) is a starting point
//! that refuses to emit a plugin which misses a contract method.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

/// The checks stricter than `--strict` that projects often turn on.
const STRICTEST: [&str; 7] = [
    "--noUnusedLocals",
    "--noUnusedParameters",
    "--noImplicitReturns",
    "--noUncheckedIndexedAccess",
    "--exactOptionalPropertyTypes",
    "--noFallthroughCasesInSwitch",
    "--noPropertyAccessFromIndexSignature",
];

#[test]
fn types_named_after_globals_leave_the_globals_usable_in_files_that_import_them() {
    let dir = common::scratch("ts-globals");
    let _ = std::fs::remove_dir_all(&dir);
    common::node::generate(
        &[common::root().join("tests/typescript/globals_contract.rs")],
        &dir,
    );
    let module = std::fs::read_to_string(dir.join("globals.ts")).expect("reading globals.ts");
    for name in ["Record", "Map", "Error", "Promise", "Object"] {
        assert!(
            !module.contains(&format!("export interface {name} "))
                && !module.contains(&format!("export type {name} ")),
            "globals.ts exports a type named {name}, hiding the global"
        );
    }
    let user = dir.join("globals_user.ts");
    std::fs::copy(
        common::root().join("tests/typescript/globals_user.ts"),
        &user,
    )
    .expect("copying globals_user.ts");
    let mut options = STRICTEST.to_vec();
    options.push("--noEmit");
    common::node::tsc_strict(&options, &[user.display().to_string()]);
}

#[test]
fn generated_modules_pass_the_strictest_tsc_checks() {
    let contracts = [
        "tests/contracts/everything.rs",
        "examples/calculator/contract.rs",
        "examples/kv/contract.rs",
        "examples/host_services/contract.rs",
        "tests/contracts/host_services.rs",
        "tests/typescript/globals_contract.rs",
    ];
    for (i, contract) in contracts.iter().enumerate() {
        let dir = common::scratch(&format!("ts-strict-{i}"));
        let _ = std::fs::remove_dir_all(&dir);
        common::node::generate(&[common::root().join(contract)], &dir);
        let mut files: Vec<String> = std::fs::read_dir(&dir)
            .expect("listing the generated files")
            .map(|e| e.expect("dir entry").path().display().to_string())
            .filter(|p| p.ends_with(".ts"))
            .collect();
        files.sort();
        assert!(
            files.len() >= 2,
            "expected the runtime and a module: {files:?}"
        );
        let mut options = STRICTEST.to_vec();
        options.push("--noEmit");
        common::node::tsc_strict(&options, &files);
    }
}

#[test]
fn the_example_plugins_compile_with_their_tsconfig() {
    for example in ["calculator", "host_services"] {
        let out = common::scratch(&format!("ts-example-noemit-{example}"));
        let _ = std::fs::remove_dir_all(&out);
        common::node::tsc(&[
            "-p",
            &common::root()
                .join("examples")
                .join(example)
                .join("typescript/tsconfig.json")
                .display()
                .to_string(),
            "--typeRoots",
            &common::node::type_roots(),
            "--outDir",
            &out.display().to_string(),
        ]);
        assert!(out.join("plugin.js").is_file(), "{example}");
        assert!(
            out.join("generated/goproc_runtime.js").is_file(),
            "{example}"
        );
    }
}

/// The files a plugin author copies from `examples/calculator/typescript/`.
const EXAMPLE_FILES: [&str; 4] = [
    "package.json",
    "package-lock.json",
    "tsconfig.json",
    "plugin.ts",
];

/// A fresh copy of the example project in a scratch folder, with the pinned
/// toolchain's `node_modules` linked in where `npm ci` would put it (the
/// example pins the same versions: see the test below).
fn example_project(name: &str) -> PathBuf {
    let src = common::root().join("examples/calculator/typescript");
    let dir = common::scratch(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("generated")).expect("creating the project folder");
    for file in EXAMPLE_FILES {
        std::fs::copy(src.join(file), dir.join(file))
            .unwrap_or_else(|e| panic!("copying {file}: {e}"));
    }
    for entry in std::fs::read_dir(src.join("generated")).expect("listing generated/") {
        let path = entry.expect("dir entry").path();
        let name = path.file_name().expect("a file name");
        std::fs::copy(&path, dir.join("generated").join(name)).expect("copying a stub");
    }
    std::os::unix::fs::symlink(
        common::node::toolchain().join("node_modules"),
        dir.join("node_modules"),
    )
    .expect("linking node_modules");
    dir
}

/// `npm run build` in `dir`: whether it succeeded, and what it printed.
fn npm_run_build(dir: &Path) -> (bool, String) {
    let out = Command::new(common::require_tool("npm"))
        .args(["run", "--silent", "build"])
        .current_dir(dir)
        .output()
        .expect("running npm run build");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// Every `.js` file under `dir`, `node_modules` aside.
fn javascript_files(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(d) = pending.pop() {
        for entry in std::fs::read_dir(&d).expect("listing a folder") {
            let path = entry.expect("dir entry").path();
            if path.file_name().is_some_and(|n| n == "node_modules") {
                continue;
            }
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "js") {
                found.push(path);
            }
        }
    }
    found
}

#[test]
fn the_example_project_builds_with_npm_run_build() {
    let dir = example_project("ts-example-project");
    let (ok, output) = npm_run_build(&dir);
    assert!(ok, "npm run build failed:\n{output}");
    assert!(dir.join("dist/plugin.js").is_file());
    assert!(dir.join("dist/generated/goproc_runtime.js").is_file());
}

#[test]
fn a_plugin_that_misses_a_contract_method_does_not_build_and_emits_no_javascript() {
    let dir = example_project("ts-example-missing-method");
    let plugin = std::fs::read_to_string(dir.join("plugin.ts")).expect("reading plugin.ts");
    let without_greet: Vec<&str> = plugin
        .lines()
        .filter(|l| !l.trim_start().starts_with("greet:"))
        .collect();
    assert_eq!(
        without_greet.len() + 1,
        plugin.lines().count(),
        "expected one `greet:` line in the example's plugin.ts"
    );
    std::fs::write(dir.join("plugin.ts"), without_greet.join("\n")).expect("writing plugin.ts");

    let (ok, output) = npm_run_build(&dir);
    assert!(!ok, "a plugin without `greet` built:\n{output}");
    assert!(
        output.contains("Property 'greet' is missing") && output.contains("Calculator"),
        "the error does not name the missing method:\n{output}"
    );
    // Without `noEmitOnError` tsc would still write JavaScript that starts
    // and fails only when the host calls `greet`.
    let emitted = javascript_files(&dir);
    assert!(emitted.is_empty(), "a failed build emitted {emitted:?}");
}

#[test]
fn the_example_pins_the_typescript_the_tests_compile_with() {
    // What the example's package.json asks for, read by Node as npm would.
    let read = |path: &str, expr: &str| -> String {
        let file = common::root().join(path);
        let out = Command::new(common::node::node())
            .arg("-p")
            .arg(format!(
                "const p = JSON.parse(require('fs').readFileSync({:?}, 'utf8')); {expr}",
                file.display().to_string()
            ))
            .output()
            .expect("running node");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout)
            .expect("utf-8")
            .trim()
            .to_string()
    };
    for dir in [
        "examples/calculator/typescript",
        "examples/host_services/typescript",
        "examples/streams/typescript",
        "examples/events/typescript",
        "examples/registry/plugins/typescript-rot13",
    ] {
        let example = format!("{dir}/package.json");
        let typescript = read(&example, "p.devDependencies.typescript");
        assert!(
            typescript.starts_with("5.")
                && typescript.chars().all(|c| c.is_ascii_digit() || c == '.'),
            "{dir} must pin an exact TypeScript 5.x, not {typescript:?}"
        );
        assert_eq!(read(&example, "p.scripts.build"), "tsc -p .");
        let deps = "JSON.stringify(p.devDependencies)";
        assert_eq!(
            read(&example, deps),
            read("tests/typescript/package.json", deps),
            "{dir} and the tests' toolchain pin different versions"
        );
        let locked = "JSON.stringify(Object.entries(p.packages).filter(([k]) => k !== '').map(([k, v]) => [k, v.version, v.integrity]))";
        assert_eq!(
            read(&format!("{dir}/package-lock.json"), locked),
            read("tests/typescript/package-lock.json", locked),
            "{dir}/package-lock.json and the tests' resolve differently"
        );
    }
}

#[test]
fn docs_show_the_example_package_json_and_tsconfig_as_they_are() {
    let docs = std::fs::read_to_string(common::root().join("docs/TYPESCRIPT.md"))
        .expect("reading docs/TYPESCRIPT.md");
    for file in ["package.json", "tsconfig.json"] {
        let text = std::fs::read_to_string(
            common::root()
                .join("examples/calculator/typescript")
                .join(file),
        )
        .expect("reading the example");
        assert!(
            docs.contains(&format!("```json\n{text}```")),
            "docs/TYPESCRIPT.md does not show examples/calculator/typescript/{file} as it is"
        );
    }
}
