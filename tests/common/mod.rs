//! Helpers shared by the end-to-end tests.
#![allow(dead_code)]

pub mod memory;
pub mod mutate;
pub mod node;
pub mod python;
pub mod raw_host;

use std::path::{Path, PathBuf};

/// The workspace root.
pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// A scratch folder under `target/` that survives between test runs.
pub fn scratch(name: &str) -> PathBuf {
    let dir = root().join("target").join("goproc-tests").join(name);
    std::fs::create_dir_all(&dir).expect("creating a scratch folder under target/");
    dir
}

/// Finds a program on PATH, or fails the test with a message that says
/// which tool is missing. A test never passes by skipping.
pub fn require_tool(program: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path) {
        let candidate = dir.join(program);
        if candidate.is_file() {
            return candidate;
        }
    }
    panic!(
        "this test needs `{program}` on PATH and it is missing; install it (CI={})",
        std::env::var("CI").unwrap_or_default()
    );
}
