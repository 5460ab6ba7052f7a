//! The Rust runtime under a host that breaks the rules: a raw host speaks
//! the wire by hand to real Rust plugins (`test-plugin ROLE`), with the same
//! checks the Python and TypeScript runtimes pass. The plugin answers what
//! it can with a clear ERROR frame and keeps serving; a frame that breaks
//! the framing rules ends it with one clear line, never a panic.

mod common;
mod protocol_support;

use protocol_support::limits::limits_tests;
use protocol_support::{protocol_tests, Runtime};
use tokio::process::Command;

/// `test-plugin ROLE`, for the raw host.
fn test_plugin(role: &str) -> Command {
    let mut plugin = Command::new(env!("CARGO_BIN_EXE_test-plugin"));
    plugin.arg(role);
    plugin
}

/// Stderr is one line naming what went wrong, with no panic.
fn assert_one_clear_line(stderr: &str, says: &str) {
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    assert!(stderr.contains(says), "{stderr}");
    assert!(!stderr.contains("panicked"), "no panic: {stderr}");
}

const RUST: Runtime = Runtime {
    language: "rust",
    calculator: || test_plugin("calculator"),
    everything: || test_plugin("everything"),
    lifecycle: || test_plugin("lifecycle"),
    fatal_line: assert_one_clear_line,
};

protocol_tests!(RUST);
limits_tests!(RUST);
