//! The generated TypeScript (runtime and contract modules) compiles with
//! `tsc --strict` and the stricter checks projects often turn on, for every
//! test contract; the example plugin compiles with its own tsconfig.json.

mod common;

#[test]
fn generated_modules_pass_the_strictest_tsc_checks() {
    let contracts = [
        "tests/contracts/everything.rs",
        "examples/calculator/contract.rs",
        "examples/kv/contract.rs",
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
        let type_roots = common::node::type_roots();
        let mut args = vec![
            "--strict",
            "--noUnusedLocals",
            "--noUnusedParameters",
            "--noImplicitReturns",
            "--noUncheckedIndexedAccess",
            "--exactOptionalPropertyTypes",
            "--noFallthroughCasesInSwitch",
            "--noPropertyAccessFromIndexSignature",
            "--target",
            "ES2022",
            "--module",
            "NodeNext",
            "--moduleResolution",
            "NodeNext",
            "--types",
            "node",
            "--typeRoots",
            &type_roots,
            "--noEmit",
        ];
        args.extend(files.iter().map(String::as_str));
        common::node::tsc(&args);
    }
}

#[test]
fn the_example_plugin_compiles_with_its_tsconfig() {
    let out = common::scratch("ts-example-noemit");
    common::node::tsc(&[
        "-p",
        &common::root()
            .join("examples/calculator/typescript/tsconfig.json")
            .display()
            .to_string(),
        "--typeRoots",
        &common::node::type_roots(),
        "--outDir",
        &out.display().to_string(),
    ]);
    assert!(out.join("plugin.js").is_file());
    assert!(out.join("generated/goproc_runtime.js").is_file());
}
