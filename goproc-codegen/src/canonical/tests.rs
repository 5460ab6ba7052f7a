use std::path::PathBuf;

use super::*;
use crate::model::schema::from_sources;

fn schema_of(src: &str) -> ContractSchema {
    let schema = from_sources(&[(PathBuf::from("contract.rs"), src.to_string())])
        .unwrap_or_else(|e| panic!("{e:?}"));
    let c = &schema.contracts[0].contract;
    from_model(c, &schema.types).unwrap()
}

const STATS: &str = r#"
/// Counts things.
#[goproc::plugin_interface]
pub trait Counter {
    /// The counts so far.
    async fn stats(&self) -> Stats;
    async fn add(&self, n: usize, tags: std::collections::VecDeque<u8>) -> Result<(), CountError>;
    async fn page(&self, p: Page<Record>) -> Page<i64>;
    async fn tree(&self, t: Tree<String>) -> Option<Tree<u8>>;
}
/// Totals.
pub struct Stats {
    /// Calls answered.
    pub calls: u64,
    pub bytes_in: u64,
    pub bytes_out: u64,
}
pub enum CountError { Overflow(u32), Closed { why: String }, Gone }
pub struct Page<T> { pub items: Vec<T>, pub total: u64 }
pub struct Record(pub String);
pub struct Tree<T> { pub value: T, pub kids: Vec<Tree<T>> }
"#;

#[test]
fn the_text_reads_back_with_and_without_docs() {
    let s = schema_of(STATS);
    let documented = s.documented_text();
    assert!(
        documented.contains("/// Calls answered.\n    calls: u64,"),
        "{documented}"
    );
    let back = parse_schemas(&documented).unwrap();
    assert_eq!(back, vec![s.clone()]);
    let canonical = s.canonical_text();
    assert!(!canonical.contains("///"));
    assert_eq!(parse_schemas(&canonical).unwrap(), vec![s.without_docs()]);
    assert_eq!(
        parse_schemas(&canonical).unwrap()[0].canonical_text(),
        canonical
    );
}

#[test]
fn the_canonical_text_names_the_wire_shapes() {
    let text = schema_of(STATS).canonical_text();
    let expected = "\
contract Counter {
    fn stats() -> Stats;
    fn add(n: u64, tags: bytes) -> Result<(), CountError>;
    fn page(p: Page<Record>) -> Page<i64>;
    fn tree(t: Tree<String>) -> Option<Tree<u8>>;
}

enum CountError {
    Overflow(u32),
    Closed {
        why: String,
    },
    Gone,
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

struct Stats {
    calls: u64,
    bytes_in: u64,
    bytes_out: u64,
}

struct Tree<String> {
    value: String,
    kids: Vec<Tree<String>>,
}

struct Tree<u8> {
    value: u8,
    kids: Vec<Tree<u8>>,
}
";
    assert_eq!(text, expected);
}

#[test]
fn a_generic_type_used_one_way_keeps_its_name() {
    let s = schema_of(
        r#"
#[goproc::plugin_interface]
pub trait P { async fn get(&self) -> Page<u32>; async fn put(&self, p: Page<u32>); }
pub struct Page<T> { pub items: Vec<T> }
"#,
    );
    assert_eq!(s.types.len(), 1);
    assert_eq!(s.types[0].name, "Page");
}

#[test]
fn reordered_fields_are_named_with_their_position() {
    let ours = schema_of(STATS);
    let theirs = schema_of(&STATS.replace(
        "pub bytes_in: u64,\n    pub bytes_out: u64,",
        "pub bytes_out: u64,\n    pub bytes_in: u64,",
    ));
    let d = first_difference(&ours, &theirs).unwrap();
    assert_eq!(
        d.describe("the host", "the plugin"),
        "Stats: the host has field 2 bytes_in: u64, the plugin has field 2 bytes_out: u64"
    );
    assert_eq!(first_difference(&ours, &ours), None);
}

#[test]
fn each_kind_of_drift_is_named() {
    let ours = schema_of(STATS);
    let cases = [
        (
            "pub bytes_out: u64,\n}",
            "pub bytes_out: u64,\n    pub extra: u8,\n}",
            "Stats: the host has no field 4, the plugin has field 4 extra: u8",
        ),
        (
            "pub bytes_out: u64,\n}",
            "pub bytes_outgoing: u64,\n}",
            "Stats: the host has field 3 bytes_out: u64, the plugin has field 3 bytes_outgoing: u64",
        ),
        (
            "pub bytes_out: u64,\n}",
            "pub bytes_out: u32,\n}",
            "Stats: the host has field 3 bytes_out: u64, the plugin has field 3 bytes_out: u32",
        ),
        (
            "Overflow(u32), Closed { why: String }, Gone",
            "Closed { why: String }, Overflow(u32), Gone",
            "CountError: the host has variant 1 Overflow(u32), the plugin has variant 1 Closed { why: String }",
        ),
        (
            "Closed { why: String }",
            "Closed { why: String, code: i32 }",
            "CountError::Closed: the host has no field 2, the plugin has field 2 code: i32",
        ),
        (
            "async fn page(&self, p: Page<Record>)",
            "async fn page(&self, p: Page<Stats>)",
            "Counter.page: the host has argument 1 p: Page<Record>, the plugin has argument 1 p: Page<Stats>",
        ),
    ];
    for (from, to, message) in cases {
        let theirs = schema_of(&STATS.replace(from, to));
        let d = first_difference(&ours, &theirs).unwrap_or_else(|| panic!("{to}: no difference"));
        assert_eq!(d.describe("the host", "the plugin"), message);
    }
}

#[test]
fn parse_errors_say_where() {
    let err = parse_schemas("contract A {\n    fn f(x: Nope<);\n}\n").unwrap_err();
    assert_eq!((err.line, err.column), (2, 18));
    let err = parse_schemas("struct A;\n").unwrap_err();
    assert!(err.message.contains("before any `contract`"), "{err}");
}

#[test]
fn sequences_of_u8_are_bytes_however_spelled() {
    let traced = Traced {
        ty: Type::Seq(Box::new(Type::U8)),
        types: Default::default(),
    };
    let s = assemble(
        "C",
        vec![],
        false,
        vec![MethodDraft {
            name: "f".into(),
            docs: vec![],
            args: vec![("b".into(), traced)],
            ret: Traced::default(),
        }],
    )
    .unwrap();
    assert_eq!(s.methods[0].args[0].ty, Type::Bytes);
}

#[test]
fn raw_identifiers_are_named_as_serde_names_them() {
    let s = schema_of(
        r#"
#[goproc::plugin_interface]
pub trait r#Loop {
    async fn r#match(&self, r#in: Keywords);
}
pub struct Keywords { pub r#type: String, pub kind: Kind }
pub enum Kind { r#async }
"#,
    );
    let text = s.canonical_text();
    assert_eq!(
        text,
        "contract Loop {\n    fn match(in: Keywords);\n}\n\nstruct Keywords {\n    type: String,\n    \
         kind: Kind,\n}\n\nenum Kind {\n    async,\n}\n"
    );
    assert_eq!(parse_schemas(&text).unwrap(), vec![s]);
}
