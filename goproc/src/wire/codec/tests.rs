use std::collections::{BTreeMap, HashMap};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::*;

#[derive(Debug, PartialEq, Serialize, Deserialize)]
enum Shape {
    Empty,
    Labeled(Box<Shape>, String),
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
enum Tree {
    Leaf(u8),
    Node(Vec<Tree>),
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Point {
    x: i32,
    y: Option<u64>,
}

/// `Labeled(...Labeled(Empty, "")..., "")`: `depth` enums deep, as bytes.
fn nested_shape(depth: usize) -> Vec<u8> {
    let mut v = vec![1u8; depth - 1];
    v.push(0);
    v.extend(std::iter::repeat_n(0u8, depth - 1));
    v
}

fn bincode_decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<(T, usize), String> {
    bincode::serde::decode_from_slice(bytes, bincode::config::standard().with_limit::<65536>())
        .map_err(|e| e.to_string())
}

/// Our decoder and bincode's agree on `bytes` read as `T`.
fn agree<T: DeserializeOwned + PartialEq + std::fmt::Debug>(bytes: &[u8]) {
    let ours = decode_prefix::<T>(bytes);
    let theirs = bincode_decode::<T>(bytes);
    match (&ours, &theirs) {
        (Ok(a), Ok(b)) => assert_eq!(a, b, "{bytes:02x?}"),
        (Err(_), Err(_)) => {}
        _ => panic!(
            "{bytes:02x?} as {}: ours {ours:?}, bincode {theirs:?}",
            std::any::type_name::<T>()
        ),
    }
}

#[test]
fn every_scalar_edge_decodes_as_bincode_decodes_it() {
    let cases: &[&[u8]] = &[
        &[],
        &[0],
        &[1],
        &[2],
        &[250],
        &[0xfb, 0x05, 0x00], // a longer form than needed
        &[0xfb, 0xff, 0xff],
        &[0xfc, 1, 2, 3, 4],
        &[0xfd, 1, 2, 3, 4, 5, 6, 7, 8],
        &[0xfe, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16],
        &[0xff, 0, 0, 0, 0, 0, 0, 0, 0],
        &[0xfb, 1],
        &[0xc3, 0xa9],
        &[0xed, 0xa0, 0x80],       // a surrogate: not a char
        &[0xf4, 0x90, 0x80, 0x80], // past U+10FFFF
        &[0xc0, 0x80],             // overlong
        &[0x02, 0x68, 0xc3],       // a string cut inside a char
        &[0x03, 0x68, 0xc3, 0xa9],
    ];
    for bytes in cases {
        agree::<bool>(bytes);
        agree::<u8>(bytes);
        agree::<i8>(bytes);
        agree::<u16>(bytes);
        agree::<i16>(bytes);
        agree::<u32>(bytes);
        agree::<i32>(bytes);
        agree::<u64>(bytes);
        agree::<i64>(bytes);
        agree::<u128>(bytes);
        agree::<i128>(bytes);
        agree::<usize>(bytes);
        agree::<isize>(bytes);
        agree::<f32>(bytes);
        agree::<f64>(bytes);
        agree::<char>(bytes);
        agree::<String>(bytes);
        agree::<Vec<u8>>(bytes);
        agree::<Option<u16>>(bytes);
        agree::<(u8, bool)>(bytes);
        agree::<[u16; 2]>(bytes);
        agree::<Point>(bytes);
        agree::<Shape>(bytes);
        agree::<Tree>(bytes);
        agree::<Result<u32, String>>(bytes);
        agree::<BTreeMap<u8, String>>(bytes);
        agree::<HashMap<u16, bool>>(bytes);
    }
}

#[test]
fn values_nested_up_to_the_limit_decode_and_one_level_more_names_the_limit() {
    let at_limit = nested_shape(NESTING_LIMIT as usize);
    let shape: Shape = decode(&at_limit).expect("128 levels decode");
    assert_eq!(encode(&shape).expect("encode"), at_limit);
    // Dropping the value recurses as deep; it is only 128 levels.
    drop(shape);

    let err = decode::<Shape>(&nested_shape(NESTING_LIMIT as usize + 1)).expect_err("129");
    assert!(
        err.contains("nesting limit") && err.contains("128"),
        "{err}"
    );
}

#[test]
fn a_value_nested_far_past_the_limit_fails_without_deep_recursion() {
    // A small stack: decoding must stop at the limit, not at the stack's end.
    let worker = std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(|| {
            let shape = decode::<Shape>(&nested_shape(20_000));
            let mut tree = Vec::new();
            for _ in 0..20_000 {
                tree.extend([1, 1]);
            }
            tree.extend([0, 7]);
            (shape.map(|_| ()), decode::<Tree>(&tree).map(|_| ()))
        })
        .expect("thread");
    let (shape, tree) = worker.join().expect("no stack overflow");
    for err in [shape.expect_err("shape"), tree.expect_err("tree")] {
        assert!(err.contains("nesting limit"), "{err}");
    }
}

#[test]
fn counts_are_charged_to_an_item_budget_of_one_per_body_byte() {
    // Vec<()> of n in a body of one byte: n = 1 fits, 2 does not.
    assert_eq!(decode::<Vec<()>>(&[1]).expect("one unit"), vec![()]);
    let err = decode::<Vec<()>>(&[2]).expect_err("two units in one byte");
    assert!(
        err.contains("count 2") && err.contains("item budget"),
        "{err}"
    );
    // The budget is the whole body's, not the slice's.
    let (units, _) = decode_prefix_in_body::<Vec<()>>(&[4], 4).expect("a 4-byte body");
    assert_eq!(units.len(), 4);
    // Counts add up across nested sequences.
    let err = decode::<Vec<Vec<()>>>(&[2, 1, 1]).expect_err("2 + 1 + 1 items in 3 bytes");
    assert!(err.contains("count 1"), "{err}");
    let err = decode::<Vec<Vec<()>>>(&[2, 3, 0]).expect_err("2 + 3 items in 3 bytes");
    assert!(err.contains("count 3"), "{err}");
}

#[test]
fn byte_strings_are_charged_like_the_sequences_of_u8_they_also_are() {
    // (bytes, units) in a 4-byte body: 2 bytes + 2 units fit, 2 + 3 do
    // not, whether the bytes are a plain Vec<u8> or serde_bytes.
    let fits = [2u8, 9, 9, 2];
    let over = [2u8, 9, 9, 3];
    assert!(decode::<(Vec<u8>, Vec<()>)>(&fits).is_ok());
    assert!(decode::<(serde_bytes::ByteBuf, Vec<()>)>(&fits).is_ok());
    for err in [
        decode::<(Vec<u8>, Vec<()>)>(&over).map(|_| ()),
        decode::<(serde_bytes::ByteBuf, Vec<()>)>(&over).map(|_| ()),
    ] {
        let err = err.expect_err("over the budget");
        assert!(
            err.contains("count 3") && err.contains("item budget"),
            "{err}"
        );
    }
}

#[test]
fn lengths_past_the_bytes_left_are_refused_before_allocating() {
    let mut huge = vec![0xfd];
    huge.extend_from_slice(&(64u64 << 30).to_le_bytes());
    let err = decode::<String>(&huge).expect_err("64 GiB");
    assert!(err.contains("claims 68719476736 byte(s)"), "{err}");
    assert!(decode::<serde_bytes::ByteBuf>(&huge).is_err());
    assert!(decode::<Vec<u64>>(&huge).is_err());
    assert!(decode::<HashMap<u8, u8>>(&huge).is_err());
}

#[test]
fn limits_follow_the_bytes_on_the_wire_not_the_values_memory() {
    // 2,097,152 zeros as u64: 2 MB on the wire, 16 MiB in memory.
    let values = vec![0u64; 2 << 20];
    let bytes = encode(&values).expect("encode");
    assert_eq!(decode::<Vec<u64>>(&bytes).expect("decodes"), values);
    // A 17 MiB string: no fixed 16 MiB limit inside the codec.
    let text = "é".repeat(17 << 19);
    let bytes = encode(&text).expect("encode");
    assert_eq!(decode::<String>(&bytes).expect("decodes"), text);
}

#[test]
fn trailing_bytes_and_unsupported_serde_features_are_named() {
    let err = decode::<u8>(&[1, 2]).expect_err("trailing");
    assert!(err.contains("1 trailing byte(s)"), "{err}");
    #[derive(Debug, Deserialize)]
    #[serde(untagged)]
    #[allow(dead_code)]
    enum Untagged {
        A(u8),
    }
    let err = decode::<Untagged>(&[1]).expect_err("deserialize_any");
    assert!(err.contains("self-describing"), "{err}");
}

#[test]
fn the_request_head_reads_as_serde_reads_it() {
    use crate::wire::messages::RequestHead;
    let heads = [
        RequestHead {
            contract: 0,
            method: 0,
            deadline_ms: 0,
        },
        RequestHead {
            contract: 250,
            method: 251,
            deadline_ms: 65_536,
        },
        RequestHead {
            contract: u32::MAX,
            method: 7,
            deadline_ms: u64::MAX,
        },
    ];
    for head in heads {
        let mut bytes = encode(&head).expect("encode");
        bytes.extend_from_slice(&[9, 9]);
        assert_eq!(
            crate::wire::messages::RequestHead::decode(&bytes),
            decode_prefix::<RequestHead>(&bytes)
        );
    }
    for bad in [
        &[][..],
        &[0xfd, 0, 0, 0, 0, 0, 0, 0, 0][..],
        &[0, 0xff][..],
        &[1, 2][..],
    ] {
        assert!(
            crate::wire::messages::RequestHead::decode(bad).is_err(),
            "{bad:?}"
        );
        assert!(decode_prefix::<crate::wire::messages::RequestHead>(bad).is_err());
    }
}
