//! The Python runtime under a host that breaks the rules: a raw host speaks
//! the wire by hand to the real Python calculator plugin
//! (examples/calculator/python), as tests/rust_plugin_protocol.rs does for
//! the Rust plugin. The plugin answers what it can with a clear ERROR frame
//! and keeps serving; a frame that breaks the framing rules ends it with one
//! clear line on stderr, never a Python traceback.

mod common;
mod protocol_support;

use tokio::process::Command;

use protocol_support::limits::limits_tests;
use protocol_support::{protocol_tests, Runtime};

/// The Python calculator example, started by the raw host.
fn calculator() -> Command {
    let mut plugin = Command::new(common::python::python3());
    plugin
        .arg(common::root().join("examples/calculator/python/plugin.py"))
        .env("PYTHONDONTWRITEBYTECODE", "1");
    plugin
}

/// Stderr is one line naming what went wrong, with no traceback.
fn assert_one_clear_line(stderr: &str, says: &str) {
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    assert!(stderr.starts_with("goproc plugin: "), "{stderr}");
    assert!(stderr.contains(says), "{stderr}");
    assert!(
        !stderr.contains("Traceback") && !stderr.contains("  File "),
        "no traceback: {stderr}"
    );
}

fn everything() -> Command {
    static STUBS: std::sync::Once = std::sync::Once::new();
    STUBS.call_once(|| {
        common::python::generate(
            "python-protocol-everything",
            &["tests/contracts/everything.rs"],
        );
    });
    test_plugin_in("everything_plugin.py", "python-protocol-everything")
}

fn lifecycle() -> Command {
    static STUBS: std::sync::Once = std::sync::Once::new();
    STUBS.call_once(|| {
        common::python::generate(
            "python-protocol-lifecycle",
            &["tests/contracts/lifecycle.rs"],
        );
    });
    test_plugin_in("lifecycle_plugin.py", "python-protocol-lifecycle")
}

/// `python3 tests/python/SCRIPT` with the stubs generated into `scratch`.
fn test_plugin_in(script: &str, scratch: &str) -> Command {
    let mut plugin = Command::new(common::python::python3());
    plugin
        .arg(common::python::script(script))
        .env("PYTHONPATH", common::scratch(scratch))
        .env("PYTHONDONTWRITEBYTECODE", "1");
    plugin
}

const PYTHON: Runtime = Runtime {
    language: "python",
    calculator,
    everything,
    lifecycle,
    fatal_line: assert_one_clear_line,
};

protocol_tests!(PYTHON);
limits_tests!(PYTHON);
