//! The three runtimes agree at the edges: the same requests, valid and
//! mutated, go to the Rust, Python and TypeScript plugins of the
//! `Everything` contract, and every answer must be the same: the same echo
//! byte for byte, or the same ERROR code. A decoder that accepts what
//! another refuses (a varint form, a length, a count, a nesting depth, a
//! char) shows up here as a disagreement naming the input.
//!
//! `GOPROC_FUZZ_INPUTS` sets how many requests (default 3,000).

mod common;
#[allow(dead_code)]
#[path = "contracts/everything.rs"]
mod everything;
#[allow(dead_code)]
#[path = "python/values.rs"]
mod values;

use std::collections::HashMap;

use common::raw_host::{request_frame, RawHost};
use everything::{EchoError, EverythingClient, Tree};
use goproc::wire::codec;
use goproc::wire::messages::ErrorBody;
use goproc::wire::Kind;
use goproc::Client;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;
use tokio::process::Command;
use values::Gen;

/// What a plugin answered to one request.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Answer {
    Echo(Vec<u8>),
    /// The length of an echo whose bytes may come in another order (maps).
    EchoOfLength(usize),
    Error(u32),
}

fn method(name: &str) -> u32 {
    <EverythingClient as Client>::CONTRACT
        .methods
        .iter()
        .position(|m| *m == name)
        .unwrap_or_else(|| panic!("no method {name}")) as u32
}

/// Valid arguments for every method: (method, encoded arguments).
fn seeds(seed: u64) -> Vec<(u32, Vec<u8>)> {
    let mut g = Gen::new(seed);
    let mut out = Vec::new();
    fn enc<T: Serialize>(v: &T) -> Vec<u8> {
        codec::encode(v).expect("encode")
    }
    for i in 0..8 {
        let mut add = |name: &str, args: Vec<u8>| out.push((method(name), args));
        add("echo_bool", enc(&g.bool(i)));
        add("echo_u8", enc(&g.u8(i)));
        add("echo_u16", enc(&g.u16(i)));
        add("echo_u32", enc(&g.u32(i)));
        add("echo_u64", enc(&g.u64(i)));
        add("echo_u128", enc(&g.u128(i)));
        add("echo_usize", enc(&g.usize(i)));
        add("echo_i8", enc(&g.i8(i)));
        add("echo_i16", enc(&g.i16(i)));
        add("echo_i32", enc(&g.i32(i)));
        add("echo_i64", enc(&g.i64(i)));
        add("echo_i128", enc(&g.i128(i)));
        add("echo_isize", enc(&g.isize(i)));
        add("echo_char", enc(&g.char(i)));
        add("echo_string", enc(&g.string(i)));
        add("echo_bytes", enc(&serde_bytes::ByteBuf::from(g.bytes(i))));
        add(
            "echo_byte_buf",
            enc(&serde_bytes::ByteBuf::from(g.bytes(i))),
        );
        add("echo_vec", enc(&g.vec_i32(i)));
        add("echo_array", enc(&g.array(i)));
        add("echo_deque", enc(&g.deque(i)));
        add("echo_option", enc(&g.option_i64(i)));
        add("echo_option_option", enc(&g.option_option(i)));
        add("echo_hash_map", enc(&g.hash_map(i)));
        add("echo_btree_map", enc(&g.btree_map(i)));
        add("echo_tuple", enc(&g.tuple(i)));
        add("echo_unit", Vec::new());
        add("echo_boxed", enc(&g.record(i)));
        add("echo_record", enc(&g.record(i)));
        add("echo_shape", enc(&g.shape(i, 0)));
        add("echo_shapes", enc(&g.shapes(i)));
        add("echo_pair", enc(&g.pair(i)));
        add("echo_marker", Vec::new());
        add("echo_page", enc(&g.page(i)));
        add("echo_page_of_ints", enc(&g.page_of_ints(i)));
        add("echo_keywords", enc(&g.keywords(i)));
        add("echo_map_of_records", enc(&g.map_of_records(i)));
        add("echo_many", enc(&g.many(i)));
        add("nothing", Vec::new());
        add("echo_tree", enc(&deep_tree(126 + i)));
        add("count_units", enc(&vec![(); i % 5]));
        add("checked", enc(&(g.i32(i), i % 2 == 0)));
    }
    let _ = EchoError::Unlucky(0);
    out
}

fn deep_tree(depth: usize) -> Tree {
    let mut tree = Tree::Leaf(1);
    for _ in 1..depth {
        tree = Tree::Node(vec![tree, Tree::Leaf(2)]);
    }
    tree
}

/// Floats are echoed by their bits everywhere but through Python's and
/// JavaScript's `float`, which may quiet a signaling NaN: only the methods
/// without floats are compared byte for byte.
fn has_floats(method_name: &str) -> bool {
    matches!(
        method_name,
        "echo_f32"
            | "echo_f64"
            | "echo_tuple"
            | "echo_boxed"
            | "echo_record"
            | "echo_shape"
            | "echo_shapes"
            | "echo_page"
            | "echo_map_of_records"
    )
}

/// Sends every request (method, args) to `plugin` in batches and returns
/// its answers in order.
async fn answers(plugin: Command, requests: &[(u32, Vec<u8>)], names: &[&str]) -> Vec<Answer> {
    let mut host = RawHost::start(plugin).await;
    let language = host.hello.language.clone();
    let mut out = Vec::with_capacity(requests.len());
    for (batch_no, batch) in requests.chunks(64).enumerate() {
        let base = (batch_no * 64) as u64 + 1;
        let mut frames = Vec::new();
        for (k, (m, args)) in batch.iter().enumerate() {
            frames.extend(request_frame(base + k as u64, 0, *m, args));
        }
        host.send(&frames).await;
        let mut by_id = HashMap::new();
        for _ in batch {
            let (header, body) = host.answer().await;
            let answer = match header.kind {
                Kind::Response => Answer::Echo(body),
                Kind::Error => Answer::Error(
                    codec::decode::<ErrorBody>(&body)
                        .unwrap_or_else(|e| panic!("{language}: an error body: {e}"))
                        .code,
                ),
                other => panic!("{language} answered {other:?}"),
            };
            by_id.insert(header.id, answer);
        }
        for (k, (m, _)) in batch.iter().enumerate() {
            let answer = by_id
                .remove(&(base + k as u64))
                .unwrap_or_else(|| panic!("{language}: no answer to request {}", base + k as u64));
            let name = names[*m as usize];
            out.push(match answer {
                Answer::Echo(bytes) if name.contains("map") => Answer::EchoOfLength(bytes.len()),
                other => other,
            });
        }
    }
    out
}

fn rust_plugin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_test-plugin"));
    c.arg("everything");
    c
}

fn python_plugin() -> Command {
    let pythonpath =
        common::python::generate("fuzz-runtimes-python", &["tests/contracts/everything.rs"]);
    let mut c = Command::new(common::python::python3());
    c.arg(common::python::script("everything_plugin.py"))
        .env("PYTHONPATH", pythonpath)
        .env("PYTHONDONTWRITEBYTECODE", "1");
    c
}

fn typescript_plugin() -> Command {
    let out = common::node::build(
        "fuzz-runtimes",
        &["tests/contracts/everything.rs"],
        &["echo.ts", "everything_plugin.ts"],
    );
    let mut c = Command::new(common::node::node());
    c.arg(out.join("everything_plugin.js"));
    c
}

#[tokio::test]
async fn rust_python_and_typescript_plugins_answer_mutated_requests_alike() {
    let inputs: usize = std::env::var("GOPROC_FUZZ_INPUTS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3_000);
    let seed = std::env::var("GOPROC_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x0a11_7e57);
    let names = <EverythingClient as Client>::CONTRACT.methods;
    let seeds = seeds(seed);
    let mut rng = StdRng::seed_from_u64(seed);
    let requests: Vec<(u32, Vec<u8>)> = (0..inputs)
        .map(|_| {
            let (m, mut args) = seeds[rng.random_range(0..seeds.len())].clone();
            if rng.random_range(0..5) > 0 {
                let other = &seeds[rng.random_range(0..seeds.len())].1;
                common::mutate::mutate(&mut rng, &mut args, other);
            }
            (m, args)
        })
        .collect();

    let rust = answers(rust_plugin(), &requests, names).await;
    let python = answers(python_plugin(), &requests, names).await;
    let typescript = answers(typescript_plugin(), &requests, names).await;

    let mut echoed = 0;
    for (i, (m, args)) in requests.iter().enumerate() {
        let name = names[*m as usize];
        let same = |a: &Answer, b: &Answer| match (a, b) {
            (Answer::Echo(x), Answer::Echo(y)) if has_floats(name) => x.len() == y.len(),
            _ => a == b,
        };
        assert!(
            same(&rust[i], &python[i]) && same(&rust[i], &typescript[i]),
            "request {i} (seed {seed}), {name} with arguments {args:02x?}:\n  rust: {:?}\n  python: {:?}\n  typescript: {:?}",
            rust[i],
            python[i],
            typescript[i]
        );
        if !matches!(rust[i], Answer::Error(_)) {
            echoed += 1;
        }
    }
    eprintln!("{inputs} requests (seed {seed}): {echoed} answered, the rest refused alike");
    assert!(
        echoed > inputs / 10 && echoed < inputs,
        "{echoed} of {inputs} answered"
    );
}
