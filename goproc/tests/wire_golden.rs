//! The golden byte examples in `docs/WIRE.md` are what this runtime writes.
//!
//! Every row of the doc's golden tables is produced here from a value; the
//! test fails if a row is missing, extra, or its bytes differ. Run with
//! `GOPROC_PRINT_GOLDEN=1` to print the rows as they should read.

use std::collections::{BTreeMap, HashMap};

use goproc::wire::codec;
use goproc::wire::frame::FrameBuf;
use goproc::wire::messages::{
    ContractRef, Delivery, ErrorBody, Hello, Publish, Refuse, RequestHead, Subscribe, Welcome,
};
use goproc::wire::Kind;
use serde::Serialize;

fn hex(bytes: &[u8]) -> String {
    if bytes.is_empty() {
        return "(none)".into();
    }
    bytes
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(" ")
}

fn value<T: Serialize>(v: T) -> Vec<u8> {
    codec::encode(&v).expect("golden values encode")
}

fn frame<T: Serialize>(kind: Kind, id: u64, body: &[&T]) -> Vec<u8> {
    let mut f = FrameBuf::new(kind, id);
    for part in body {
        codec::encode_into(*part, f.body_mut()).expect("golden bodies encode");
    }
    f.finish(u32::MAX).expect("small frames fit")
}

fn empty(kind: Kind, id: u64) -> Vec<u8> {
    FrameBuf::new(kind, id)
        .finish(u32::MAX)
        .expect("small frames fit")
}

#[derive(Serialize)]
enum MathError {
    DivisionByZero,
    #[allow(dead_code)]
    Overflow {
        operation: String,
    },
}

#[derive(Serialize)]
struct Point {
    x: i32,
    y: i32,
}

#[derive(Serialize)]
enum Shape {
    #[allow(dead_code)]
    Empty,
    Circle(f32),
    Rect {
        w: u16,
        h: u16,
    },
}

/// A REQUEST to method `method` of contract 0 with `args` (a tuple).
fn request<A: Serialize>(id: u64, method: u32, deadline_ms: u64, args: A) -> Vec<u8> {
    let mut f = FrameBuf::new(Kind::Request, id);
    let head = RequestHead {
        contract: 0,
        method,
        deadline_ms,
    };
    codec::encode_into(&head, f.body_mut()).unwrap();
    codec::encode_into(&args, f.body_mut()).unwrap();
    f.finish(u32::MAX).unwrap()
}

fn contract(name: &str, fingerprint: &str) -> ContractRef {
    ContractRef {
        name: name.into(),
        fingerprint: fingerprint.into(),
    }
}

/// A WELCOME frame encoded as the version it names.
fn welcome_frame(protocol: u32, contracts: Vec<ContractRef>) -> Vec<u8> {
    let welcome = Welcome {
        protocol,
        max_frame: 16 * 1024 * 1024,
        host_pid: 100,
        contracts,
    };
    let mut f = FrameBuf::new(Kind::Welcome, 0);
    f.body_mut().extend(welcome.encode().unwrap());
    f.finish(u32::MAX).unwrap()
}

fn expected() -> Vec<(&'static str, Vec<u8>)> {
    let mut map = BTreeMap::new();
    map.insert(1u8, "one".to_string());
    vec![
        // Values (bodies are sequences of these).
        ("bool true", value(true)),
        ("u8 200", value(200u8)),
        ("i8 -2", value(-2i8)),
        ("u16 250", value(250u16)),
        ("u16 251", value(251u16)),
        ("u32 70000", value(70000u32)),
        ("u64 2^32", value(1u64 << 32)),
        ("i32 -1", value(-1i32)),
        ("i64 -2", value(-2i64)),
        ("i64 1", value(1i64)),
        ("u128 2^64", value(1u128 << 64)),
        ("f32 1.5", value(1.5f32)),
        ("f64 -0.25", value(-0.25f64)),
        ("char 'é'", value('é')),
        ("String \"hé\"", value("hé".to_string())),
        ("Vec<u8> [1, 2, 3]", value(vec![1u8, 2, 3])),
        ("Vec<u16> [1, 300]", value(vec![1u16, 300])),
        ("[u8; 3] [1, 2, 3]", value([1u8, 2, 3])),
        ("Option<i32> None", value(None::<i32>)),
        ("Option<i32> Some(-1)", value(Some(-1i32))),
        ("Option<Option<i32>> Some(None)", value(Some(None::<i32>))),
        ("BTreeMap<u8, String> {1: \"one\"}", value(&map)),
        ("(u8, bool)", value((7u8, false))),
        ("()", value(())),
        ("struct Point { x: 1, y: -1 }", value(Point { x: 1, y: -1 })),
        ("enum Shape::Circle(1.0)", value(Shape::Circle(1.0))),
        (
            "enum Shape::Rect { w: 2, h: 3 }",
            value(Shape::Rect { w: 2, h: 3 }),
        ),
        ("Result<i64, String> Ok(3)", value(Ok::<i64, String>(3))),
        (
            "Result<i64, String> Err(\"no\")",
            value(Err::<i64, String>("no".into())),
        ),
        // Frames.
        (
            "HELLO",
            frame(
                Kind::Hello,
                0,
                &[&Hello {
                    protocol_min: 2,
                    protocol_max: 3,
                    token: "c0ffee".into(),
                    language: "rust".into(),
                    runtime: "goproc-rust 0.1.0".into(),
                    pid: 4242,
                    contracts: vec![contract("Calculator", "3f9a")],
                    requires: vec![contract("Store", "5b7e")],
                    schemas: Vec::new(),
                }],
            ),
        ),
        ("WELCOME", welcome_frame(3, vec![contract("Store", "5b7e")])),
        (
            "HELLO protocol 4",
            frame(
                Kind::Hello,
                0,
                &[&Hello {
                    protocol_min: 2,
                    protocol_max: 4,
                    token: "c0ffee".into(),
                    language: "rust".into(),
                    runtime: "goproc-rust 0.1.0".into(),
                    pid: 4242,
                    contracts: vec![contract("Calculator", "3f9a")],
                    requires: vec![contract("Store", "5b7e")],
                    schemas: vec![CALCULATOR_SCHEMA.into(), STORE_SCHEMA.into()],
                }],
            ),
        ),
        (
            "HELLO protocol 1",
            frame(
                Kind::Hello,
                0,
                &[&(
                    1u32,
                    1u32,
                    "c0ffee",
                    "rust",
                    "goproc-rust 0.1.0",
                    4242u32,
                    vec![contract("Calculator", "3f9a")],
                )],
            ),
        ),
        ("WELCOME protocol 1", welcome_frame(1, Vec::new())),
        (
            "REFUSE",
            frame(
                Kind::Refuse,
                0,
                &[&Refuse {
                    reason: "wrong token".into(),
                }],
            ),
        ),
        ("REQUEST add(1, 2)", request(1, 0, 0, (1i64, 2i64))),
        ("RESPONSE 3", frame(Kind::Response, 1, &[&3i64])),
        (
            "REQUEST divide(1, 0) deadline 1500 ms",
            request(2, 1, 1500, (1i64, 0i64)),
        ),
        (
            "RESPONSE Err(DivisionByZero)",
            frame(
                Kind::Response,
                2,
                &[&Err::<i64, MathError>(MathError::DivisionByZero)],
            ),
        ),
        (
            "ERROR unknown method",
            frame(
                Kind::Error,
                3,
                &[&ErrorBody {
                    code: 2,
                    message: "no method 9".into(),
                    detail: String::new(),
                }],
            ),
        ),
        ("CANCEL 2", empty(Kind::Cancel, 2)),
        ("PING 7", empty(Kind::Ping, 7)),
        ("PONG 7", empty(Kind::Pong, 7)),
        ("SHUTDOWN", empty(Kind::Shutdown, 0)),
        ("CLOSE", empty(Kind::Close, 0)),
        (
            "REQUEST Store.get(\"k\") from the plugin",
            request(1, 0, 0, ("k",)),
        ),
        (
            "RESPONSE Some(\"v\") from the host",
            frame(Kind::Response, 1, &[&Some("v")]),
        ),
        // Streams: `Logs.tail(path) -> Stream<String>`, `Logs.upload(name, Stream<Vec<u8>>) -> u64`.
        ("REQUEST tail(\"a\")", request(3, 0, 0, ("a",))),
        (
            "STREAM_CREDIT 3 +65536",
            frame(Kind::StreamCredit, 3, &[&65536u32]),
        ),
        ("STREAM_ITEM 3 \"hi\"", frame(Kind::StreamItem, 3, &[&"hi"])),
        ("RESPONSE 3 end of stream", empty(Kind::Response, 3)),
        ("REQUEST upload(\"f\")", request(4, 1, 0, ("f",))),
        ("ARG_CREDIT 4 +4096", frame(Kind::ArgCredit, 4, &[&4096u32])),
        (
            "ARG_ITEM 4 [1, 2, 3]",
            frame(Kind::ArgItem, 4, &[&vec![1u8, 2, 3]]),
        ),
        ("ARG_END 4", empty(Kind::ArgEnd, 4)),
        ("RESPONSE 4 3", frame(Kind::Response, 4, &[&3u64])),
        (
            "ARG_END 5 failed",
            frame(
                Kind::ArgEnd,
                5,
                &[&ErrorBody {
                    code: 4,
                    message: "disk".into(),
                    detail: String::new(),
                }],
            ),
        ),
        // Events: `Telemetry` (channel 0x3f9a), event 0 `temperature(celsius: f32)`.
        (
            "SUBSCRIBE 1 sensors/+/temp",
            frame(
                Kind::Subscribe,
                1,
                &[&Subscribe {
                    contract: "Telemetry".into(),
                    channel: 0x3f9a,
                    event: 0,
                    pattern: "sensors/+/temp".into(),
                }],
            ),
        ),
        (
            "PUBLISH sensors/k/temp 21.5",
            headed(
                Kind::Publish,
                0,
                &Publish {
                    channel: 0x3f9a,
                    event: 0,
                    topic: "sensors/k/temp".into(),
                },
                &21.5f32,
            ),
        ),
        (
            "EVENT 1 lagged 2",
            headed(
                Kind::Event,
                1,
                &Delivery {
                    lagged: 2,
                    topic: "sensors/k/temp".into(),
                },
                &21.5f32,
            ),
        ),
        ("UNSUBSCRIBE 1", empty(Kind::Unsubscribe, 1)),
        // Version 4: the host asks the plugin to describe its contracts.
        ("REQUEST describe", describe_request()),
        (
            "RESPONSE describe",
            frame(
                Kind::Response,
                9,
                &[&vec![CALCULATOR_DOCUMENTED.to_string()]],
            ),
        ),
    ]
}

/// The canonical schema of the golden rows' `Calculator`.
const CALCULATOR_SCHEMA: &str = "\
contract Calculator {
    fn add(a: i64, b: i64) -> i64;
    fn divide(a: i64, b: i64) -> Result<i64, MathError>;
}

enum MathError {
    DivisionByZero,
    Overflow {
        operation: String,
    },
}
";

/// The same, with the trait's and the methods' docs.
const CALCULATOR_DOCUMENTED: &str = "\
/// Arithmetic.
contract Calculator {
    /// Adds two numbers.
    fn add(a: i64, b: i64) -> i64;
    /// Divides, or says why not.
    fn divide(a: i64, b: i64) -> Result<i64, MathError>;
}

enum MathError {
    DivisionByZero,
    Overflow {
        operation: String,
    },
}
";

/// The canonical schema of the golden rows' `Store`.
const STORE_SCHEMA: &str = "\
contract Store {
    fn get(key: String) -> Option<String>;
}
";

/// Describe: method 0 of the reserved introspection contract, no arguments.
fn describe_request() -> Vec<u8> {
    let mut f = FrameBuf::new(Kind::Request, 9);
    let head = RequestHead {
        contract: goproc::wire::INTROSPECTION_CONTRACT,
        method: goproc::wire::DESCRIBE_METHOD,
        deadline_ms: 5000,
    };
    codec::encode_into(&head, f.body_mut()).unwrap();
    f.finish(u32::MAX).unwrap()
}

/// A frame whose body is a head and a payload of another type (events).
fn headed<H: Serialize, P: Serialize>(kind: Kind, id: u64, head: &H, payload: &P) -> Vec<u8> {
    let mut f = FrameBuf::new(kind, id);
    codec::encode_into(head, f.body_mut()).unwrap();
    codec::encode_into(payload, f.body_mut()).unwrap();
    f.finish(u32::MAX).unwrap()
}

/// The rows between `<!-- golden:start -->` and `<!-- golden:end -->`:
/// the first cell names the example, the last holds its bytes in hex.
fn doc_rows() -> HashMap<String, String> {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/WIRE.md"))
        .expect("docs/WIRE.md is readable");
    let mut rows = HashMap::new();
    let mut in_golden = false;
    for line in doc.lines() {
        if line.starts_with("<!-- golden:start -->") {
            in_golden = true;
        } else if line.starts_with("<!-- golden:end -->") {
            in_golden = false;
        } else if in_golden
            && line.starts_with("| ")
            && !line.starts_with("| name")
            && !line.starts_with("| ---")
        {
            let cells: Vec<&str> = line.trim_matches('|').split(" | ").map(str::trim).collect();
            let name = cells[0].trim_matches('`').to_string();
            let bytes = cells[cells.len() - 1].trim_matches('`').to_string();
            assert!(
                rows.insert(name.clone(), bytes).is_none(),
                "golden row `{name}` appears twice"
            );
        }
    }
    rows
}

#[test]
fn golden_bytes_in_wire_md_match_the_runtime() {
    let expected = expected();
    if std::env::var_os("GOPROC_PRINT_GOLDEN").is_some() {
        for (name, bytes) in &expected {
            println!("| `{name}` | `{}` |", hex(bytes));
        }
    }
    let mut rows = doc_rows();
    let mut problems = Vec::new();
    for (name, bytes) in &expected {
        match rows.remove(*name) {
            None => problems.push(format!("row `{name}` is missing from docs/WIRE.md")),
            Some(doc) if doc != hex(bytes) => problems.push(format!(
                "row `{name}`: the doc says `{doc}`, the runtime writes `{}`",
                hex(bytes)
            )),
            Some(_) => {}
        }
    }
    for name in rows.keys() {
        problems.push(format!(
            "row `{name}` in docs/WIRE.md is not checked by this test"
        ));
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn a_host_reads_the_hello_of_either_protocol_version() {
    let rows = doc_rows();
    let body = |name: &str| {
        let bytes: Vec<u8> = rows[name]
            .split_whitespace()
            .map(|b| u8::from_str_radix(b, 16).unwrap())
            .collect();
        bytes[13..].to_vec()
    };
    let v2 = Hello::decode(&body("HELLO")).expect("a version 2 hello");
    assert_eq!(v2.requires, vec![contract("Store", "5b7e")]);
    assert!(v2.schemas.is_empty());
    let v4 = Hello::decode(&body("HELLO protocol 4")).expect("a version 4 hello");
    assert_eq!(v4.requires, vec![contract("Store", "5b7e")]);
    assert_eq!(v4.schemas, vec![CALCULATOR_SCHEMA, STORE_SCHEMA]);
    // The schemas are the canonical texts, which read back as written.
    for text in &v4.schemas {
        let parsed = goproc::schema::parse_schemas(text).expect("a schema reads back");
        assert_eq!(parsed[0].canonical_text(), *text);
    }
    let documented = goproc::schema::parse_schemas(CALCULATOR_DOCUMENTED).unwrap();
    assert_eq!(documented[0].documented_text(), CALCULATOR_DOCUMENTED);
    assert_eq!(documented[0].canonical_text(), CALCULATOR_SCHEMA);
    // A version 3 hello ends at `requires`; one byte more is malformed.
    let mut longer = body("HELLO");
    longer.push(0);
    assert!(Hello::decode(&longer).unwrap_err().contains("trailing"));
    let v1 = Hello::decode(&body("HELLO protocol 1")).expect("a version 1 hello");
    assert_eq!((v1.protocol_max, v1.pid), (1, 4242));
    assert_eq!(v1.contracts, vec![contract("Calculator", "3f9a")]);
    assert!(v1.requires.is_empty());
    // A version 1 hello with anything after its contracts is malformed.
    let mut longer = body("HELLO protocol 1");
    longer.push(0);
    assert!(Hello::decode(&longer).unwrap_err().contains("trailing"));
}
