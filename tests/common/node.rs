//! Node and TypeScript helpers for the end-to-end tests: the pinned
//! TypeScript compiler (installed with `npm ci` once per machine), stubs
//! generated with the goproc_codegen library, and `tsc --strict` builds.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock};

use super::{require_tool, root, scratch};

/// The `node` program; fails the test with a clear message when missing.
pub fn node() -> PathBuf {
    require_tool("node")
}

/// A folder holding `node_modules/` with the TypeScript compiler and Node's
/// type declarations pinned by `tests/typescript/package-lock.json`.
/// Installed with `npm ci` the first time, and again when the lock changes.
pub fn toolchain() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        node();
        let npm = require_tool("npm");
        let spec = root().join("tests/typescript");
        let lock = std::fs::read_to_string(spec.join("package-lock.json"))
            .expect("reading tests/typescript/package-lock.json");
        let dir = scratch("typescript-tools");
        let marker = dir.join(".installed");
        let tsc = dir.join("node_modules/typescript/bin/tsc");
        if std::fs::read_to_string(&marker).ok().as_deref() == Some(lock.as_str()) && tsc.is_file()
        {
            return dir;
        }
        for file in ["package.json", "package-lock.json"] {
            std::fs::copy(spec.join(file), dir.join(file)).expect("copying the npm manifest");
        }
        let status = Command::new(npm)
            .args(["ci", "--ignore-scripts", "--no-audit", "--no-fund"])
            .current_dir(&dir)
            .status()
            .expect("running npm ci");
        assert!(
            status.success(),
            "`npm ci` in {} failed ({status}); the tests need the npm registry once to install \
             the pinned TypeScript compiler",
            dir.display()
        );
        std::fs::write(&marker, &lock).expect("writing the install marker");
        dir
    })
}

/// Runs the pinned `tsc` with `args`; panics with its output when it fails.
pub fn tsc(args: &[&str]) {
    let tools = toolchain();
    let out = Command::new(node())
        .arg(tools.join("node_modules/typescript/bin/tsc"))
        .args(args)
        .output()
        .expect("running tsc");
    assert!(
        out.status.success(),
        "tsc {args:?} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Compiles `files` with the pinned `tsc --strict` for Node (ES2022, Node's
/// ES modules, Node's types from the toolchain), with the options `extra`
/// on top; panics with tsc's output when it fails.
pub fn tsc_strict(extra: &[&str], files: &[String]) {
    let type_roots = type_roots();
    let mut args = vec![
        "--strict",
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
    ];
    args.extend_from_slice(extra);
    args.extend(files.iter().map(String::as_str));
    tsc(&args);
}

/// The `@types` folder of the toolchain, for `typeRoots`.
pub fn type_roots() -> String {
    toolchain()
        .join("node_modules/@types")
        .display()
        .to_string()
}

/// Writes TypeScript stubs for the contracts in `inputs` into `out` with the
/// goproc_codegen library, as the CLI would.
pub fn generate(inputs: &[PathBuf], out: &Path) {
    let files = goproc_codegen::generate(goproc_codegen::Lang::Typescript, inputs)
        .unwrap_or_else(|e| panic!("generating TypeScript for {inputs:?}: {e}"));
    goproc_codegen::output::write_all(out, &files).expect("writing the generated stubs");
}

/// Marks `dir` (and everything below it) as ES modules for Node.
pub fn mark_es_modules(dir: &Path) {
    std::fs::write(dir.join("package.json"), "{ \"type\": \"module\" }\n")
        .expect("writing package.json");
}

/// Compiles the TypeScript plugin of `examples/<example>/typescript` with its
/// own tsconfig.json into the scratch folder `name`; returns its
/// `dist/plugin.js`.
pub fn build_example(example: &str, name: &str) -> PathBuf {
    let out = scratch(name);
    mark_es_modules(&out);
    let tsconfig = root()
        .join("examples")
        .join(example)
        .join("typescript/tsconfig.json");
    tsc(&[
        "-p",
        &tsconfig.display().to_string(),
        "--outDir",
        &out.join("dist").display().to_string(),
        "--typeRoots",
        &type_roots(),
    ]);
    out.join("dist/plugin.js")
}

/// Builds a TypeScript program once per test binary: generates stubs for
/// `contracts` (paths relative to the workspace root), copies `sources`
/// from `tests/typescript/`, and compiles everything with `tsc --strict`.
/// Returns the folder with the compiled `.js` files.
pub fn build(name: &str, contracts: &[&str], sources: &[&str]) -> PathBuf {
    static BUILT: OnceLock<Mutex<HashMap<String, PathBuf>>> = OnceLock::new();
    let mut built = BUILT
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    if let Some(out) = built.get(name) {
        return out.clone();
    }
    let dir = scratch(&format!("ts-{name}"));
    // Start clean, so a file left from an earlier layout cannot be picked up.
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("creating the build folder");
    let inputs: Vec<PathBuf> = contracts.iter().map(|c| root().join(c)).collect();
    generate(&inputs, &dir);
    for source in sources {
        std::fs::copy(
            root().join("tests/typescript").join(source),
            dir.join(source),
        )
        .unwrap_or_else(|e| panic!("copying tests/typescript/{source}: {e}"));
    }
    let tsconfig = format!(
        r#"{{
  "compilerOptions": {{
    "strict": true,
    "target": "ES2022",
    "module": "NodeNext",
    "moduleResolution": "NodeNext",
    "types": ["node"],
    "typeRoots": [{}],
    "rootDir": ".",
    "outDir": "out",
    "noEmitOnError": true
  }},
  "include": ["*.ts"]
}}
"#,
        serde_json_string(&type_roots())
    );
    std::fs::write(dir.join("tsconfig.json"), tsconfig).expect("writing tsconfig.json");
    mark_es_modules(&dir);
    tsc(&["-p", &dir.join("tsconfig.json").display().to_string()]);
    let out = dir.join("out");
    built.insert(name.to_string(), out.clone());
    out
}

/// A JSON string literal.
fn serde_json_string(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}
