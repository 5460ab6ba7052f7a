//! Shared by the examples with a TypeScript plugin: compile it with its
//! pinned compiler when its sources changed.

use std::path::{Path, PathBuf};
use std::process::Command;

type Failure = Box<dyn std::error::Error>;

/// Compiles the TypeScript plugin when its output is missing or older than
/// its sources, installing the pinned compiler first; returns the `.js` to run.
pub fn build(dir: &Path) -> Result<PathBuf, Failure> {
    let output = dir.join("dist/plugin.js");
    let newest_source = [
        "plugin.ts",
        "generated/contract.ts",
        "generated/goproc_runtime.ts",
    ]
    .iter()
    .filter_map(|f| {
        std::fs::metadata(dir.join(f))
            .and_then(|m| m.modified())
            .ok()
    })
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
