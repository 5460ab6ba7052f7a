//! The limits of docs/WIRE.md (section 3.1: lengths, items, nesting), the
//! id and empty-body rules of sections 2 and 4, and backpressure, checked
//! the same way for every plugin runtime under the raw host.
//! `limits_tests!(RUNTIME)` runs them all.

#[path = "../contracts/everything.rs"]
pub mod everything;
#[path = "../contracts/lifecycle.rs"]
pub mod lifecycle;

use std::time::{Duration, Instant};

use goproc::wire::codec;
use goproc::wire::frame::FrameBuf;
use goproc::wire::messages::ErrorBody;
use goproc::wire::Kind;
use goproc::Client;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::Runtime;
use crate::common::raw_host::{control_frame, request_frame, RawHost, MAX_FRAME};

/// The nesting limit of docs/WIRE.md section 3.1.
pub const NESTING_LIMIT: usize = 128;

/// One `#[tokio::test]` per check, for `$runtime` (a `Runtime` constant).
macro_rules! limits_tests {
    ($runtime:expr) => {
        limits_tests!(@each $runtime;
            values_nested_up_to_the_limit_are_echoed_and_one_level_more_is_a_bad_request,
            a_value_nested_twenty_thousand_deep_is_a_bad_request_and_the_plugin_keeps_serving,
            item_counts_may_add_up_to_the_bodys_length_and_no_more,
            a_control_frame_with_a_body_ends_the_plugin_with_a_clear_message,
            a_shutdown_or_close_with_a_nonzero_id_ends_the_plugin_with_a_clear_message,
            a_request_reusing_the_id_of_a_running_call_ends_the_plugin_with_a_clear_message,
            answers_to_calls_the_plugin_never_made_are_dropped,
            a_welcome_with_a_max_frame_below_4096_ends_the_plugin_with_a_clear_message,
            a_host_that_never_reads_keeps_the_plugins_memory_bounded_and_loses_no_answer,
            a_16_mib_frame_costs_the_plugin_less_than_three_times_its_size);
    };
    (@each $runtime:expr; $($check:ident),*) => {
        $(
            #[tokio::test]
            async fn $check() {
                protocol_support::limits::$check(&$runtime).await;
            }
        )*
    };
}
pub(crate) use limits_tests;

fn method(contract: &goproc::ContractInfo, name: &str) -> u32 {
    contract
        .methods
        .iter()
        .position(|m| *m == name)
        .unwrap_or_else(|| panic!("{} has no method {name}", contract.name)) as u32
}

fn everything_method(name: &str) -> u32 {
    method(<everything::EverythingClient as Client>::CONTRACT, name)
}

/// `Shape` nested `depth` enums deep: `Labeled(Labeled(... Empty ..., ""), "")`,
/// built as bytes so no deep Rust value (and its recursive drop) exists.
fn nested_shape(depth: usize) -> Vec<u8> {
    let labeled = 4u8; // Shape::Labeled(Box<Shape>, String)
    let mut v = vec![labeled; depth - 1];
    v.push(0); // Shape::Empty
    v.extend(std::iter::repeat_n(0u8, depth - 1)); // each label: ""
    v
}

/// `Tree` nested `depth` enums deep: `Node([Node([... Leaf(7) ...])])`.
fn nested_tree(depth: usize) -> Vec<u8> {
    let mut v = Vec::with_capacity(2 * depth);
    for _ in 1..depth {
        v.extend([1, 1]); // Tree::Node, a Vec of one
    }
    v.extend([0, 7]); // Tree::Leaf(7)
    v
}

/// Starts the runtime's `Everything` plugin, welcomed with `max_frame`.
async fn everything(rt: &Runtime, max_frame: u32) -> RawHost {
    RawHost::connect((rt.everything)())
        .await
        .welcome_with(max_frame)
        .await
}

/// `echo_u8(v)` answers `v`: the plugin still serves.
async fn echoes(host: &mut RawHost, id: u64) {
    let (header, body) = host.request(id, everything_method("echo_u8"), &[42]).await;
    assert_eq!(
        (header.kind, header.id, body),
        (Kind::Response, id, vec![42])
    );
}

fn assert_names_the_nesting_limit(message: &str, method: &str) {
    assert!(
        message.contains(method) && message.contains("nesting limit") && message.contains("128"),
        "{message}"
    );
}

pub async fn values_nested_up_to_the_limit_are_echoed_and_one_level_more_is_a_bad_request(
    rt: &Runtime,
) {
    let mut host = everything(rt, MAX_FRAME).await;
    for (name, nested) in [
        ("echo_shape", nested_shape as fn(usize) -> Vec<u8>),
        ("echo_tree", nested_tree),
    ] {
        let m = everything_method(name);
        let at_limit = nested(NESTING_LIMIT);
        let (header, body) = host.request(1, m, &at_limit).await;
        assert_eq!(header.kind, Kind::Response, "{name} at the limit");
        assert_eq!(body, at_limit, "{name} at the limit echoes the same bytes");

        let message = host.expect_error(2, m, &nested(NESTING_LIMIT + 1), 3).await;
        assert_names_the_nesting_limit(&message, &format!("Everything.{name}"));
    }
    echoes(&mut host, 3).await;
}

pub async fn a_value_nested_twenty_thousand_deep_is_a_bad_request_and_the_plugin_keeps_serving(
    rt: &Runtime,
) {
    let mut host = everything(rt, MAX_FRAME).await;
    for (id, name, args) in [
        (1, "echo_shape", nested_shape(20_000)),
        (2, "echo_tree", nested_tree(20_000)),
        (3, "echo_shapes", {
            // Vec<Option<Shape>>: one Some(deep shape).
            let mut v = vec![1, 1];
            v.extend(nested_shape(20_000));
            v
        }),
    ] {
        let message = host
            .expect_error(id, everything_method(name), &args, 3)
            .await;
        assert_names_the_nesting_limit(&message, &format!("Everything.{name}"));
    }
    echoes(&mut host, 4).await;
}

pub async fn item_counts_may_add_up_to_the_bodys_length_and_no_more(rt: &Runtime) {
    let mut host = everything(rt, MAX_FRAME).await;
    let m = everything_method("count_units");
    // The body is the request head (3 bytes) and the count (1 byte): a
    // `Vec<()>` of 4 fits the item budget, one of 5 does not.
    let body_len = request_frame(1, 0, m, &[4]).len() - 13;
    assert_eq!(body_len, 4);
    let (header, body) = host.request(1, m, &[4]).await;
    assert_eq!(header.kind, Kind::Response);
    assert_eq!(codec::decode::<u64>(&body).expect("u64"), 4);
    let message = host.expect_error(2, m, &[5], 3).await;
    assert!(message.contains("Everything.count_units"), "{message}");
    assert!(message.contains("count 5"), "{message}");

    // Counts that add up: Vec<Option<Shape>> of 3 `None`s is 4 bytes of
    // arguments; claiming 250 items in it is refused before any is read.
    let m = everything_method("echo_shapes");
    let (header, body) = host.request(3, m, &[3, 0, 0, 0]).await;
    assert_eq!((header.kind, body), (Kind::Response, vec![3, 0, 0, 0]));
    host.expect_error(4, m, &[250, 0, 0, 0], 3).await;
    // A map claiming 2^40 entries.
    let mut args = vec![0xfd];
    args.extend_from_slice(&(1u64 << 40).to_le_bytes());
    host.expect_error(5, everything_method("echo_hash_map"), &args, 3)
        .await;
    echoes(&mut host, 6).await;
}

pub async fn a_control_frame_with_a_body_ends_the_plugin_with_a_clear_message(rt: &Runtime) {
    for kind in [
        Kind::Cancel,
        Kind::Ping,
        Kind::Pong,
        Kind::Shutdown,
        Kind::Close,
    ] {
        let mut host = rt.start().await;
        host.still_serves(1).await;
        let mut frame = FrameBuf::new(kind, 0);
        frame.body_mut().extend_from_slice(&[0, 0, 0]);
        host.send(&frame.finish(u32::MAX).expect("small")).await;
        let (code, stderr) = host.exit().await;
        assert_eq!(code, Some(1), "{kind:?}: {stderr}");
        (rt.fatal_line)(&stderr, "empty body");
    }
}

pub async fn a_shutdown_or_close_with_a_nonzero_id_ends_the_plugin_with_a_clear_message(
    rt: &Runtime,
) {
    for kind in [Kind::Shutdown, Kind::Close] {
        let mut host = rt.start().await;
        host.still_serves(1).await;
        host.send(&control_frame(kind, 7)).await;
        let (code, stderr) = host.exit().await;
        assert_eq!(code, Some(1), "{kind:?}: {stderr}");
        (rt.fatal_line)(&stderr, "id 0");
    }
}

pub async fn a_request_reusing_the_id_of_a_running_call_ends_the_plugin_with_a_clear_message(
    rt: &Runtime,
) {
    let sleep = method(<lifecycle::LifecycleClient as Client>::CONTRACT, "sleep");
    let args = codec::encode(&2_000u64).expect("args");

    // An id is free again once its call was answered...
    let mut host = RawHost::start((rt.lifecycle)()).await;
    let quick = codec::encode(&1u64).expect("args");
    for _ in 0..2 {
        let (header, _) = host.request(5, sleep, &quick).await;
        assert_eq!((header.kind, header.id), (Kind::Response, 5));
    }
    // ... or cancelled.
    host.send(&request_frame(6, 0, sleep, &args)).await;
    host.send(&control_frame(Kind::Cancel, 6)).await;
    let (header, _) = host.request(6, sleep, &quick).await;
    assert_eq!((header.kind, header.id), (Kind::Response, 6));

    // Not while it runs.
    host.send(&request_frame(7, 0, sleep, &args)).await;
    host.send(&request_frame(7, 0, sleep, &args)).await;
    let (code, stderr) = host.exit().await;
    assert_eq!(code, Some(1), "{stderr}");
    (rt.fatal_line)(&stderr, "reuses id 7");
}

pub async fn answers_to_calls_the_plugin_never_made_are_dropped(rt: &Runtime) {
    let mut host = rt.start().await;
    let mut response = FrameBuf::new(Kind::Response, 77);
    response.body_mut().extend_from_slice(&[1, 2, 3]);
    host.send(&response.finish(u32::MAX).expect("small")).await;
    let mut error = FrameBuf::new(Kind::Error, 78);
    codec::encode_into(
        &ErrorBody {
            code: 4,
            message: "stray".into(),
            detail: String::new(),
        },
        error.body_mut(),
    )
    .expect("error body");
    host.send(&error.finish(u32::MAX).expect("small")).await;
    // Not even looked at: a body that would not decode as an ErrorBody.
    let mut garbage = FrameBuf::new(Kind::Error, 79);
    garbage.body_mut().push(0xff);
    host.send(&garbage.finish(u32::MAX).expect("small")).await;
    host.send(&control_frame(Kind::Pong, 80)).await;
    host.still_serves(1).await;
    host.still_serves(2).await;
}

pub async fn a_welcome_with_a_max_frame_below_4096_ends_the_plugin_with_a_clear_message(
    rt: &Runtime,
) {
    let host = rt.connect().await.welcome_with(4096).await;
    let mut host = host;
    host.still_serves(1).await;
    drop(host);

    let host = rt.connect().await.welcome_with(100).await;
    let (code, stderr) = host.exit().await;
    assert_eq!(code, Some(1), "{stderr}");
    (rt.fatal_line)(&stderr, "4096");
}

/// How much a plugin may grow while its host does not read: the runtime's
/// own limit on unwritten answers plus what is in flight, with room for
/// allocator slack. (Without a limit it grows by every answer: ~100 MB here.)
const NOT_READING_BOUND: u64 = 32 << 20;

pub async fn a_host_that_never_reads_keeps_the_plugins_memory_bounded_and_loses_no_answer(
    rt: &Runtime,
) {
    const CALLS: u64 = 3_000;
    let name = "x".repeat(32 * 1024);
    let args = codec::encode(&name).expect("args");
    let mut host = rt.start().await;
    host.still_serves(1).await;
    let before = host.memory();

    // ~100 MB of answers; the host writes requests and reads nothing.
    let (mut reader, mut writer) = host.stream.into_split();
    let sender = tokio::spawn(async move {
        for id in 0..CALLS {
            let frame = request_frame(100 + id, 0, 3, &args);
            writer.write_all(&frame).await.expect("write");
        }
        writer
    });
    let pid = host.child.id().expect("running");
    let mut worst = before;
    let until = Instant::now() + Duration::from_secs(3);
    while Instant::now() < until {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let now = crate::common::memory::Memory::of(pid);
        worst.rss = worst.rss.max(now.rss);
    }
    eprintln!(
        "{}: the plugin grew by {} KiB while its host did not read",
        rt.language,
        worst.rss.saturating_sub(before.rss) >> 10
    );
    assert!(
        worst.rss < before.rss + NOT_READING_BOUND,
        "the plugin grew from {} to {} bytes while its host did not read",
        before.rss,
        worst.rss
    );
    assert!(
        !sender.is_finished(),
        "the plugin read every request although nobody read its answers"
    );

    // Reading again: every answer arrives, whole.
    let mut seen = vec![false; CALLS as usize];
    let expected_len = format!("Hello, {name}!").len();
    for _ in 0..CALLS {
        let mut head = [0u8; 13];
        tokio::time::timeout(Duration::from_secs(20), reader.read_exact(&mut head))
            .await
            .expect("the answers keep coming")
            .expect("read");
        let length = u32::from_le_bytes([head[0], head[1], head[2], head[3]]) as usize;
        let id = u64::from_le_bytes(head[5..13].try_into().expect("8 bytes"));
        let mut body = vec![0; length - 9];
        reader.read_exact(&mut body).await.expect("body");
        assert_eq!(head[4], Kind::Response as u8, "call {id}");
        let answer: String = codec::decode(&body).expect("a string");
        assert_eq!(answer.len(), expected_len);
        seen[(id - 100) as usize] = true;
    }
    assert!(seen.iter().all(|s| *s), "every call answered once");
    let writer = sender.await.expect("sender");
    drop((reader, writer));
}

pub async fn a_16_mib_frame_costs_the_plugin_less_than_three_times_its_size(rt: &Runtime) {
    const FRAME: u32 = 16 << 20;
    let mut host = everything(rt, FRAME + 4096).await;
    let m = everything_method("echo_bytes");
    // A small call first, so the baseline has the runtime warmed up.
    let small = codec::encode(&serde_bytes::ByteBuf::from(vec![1u8; 1024])).expect("args");
    host.send(&request_frame(1, 0, m, &small)).await;
    host.answer_up_to(FRAME + 4096).await;
    let before = host.memory();

    let payload = vec![0xa5u8; FRAME as usize - 64];
    let args = codec::encode(&serde_bytes::Bytes::new(&payload)).expect("args");
    host.send(&request_frame(2, 0, m, &args)).await;
    let (header, body) = host.answer_up_to(FRAME + 4096).await;
    assert_eq!((header.kind, header.id), (Kind::Response, 2));
    assert_eq!(body, args, "the 16 MiB answer echoes the argument");
    let after = host.memory();
    let cost = after.peak.saturating_sub(before.rss);
    eprintln!(
        "{}: a 16 MiB frame raised the plugin's peak by {} MiB",
        rt.language,
        cost >> 20
    );
    assert!(
        cost < 3 * u64::from(FRAME),
        "a 16 MiB frame raised the plugin's peak memory by {} MiB (from {} to {} MiB)",
        cost >> 20,
        before.rss >> 20,
        after.peak >> 20
    );
}
