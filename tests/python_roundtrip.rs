//! Random property round trips through a real Python plugin process: for
//! every method of the Everything contract, a Rust host sends several
//! hundred random values (edge values first) and gets each back unchanged.

mod common;

#[allow(dead_code)]
#[path = "contracts/everything.rs"]
mod everything;
#[allow(dead_code)]
#[path = "python/values.rs"]
mod values;

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::future::Future;

use everything::{EchoError, EverythingClient};
use goproc::wire::codec;
use serde::Serialize;
use values::Gen;

const PER_TYPE: usize = 300;

fn enc<T: Serialize>(v: &T) -> Vec<u8> {
    codec::encode(v).expect("bincode encodes the value")
}

/// Sends `PER_TYPE` values through `call` (up to 32 in flight) and checks
/// each answer against the value sent, comparing encodings so that float
/// bits (-0.0) count; `canon` makes hash maps comparable.
async fn check<T, K, F, Fut>(
    method: &str,
    mut gen: impl FnMut(usize) -> T,
    call: F,
    canon: impl Fn(&T) -> K,
) where
    T: Clone + Debug,
    K: Serialize,
    F: Fn(T) -> Fut,
    Fut: Future<Output = Result<T, goproc::Error>>,
{
    let sent: Vec<T> = (0..PER_TYPE).map(&mut gen).collect();
    for chunk in sent.chunks(32) {
        let answers = futures::future::join_all(chunk.iter().cloned().map(&call)).await;
        for (v, got) in chunk.iter().zip(answers) {
            let got = got.unwrap_or_else(|e| panic!("{method}({v:?}) failed: {e}"));
            assert_eq!(
                enc(&canon(&got)),
                enc(&canon(v)),
                "{method}: sent {v:?}, got back {got:?}"
            );
        }
    }
}

fn same<T: Clone>(v: &T) -> T {
    v.clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_everything_method_round_trips_random_values_through_python() {
    let pythonpath =
        common::python::generate("python-roundtrip", &["tests/contracts/everything.rs"]);
    let plugin =
        common::python::plugin(&common::python::script("everything_plugin.py"), &pythonpath)
            .contract::<EverythingClient>()
            .spawn()
            .await
            .expect("starting the Python Everything plugin");
    assert_eq!(plugin.language(), "python");
    assert_eq!(plugin.runtime(), "goproc-python 0.1.0");
    let c: EverythingClient = plugin.client().expect("the plugin serves Everything");
    let g = std::cell::RefCell::new(Gen::new(0x5eed));
    macro_rules! echo {
        ($method:ident, |$i:ident| $value:expr) => {
            echo!($method, |$i| $value, same)
        };
        ($method:ident, |$i:ident| $value:expr, $canon:expr) => {
            check(
                stringify!($method),
                |$i| {
                    #[allow(unused_mut)]
                    let mut g = g.borrow_mut();
                    $value(&mut *g)
                },
                |v| {
                    let c = c.clone();
                    async move { c.$method(v).await }
                },
                $canon,
            )
            .await
        };
    }
    echo!(echo_bool, |i| |g: &mut Gen| g.bool(i));
    echo!(echo_u8, |i| |g: &mut Gen| g.u8(i));
    echo!(echo_u16, |i| |g: &mut Gen| g.u16(i));
    echo!(echo_u32, |i| |g: &mut Gen| g.u32(i));
    echo!(echo_u64, |i| |g: &mut Gen| g.u64(i));
    echo!(echo_u128, |i| |g: &mut Gen| g.u128(i));
    echo!(echo_usize, |i| |g: &mut Gen| g.usize(i));
    echo!(echo_i8, |i| |g: &mut Gen| g.i8(i));
    echo!(echo_i16, |i| |g: &mut Gen| g.i16(i));
    echo!(echo_i32, |i| |g: &mut Gen| g.i32(i));
    echo!(echo_i64, |i| |g: &mut Gen| g.i64(i));
    echo!(echo_i128, |i| |g: &mut Gen| g.i128(i));
    echo!(echo_isize, |i| |g: &mut Gen| g.isize(i));
    echo!(echo_f32, |i| |g: &mut Gen| g.f32(i));
    echo!(echo_f64, |i| |g: &mut Gen| g.f64(i));
    echo!(echo_char, |i| |g: &mut Gen| g.char(i));
    echo!(echo_string, |i| |g: &mut Gen| g.string(i));
    echo!(echo_bytes, |i| |g: &mut Gen| g.bytes(i));
    echo!(echo_byte_buf, |i| |g: &mut Gen| serde_bytes::ByteBuf::from(
        g.bytes(i)
    ));
    echo!(echo_vec, |i| |g: &mut Gen| g.vec_i32(i));
    echo!(echo_array, |i| |g: &mut Gen| g.array(i));
    echo!(echo_deque, |i| |g: &mut Gen| g.deque(i));
    echo!(echo_option, |i| |g: &mut Gen| g.option_i64(i));
    echo!(echo_option_option, |i| |g: &mut Gen| g.option_option(i));
    echo!(
        echo_hash_map,
        |i| |g: &mut Gen| g.hash_map(i),
        |m: &std::collections::HashMap<String, u64>| m
            .clone()
            .into_iter()
            .collect::<BTreeMap<_, _>>()
    );
    echo!(echo_btree_map, |i| |g: &mut Gen| g.btree_map(i));
    echo!(echo_tuple, |i| |g: &mut Gen| g.tuple(i));
    echo!(echo_unit, |_i| |_g: &mut Gen| ());
    echo!(echo_boxed, |i| |g: &mut Gen| Box::new(g.record(i)));
    echo!(echo_record, |i| |g: &mut Gen| g.record(i));
    echo!(echo_shape, |i| |g: &mut Gen| g.shape(i, 0));
    echo!(echo_shapes, |i| |g: &mut Gen| g.shapes(i));
    echo!(echo_pair, |i| |g: &mut Gen| g.pair(i));
    echo!(echo_marker, |i| |g: &mut Gen| g.marker(i));
    echo!(echo_page, |i| |g: &mut Gen| g.page(i));
    echo!(echo_page_of_ints, |i| |g: &mut Gen| g.page_of_ints(i));
    echo!(echo_keywords, |i| |g: &mut Gen| g.keywords(i));
    echo!(
        echo_map_of_records,
        |i| |g: &mut Gen| g.map_of_records(i),
        |m: &std::collections::HashMap<u8, Vec<everything::Record>>| m
            .clone()
            .into_iter()
            .collect::<BTreeMap<_, _>>()
    );

    echo!(echo_tree, |i| |g: &mut Gen| g.tree(i, 0));

    // NaNs come back with their bits, signalling ones included (Python's
    // own f32 conversion would quiet them).
    for bits in values::F32_NANS {
        let v = f32::from_bits(bits);
        let got = c.echo_f32(v).await.expect("echo_f32").to_bits();
        assert_eq!(got, bits, "echo_f32: sent {bits:#010x}, got {got:#010x}");
        let shape = c
            .echo_shape(everything::Shape::Circle(v))
            .await
            .expect("echo_shape");
        assert!(
            matches!(shape, everything::Shape::Circle(f) if f.to_bits() == bits),
            "echo_shape: sent Circle({bits:#010x}), got {shape:?}"
        );
    }
    for bits in values::F64_NANS {
        let got = c
            .echo_f64(f64::from_bits(bits))
            .await
            .expect("echo_f64")
            .to_bits();
        assert_eq!(got, bits, "echo_f64: sent {bits:#018x}, got {got:#018x}");
    }

    // Unit values take no bytes: a request may hold at most as many as its
    // body has bytes (docs/WIRE.md section 3.1), 4 for a one-byte count.
    for i in 0..PER_TYPE {
        let units = g.borrow_mut().units(i);
        let n = units.len() as u64;
        assert_eq!(c.count_units(units).await.expect("count_units"), n);
    }

    // Several arguments, no arguments, and the domain error.
    for i in 0..PER_TYPE {
        let (a, b, cc) = g.borrow_mut().many(i);
        let got = c
            .echo_many(a, b.clone(), cc.clone())
            .await
            .expect("echo_many");
        assert_eq!(got, (a, b, cc));
    }
    c.nothing().await.expect("nothing");
    for i in 0..PER_TYPE as i32 {
        let v = g.borrow_mut().i32(i as usize);
        assert_eq!(c.checked(v, false).await.expect("checked"), Ok(v));
        assert_eq!(
            c.checked(v, true).await.expect("checked"),
            Err(EchoError::Refused {
                reason: format!("refused {v}")
            })
        );
    }
    assert_eq!(
        <everything::EverythingClient as goproc::Client>::CONTRACT
            .methods
            .len(),
        43,
        "a new Everything method needs a case here"
    );
}
