//! The protocol checks every plugin runtime must pass under a raw host
//! (tests/common/raw_host.rs) that speaks the wire by hand to its
//! calculator plugin: error codes 1-3 for what it can answer, pings, framing
//! in any chunking, clean exits, and one clear stderr line for a frame that
//! breaks the framing rules. `protocol_tests!(RUNTIME)` runs them all.
#![allow(dead_code)]

#[path = "../../examples/calculator/contract.rs"]
pub mod calculator;
pub mod limits;

use std::time::Duration;

use calculator::CalculatorClient;
use goproc::wire::codec;
use goproc::wire::frame::FrameBuf;
use goproc::wire::messages::{Refuse, Welcome};
use goproc::wire::stream::write_frame;
use goproc::wire::Kind;
use tokio::io::AsyncWriteExt;
use tokio::process::Command;

use crate::common::raw_host::{control_frame, request_frame, RawHost, MAX_FRAME};

/// One plugin runtime under test.
pub struct Runtime {
    /// `hello.language`; the runtime announces itself as `goproc-<language> ...`.
    pub language: &'static str,
    /// The command that starts its calculator plugin.
    pub calculator: fn() -> Command,
    /// The command that starts its plugin of the `Everything` test contract.
    pub everything: fn() -> Command,
    /// The command that starts its plugin of the `Lifecycle` test contract.
    pub lifecycle: fn() -> Command,
    /// Checks what the plugin wrote to stderr when a frame broke the rules:
    /// one clear line that says `says`, and no crash report.
    pub fatal_line: fn(&str, &str),
}

impl Runtime {
    /// Starts the calculator and reads its hello; the caller answers it.
    pub async fn connect(&self) -> RawHost {
        RawHost::connect((self.calculator)()).await
    }

    /// Starts the calculator and welcomes it with a 1 MiB maximum frame.
    pub async fn start(&self) -> RawHost {
        RawHost::start((self.calculator)()).await
    }
}

/// One `#[tokio::test]` per check, for `$runtime` (a `Runtime` constant).
macro_rules! protocol_tests {
    ($runtime:expr) => {
        protocol_tests!(@each $runtime; the_hello_names_the_language_pid_token_and_contract_fingerprint, an_unknown_method_is_answered_with_error_code_2_naming_the_contract, an_unknown_contract_is_answered_with_error_code_1, arguments_that_do_not_decode_are_a_bad_request, a_request_head_that_does_not_decode_is_a_bad_request, trailing_bytes_after_the_arguments_are_a_bad_request, a_string_claiming_gigabytes_is_refused_without_allocating, pings_are_answered_with_pongs_of_the_same_id, frames_split_byte_by_byte_or_batched_in_one_write_are_all_answered, a_cancel_for_an_unknown_call_is_ignored, a_frame_over_the_maximum_ends_the_plugin_with_a_clear_message, a_frame_shorter_than_its_header_ends_the_plugin_with_a_clear_message, an_unknown_or_reserved_frame_kind_ends_the_plugin_with_a_clear_message, a_refused_plugin_exits_1_with_the_hosts_reason, a_welcome_naming_an_unknown_protocol_ends_the_plugin_with_a_clear_message, the_plugin_exits_cleanly_when_the_host_closes_the_connection, a_close_frame_ends_the_plugin_with_status_0, a_shutdown_with_nothing_in_flight_is_answered_with_close_and_status_0, the_hello_states_the_schema_of_each_contract, describe_answers_the_documented_schema_of_each_contract);
    };
    (@each $runtime:expr; $($check:ident),*) => {
        $(
            #[tokio::test]
            async fn $check() {
                protocol_support::$check(&$runtime).await;
            }
        )*
    };
}
pub(crate) use protocol_tests;

pub async fn the_hello_names_the_language_pid_token_and_contract_fingerprint(rt: &Runtime) {
    let host = rt.start().await;
    let hello = &host.hello;
    assert_eq!(hello.language, rt.language);
    assert!(
        hello
            .runtime
            .starts_with(&format!("goproc-{} ", rt.language)),
        "{hello:?}"
    );
    assert_eq!(hello.token, "raw-token");
    assert_eq!(Some(hello.pid), host.child.id());
    assert_eq!((hello.protocol_min, hello.protocol_max), (2, 4));
    assert!(
        hello.requires.is_empty(),
        "the calculator requires nothing: {hello:?}"
    );
    let contract = <CalculatorClient as goproc::Client>::CONTRACT;
    assert_eq!(hello.contracts.len(), 1);
    assert_eq!(hello.contracts[0].name, contract.name);
    assert_eq!(hello.contracts[0].fingerprint, contract.fingerprint);
}

pub async fn an_unknown_method_is_answered_with_error_code_2_naming_the_contract(rt: &Runtime) {
    let mut host = rt.start().await;
    let message = host.expect_error(1, 99, &[], 2).await;
    assert!(
        message.contains("contract Calculator has 4 method(s); there is no method number 99"),
        "{message}"
    );
    host.still_serves(2).await;
}

pub async fn the_hello_states_the_schema_of_each_contract(rt: &Runtime) {
    let host = rt.start().await;
    let hello = &host.hello;
    let ours = <CalculatorClient as goproc::Client>::CONTRACT
        .canonical_text()
        .expect("the calculator's types trace");
    // One schema per contract served and required: the calculator serves
    // one and requires none.
    assert_eq!(hello.schemas, vec![ours], "{hello:?}");
}

pub async fn describe_answers_the_documented_schema_of_each_contract(rt: &Runtime) {
    let mut host = RawHost::connect((rt.calculator)())
        .await
        .welcome_as(4, MAX_FRAME)
        .await;
    let introspection = goproc::wire::INTROSPECTION_CONTRACT;
    let (header, body) = host.request_to(1, introspection, 0, &[]).await;
    assert_eq!((header.kind, header.id), (Kind::Response, 1));
    let texts: Vec<String> = codec::decode(&body).expect("a list of texts");
    assert_eq!(texts.len(), 1, "{texts:?}");
    let described = goproc::schema::parse_schemas(&texts[0])
        .unwrap_or_else(|e| panic!("the described schema reads: {e}\n{}", texts[0]));
    let ours = (<CalculatorClient as goproc::Client>::CONTRACT.schema)()
        .as_ref()
        .expect("the calculator's types trace");
    // The same schema, with at least the docs Rust knows (the trait's and
    // the methods'; other runtimes also describe their types' docs).
    assert_eq!(described[0].canonical_text(), ours.canonical_text());
    assert_eq!(described[0].docs, ours.docs);
    let docs = |s: &goproc::schema::ContractSchema| -> Vec<Vec<String>> {
        s.methods.iter().map(|m| m.docs.clone()).collect()
    };
    assert_eq!(docs(&described[0]), docs(ours));
    // Describe takes no arguments, and is the introspection contract's only
    // method.
    let (header, body) = host.request_to(2, introspection, 0, &[0]).await;
    RawHost::error_body(header, &body, 2, 3);
    let (header, body) = host.request_to(3, introspection, 1, &[]).await;
    RawHost::error_body(header, &body, 3, 2);
    host.still_serves(4).await;
}

pub async fn an_unknown_contract_is_answered_with_error_code_1(rt: &Runtime) {
    let mut host = rt.start().await;
    let (header, body) = host.request_to(1, 5, 0, &[]).await;
    let message = RawHost::error_body(header, &body, 1, 1);
    assert!(message.contains("no contract number 5"), "{message}");
    host.still_serves(2).await;
}

pub async fn arguments_that_do_not_decode_are_a_bad_request(rt: &Runtime) {
    let mut host = rt.start().await;
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

pub async fn a_request_head_that_does_not_decode_is_a_bad_request(rt: &Runtime) {
    let mut host = rt.start().await;
    // A REQUEST whose body is one varint marker with nothing after it.
    let mut f = FrameBuf::new(Kind::Request, 1);
    f.body_mut().push(0xfc);
    host.send(&f.finish(u32::MAX).expect("small")).await;
    let (header, body) = host.answer().await;
    let message = RawHost::error_body(header, &body, 1, 3);
    assert!(message.contains("head"), "{message}");
    host.still_serves(2).await;
}

pub async fn trailing_bytes_after_the_arguments_are_a_bad_request(rt: &Runtime) {
    let mut host = rt.start().await;
    let mut args = codec::encode(&(1i64, 2i64)).expect("args");
    args.push(0);
    let message = host.expect_error(1, 0, &args, 3).await;
    assert!(message.contains("trailing"), "{message}");
    host.still_serves(2).await;
}

pub async fn a_string_claiming_gigabytes_is_refused_without_allocating(rt: &Runtime) {
    let mut host = rt.start().await;
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

pub async fn pings_are_answered_with_pongs_of_the_same_id(rt: &Runtime) {
    let mut host = rt.start().await;
    for id in [77, 0, (1 << 53) + 1, u64::MAX] {
        host.send(&control_frame(Kind::Ping, id)).await;
        let (header, body) = host.answer().await;
        assert_eq!((header.kind, header.id, body.len()), (Kind::Pong, id, 0));
    }
    host.still_serves(1).await;
}

pub async fn frames_split_byte_by_byte_or_batched_in_one_write_are_all_answered(rt: &Runtime) {
    let mut host = rt.start().await;
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

pub async fn a_cancel_for_an_unknown_call_is_ignored(rt: &Runtime) {
    let mut host = rt.start().await;
    host.send(&control_frame(Kind::Cancel, 12345)).await;
    host.still_serves(1).await;
}

pub async fn a_frame_over_the_maximum_ends_the_plugin_with_a_clear_message(rt: &Runtime) {
    let mut host = rt.start().await;
    host.still_serves(1).await;
    // The welcome set the maximum to 1 MiB; claim 2 MiB.
    let mut frame = Vec::new();
    frame.extend_from_slice(&(2u32 << 20).to_le_bytes());
    frame.push(Kind::Request as u8);
    frame.extend_from_slice(&1u64.to_le_bytes());
    host.send(&frame).await;
    let (code, stderr) = host.exit().await;
    assert_eq!(code, Some(1), "{stderr}");
    (rt.fatal_line)(&stderr, "exceeds the maximum frame size 1048576");
}

pub async fn a_frame_shorter_than_its_header_ends_the_plugin_with_a_clear_message(rt: &Runtime) {
    let mut host = rt.start().await;
    let mut frame = Vec::new();
    frame.extend_from_slice(&3u32.to_le_bytes());
    frame.extend_from_slice(&[0x10, 0, 0]);
    host.send(&frame).await;
    let (code, stderr) = host.exit().await;
    assert_eq!(code, Some(1), "{stderr}");
    (rt.fatal_line)(&stderr, "frame length 3");
}

pub async fn an_unknown_or_reserved_frame_kind_ends_the_plugin_with_a_clear_message(rt: &Runtime) {
    for (kind, says) in [(0x7f_u8, "0x7f"), (Kind::Event as u8, "0x40")] {
        let mut host = rt.start().await;
        let mut frame = Vec::new();
        frame.extend_from_slice(&9u32.to_le_bytes());
        frame.push(kind);
        frame.extend_from_slice(&1u64.to_le_bytes());
        host.send(&frame).await;
        let (code, stderr) = host.exit().await;
        assert_eq!(code, Some(1), "{stderr}");
        (rt.fatal_line)(&stderr, says);
    }
}

pub async fn a_refused_plugin_exits_1_with_the_hosts_reason(rt: &Runtime) {
    let mut host = rt.connect().await;
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
    (rt.fatal_line)(&stderr, "the host refused this plugin: wrong token");
}

pub async fn a_welcome_naming_an_unknown_protocol_ends_the_plugin_with_a_clear_message(
    rt: &Runtime,
) {
    let mut host = rt.connect().await;
    write_frame(
        &mut host.stream,
        Kind::Welcome,
        &Welcome {
            protocol: 9,
            max_frame: MAX_FRAME,
            host_pid: std::process::id(),
            contracts: Vec::new(),
        },
    )
    .await
    .expect("welcome");
    let (code, stderr) = host.exit().await;
    assert_eq!(code, Some(1), "{stderr}");
    (rt.fatal_line)(&stderr, "protocol 9");
}

pub async fn the_plugin_exits_cleanly_when_the_host_closes_the_connection(rt: &Runtime) {
    let mut host = rt.start().await;
    host.still_serves(1).await;
    let (code, stderr) = host.hang_up().await;
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.is_empty(), "{stderr}");
}

pub async fn a_close_frame_ends_the_plugin_with_status_0(rt: &Runtime) {
    let mut host = rt.start().await;
    host.still_serves(1).await;
    host.send(&control_frame(Kind::Close, 0)).await;
    let (code, stderr) = host.exit().await;
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.is_empty(), "{stderr}");
}

pub async fn a_shutdown_with_nothing_in_flight_is_answered_with_close_and_status_0(rt: &Runtime) {
    let mut host = rt.start().await;
    host.still_serves(1).await;
    host.send(&control_frame(Kind::Shutdown, 0)).await;
    let (header, body) = host.answer().await;
    assert_eq!((header.kind, header.id, body.len()), (Kind::Close, 0, 0));
    let (code, stderr) = host.exit().await;
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.is_empty(), "{stderr}");
}
