//! Golden vectors across languages: Rust encodes values of every type in the
//! Everything contract with the real bincode codec; the generated Python
//! decodes each, the echo plugin's method answers, and the answer must be
//! the same bytes (for `count_units`, the count's).
//!
//! Also runs `tests/python/test_runtime.py`, the Python runtime's own tests
//! (WIRE.md's golden rows, strict decoding, range-checked encoding).

mod common;

#[allow(dead_code)]
#[path = "contracts/everything.rs"]
mod everything;
#[allow(dead_code)]
#[path = "python/values.rs"]
mod values;

use goproc::wire::codec;
use serde::Serialize;
use values::{Gen, F32_NANS, F64_NANS};

const PER_TYPE: usize = 300;

fn enc<T: Serialize>(v: &T) -> Vec<u8> {
    codec::encode(v).expect("bincode encodes the value")
}

/// Encoded argument lists and the answers they must get, for every method
/// but `checked` (whose answer is not its arguments), by method name.
type Cases = Vec<(&'static str, Vec<(Vec<u8>, Vec<u8>)>)>;

/// Echo methods answer their arguments' bytes; `count_units` their count.
fn cases() -> Cases {
    let mut g = Gen::new(0x9011);
    let mut cases: Cases = Vec::new();
    macro_rules! case {
        ($name:literal, |$i:ident| $value:expr) => {{
            let list = (0..PER_TYPE)
                .map(|$i| {
                    let bytes = enc(&$value);
                    (bytes.clone(), bytes)
                })
                .collect();
            cases.push(($name, list));
        }};
    }
    case!("echo_bool", |i| g.bool(i));
    case!("echo_u8", |i| g.u8(i));
    case!("echo_u16", |i| g.u16(i));
    case!("echo_u32", |i| g.u32(i));
    case!("echo_u64", |i| g.u64(i));
    case!("echo_u128", |i| g.u128(i));
    case!("echo_usize", |i| g.usize(i));
    case!("echo_i8", |i| g.i8(i));
    case!("echo_i16", |i| g.i16(i));
    case!("echo_i32", |i| g.i32(i));
    case!("echo_i64", |i| g.i64(i));
    case!("echo_i128", |i| g.i128(i));
    case!("echo_isize", |i| g.isize(i));
    case!("echo_f32", |i| g.f32(i));
    case!("echo_f64", |i| g.f64(i));
    case!("echo_char", |i| g.char(i));
    case!("echo_string", |i| g.string(i));
    case!("echo_bytes", |i| g.bytes(i));
    case!("echo_byte_buf", |i| serde_bytes::ByteBuf::from(g.bytes(i)));
    case!("echo_vec", |i| g.vec_i32(i));
    case!("echo_array", |i| g.array(i));
    case!("echo_deque", |i| g.deque(i));
    case!("echo_option", |i| g.option_i64(i));
    case!("echo_option_option", |i| g.option_option(i));
    case!("echo_hash_map", |i| g.hash_map(i));
    case!("echo_btree_map", |i| g.btree_map(i));
    case!("echo_tuple", |i| g.tuple(i));
    case!("echo_unit", |_i| ());
    case!("echo_boxed", |i| Box::new(g.record(i)));
    case!("echo_record", |i| g.record(i));
    case!("echo_shape", |i| g.shape(i, 0));
    case!("echo_shapes", |i| g.shapes(i));
    case!("echo_pair", |i| g.pair(i));
    case!("echo_marker", |i| g.marker(i));
    case!("echo_page", |i| g.page(i));
    case!("echo_page_of_ints", |i| g.page_of_ints(i));
    case!("echo_keywords", |i| g.keywords(i));
    case!("echo_map_of_records", |i| g.map_of_records(i));
    case!("echo_many", |i| g.many(i));
    case!("nothing", |_i| ());
    case!("echo_tree", |i| g.tree(i, 0));
    // NaNs keep their bits, the signalling ones too: Python's own conversion
    // between f32 and its double-precision floats would quiet them.
    let same = |bytes: Vec<u8>| (bytes.clone(), bytes);
    cases.push((
        "echo_f32",
        F32_NANS
            .iter()
            .map(|&b| same(enc(&f32::from_bits(b))))
            .collect(),
    ));
    cases.push((
        "echo_f64",
        F64_NANS
            .iter()
            .map(|&b| same(enc(&f64::from_bits(b))))
            .collect(),
    ));
    cases.push((
        "echo_shape",
        F32_NANS
            .iter()
            .map(|&b| same(enc(&everything::Shape::Circle(f32::from_bits(b)))))
            .collect(),
    ));
    let units = (0..PER_TYPE)
        .map(|i| {
            let units = g.units(i);
            (enc(&units), enc(&(units.len() as u64)))
        })
        .collect();
    cases.push(("count_units", units));
    cases
}

#[test]
fn python_decodes_and_reencodes_every_everything_type_byte_for_byte() {
    let pythonpath = common::python::generate("python-golden", &["tests/contracts/everything.rs"]);
    let cases = cases();
    let covered: Vec<&str> = cases.iter().map(|(n, _)| *n).collect();
    for m in <everything::EverythingClient as goproc::Client>::CONTRACT.methods {
        assert!(
            covered.contains(m) || *m == "checked",
            "method {m} of the Everything contract has no golden case"
        );
    }
    let mut input = String::new();
    let mut expected = Vec::new();
    for (name, list) in &cases {
        let index = <everything::EverythingClient as goproc::Client>::CONTRACT
            .methods
            .iter()
            .position(|m| m == name)
            .expect("the case names a method of the contract");
        for (args, answer) in list {
            input.push_str(&format!("{index} {}\n", hex(args)));
            expected.push((*name, hex(answer)));
        }
    }
    let out = common::python::run_script(
        &common::python::script("golden_roundtrip.py"),
        &pythonpath,
        &[],
        &input,
    );
    let lines: Vec<&str> = out.split('\n').collect();
    assert!(
        lines.len() > expected.len(),
        "python printed {} lines for {} values",
        lines.len() - 1,
        expected.len()
    );
    for (k, (name, want)) in expected.iter().enumerate() {
        assert_eq!(
            lines[k], want,
            "{name}: python re-encoded value {k} differently (left: python, right: Rust)"
        );
    }
}

#[test]
fn python_runtime_unit_tests_pass() {
    let pythonpath =
        common::python::generate("python-runtime-unit", &["tests/contracts/everything.rs"]);
    let wire = common::root().join("docs/WIRE.md");
    let out = common::python::run_script(
        &common::python::script("test_runtime.py"),
        &pythonpath,
        &[wire.to_str().expect("a UTF-8 path")],
        "",
    );
    assert!(
        out.contains("runtime tests passed"),
        "unexpected output:\n{out}"
    );
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
