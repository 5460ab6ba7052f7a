//! The TypeScript runtime under a host that breaks the rules: a raw host
//! speaks the wire by hand to the real TypeScript calculator plugin
//! (examples/calculator/typescript), as tests/rust_plugin_protocol.rs does
//! for the Rust plugin. The plugin answers what it can with a clear ERROR
//! frame and keeps serving; a frame that breaks the framing rules ends it
//! with one clear line on stderr, never a crash with a stack dump.

mod common;
mod protocol_support;

use std::path::PathBuf;

use common::raw_host::{control_frame, request_frame, request_with_deadline, RawHost};
use goproc::wire::codec;
use goproc::wire::Kind;
use protocol_support::limits::limits_tests;
use protocol_support::{protocol_tests, Runtime};
use tokio::process::Command;

/// The calculator example, compiled with its own tsconfig.json into a
/// scratch folder.
fn calculator_js() -> PathBuf {
    static BUILT: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BUILT
        .get_or_init(|| common::node::build_example("calculator", "ts-protocol-calculator"))
        .clone()
}

/// The lifecycle test plugin (tests/typescript/lifecycle_plugin.ts).
fn lifecycle_js() -> PathBuf {
    common::node::build(
        "protocol-lifecycle",
        &["tests/contracts/lifecycle.rs"],
        &["lifecycle_plugin.ts"],
    )
    .join("lifecycle_plugin.js")
}

/// `node JS` as a plugin for the raw host.
fn plugin(js: PathBuf) -> Command {
    let mut plugin = Command::new(common::node::node());
    plugin.arg(js);
    plugin
}

/// Starts the calculator plugin and welcomes it with a 1 MiB maximum frame.
async fn raw_host() -> RawHost {
    RawHost::start(calculator()).await
}

fn calculator() -> Command {
    plugin(calculator_js())
}

/// Stderr is one `goproc:` line naming what went wrong, with no stack.
fn assert_one_clear_line(stderr: &str, says: &str) {
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    assert!(stderr.starts_with("goproc: "), "{stderr}");
    assert!(stderr.contains(says), "{stderr}");
    assert!(
        !stderr.contains("    at ") && !stderr.contains("Node.js v"),
        "no stack dump: {stderr}"
    );
}

#[tokio::test]
async fn answers_carry_the_request_id_exactly_even_past_two_to_the_53() {
    let mut host = raw_host().await;
    let args = codec::encode(&(20i64, 22i64)).expect("args");
    for id in [(1u64 << 53) + 1, u64::MAX, u64::MAX - 1] {
        let (header, body) = host.request(id, 0, &args).await;
        assert_eq!((header.kind, header.id), (Kind::Response, id));
        assert_eq!(codec::decode::<i64>(&body).expect("i64"), 42);
    }
}

/// Lifecycle methods by wire number.
const SLEEP: u32 = 0;
const CANCELLED: u32 = 1;
const ADD: u32 = 4;

#[tokio::test]
async fn cancel_deadline_and_shutdown_on_the_wire_follow_the_protocol() {
    let mut host = RawHost::start(plugin(lifecycle_js())).await;
    assert_eq!(host.hello.contracts[0].name, "Lifecycle");
    let sleep = |ms: u64| codec::encode(&ms).expect("args");
    // 1 finishes; 2 is cancelled; 3 runs past its 100 ms deadline.
    host.send(&request_frame(1, 0, SLEEP, &sleep(400))).await;
    host.send(&request_frame(2, 0, SLEEP, &sleep(5_000))).await;
    host.send(&control_frame(Kind::Cancel, 2)).await;
    host.send(&request_with_deadline(3, 0, SLEEP, 100, &sleep(5_000)))
        .await;
    // Two handlers were stopped: the cancelled one and the one past its deadline.
    let (header, body) = host.answer().await;
    let message = RawHost::error_body(header, &body, 3, 6);
    assert!(message.contains("deadline"), "{message}");
    host.send(&request_frame(5, 0, CANCELLED, &[])).await;
    let (header, body) = host.answer().await;
    assert_eq!((header.kind, header.id), (Kind::Response, 5));
    assert_eq!(codec::decode::<u64>(&body).expect("u64"), 2);
    // Shutdown: new calls are refused with code 7, call 1 still finishes,
    // then CLOSE is the last frame and the plugin exits 0.
    host.send(&control_frame(Kind::Shutdown, 0)).await;
    let args = codec::encode(&(1i64, 2i64)).expect("args");
    host.send(&request_frame(6, 0, ADD, &args)).await;
    let (header, body) = host.answer().await;
    let message = RawHost::error_body(header, &body, 6, 7);
    assert!(message.contains("shutting down"), "{message}");
    let (header, body) = host.answer().await;
    assert_eq!((header.kind, header.id), (Kind::Response, 1));
    assert_eq!(codec::decode::<u64>(&body).expect("u64"), 400);
    let (header, _) = host.answer().await;
    assert_eq!(
        (header.kind, header.id),
        (Kind::Close, 0),
        "nothing for call 2"
    );
    let (code, stderr) = host.exit().await;
    assert_eq!(code, Some(0), "{stderr}");
}

/// The `Everything` test plugin (tests/typescript/everything_plugin.ts).
fn everything() -> Command {
    plugin(
        common::node::build(
            "protocol-everything",
            &["tests/contracts/everything.rs"],
            &["echo.ts", "everything_plugin.ts"],
        )
        .join("everything_plugin.js"),
    )
}

fn lifecycle() -> Command {
    plugin(lifecycle_js())
}

const TYPESCRIPT: Runtime = Runtime {
    language: "typescript",
    calculator,
    everything,
    lifecycle,
    fatal_line: assert_one_clear_line,
};

protocol_tests!(TYPESCRIPT);
limits_tests!(TYPESCRIPT);
