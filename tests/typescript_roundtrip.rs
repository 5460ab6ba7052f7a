//! Random property round trips through a real TypeScript plugin process:
//! a Rust host sends hundreds of random values of every type in the
//! Everything contract (integer limits, 128-bit extremes, special floats,
//! astral characters, byte-order marks) and each must come back equal.

mod common;
#[path = "contracts/everything.rs"]
mod everything;
#[path = "typescript_support/values.rs"]
mod values;

use std::fmt::Debug;
use std::future::Future;

use everything::{EchoError, EverythingClient};
use futures::future::join_all;
use goproc::wire::codec;
use serde::Serialize;
use values::Gen;

/// Values per method.
const PER_METHOD: usize = 300;
/// Calls in flight at once.
const IN_FLIGHT: usize = 64;

/// Equal as values, or (for floats, where NaN != NaN) as bytes.
fn same<T: PartialEq + Serialize>(a: &T, b: &T) -> bool {
    a == b || codec::encode(a).ok() == codec::encode(b).ok()
}

async fn check<T, F, Fut>(method: &str, seed: u64, values: Vec<T>, call: F)
where
    T: PartialEq + Serialize + Debug + Clone,
    F: Fn(T) -> Fut,
    Fut: Future<Output = Result<T, goproc::Error>>,
{
    for chunk in values.chunks(IN_FLIGHT) {
        let answers = join_all(chunk.iter().cloned().map(&call)).await;
        for (sent, got) in chunk.iter().zip(answers) {
            match got {
                Ok(got) => assert!(
                    same(sent, &got),
                    "seed {seed:#x}: {method} sent {sent:?}, the TypeScript plugin answered {got:?}"
                ),
                Err(e) => panic!("seed {seed:#x}: {method}({sent:?}) failed: {e}"),
            }
        }
    }
}

/// Starts the TypeScript Everything plugin (tests/typescript/everything_plugin.ts).
async fn everything_plugin() -> goproc::Plugin {
    let out = common::node::build(
        "roundtrip",
        &["tests/contracts/everything.rs"],
        &["echo.ts", "everything_plugin.ts"],
    );
    goproc::Plugin::builder(common::node::node())
        .arg(out.join("everything_plugin.js"))
        .name("everything.ts")
        .contract::<EverythingClient>()
        .spawn()
        .await
        .expect("starting the TypeScript plugin")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_type_survives_a_round_trip_through_a_typescript_plugin() {
    let plugin = everything_plugin().await;
    assert_eq!(plugin.language(), "typescript");
    assert_eq!(plugin.runtime(), "goproc-typescript 0.1.0");
    let c: EverythingClient = plugin.client().expect("client");

    let seed = std::env::var("GOPROC_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x7e57_2024_u64);
    let mut g = Gen::new(seed);
    macro_rules! round_trip {
        ($method:ident, $gen:expr) => {{
            let values: Vec<_> = (0..PER_METHOD).map(|_| $gen(&mut g)).collect();
            check(stringify!($method), seed, values, |v| {
                let c = c.clone();
                async move { c.$method(v).await }
            })
            .await;
        }};
    }
    round_trip!(echo_bool, Gen::bool);
    round_trip!(echo_u8, Gen::u8);
    round_trip!(echo_u16, Gen::u16);
    round_trip!(echo_u32, Gen::u32);
    round_trip!(echo_u64, Gen::u64);
    round_trip!(echo_u128, Gen::u128);
    round_trip!(echo_usize, Gen::usize);
    round_trip!(echo_i8, Gen::i8);
    round_trip!(echo_i16, Gen::i16);
    round_trip!(echo_i32, Gen::i32);
    round_trip!(echo_i64, Gen::i64);
    round_trip!(echo_i128, Gen::i128);
    round_trip!(echo_isize, Gen::isize);
    round_trip!(echo_f32, Gen::f32);
    round_trip!(echo_f64, Gen::f64);
    round_trip!(echo_char, Gen::char);
    round_trip!(echo_string, Gen::string);
    round_trip!(echo_bytes, Gen::bytes);
    round_trip!(echo_byte_buf, |g: &mut Gen| serde_bytes::ByteBuf::from(
        g.bytes()
    ));
    round_trip!(echo_vec, |g: &mut Gen| g.vec(20, Gen::i32));
    round_trip!(echo_array, Gen::array);
    round_trip!(echo_deque, Gen::deque);
    round_trip!(echo_option, |g: &mut Gen| g.option(Gen::i64));
    round_trip!(echo_option_option, |g: &mut Gen| g
        .option(|g| g.option(Gen::u8)));
    round_trip!(echo_hash_map, Gen::hash_map);
    round_trip!(echo_btree_map, Gen::btree_map);
    round_trip!(echo_tuple, Gen::tuple);
    round_trip!(echo_unit, |_: &mut Gen| ());
    round_trip!(echo_boxed, |g: &mut Gen| Box::new(g.record()));
    round_trip!(echo_record, Gen::record);
    round_trip!(echo_shape, Gen::shape);
    round_trip!(echo_shapes, |g: &mut Gen| g
        .vec(4, |g| g.option(Gen::shape)));
    round_trip!(echo_pair, Gen::pair);
    round_trip!(echo_marker, Gen::marker);
    round_trip!(echo_page, Gen::page);
    round_trip!(echo_page_of_ints, Gen::page_of_ints);
    round_trip!(echo_keywords, Gen::keywords);
    round_trip!(echo_map_of_records, Gen::map_of_records);

    // Several arguments come back as one tuple.
    let many: Vec<_> = (0..PER_METHOD).map(|_| g.many()).collect();
    check("echo_many", seed, many, |(a, b, v)| {
        let c = c.clone();
        async move { c.echo_many(a, b, v).await }
    })
    .await;

    round_trip!(echo_tree, Gen::tree);

    c.nothing().await.expect("nothing()");

    // Unit values take no bytes: at most as many as the request body has
    // bytes (docs/WIRE.md section 3.1), 4 for a one-byte count.
    for _ in 0..PER_METHOD {
        let units = g.units();
        let n = units.len() as u64;
        let got = c.count_units(units).await.expect("count_units()");
        assert_eq!(got, n, "seed {seed:#x}: count_units of {n}");
    }

    // The domain error arrives typed.
    for _ in 0..PER_METHOD {
        let v = g.i32();
        let fail = g.bool();
        let got = c.checked(v, fail).await.expect("checked()");
        let want = if fail {
            Err(EchoError::Refused {
                reason: format!("refused {v}"),
            })
        } else {
            Ok(v)
        };
        assert_eq!(got, want, "seed {seed:#x}: checked({v}, {fail})");
    }
}

/// Bytes that differ from call to call, so an answer mixed up with another
/// call's, or read over by a later frame, is seen.
fn pattern(n: usize, salt: usize) -> Vec<u8> {
    (0..n)
        .map(|j| (j * 31 + salt * 7 + (j >> 8)) as u8)
        .collect()
}

/// The runtime reads into a reused 64 KiB buffer, reads a longer frame into
/// memory of its own, and writes strings and byte strings of 64 KiB or more
/// as they are rather than copying them: frames just under, at and over
/// those sizes, many in flight so that reads cut them anywhere, all come
/// back whole, each to its own call.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn frames_around_the_read_buffer_size_come_back_whole() {
    let plugin = everything_plugin().await;
    let c: EverythingClient = plugin.client().expect("client");
    let mut sizes: Vec<usize> = (65_440..65_600).step_by(3).collect();
    sizes.extend([
        0,
        1,
        250,
        4096,
        65_535,
        65_536,
        65_537,
        131_072,
        200_000,
        1 << 20,
    ]);
    for round in 0..3 {
        let calls = sizes.iter().enumerate().map(|(i, &n)| {
            let c = c.clone();
            let sent = pattern(n, i + round);
            async move {
                let got = c.echo_bytes(sent.clone()).await.expect("echo_bytes");
                assert!(got == sent, "echo_bytes of {n} bytes came back changed");
            }
        });
        // echo_byte_buf answers after a timer: its argument must not change
        // while the plugin reads the frames after it.
        let kept = sizes.iter().enumerate().map(|(i, &n)| {
            let c = c.clone();
            let sent = serde_bytes::ByteBuf::from(pattern(n.min(30_000), i + round + 1));
            async move {
                let got = c.echo_byte_buf(sent.clone()).await.expect("echo_byte_buf");
                assert!(got == sent, "echo_byte_buf of {n} bytes came back changed");
            }
        });
        futures::future::join(join_all(calls), join_all(kept)).await;
    }

    // Long strings, and a long string and byte string in one answer with
    // bytes between and after them.
    let long = |n: usize, salt: usize| -> String {
        (0..n)
            .map(|j| char::from_u32(0x41 + ((j + salt) % 26) as u32).unwrap_or('x'))
            .chain(std::iter::once('\u{e9}'))
            .collect()
    };
    let calls = (0..20).map(|i| {
        let c = c.clone();
        let s = long(60_000 + i * 700, i);
        let b = pattern(64 * 1024 - 10 + i * 3, i);
        async move {
            assert_eq!(c.echo_string(s.clone()).await.expect("echo_string"), s);
            let got = c
                .echo_many(i as i32, s.clone(), Some(b.clone()))
                .await
                .expect("echo_many");
            assert!(
                got == (i as i32, s, Some(b)),
                "echo_many {i} came back changed"
            );
        }
    });
    join_all(calls).await;

    // A record whose blob is sent as it is, inside a struct.
    let mut g = Gen::new(7);
    let mut record = g.record();
    record.blob = pattern(300_000, 3);
    assert_eq!(
        c.echo_record(record.clone()).await.expect("echo_record"),
        record
    );
}
