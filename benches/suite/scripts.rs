//! The Python and TypeScript calculator plugins of `examples/calculator/`,
//! and the raw Python asyncio and Node `net` echoes beside them.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use crate::calculator::CalculatorClient;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn note(notes: &mut Vec<String>, text: String) {
    if !notes.contains(&text) {
        notes.push(text);
    }
}

fn has(tool: &str) -> bool {
    Command::new(tool)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// The interpreter `python3` names, resolved once. A version manager's
/// `python3` (pyenv's shim) is a shell script that spends tens of
/// milliseconds choosing the interpreter at every start; a host configured
/// with an interpreter's path does not pay that, and neither do the Rust and
/// Node plugins measured beside it.
fn python3() -> &'static Path {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    PYTHON.get_or_init(|| {
        Command::new("python3")
            .args(["-c", "import sys; print(sys.executable)"])
            .output()
            .ok()
            .filter(|o| o.status.success())
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .map(|s| PathBuf::from(s.trim()))
            .filter(|p| p.is_file())
            .unwrap_or_else(|| PathBuf::from("python3"))
    })
}

/// `python3 examples/calculator/python/plugin.py`, or `None` (with a note).
pub fn python_plugin(notes: &mut Vec<String>) -> Option<goproc::PluginBuilder> {
    let script = root().join("examples/calculator/python/plugin.py");
    if !has("python3") || !script.is_file() {
        note(
            notes,
            format!("Python skipped: python3 or {} is missing", script.display()),
        );
        return None;
    }
    // Python caches compiled modules by default, as any deployment would;
    // the cache goes under target/ rather than into the source tree. (An
    // empty PYTHONDONTWRITEBYTECODE overrides one set in the environment.)
    Some(
        crate::peers::plugin_builder(python3())
            .arg(script)
            .env("PYTHONDONTWRITEBYTECODE", "")
            .env(
                "PYTHONPYCACHEPREFIX",
                root().join("target/goproc-bench/pycache"),
            )
            .name("calculator.py")
            .contract::<CalculatorClient>(),
    )
}

pub fn python_raw_command(path: &Path) -> Command {
    let mut c = crate::peers::command(python3());
    c.arg(root().join("benches/peers/raw_echo.py")).arg(path);
    c
}

/// The TypeScript calculator compiled with the example's pinned `tsc`
/// (`npm ci` once into `target/goproc-bench/ts-calculator`).
fn node_build() -> &'static Result<PathBuf, String> {
    static BUILT: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    BUILT.get_or_init(|| {
        let src = root().join("examples/calculator/typescript");
        if !has("node") || !has("npm") {
            return Err("node or npm is missing".into());
        }
        if !src.join("plugin.ts").is_file() {
            return Err(format!("{} is missing", src.join("plugin.ts").display()));
        }
        let dir = root().join("target/goproc-bench/ts-calculator");
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        let files = [
            "plugin.ts",
            "tsconfig.json",
            "package.json",
            "package-lock.json",
            "generated",
        ];
        let copied = Command::new("cp")
            .args(["-r", "--"])
            .args(files.map(|f| src.join(f)))
            .arg(&dir)
            .status()
            .map_err(|e| e.to_string())?;
        if !copied.success() {
            return Err(format!("copying {} failed: {copied}", src.display()));
        }
        let tsc = dir.join("node_modules/typescript/bin/tsc");
        if !tsc.is_file() {
            let out = Command::new("npm")
                .args(["ci", "--ignore-scripts", "--no-audit", "--no-fund"])
                .current_dir(&dir)
                .output()
                .map_err(|e| e.to_string())?;
            if !out.status.success() {
                return Err(format!(
                    "npm ci failed: {}",
                    String::from_utf8_lossy(&out.stderr)
                ));
            }
        }
        let out = Command::new("node")
            .arg(&tsc)
            .args(["-p", "."])
            .current_dir(&dir)
            .output()
            .map_err(|e| e.to_string())?;
        if !out.status.success() {
            return Err(format!(
                "tsc failed: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        Ok(dir.join("dist/plugin.js"))
    })
}

/// `node dist/plugin.js` of the TypeScript calculator, or `None` (with a note).
pub fn node_plugin(notes: &mut Vec<String>) -> Option<goproc::PluginBuilder> {
    match node_build() {
        Ok(js) => Some(
            crate::peers::plugin_builder("node")
                .arg(js)
                .name("calculator.js")
                .contract::<CalculatorClient>(),
        ),
        Err(e) => {
            note(notes, format!("TypeScript skipped: {e}"));
            None
        }
    }
}

pub fn node_raw_command(path: &Path) -> Command {
    let mut c = crate::peers::command("node");
    c.arg(root().join("benches/peers/raw_echo.mjs")).arg(path);
    c
}
