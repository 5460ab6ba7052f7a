//! Shared by the examples that start one plugin per language: the command
//! of each, the TypeScript one compiled with its pinned compiler first
//! when its sources changed.

// Each example uses the part it needs.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

type Failure = Box<dyn std::error::Error>;

/// One language's plugin: (language, program, arguments).
pub type PluginCommand = (&'static str, PathBuf, Vec<String>);

/// How to start the example's plugin in each language: this very program
/// with the argument `plugin` (Rust), `python/plugin.py` and the compiled
/// `typescript/` plugin of `folder`.
pub fn plugin_commands(folder: &Path) -> Result<[PluginCommand; 3], Failure> {
    let typescript = build(&folder.join("typescript"))?;
    Ok([
        ("rust", std::env::current_exe()?, vec!["plugin".into()]),
        (
            "python",
            "python3".into(),
            vec![folder.join("python/plugin.py").display().to_string()],
        ),
        (
            "typescript",
            "node".into(),
            vec![typescript.display().to_string()],
        ),
    ])
}

/// The compiled TypeScript plugin of `folder/typescript` (built first when
/// its sources changed), for examples whose languages play different parts.
pub fn typescript_plugin(folder: &Path) -> Result<PathBuf, Failure> {
    build(&folder.join("typescript"))
}

/// The compiled TypeScript plugin in `dir` itself (with `plugin.ts`,
/// `generated/` and the npm files), built first when its sources changed.
pub fn build_typescript(dir: &Path) -> Result<PathBuf, Failure> {
    build(dir)
}

/// Compiles the TypeScript plugin when its output is missing or older than
/// its sources, installing the pinned compiler first; returns the `.js` to run.
fn build(dir: &Path) -> Result<PathBuf, Failure> {
    let output = dir.join("dist/plugin.js");
    // The plugin and every generated module (named after the contract, or
    // after the contract file when it holds several).
    let generated = std::fs::read_dir(dir.join("generated"))
        .map_err(|e| format!("listing {}: {e}", dir.join("generated").display()))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|x| x == "ts"));
    let newest_source = std::iter::once(dir.join("plugin.ts"))
        .chain(generated)
        .filter_map(|f| std::fs::metadata(f).and_then(|m| m.modified()).ok())
        .max();
    let built = std::fs::metadata(&output).and_then(|m| m.modified()).ok();
    if built.is_some() && built >= newest_source {
        return Ok(output);
    }
    let tsc = dir.join("node_modules/typescript/bin/tsc");
    if !tsc.is_file() {
        println!("installing the TypeScript compiler for the plugin (npm ci)...");
        run(Command::new("npm")
            .args(["ci", "--ignore-scripts", "--no-audit", "--no-fund"])
            .current_dir(dir))?;
    }
    println!("compiling the TypeScript plugin (tsc)...");
    run(Command::new("node")
        .arg(&tsc)
        .arg("-p")
        .arg(dir.join("tsconfig.json")))?;
    Ok(output)
}

fn run(command: &mut Command) -> Result<(), Failure> {
    let status = command
        .status()
        .map_err(|e| format!("could not run {command:?}: {e}"))?;
    if !status.success() {
        return Err(format!("{command:?} failed: {status}").into());
    }
    Ok(())
}
