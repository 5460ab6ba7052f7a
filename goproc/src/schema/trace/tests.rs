use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};

use serde::Deserialize;

use super::super::{assemble, FieldSchema, Fields, MethodDraft, Type};
use super::*;

#[allow(dead_code)]
#[derive(Deserialize)]
struct Stats {
    calls: u64,
    bytes_in: usize,
    label: String,
}

#[allow(dead_code)]
#[derive(Deserialize)]
enum Shape {
    Empty,
    Circle(f32),
    Pair(i8, i16),
    Rect { w: u16, h: u32 },
}

#[allow(dead_code)]
#[derive(Deserialize)]
struct Tree {
    value: i64,
    kids: Vec<Tree>,
}

#[allow(dead_code)]
#[derive(Deserialize)]
enum List {
    Nil,
    Cons(u8, Box<List>),
}

#[allow(dead_code)]
#[derive(Deserialize)]
struct Everything {
    maybe: Option<bool>,
    many: VecDeque<i32>,
    set: HashSet<u16>,
    map: BTreeMap<String, f64>,
    hash: HashMap<u8, char>,
    pair: (u128, i128),
    one: (u8,),
    array: [u32; 3],
    #[serde(with = "serde_bytes")]
    blob: Vec<u8>,
    plain: Vec<u8>,
    unit: (),
    marker: Marker,
    id: Id,
    point: Point,
}

#[derive(Deserialize)]
struct Marker;

#[allow(dead_code)]
#[derive(Deserialize)]
struct Id(u64);

#[allow(dead_code)]
#[derive(Deserialize)]
struct Point(i32, i32);

#[allow(dead_code)]
#[derive(Deserialize)]
struct Page<T> {
    items: Vec<T>,
    total: u64,
}

#[allow(dead_code)]
#[derive(Deserialize)]
struct Record(String);

fn named(fields: &[(&str, Type)]) -> Fields {
    Fields::Named(
        fields
            .iter()
            .map(|(n, t)| FieldSchema {
                name: n.to_string(),
                docs: Vec::new(),
                ty: t.clone(),
            })
            .collect(),
    )
}

fn body_of(t: &Traced, name: &str) -> Body {
    t.types
        .get(name)
        .unwrap_or_else(|| panic!("{name} traced: {:?}", t.types.keys()))
        .body
        .clone()
}

#[test]
fn a_struct_is_its_fields_in_order() {
    let t = trace_type::<Stats>().unwrap();
    assert_eq!(t.ty, Type::Named("Stats".into()));
    assert_eq!(
        body_of(&t, "Stats"),
        Body::Struct(named(&[
            ("calls", Type::U64),
            ("bytes_in", Type::U64),
            ("label", Type::String),
        ]))
    );
}

#[test]
fn an_enum_has_every_variant_in_declaration_order() {
    let t = trace_type::<Shape>().unwrap();
    let Body::Enum(variants) = body_of(&t, "Shape") else {
        panic!("an enum")
    };
    let got: Vec<(&str, &Fields)> = variants
        .iter()
        .map(|v| (v.name.as_str(), &v.fields))
        .collect();
    assert_eq!(
        got,
        vec![
            ("Empty", &Fields::Unit),
            ("Circle", &Fields::Tuple(vec![Type::F32])),
            ("Pair", &Fields::Tuple(vec![Type::I8, Type::I16])),
            ("Rect", &named(&[("w", Type::U16), ("h", Type::U32)])),
        ]
    );
}

#[allow(dead_code)]
#[derive(Deserialize)]
struct Outer {
    shape: Shape,
    inner: Vec<Inner>,
}

#[allow(dead_code)]
#[derive(Deserialize)]
enum Inner {
    First,
    /// Reached only through its own enum's second variant.
    Deeper(Deepest),
}

#[allow(dead_code)]
#[derive(Deserialize)]
enum Deepest {
    A,
    B(u8),
    C { c: bool },
}

#[test]
fn enums_inside_other_types_show_every_variant() {
    let t = trace_type::<Outer>().unwrap();
    let names = |name: &str| -> Vec<String> {
        match body_of(&t, name) {
            Body::Enum(vs) => vs.into_iter().map(|v| v.name).collect(),
            other => panic!("{name} is an enum: {other:?}"),
        }
    };
    assert_eq!(names("Shape"), ["Empty", "Circle", "Pair", "Rect"]);
    assert_eq!(names("Inner"), ["First", "Deeper"]);
    assert_eq!(names("Deepest"), ["A", "B", "C"]);
}

#[test]
fn recursive_types_refer_to_themselves_by_name() {
    let t = trace_type::<Tree>().unwrap();
    assert_eq!(
        body_of(&t, "Tree"),
        Body::Struct(named(&[
            ("value", Type::I64),
            ("kids", Type::Seq(Box::new(Type::Named("Tree".into())))),
        ]))
    );
    let l = trace_type::<List>().unwrap();
    let Body::Enum(variants) = body_of(&l, "List") else {
        panic!("an enum")
    };
    assert_eq!(
        variants[1].fields,
        Fields::Tuple(vec![Type::U8, Type::Named("List".into())])
    );
}

#[test]
fn containers_and_primitives_have_their_wire_shapes() {
    let t = trace_type::<Everything>().unwrap();
    let b = |t: Type| Box::new(t);
    assert_eq!(
        body_of(&t, "Everything"),
        Body::Struct(named(&[
            ("maybe", Type::Option(b(Type::Bool))),
            ("many", Type::Seq(b(Type::I32))),
            ("set", Type::Seq(b(Type::U16))),
            ("map", Type::Map(b(Type::String), b(Type::F64))),
            ("hash", Type::Map(b(Type::U8), b(Type::Char))),
            ("pair", Type::Tuple(vec![Type::U128, Type::I128])),
            ("one", Type::Tuple(vec![Type::U8])),
            ("array", Type::Array(b(Type::U32), 3)),
            ("blob", Type::Bytes),
            // `assemble` makes it bytes, as the contract model does.
            ("plain", Type::Seq(b(Type::U8))),
            ("unit", Type::Unit),
            ("marker", Type::Named("Marker".into())),
            ("id", Type::Named("Id".into())),
            ("point", Type::Named("Point".into())),
        ]))
    );
    assert_eq!(body_of(&t, "Marker"), Body::Struct(Fields::Unit));
    assert_eq!(
        body_of(&t, "Id"),
        Body::Struct(Fields::Tuple(vec![Type::U64]))
    );
    assert_eq!(
        body_of(&t, "Point"),
        Body::Struct(Fields::Tuple(vec![Type::I32, Type::I32]))
    );
}

#[test]
fn plain_types_trace_without_user_types() {
    let t = trace_type::<Option<Vec<(String, i64)>>>().unwrap();
    assert!(t.types.is_empty());
    assert_eq!(
        t.ty,
        Type::Option(Box::new(Type::Seq(Box::new(Type::Tuple(vec![
            Type::String,
            Type::I64
        ])))))
    );
    assert_eq!(trace_type::<()>().unwrap().ty, Type::Unit);
}

#[test]
fn a_generic_type_used_two_ways_is_named_per_use() {
    let method = |name: &str, arg: Traced, ret: Traced| MethodDraft {
        name: name.into(),
        docs: Vec::new(),
        args: vec![("p".into(), arg)],
        ret,
    };
    let schema = assemble(
        "Pages",
        Vec::new(),
        false,
        vec![method(
            "page",
            trace_type::<Page<Record>>().unwrap(),
            trace_type::<Page<i64>>().unwrap(),
        )],
    )
    .unwrap();
    assert_eq!(
        schema.canonical_text(),
        "\
contract Pages {
    fn page(p: Page<Record>) -> Page<i64>;
}

struct Page<Record> {
    items: Vec<Record>,
    total: u64,
}

struct Page<i64> {
    items: Vec<i64>,
    total: u64,
}

struct Record(String);
"
    );
}

#[test]
fn a_type_that_refuses_the_tracers_samples_says_so() {
    let err = trace_type::<std::num::NonZeroU32>().unwrap_err();
    assert!(
        err.starts_with("the type core::num::nonzero::NonZero<u32> cannot be traced: "),
        "{err}"
    );
}

#[allow(dead_code)]
#[derive(Deserialize)]
enum Chain {
    /// The recursive variant first: a read must still end.
    Link(u8, Box<Chain>),
    End,
}

#[test]
fn a_recursion_through_the_first_variant_still_ends() {
    let t = trace_type::<Chain>().unwrap();
    let Body::Enum(variants) = body_of(&t, "Chain") else {
        panic!("an enum")
    };
    assert_eq!(
        variants[0].fields,
        Fields::Tuple(vec![Type::U8, Type::Named("Chain".into())])
    );
    assert_eq!(variants[1].fields, Fields::Unit);
}

#[test]
fn a_tuple_of_equal_types_is_not_an_array() {
    let t = trace_type::<((u8, u8), [u8; 2])>().unwrap();
    assert_eq!(
        t.ty,
        Type::Tuple(vec![
            Type::Tuple(vec![Type::U8, Type::U8]),
            Type::Array(Box::new(Type::U8), 2),
        ])
    );
}

#[allow(dead_code)]
#[derive(Deserialize)]
#[serde(untagged)]
enum Loose {
    A(u8),
    B(String),
}

#[test]
fn a_type_that_needs_self_describing_input_says_so() {
    let err = trace_type::<Loose>().unwrap_err();
    assert!(err.contains("deserialize_any"), "{err}");
    assert!(err.contains("the wire cannot carry it"), "{err}");
}
