//! The TypeScript runtime under a host that breaks the rules: a raw host
//! speaks the wire by hand to the real TypeScript calculator plugin
//! (examples/calculator/typescript), as tests/rust_plugin_protocol.rs does
//! for the Rust plugin. The plugin answers what it can with a clear ERROR
//! frame and keeps serving; a frame that breaks the framing rules ends it
//! with one clear line on stderr, never a crash with a stack dump.

mod common;
#[path = "../examples/calculator/contract.rs"]
mod contract;

use std::path::PathBuf;
use std::time::Duration;

use common::raw_host::{control_frame, request_frame, request_with_deadline, RawHost, MAX_FRAME};
use contract::CalculatorClient;
use goproc::wire::codec;
use goproc::wire::frame::{write_frame, FrameBuf};
use goproc::wire::messages::{Refuse, Welcome};
use goproc::wire::Kind;
use tokio::io::AsyncWriteExt;
use tokio::process::Command;

/// The calculator example, compiled with its own tsconfig.json into a
/// scratch folder.
fn calculator_js() -> PathBuf {
    static BUILT: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BUILT
        .get_or_init(|| {
            let out = common::scratch("ts-protocol-calculator");
            common::node::mark_es_modules(&out);
            let tsconfig = common::root().join("examples/calculator/typescript/tsconfig.json");
            common::node::tsc(&[
                "-p",
                &tsconfig.display().to_string(),
                "--outDir",
                &out.join("dist").display().to_string(),
                "--typeRoots",
                &common::node::type_roots(),
            ]);
            out.join("dist/plugin.js")
        })
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

/// Starts the calculator plugin and reads its hello; the caller answers it.
async fn connect() -> RawHost {
    RawHost::connect(plugin(calculator_js())).await
}

/// Starts the calculator plugin and welcomes it with a 1 MiB maximum frame.
async fn raw_host() -> RawHost {
    RawHost::start(plugin(calculator_js())).await
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
async fn the_hello_names_the_language_pid_token_and_contract_fingerprint() {
    let host = raw_host().await;
    let hello = &host.hello;
    assert_eq!(hello.language, "typescript");
    assert!(hello.runtime.starts_with("goproc-typescript "), "{hello:?}");
    assert_eq!(hello.token, "raw-token");
    assert_eq!(Some(hello.pid), host.child.id());
    assert_eq!((hello.protocol_min, hello.protocol_max), (1, 1));
    let contract = <CalculatorClient as goproc::Client>::CONTRACT;
    assert_eq!(hello.contracts.len(), 1);
    assert_eq!(hello.contracts[0].name, contract.name);
    assert_eq!(hello.contracts[0].fingerprint, contract.fingerprint);
}

#[tokio::test]
async fn an_unknown_method_is_answered_with_error_code_2_naming_the_contract() {
    let mut host = raw_host().await;
    let message = host.expect_error(1, 99, &[], 2).await;
    assert!(
        message.contains("contract Calculator has 4 method(s); there is no method number 99"),
        "{message}"
    );
    host.still_serves(2).await;
}

#[tokio::test]
async fn an_unknown_contract_is_answered_with_error_code_1() {
    let mut host = raw_host().await;
    let (header, body) = host.request_to(1, 5, 0, &[]).await;
    let message = RawHost::error_body(header, &body, 1, 1);
    assert!(message.contains("no contract number 5"), "{message}");
    host.still_serves(2).await;
}

#[tokio::test]
async fn arguments_that_do_not_decode_are_a_bad_request() {
    let mut host = raw_host().await;
    // add(a: i64, b: i64) with one byte: the second argument is missing.
    let message = host.expect_error(1, 0, &[0x02], 3).await;
    assert!(
        message.contains("the arguments of Calculator.add do not decode"),
        "{message}"
    );
    // greet(name: String) with bytes that are not UTF-8.
    let message = host.expect_error(2, 3, &[0x02, 0xc3, 0x28], 3).await;
    assert!(message.contains("Calculator.greet"), "{message}");
    host.still_serves(3).await;
}

#[tokio::test]
async fn a_request_head_that_does_not_decode_is_a_bad_request() {
    let mut host = raw_host().await;
    // A REQUEST whose body is one varint marker with nothing after it.
    let mut f = FrameBuf::new(Kind::Request, 1);
    f.body_mut().push(0xfc);
    host.send(&f.finish(u32::MAX).expect("small")).await;
    let (header, body) = host.answer().await;
    let message = RawHost::error_body(header, &body, 1, 3);
    assert!(message.contains("head"), "{message}");
    host.still_serves(2).await;
}

#[tokio::test]
async fn trailing_bytes_after_the_arguments_are_a_bad_request() {
    let mut host = raw_host().await;
    let mut args = codec::encode(&(1i64, 2i64)).expect("args");
    args.push(0);
    let message = host.expect_error(1, 0, &args, 3).await;
    assert!(message.contains("trailing"), "{message}");
    host.still_serves(2).await;
}

#[tokio::test]
async fn a_string_claiming_gigabytes_is_refused_without_allocating() {
    let mut host = raw_host().await;
    // greet(name: String) whose length prefix claims 64 GiB.
    let mut args = vec![0xfd];
    args.extend_from_slice(&(64u64 << 30).to_le_bytes());
    let message = host.expect_error(1, 3, &args, 3).await;
    assert!(message.contains("Calculator.greet"), "{message}");
    // sum(values: Vec<f64>) claiming 2^60 items.
    let mut args = vec![0xfd];
    args.extend_from_slice(&(1u64 << 60).to_le_bytes());
    host.expect_error(2, 2, &args, 3).await;
    host.still_serves(3).await;
}

#[tokio::test]
async fn pings_are_answered_with_pongs_of_the_same_id() {
    let mut host = raw_host().await;
    for id in [77, 0, (1 << 53) + 1, u64::MAX] {
        host.send(&control_frame(Kind::Ping, id)).await;
        let (header, body) = host.answer().await;
        assert_eq!((header.kind, header.id, body.len()), (Kind::Pong, id, 0));
    }
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

#[tokio::test]
async fn frames_split_byte_by_byte_or_batched_in_one_write_are_all_answered() {
    let mut host = raw_host().await;
    let args = codec::encode(&(1i64, 2i64)).expect("args");
    let frame = request_frame(1, 0, 0, &args);
    for byte in &frame {
        host.send(std::slice::from_ref(byte)).await;
        host.stream.flush().await.expect("flush");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let (header, _) = host.answer().await;
    assert_eq!((header.kind, header.id), (Kind::Response, 1));
    let mut batch = Vec::new();
    for id in 10..60u64 {
        batch.extend(request_frame(id, 0, 0, &args));
    }
    host.send(&batch).await;
    let mut ids = Vec::new();
    for _ in 10..60 {
        let (header, body) = host.answer().await;
        assert_eq!(header.kind, Kind::Response);
        assert_eq!(codec::decode::<i64>(&body).expect("i64"), 3);
        ids.push(header.id);
    }
    ids.sort_unstable();
    assert_eq!(ids, (10..60).collect::<Vec<_>>());
}

#[tokio::test]
async fn a_cancel_for_an_unknown_call_is_ignored() {
    let mut host = raw_host().await;
    host.send(&control_frame(Kind::Cancel, 12345)).await;
    host.still_serves(1).await;
}

#[tokio::test]
async fn a_frame_over_the_maximum_ends_the_plugin_with_a_clear_message() {
    let mut host = raw_host().await;
    // The welcome set the maximum to 1 MiB; claim 2 MiB.
    let mut frame = Vec::new();
    frame.extend_from_slice(&(2u32 << 20).to_le_bytes());
    frame.push(Kind::Request as u8);
    frame.extend_from_slice(&1u64.to_le_bytes());
    host.send(&frame).await;
    let (code, stderr) = host.exit().await;
    assert_eq!(code, Some(1), "{stderr}");
    assert_one_clear_line(&stderr, "exceeds the maximum frame size 1048576");
}

#[tokio::test]
async fn a_frame_shorter_than_its_header_ends_the_plugin_with_a_clear_message() {
    let mut host = raw_host().await;
    let mut frame = Vec::new();
    frame.extend_from_slice(&3u32.to_le_bytes());
    frame.extend_from_slice(&[0x10, 0, 0]);
    host.send(&frame).await;
    let (code, stderr) = host.exit().await;
    assert_eq!(code, Some(1), "{stderr}");
    assert_one_clear_line(&stderr, "frame length 3");
}

#[tokio::test]
async fn an_unknown_or_reserved_frame_kind_ends_the_plugin_with_a_clear_message() {
    for (kind, says) in [(0x7f_u8, "0x7f"), (Kind::Event as u8, "0x40")] {
        let mut host = raw_host().await;
        let mut frame = Vec::new();
        frame.extend_from_slice(&9u32.to_le_bytes());
        frame.push(kind);
        frame.extend_from_slice(&1u64.to_le_bytes());
        host.send(&frame).await;
        let (code, stderr) = host.exit().await;
        assert_eq!(code, Some(1), "{stderr}");
        assert_one_clear_line(&stderr, says);
    }
}

#[tokio::test]
async fn a_refused_plugin_exits_1_with_the_hosts_reason() {
    let mut host = connect().await;
    write_frame(
        &mut host.stream,
        Kind::Refuse,
        &Refuse {
            reason: "wrong token".into(),
        },
    )
    .await
    .expect("refuse");
    let (code, stderr) = host.exit().await;
    assert_eq!(code, Some(1), "{stderr}");
    assert_one_clear_line(&stderr, "the host refused this plugin: wrong token");
}

#[tokio::test]
async fn a_welcome_naming_an_unknown_protocol_ends_the_plugin_with_a_clear_message() {
    let mut host = connect().await;
    write_frame(
        &mut host.stream,
        Kind::Welcome,
        &Welcome {
            protocol: 9,
            max_frame: MAX_FRAME,
            host_pid: std::process::id(),
        },
    )
    .await
    .expect("welcome");
    let (code, stderr) = host.exit().await;
    assert_eq!(code, Some(1), "{stderr}");
    assert_one_clear_line(&stderr, "protocol 9");
}

#[tokio::test]
async fn the_plugin_exits_cleanly_when_the_host_closes_the_connection() {
    let mut host = raw_host().await;
    host.still_serves(1).await;
    let (code, stderr) = host.hang_up().await;
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.is_empty(), "{stderr}");
}

#[tokio::test]
async fn a_close_frame_ends_the_plugin_with_status_0() {
    let mut host = raw_host().await;
    host.still_serves(1).await;
    host.send(&control_frame(Kind::Close, 0)).await;
    let (code, stderr) = host.exit().await;
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.is_empty(), "{stderr}");
}

#[tokio::test]
async fn a_shutdown_with_nothing_in_flight_is_answered_with_close_and_status_0() {
    let mut host = raw_host().await;
    host.still_serves(1).await;
    host.send(&control_frame(Kind::Shutdown, 0)).await;
    let (header, body) = host.answer().await;
    assert_eq!((header.kind, header.id, body.len()), (Kind::Close, 0, 0));
    let (code, stderr) = host.exit().await;
    assert_eq!(code, Some(0), "{stderr}");
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
