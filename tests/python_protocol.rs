//! The Python runtime under a host that breaks the rules: a raw host speaks
//! the wire by hand to the real Python calculator plugin
//! (examples/calculator/python), as tests/rust_plugin_protocol.rs does for
//! the Rust plugin. The plugin answers what it can with a clear ERROR frame
//! and keeps serving; a frame that breaks the framing rules ends it with one
//! clear line on stderr, never a Python traceback.

mod common;
mod protocol_support;

use goproc::wire::Kind;
use goproc::Client;
use tokio::process::Command;

use common::raw_host::RawHost;
use protocol_support::limits::everything::EverythingClient;
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

/// The Everything plugin with Python's recursion limit lowered to 150 frames.
fn everything_with_little_stack() -> Command {
    let plugin = everything();
    let mut wrapped = Command::new(common::python::python3());
    wrapped
        .args([
            "-c",
            "import runpy, sys; sys.setrecursionlimit(150); \
             runpy.run_path(sys.argv[1], run_name='__main__')",
        ])
        .arg(common::python::script("everything_plugin.py"));
    for (key, value) in plugin.as_std().get_envs() {
        if let Some(value) = value {
            wrapped.env(key, value);
        }
    }
    wrapped
}

/// A value within the nesting limit that needs more Python frames than the
/// interpreter allows is a bad request like any other: the RecursionError is
/// a decode error, and the plugin keeps serving.
#[tokio::test]
async fn a_recursion_error_while_decoding_is_a_bad_request() {
    let methods = <EverythingClient as Client>::CONTRACT.methods;
    let index = |name: &str| methods.iter().position(|m| *m == name).expect(name) as u32;
    let mut host = RawHost::start(everything_with_little_stack()).await;
    // Tree::Node([Node([... Leaf(7) ...])]), 100 levels: two frames each.
    let mut tree = [1u8, 1].repeat(99);
    tree.extend([0, 7]);
    let message = host.expect_error(1, index("echo_tree"), &tree, 3).await;
    assert!(
        message.contains("Everything.echo_tree") && message.contains("recursion"),
        "{message}"
    );
    let (header, body) = host.request(2, index("echo_u8"), &[42]).await;
    assert_eq!(
        (header.kind, header.id, body),
        (Kind::Response, 2, vec![42])
    );
}
