//! The JSON conversion against the typed codec: for every type of the type
//! table (the `Everything` contract of the end-to-end tests), the JSON form
//! encodes to the bytes the typed value encodes to, and those bytes read
//! back as the same JSON; bad values fail naming their path.

use std::collections::{BTreeMap, VecDeque};
use std::path::PathBuf;
use std::sync::OnceLock;

use crate::schema::{from_model, ContractSchema, MethodSchema};
use goproc_codegen::model::schema::from_sources;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::*;

/// The schema of a contract source, as the code generators build it.
fn schema_of(file: &str, source: &str) -> ContractSchema {
    let schema = from_sources(&[(PathBuf::from(file), source.to_string())])
        .unwrap_or_else(|e| panic!("{file} does not parse: {e:?}"));
    from_model(&schema.contracts[0].contract, &schema.types).expect("a schema")
}

fn everything() -> &'static ContractSchema {
    static SCHEMA: OnceLock<ContractSchema> = OnceLock::new();
    SCHEMA.get_or_init(|| {
        schema_of(
            "everything.rs",
            include_str!("../../../tests/contracts/everything.rs"),
        )
    })
}

fn method(name: &str) -> &'static MethodSchema {
    everything()
        .method(name)
        .unwrap_or_else(|| panic!("no method {name}"))
        .1
}

// The types of tests/contracts/everything.rs, for the typed side.

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Record {
    id: u64,
    name: String,
    score: f64,
    flags: Vec<bool>,
    nickname: Option<String>,
    shape: Shape,
    #[serde(with = "serde_bytes")]
    blob: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum Shape {
    Empty,
    Circle(f32),
    Rect { width: u32, height: u32 },
    Polygon(Vec<(i32, i32)>),
    Labeled(Box<Shape>, String),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum Tree {
    Leaf(u8),
    Node(Vec<Tree>),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Pair(i16, u16);

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Marker;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Page<T> {
    items: Vec<T>,
    next: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Keywords {
    from: u8,
    class: i8,
    delete: bool,
    r#type: String,
    lambda: Option<char>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum EchoError {
    Refused { reason: String },
    Unlucky(u8),
}

/// `json` as the one argument of `method` encodes as `typed` does, and
/// the bytes read back as `json` (as the method's answer too: each echoes).
fn same<T: Serialize>(name: &str, typed: &T, json: Value) {
    let m = method(name);
    let expected = codec::encode(typed).expect("typed encode");
    let bytes = encode_args(everything(), m, &json!([json.clone()]))
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(bytes, expected, "{name}: {json}");
    let named = encode_args(everything(), m, &json!({ "v": json.clone() })).expect("by name");
    assert_eq!(named, expected, "{name} by name: {json}");
    let back = decode_answer(everything(), m, &bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(back, Ok(json.clone()), "{name}: {json} read back");
    assert_eq!(
        back.as_ref().map(Value::to_string),
        Ok(json.to_string()),
        "{name}: the text of {json}"
    );
}

/// `json` is accepted for `method` and encodes as `typed` does, though it
/// reads back in another spelling, `reads_as`.
fn accepted<T: Serialize>(name: &str, typed: &T, json: Value, reads_as: Value) {
    let m = method(name);
    let bytes = encode_args(everything(), m, &json!([json.clone()]))
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(
        bytes,
        codec::encode(typed).expect("encode"),
        "{name}: {json}"
    );
    assert_eq!(decode_answer(everything(), m, &bytes), Ok(Ok(reads_as)));
}

/// The error `json` as the one argument of `method` fails with.
fn refused(name: &str, json: Value) -> String {
    encode_args(everything(), method(name), &json!([json]))
        .map(|bytes| panic!("{name} took {bytes:02x?}"))
        .unwrap_err()
        .to_string()
}

fn record() -> (Record, Value) {
    let typed = Record {
        id: u64::MAX,
        name: "Ada \"Countess\" Lovelace\n".into(),
        score: -0.1,
        flags: vec![true, false],
        nickname: Some("λ".into()),
        shape: Shape::Rect {
            width: u32::MAX,
            height: 0,
        },
        blob: vec![0, 1, 254, 255],
    };
    let json = json!({
        "id": u64::MAX,
        "name": "Ada \"Countess\" Lovelace\n",
        "score": -0.1,
        "flags": [true, false],
        "nickname": "λ",
        "shape": {"Rect": {"width": u32::MAX, "height": 0}},
        "blob": "AAH+/w==",
    });
    (typed, json)
}

#[test]
fn integers_keep_every_digit_and_128_bit_ones_are_strings() {
    same("echo_bool", &true, json!(true));
    same("echo_bool", &false, json!(false));
    same("echo_u8", &u8::MAX, json!(255));
    same("echo_u16", &u16::MAX, json!(65535));
    same("echo_u32", &u32::MAX, json!(4294967295u32));
    same("echo_u64", &u64::MAX, json!(18446744073709551615u64));
    same("echo_usize", &(u64::MAX as usize), json!(u64::MAX));
    same("echo_i8", &i8::MIN, json!(-128));
    same("echo_i16", &i16::MIN, json!(-32768));
    same("echo_i32", &i32::MIN, json!(-2147483648i32));
    same("echo_i64", &i64::MIN, json!(-9223372036854775808i64));
    same("echo_i64", &i64::MAX, json!(9223372036854775807i64));
    same("echo_isize", &(i64::MIN as isize), json!(i64::MIN));
    same(
        "echo_u128",
        &u128::MAX,
        json!("340282366920938463463374607431768211455"),
    );
    same(
        "echo_i128",
        &i128::MIN,
        json!("-170141183460469231731687303715884105728"),
    );
    same(
        "echo_i128",
        &i128::MAX,
        json!("170141183460469231731687303715884105727"),
    );
    // A JSON number is taken for a 128-bit integer when it fits.
    accepted(
        "echo_u128",
        &u128::from(u64::MAX),
        json!(u64::MAX),
        json!("18446744073709551615"),
    );
    accepted("echo_i128", &-5i128, json!(-5), json!("-5"));
}

#[test]
fn floats_round_trip_exactly_and_non_finite_ones_are_named() {
    same("echo_f32", &0.1f32, json!(0.1));
    same("echo_f32", &f32::MAX, json!(3.4028235e38));
    same("echo_f32", &f32::MIN_POSITIVE, json!(1.1754944e-38));
    same("echo_f32", &f32::INFINITY, json!("Infinity"));
    same("echo_f32", &f32::NEG_INFINITY, json!("-Infinity"));
    same("echo_f64", &0.1f64, json!(0.1));
    same("echo_f64", &f64::MAX, json!(f64::MAX));
    same("echo_f64", &-f64::MIN_POSITIVE, json!(-f64::MIN_POSITIVE));
    same("echo_f64", &f64::INFINITY, json!("Infinity"));
    same("echo_f64", &f64::NEG_INFINITY, json!("-Infinity"));
    // NaN is not equal to itself: compare the bytes and the text.
    for name in ["echo_f32", "echo_f64"] {
        let bytes = encode_args(everything(), method(name), &json!(["NaN"])).expect("NaN");
        let nan = if name == "echo_f32" {
            codec::encode(&f32::NAN)
        } else {
            codec::encode(&f64::NAN)
        };
        assert_eq!(bytes, nan.expect("encode"));
        assert_eq!(
            decode_answer(everything(), method(name), &bytes),
            Ok(Ok(json!("NaN")))
        );
    }
}

#[test]
fn chars_strings_and_bytes() {
    same("echo_char", &'é', json!("é"));
    same("echo_char", &'😀', json!("😀"));
    same(
        "echo_string",
        &"tab\t \"quoted\" ☃".to_string(),
        json!("tab\t \"quoted\" ☃"),
    );
    same("echo_string", &String::new(), json!(""));
    same("echo_bytes", &vec![0u8, 1, 255], json!("AAH/"));
    same("echo_bytes", &Vec::<u8>::new(), json!(""));
    same(
        "echo_byte_buf",
        &serde_bytes::ByteBuf::from(vec![104, 105]),
        json!("aGk="),
    );
    // An array of numbers is taken for bytes, and reads back as base64.
    accepted(
        "echo_bytes",
        &vec![0u8, 1, 255],
        json!([0, 1, 255]),
        json!("AAH/"),
    );
}

#[test]
fn sequences_arrays_tuples_options_and_unit() {
    same("echo_vec", &vec![-1, 0, i32::MAX], json!([-1, 0, i32::MAX]));
    same(
        "echo_array",
        &[0u16, 1, 2, u16::MAX],
        json!([0, 1, 2, 65535]),
    );
    same(
        "echo_deque",
        &VecDeque::from(vec!["a".to_string(), "b".into()]),
        json!(["a", "b"]),
    );
    same("echo_option", &Some(i64::MIN), json!(i64::MIN));
    same("echo_option", &None::<i64>, json!(null));
    same("echo_option_option", &Some(Some(7u8)), json!(7));
    same("echo_option_option", &None::<Option<u8>>, json!(null));
    // As in serde_json, Some(None) and None are both null; null reads as None.
    accepted(
        "echo_option_option",
        &None::<Option<u8>>,
        json!(null),
        json!(null),
    );
    same(
        "echo_tuple",
        &(7u8, "x".to_string(), 2.5f64),
        json!([7, "x", 2.5]),
    );
    same("echo_unit", &(), json!(null));
    let units = method("count_units");
    let bytes = encode_args(everything(), units, &json!([[null, null, null]])).expect("units");
    assert_eq!(bytes, codec::encode(&vec![(), (), ()]).expect("encode"));
    assert_eq!(
        decode_answer(everything(), units, &codec::encode(&3u64).expect("encode")),
        Ok(Ok(json!(3)))
    );
}

#[test]
fn maps_with_string_keys_are_objects_and_others_arrays_of_pairs() {
    let typed: BTreeMap<String, u64> = [("a".to_string(), 1), ("zed".into(), u64::MAX)].into();
    same("echo_hash_map", &typed, json!({"a": 1, "zed": u64::MAX}));
    same("echo_hash_map", &BTreeMap::<String, u64>::new(), json!({}));
    // Pairs are taken for a map with string keys too.
    accepted(
        "echo_hash_map",
        &typed,
        json!([["a", 1], ["zed", u64::MAX]]),
        json!({"a": 1, "zed": u64::MAX}),
    );
    let typed: BTreeMap<u32, Vec<String>> = [(1, vec!["x".to_string()]), (u32::MAX, vec![])].into();
    same(
        "echo_btree_map",
        &typed,
        json!([[1, ["x"]], [u32::MAX, []]]),
    );
    let (record, record_json) = record();
    let typed: BTreeMap<u8, Vec<Record>> = [(3, vec![record])].into();
    same("echo_map_of_records", &typed, json!([[3, [record_json]]]));
}

#[test]
fn structs_enums_and_generic_instances() {
    let (typed, json) = record();
    same("echo_record", &typed, json.clone());
    same("echo_boxed", &Box::new(typed.clone()), json.clone());
    same("echo_shape", &Shape::Empty, json!("Empty"));
    same("echo_shape", &Shape::Circle(1.5), json!({"Circle": 1.5}));
    same(
        "echo_shape",
        &Shape::Rect {
            width: 3,
            height: 4,
        },
        json!({"Rect": {"width": 3, "height": 4}}),
    );
    same(
        "echo_shape",
        &Shape::Polygon(vec![(1, -2), (i32::MIN, i32::MAX)]),
        json!({"Polygon": [[1, -2], [i32::MIN, i32::MAX]]}),
    );
    same(
        "echo_shape",
        &Shape::Labeled(Box::new(Shape::Circle(0.25)), "c".into()),
        json!({"Labeled": [{"Circle": 0.25}, "c"]}),
    );
    same(
        "echo_shapes",
        &vec![None, Some(Shape::Empty)],
        json!([null, "Empty"]),
    );
    same(
        "echo_pair",
        &Pair(i16::MIN, u16::MAX),
        json!([-32768, 65535]),
    );
    same("echo_marker", &Marker, json!(null));
    same(
        "echo_page",
        &Page {
            items: vec![typed],
            next: Some(2),
        },
        json!({"items": [json], "next": 2}),
    );
    same(
        "echo_page_of_ints",
        &Page {
            items: vec![i64::MIN, 0],
            next: None,
        },
        json!({"items": [i64::MIN, 0], "next": null}),
    );
    same(
        "echo_keywords",
        &Keywords {
            from: 1,
            class: -1,
            delete: true,
            r#type: "t".into(),
            lambda: Some('λ'),
        },
        json!({"from": 1, "class": -1, "delete": true, "type": "t", "lambda": "λ"}),
    );
    same(
        "echo_tree",
        &Tree::Node(vec![Tree::Leaf(1), Tree::Node(vec![])]),
        json!({"Node": [{"Leaf": 1}, {"Node": []}]}),
    );
    // A unit variant may also be written with a null payload.
    accepted(
        "echo_shape",
        &Shape::Empty,
        json!({"Empty": null}),
        json!("Empty"),
    );
}

#[test]
fn several_arguments_by_position_or_name_and_none() {
    let m = method("echo_many");
    let typed = codec::encode(&(-1i32, "b".to_string(), Some(vec![1u8, 2]))).expect("encode");
    let by_position = encode_args(everything(), m, &json!([-1, "b", "AQI="])).expect("array");
    let by_name =
        encode_args(everything(), m, &json!({"c": [1, 2], "a": -1, "b": "b"})).expect("object");
    assert_eq!(by_position, typed);
    assert_eq!(by_name, typed);
    assert_eq!(
        decode_answer(everything(), m, &typed),
        Ok(Ok(json!([-1, "b", "AQI="])))
    );

    let nothing = method("nothing");
    for args in [json!([]), json!({}), json!(null)] {
        assert_eq!(encode_args(everything(), nothing, &args), Ok(vec![]));
    }
    assert_eq!(
        decode_answer(everything(), nothing, &[]),
        Ok(Ok(json!(null)))
    );
}

#[test]
fn a_domain_error_reads_apart_from_the_answer() {
    let m = method("checked");
    let ok = codec::encode(&Ok::<i32, EchoError>(-5)).expect("encode");
    assert_eq!(decode_answer(everything(), m, &ok), Ok(Ok(json!(-5))));
    let refused = codec::encode(&Err::<i32, EchoError>(EchoError::Refused {
        reason: "no".into(),
    }))
    .expect("encode");
    assert_eq!(
        decode_answer(everything(), m, &refused),
        Ok(Err(json!({"Refused": {"reason": "no"}})))
    );
    let unlucky = codec::encode(&Err::<i32, EchoError>(EchoError::Unlucky(13))).expect("encode");
    assert_eq!(
        decode_answer(everything(), m, &unlucky),
        Ok(Err(json!({"Unlucky": 13})))
    );
}

#[test]
fn a_value_of_the_wrong_type_names_its_path() {
    let (_, mut bad) = record();
    bad["shape"] = json!({"Rect": {"width": "a", "height": 1}});
    assert_eq!(
        refused("echo_record", bad),
        "args[0].shape.Rect.width: expected u32, found \"a\""
    );
    let err = encode_args(everything(), method("echo_many"), &json!([1, 5, null])).unwrap_err();
    assert_eq!(err.to_string(), "args[1]: expected String, found 5");
    let err = encode_args(
        everything(),
        method("echo_many"),
        &json!({"a": 1, "b": "x", "c": "!"}),
    )
    .unwrap_err();
    assert_eq!(err.path, "args.c");
    assert!(err.message.contains("is not base64"), "{err}");
    assert_eq!(
        refused("echo_btree_map", json!([[1, ["x", 2]]])),
        "args[0][0][1][1]: expected String, found 2"
    );
    assert_eq!(
        refused("echo_hash_map", json!({"k": -1})),
        "args[0][\"k\"]: -1 is out of range for u64 (0 to 18446744073709551615)"
    );
    assert!(refused("echo_bool", json!(1)).ends_with("expected bool, found 1"));
    assert!(refused("echo_i32", json!(1.5)).ends_with("expected i32, found 1.5"));
    assert!(refused("echo_char", json!("ab")).contains("one character"));
    assert!(refused("echo_f64", json!("nan")).contains("\"NaN\", \"Infinity\""));
    assert!(refused("echo_unit", json!(0)).contains("expected null for ()"));
    assert!(refused("echo_bytes", json!([1, 256])).contains("item 1 of the byte array is 256"));
    let err = refused("echo_btree_map", json!({"1": ["x"]}));
    assert!(err.contains("array of [key, value] pairs"), "{err}");
}

#[test]
fn missing_and_unknown_fields_variants_and_arguments_are_named() {
    let (_, mut bad) = record();
    bad.as_object_mut().expect("object").remove("name");
    let err = refused("echo_record", bad);
    assert!(
        err.starts_with(
            "args[0]: missing field `name` of struct Record (a String); its fields are id, name,"
        ),
        "{err}"
    );
    let (_, mut extra) = record();
    extra["nmae"] = json!("typo");
    assert!(refused("echo_record", extra).contains("unknown field `nmae` of struct Record"));
    assert_eq!(
        refused("echo_shape", json!({"Hexagon": 6})),
        "args[0]: unknown variant `Hexagon` of Shape; its variants are Empty, Circle, Rect, \
         Polygon, Labeled"
    );
    assert!(refused("echo_shape", json!("Circle")).contains("has fields"));
    assert!(refused("echo_shape", json!({"Empty": 1})).contains("has no fields"));
    assert!(refused("echo_shape", json!(3)).contains("expected a variant of Shape"));

    let m = method("echo_many");
    let err = encode_args(everything(), m, &json!([1, "b"])).unwrap_err();
    assert_eq!(
        err.to_string(),
        "args: Everything.echo_many(a: i32, b: String, c: Option<bytes>) -> (i32, String, \
         Option<bytes>) takes 3 argument(s), found 2"
    );
    let err = encode_args(everything(), m, &json!({"a": 1, "b": "x"})).unwrap_err();
    assert!(err.message.starts_with("missing argument `c`"), "{err}");
    let err = encode_args(
        everything(),
        m,
        &json!({"a": 1, "b": "x", "c": null, "d": 0}),
    )
    .unwrap_err();
    assert!(err.message.ends_with("has no argument `d`"), "{err}");
    let err = encode_args(everything(), m, &json!("1, x")).unwrap_err();
    assert!(
        err.message
            .contains("as an array in order or an object by name"),
        "{err}"
    );
}

#[test]
fn array_lengths_and_integer_ranges_are_checked() {
    assert_eq!(
        refused("echo_array", json!([1, 2, 3])),
        "args[0]: expected 4 item(s) for [u16; 4], found an array of 3"
    );
    assert!(
        refused("echo_tuple", json!([1, "x"])).contains("expected 3 item(s) for (u8, String, f64)")
    );
    assert!(refused("echo_pair", json!([1, 2, 3])).contains("expected 2 item(s) for struct Pair"));
    assert_eq!(
        refused("echo_u8", json!(256)),
        "args[0]: 256 is out of range for u8 (0 to 255)"
    );
    assert_eq!(
        refused("echo_i8", json!(-129)),
        "args[0]: -129 is out of range for i8 (-128 to 127)"
    );
    assert!(refused("echo_u32", json!(-1)).contains("-1 is out of range for u32"));
    assert!(refused("echo_i64", json!(u64::MAX)).contains("out of range for i64"));
    assert!(refused("echo_u128", json!("-1")).contains("is not a u128"));
    assert!(refused(
        "echo_u128",
        json!("340282366920938463463374607431768211456")
    )
    .contains("is not a u128"));
    assert!(refused(
        "echo_i128",
        json!("170141183460469231731687303715884105728")
    )
    .contains("is not an i128"));
    assert!(refused("echo_u128", json!(-1)).contains("is not a u128"));
    assert!(refused("echo_f32", json!(1e39)).contains("out of range for f32"));
}

/// A tree `levels` nodes deep around a leaf: `levels + 1` enums.
fn deep_tree(levels: usize) -> (Tree, Value) {
    let (mut typed, mut json) = (Tree::Leaf(9), json!({"Leaf": 9}));
    for _ in 0..levels {
        typed = Tree::Node(vec![typed]);
        // Moved in, not copied (`json!` would copy the value at each level).
        let mut node = serde_json::Map::new();
        node.insert("Node".into(), Value::Array(vec![json]));
        json = Value::Object(node);
    }
    (typed, json)
}

#[test]
fn values_past_the_wire_nesting_limit_are_refused_both_ways() {
    let limit = crate::wire::codec::NESTING_LIMIT as usize;
    // At the limit: the typed decoder takes it, and so does the conversion.
    let (typed, json) = deep_tree(limit - 1);
    same("echo_tree", &typed, json);
    // One enum more: refused before sending, with where.
    let (_, json) = deep_tree(limit);
    let err = refused("echo_tree", json);
    assert!(
        err.contains("nesting limit") && err.contains("128"),
        "{err}"
    );
    assert!(err.starts_with("args[0].Node[0].Node[0]"), "{err}");
    // Far past it: refused without recursing further. (Building and
    // dropping such a value recurses in serde_json itself, hence the
    // thread with room for that.)
    let far = std::thread::Builder::new()
        .stack_size(64 << 20)
        .spawn(|| refused("echo_tree", deep_tree(5_000).1))
        .expect("thread")
        .join()
        .expect("no stack overflow");
    assert!(far.contains("nesting limit"), "{far}");
    // Bytes past the limit do not decode either.
    let mut bytes = vec![];
    for _ in 0..limit {
        bytes.extend([1, 1]); // Node, one item
    }
    bytes.extend([0, 9]); // Leaf(9)
    let err = decode_answer(everything(), method("echo_tree"), &bytes).unwrap_err();
    assert!(err.message.contains("nesting limit"), "{err}");
    assert!(err.path.starts_with("answer.Node[0]"), "{err}");
}

#[test]
fn answers_that_do_not_fit_their_type_are_named() {
    let err = decode_answer(everything(), method("echo_bool"), &[2]).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("answer: invalid bool byte 0x02"),
        "{err}"
    );
    let err = decode_answer(everything(), method("echo_shape"), &[9]).unwrap_err();
    assert!(
        err.message
            .contains("variant index 9 is not a variant of Shape, which has 5"),
        "{err}"
    );
    let err = decode_answer(everything(), method("echo_u8"), &[1, 2]).unwrap_err();
    assert!(err.message.contains("trailing"), "{err}");
    let err = decode_answer(everything(), method("echo_record"), &[1]).unwrap_err();
    assert!(err.path.starts_with("answer.name"), "{err}");
}

#[test]
fn streams_are_refused_with_a_reason() {
    let streams = schema_of(
        "streams.rs",
        "#[goproc::plugin_interface]
         pub trait Files {
             async fn upload(&self, name: String, data: goproc::Stream<Vec<u8>>) -> u64;
             async fn lines(&self) -> goproc::Stream<String>;
         }",
    );
    let upload = streams.method("upload").expect("upload").1;
    let err = encode_args(&streams, upload, &json!(["a", "b"])).unwrap_err();
    assert!(
        err.message.contains("takes the stream data") && err.message.contains("typed code"),
        "{err}"
    );
    let lines = streams.method("lines").expect("lines").1;
    let err = decode_answer(&streams, lines, &[]).unwrap_err();
    assert!(err.message.contains("answers a stream"), "{err}");
}

#[test]
fn one_value_encodes_and_decodes_alone() {
    let ty = crate::schema::Type::Named("Shape".into());
    let bytes = encode_value(everything(), &ty, &json!({"Circle": 2.0})).expect("encode");
    assert_eq!(bytes, codec::encode(&Shape::Circle(2.0)).expect("encode"));
    assert_eq!(
        decode_value(everything(), &ty, &bytes),
        Ok(json!({"Circle": 2.0}))
    );
    let err = encode_value(everything(), &ty, &json!({"Circle": "x"})).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("value.Circle: expected f32, found \"x\" (the only strings a float"),
        "{err}"
    );
}
