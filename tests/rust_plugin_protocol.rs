//! The plugin side under a host that breaks the rules: a raw host speaks
//! the wire by hand to a real Rust plugin. The plugin answers what it can
//! with a clear ERROR frame and keeps serving; a frame that breaks the
//! framing rules ends it with a clear message, never a panic.

mod common;
mod protocol_support;

use common::raw_host::{control_frame, RawHost, TOKEN};
use goproc::wire::codec;
use goproc::wire::messages::ErrorBody;
use goproc::wire::Kind;
use protocol_support::limits::limits_tests;
use protocol_support::Runtime;
use tokio::process::Command;

/// Starts `test-plugin ROLE` under the raw host and welcomes it.
async fn raw_host(role: &str) -> RawHost {
    let mut plugin = Command::new(env!("CARGO_BIN_EXE_test-plugin"));
    plugin.arg(role);
    let host = RawHost::start(plugin).await;
    assert_eq!(host.hello.token, TOKEN);
    host
}

#[tokio::test]
async fn an_unknown_method_is_answered_with_error_code_2_naming_the_contract() {
    let mut host = raw_host("calculator").await;
    assert_eq!(host.hello.language, "rust");
    let message = host.expect_error(1, 99, &[], 2).await;
    assert!(
        message.contains("contract Calculator has 4 method(s); there is no method number 99"),
        "{message}"
    );
    host.still_serves(2).await;
}

#[tokio::test]
async fn an_unknown_contract_is_answered_with_error_code_1() {
    let mut host = raw_host("calculator").await;
    let (header, body) = host.request_to(1, 5, 0, &[]).await;
    assert_eq!(header.kind, Kind::Error);
    let err: ErrorBody = codec::decode(&body).expect("error body");
    assert_eq!(err.code, 1, "{}", err.message);
    host.still_serves(2).await;
}

#[tokio::test]
async fn arguments_that_do_not_decode_are_a_bad_request() {
    let mut host = raw_host("calculator").await;
    // add(a: i64, b: i64) with one byte: the second argument is missing.
    let message = host.expect_error(1, 0, &[0x02], 3).await;
    assert!(
        message.contains("the arguments of Calculator.add do not decode"),
        "{message}"
    );
    host.still_serves(2).await;
}

#[tokio::test]
async fn trailing_bytes_after_the_arguments_are_a_bad_request() {
    let mut host = raw_host("calculator").await;
    let mut args = codec::encode(&(1i64, 2i64)).expect("args");
    args.push(0);
    let message = host.expect_error(1, 0, &args, 3).await;
    assert!(message.contains("trailing"), "{message}");
    host.still_serves(2).await;
}

#[tokio::test]
async fn a_string_claiming_gigabytes_is_refused_without_allocating() {
    let mut host = raw_host("calculator").await;
    // greet(name: String) whose length prefix claims 64 GiB.
    let mut args = vec![0xfd];
    args.extend_from_slice(&(64u64 << 30).to_le_bytes());
    let message = host.expect_error(1, 3, &args, 3).await;
    assert!(message.contains("Calculator.greet"), "{message}");
    host.still_serves(2).await;
}

#[tokio::test]
async fn pings_are_answered_with_pongs_of_the_same_id() {
    let mut host = raw_host("calculator").await;
    host.send(&control_frame(Kind::Ping, 77)).await;
    let (header, body) = host.answer().await;
    assert_eq!((header.kind, header.id, body.len()), (Kind::Pong, 77, 0));
}

#[tokio::test]
async fn a_frame_over_the_maximum_ends_the_plugin_with_a_clear_message() {
    let mut host = raw_host("calculator").await;
    // The welcome set the maximum to 1 MiB; claim 2 MiB.
    let mut frame = Vec::new();
    frame.extend_from_slice(&(2u32 << 20).to_le_bytes());
    frame.push(Kind::Request as u8);
    frame.extend_from_slice(&1u64.to_le_bytes());
    host.send(&frame).await;
    let (code, stderr) = host.exit().await;
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("exceeds the maximum frame size 1048576"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[tokio::test]
async fn the_plugin_exits_cleanly_when_the_host_closes_the_connection() {
    let (code, stderr) = raw_host("calculator").await.hang_up().await;
    assert_eq!(code, Some(0), "{stderr}");
}

/// `test-plugin ROLE`, for the raw host of the shared protocol checks.
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

limits_tests!(RUST);
