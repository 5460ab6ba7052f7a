//! Golden vectors: Rust encodes values of every type in the Everything
//! contract with the real bincode (`goproc::wire::codec`); the generated
//! TypeScript decodes each with the contract's method table, echoes it and
//! re-encodes it, and must give the same bytes. Malformed inputs must be
//! refused, and the TypeScript encoders must refuse values that do not fit
//! their Rust type. The runtime's handshake and calls to the host are
//! checked against docs/WIRE.md's golden frames and a host faked by hand.

mod common;
#[path = "contracts/everything.rs"]
mod everything;
#[path = "typescript_support/values.rs"]
mod values;

use std::io::Write;
use std::process::{Command, Stdio};

use everything::EchoError;
use goproc::wire::codec;
use serde::Serialize;
use values::Gen;

/// One input line for the harness, and what it must print.
struct Vector {
    method: &'static str,
    input: Vec<u8>,
    /// The answer's bytes, or `None` when decoding must fail.
    expect: Option<Vec<u8>>,
}

fn enc<T: Serialize + ?Sized>(v: &T) -> Vec<u8> {
    codec::encode(v).expect("Rust encodes every generated value")
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn unhex(s: &str) -> Vec<u8> {
    let s: String = s.split_whitespace().collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex in the test"))
        .collect()
}

/// Values of every echo method; each answer is its argument's bytes.
fn echo_vectors(seed: u64, per_method: usize) -> Vec<Vector> {
    let mut g = Gen::new(seed);
    let mut out = Vec::new();
    macro_rules! echo {
        ($method:literal, $gen:expr) => {
            for _ in 0..per_method {
                let bytes = enc(&$gen(&mut g));
                out.push(Vector {
                    method: $method,
                    input: bytes.clone(),
                    expect: Some(bytes),
                });
            }
        };
    }
    echo!("echo_bool", Gen::bool);
    echo!("echo_u8", Gen::u8);
    echo!("echo_u16", Gen::u16);
    echo!("echo_u32", Gen::u32);
    echo!("echo_u64", Gen::u64);
    echo!("echo_u128", Gen::u128);
    echo!("echo_usize", Gen::usize);
    echo!("echo_i8", Gen::i8);
    echo!("echo_i16", Gen::i16);
    echo!("echo_i32", Gen::i32);
    echo!("echo_i64", Gen::i64);
    echo!("echo_i128", Gen::i128);
    echo!("echo_isize", Gen::isize);
    echo!("echo_f32", Gen::f32);
    echo!("echo_f64", Gen::f64);
    echo!("echo_char", Gen::char);
    echo!("echo_string", Gen::string);
    echo!("echo_bytes", |g: &mut Gen| serde_bytes::ByteBuf::from(
        g.bytes()
    ));
    echo!("echo_byte_buf", |g: &mut Gen| serde_bytes::ByteBuf::from(
        g.bytes()
    ));
    echo!("echo_vec", |g: &mut Gen| g.vec(20, Gen::i32));
    echo!("echo_array", Gen::array);
    echo!("echo_deque", Gen::deque);
    echo!("echo_option", |g: &mut Gen| g.option(Gen::i64));
    echo!("echo_option_option", |g: &mut Gen| g
        .option(|g| g.option(Gen::u8)));
    echo!("echo_hash_map", Gen::hash_map);
    echo!("echo_btree_map", Gen::btree_map);
    echo!("echo_tuple", Gen::tuple);
    echo!("echo_unit", |_: &mut Gen| ());
    echo!("echo_boxed", |g: &mut Gen| Box::new(g.record()));
    echo!("echo_record", Gen::record);
    echo!("echo_shape", Gen::shape);
    echo!("echo_shapes", |g: &mut Gen| g
        .vec(4, |g| g.option(Gen::shape)));
    echo!("echo_pair", Gen::pair);
    echo!("echo_marker", Gen::marker);
    echo!("echo_page", Gen::page);
    echo!("echo_page_of_ints", Gen::page_of_ints);
    echo!("echo_keywords", Gen::keywords);
    echo!("echo_map_of_records", Gen::map_of_records);
    echo!("echo_many", Gen::many);
    echo!("echo_tree", Gen::tree);
    for _ in 0..per_method {
        let units = g.units();
        out.push(Vector {
            method: "count_units",
            input: enc(&units),
            expect: Some(enc(&(units.len() as u64))),
        });
    }
    out.push(Vector {
        method: "nothing",
        input: Vec::new(),
        expect: Some(Vec::new()),
    });
    for _ in 0..per_method {
        let v = g.i32();
        let fail = g.bool();
        let answer: Result<i32, EchoError> = if fail {
            Err(EchoError::Refused {
                reason: format!("refused {v}"),
            })
        } else {
            Ok(v)
        };
        out.push(Vector {
            method: "checked",
            input: enc(&(v, fail)),
            expect: Some(enc(&answer)),
        });
    }
    out
}

/// Fixed values whose bytes are easy to get wrong.
fn edge_vectors() -> Vec<Vector> {
    let same = |method, bytes: Vec<u8>| Vector {
        method,
        input: bytes.clone(),
        expect: Some(bytes),
    };
    vec![
        // A leading byte-order mark is data, not a marker to drop.
        same("echo_string", enc("\u{feff}hi")),
        same("echo_string", enc("\u{feff}")),
        same("echo_char", enc(&'\u{feff}')),
        same("echo_string", enc(&"é".repeat(300))),
        same("echo_string", enc(&"\u{1f600}".repeat(100))),
        same("echo_u128", enc(&u128::MAX)),
        same("echo_i128", enc(&i128::MIN)),
        same("echo_i128", enc(&i128::MAX)),
        same("echo_i64", enc(&i64::MIN)),
        same("echo_u64", enc(&u64::MAX)),
        same("echo_f64", enc(&-0.0f64)),
        same("echo_f32", enc(&f32::from_bits(1))),
        same("echo_option_option", enc(&Some(None::<u8>))),
        same("echo_option_option", enc(&Some(Some(0u8)))),
        same("echo_option_option", enc(&None::<Option<u8>>)),
        same(
            "echo_bytes",
            enc(&serde_bytes::ByteBuf::from(vec![0u8; 70_000])),
        ),
        same("echo_vec", enc(&vec![i32::MIN; 1000])),
        // From docs/WIRE.md's golden table.
        same("echo_u16", unhex("fb fb 00")),
        same("echo_u32", unhex("fc 70 11 01 00")),
        same("echo_u64", unhex("fd 00 00 00 00 01 00 00 00")),
        same("echo_i64", unhex("03")),
        same("echo_f32", unhex("00 00 c0 3f")),
        same("echo_f64", unhex("00 00 00 00 00 00 d0 bf")),
        same("echo_char", unhex("c3 a9")),
        same("echo_string", unhex("03 68 c3 a9")),
        same(
            "echo_u128",
            unhex("fe 00 00 00 00 00 00 00 00 01 00 00 00 00 00 00 00"),
        ),
    ]
}

/// NaNs with their bits (docs/TYPESCRIPT.md, "NaN bits"): a JavaScript
/// number is a double, so an `f32` signalling NaN comes back quieted (bit 22
/// set, the rest kept) wherever it is; an `f64` one comes back as sent when
/// it is a value of its own, a struct's field or in an array that holds more
/// than numbers; quiet NaNs keep their sign and payload in both widths.
fn nan_vectors() -> Vec<Vector> {
    let f32_snan = f32::from_bits(0x7fa0_0001);
    let f32_quieted = f32::from_bits(0x7fe0_0001);
    let f64_snan = f64::from_bits(0x7ff4_0000_0000_0001);
    let vector = |method, sent: Vec<u8>, answered: Vec<u8>| Vector {
        method,
        input: sent,
        expect: Some(answered),
    };
    let same = |method, bytes: Vec<u8>| vector(method, bytes.clone(), bytes);
    let record = |score: f64, circle: f32| everything::Record {
        id: 1,
        name: "nan".into(),
        score,
        flags: vec![true],
        nickname: None,
        shape: everything::Shape::Circle(circle),
        blob: vec![],
    };
    vec![
        // f32 signalling NaNs: quieted, sign and payload kept.
        vector("echo_f32", enc(&f32_snan), enc(&f32_quieted)),
        vector(
            "echo_f32",
            enc(&f32::from_bits(0xff80_0001)),
            enc(&f32::from_bits(0xffc0_0001)),
        ),
        vector(
            "echo_shape",
            enc(&everything::Shape::Circle(f32_snan)),
            enc(&everything::Shape::Circle(f32_quieted)),
        ),
        // f32 quiet NaNs: as sent.
        same("echo_f32", enc(&f32::from_bits(0x7fc1_2345))),
        same("echo_f32", enc(&f32::from_bits(0xffff_ffff))),
        // f64 signalling NaNs: as sent when alone or a struct's field...
        same("echo_f64", enc(&f64_snan)),
        same("echo_f64", enc(&f64::from_bits(0xfff0_0000_0000_0001))),
        vector(
            "echo_record",
            enc(&record(f64_snan, f32_snan)),
            enc(&record(f64_snan, f32_quieted)),
        ),
        // ...or in an array that holds more than numbers.
        same("echo_tuple", enc(&(7u8, String::from("x"), f64_snan))),
        // f64 quiet NaNs: as sent.
        same("echo_f64", enc(&f64::from_bits(0x7ff8_dead_0000_beef))),
        same("echo_f64", enc(&f64::from_bits(0xffff_ffff_ffff_ffff))),
    ]
}

/// `Tree` nested `depth` enums deep: `Node([Node([... Leaf(7) ...])])`.
fn nested_tree(depth: usize) -> Vec<u8> {
    let mut v = Vec::new();
    for _ in 1..depth {
        v.extend([1, 1]);
    }
    v.extend([0, 7]);
    v
}

/// `Shape` nested `depth` enums deep: `Labeled(Labeled(... Empty ..., ""), "")`.
fn nested_shape(depth: usize) -> Vec<u8> {
    let mut v = vec![4u8; depth - 1];
    v.push(0);
    v.extend(std::iter::repeat_n(0u8, depth - 1));
    v
}

/// Values at the limits of docs/WIRE.md section 3.1, which decode. The
/// harness reads arguments after a 3-byte request head, as a plugin does,
/// so the item budget is the arguments' length plus 3.
fn limit_vectors() -> Vec<Vector> {
    let same = |method, bytes: Vec<u8>| Vector {
        method,
        input: bytes.clone(),
        expect: Some(bytes),
    };
    vec![
        same("echo_tree", nested_tree(128)),
        same("echo_shape", nested_shape(128)),
        // Vec<Option<Shape>>: Some(a shape nested 128 deep).
        same("echo_shapes", [vec![1, 1], nested_shape(128)].concat()),
        Vector {
            method: "count_units",
            input: vec![4],
            expect: Some(enc(&4u64)),
        },
        // 3 items in 4 bytes of arguments (7 of body): the counts add up to 3.
        same("echo_shapes", vec![3, 0, 0, 0]),
    ]
}

/// Inputs every decoder must refuse.
fn malformed_vectors() -> Vec<Vector> {
    let bad = |method, hex: &str| Vector {
        method,
        input: unhex(hex),
        expect: None,
    };
    vec![
        bad("echo_bool", "02"),
        bad("echo_u8", ""),
        bad("echo_u8", "c8 00"),
        bad("echo_u16", "fc 00 00 01 00"),
        bad("echo_u32", "fd 00 00 00 00 01 00 00 00"),
        bad(
            "echo_u64",
            "fe 00 00 00 00 00 00 00 00 01 00 00 00 00 00 00 00",
        ),
        bad("echo_i32", "fd 00 00 00 00 01 00 00 00"),
        bad("echo_u128", "ff"),
        bad("echo_u64", "fd 00 00"),
        bad("echo_char", "ed a0 80"),
        bad("echo_char", "c0 80"),
        bad("echo_char", "ff"),
        bad("echo_char", "f4 90 80 80"),
        bad("echo_char", "e2 82"),
        bad("echo_string", "02 c3 28"),
        bad("echo_string", "03 ed a0 80"),
        // Lengths that claim far more than the input holds.
        bad("echo_string", "fd ff ff ff ff ff ff ff 0f"),
        bad("echo_bytes", "fc ff ff ff ff"),
        bad("echo_vec", "fc ff ff ff 0f 00"),
        bad("echo_hash_map", "fd 00 00 00 00 00 00 00 01"),
        bad("echo_deque", "05 00"),
        bad("echo_array", "01 02 03"),
        bad("echo_option", "02"),
        bad("echo_shape", "05"),
        bad("echo_shape", "fc 00 00 00 80"),
        bad("echo_unit", "00"),
        bad("echo_marker", "00"),
        bad("checked", "02 05"),
        bad("echo_record", "00"),
        bad("nothing", "00"),
        // One level past the nesting limit, and far past it.
        Vector {
            method: "echo_tree",
            input: nested_tree(129),
            expect: None,
        },
        Vector {
            method: "echo_shape",
            input: nested_shape(129),
            expect: None,
        },
        Vector {
            method: "echo_tree",
            input: nested_tree(20_000),
            expect: None,
        },
        Vector {
            method: "echo_shapes",
            input: [vec![1, 1], nested_shape(20_000)].concat(),
            expect: None,
        },
        // Counts past the item budget (1 byte of arguments + a 3-byte head).
        bad("count_units", "05"),
        bad("count_units", "fc 00 00 00 01"),
        bad("count_units", "fd 00 00 00 00 00 00 00 01"),
        bad("echo_shapes", "fa 00 00 00"),
    ]
}

#[test]
fn typescript_decodes_and_reencodes_rust_bytes_exactly() {
    let out = common::node::build(
        "golden",
        &["tests/contracts/everything.rs"],
        &["echo.ts", "golden.ts"],
    );
    let seed = 0x5eed_601d;
    let mut vectors = echo_vectors(seed, 60);
    vectors.extend(edge_vectors());
    vectors.extend(limit_vectors());
    vectors.extend(nan_vectors());
    vectors.extend(malformed_vectors());
    let input: String = vectors
        .iter()
        .map(|v| format!("{} {}\n", v.method, hex(&v.input)))
        .collect();

    let mut child = Command::new(common::node::node())
        .arg(out.join("golden.js"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting node");
    let mut stdin = child.stdin.take().expect("stdin");
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let result = child.wait_with_output().expect("running the harness");
    writer
        .join()
        .expect("stdin writer")
        .expect("writing vectors");
    assert!(
        result.status.success(),
        "the harness failed: {}",
        String::from_utf8_lossy(&result.stderr)
    );
    let stdout = String::from_utf8(result.stdout).expect("utf-8 output");
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(
        lines.len() > vectors.len(),
        "expected an answer per vector and the encoder cases, got {} lines",
        lines.len()
    );

    let mut failures = Vec::new();
    for (v, line) in vectors.iter().zip(&lines) {
        match &v.expect {
            Some(bytes) if *line != hex(bytes) => failures.push(format!(
                "{} {}: expected {}, TypeScript gave {line}",
                v.method,
                hex(&v.input),
                hex(bytes)
            )),
            None if !line.starts_with("error DecodeError: ") => failures.push(format!(
                "{} {}: malformed input was not refused with a DecodeError: {line}",
                v.method,
                hex(&v.input)
            )),
            _ => {}
        }
    }
    let rejects = &lines[vectors.len()..];
    assert!(
        rejects.len() >= 40,
        "expected the encoder cases, got {rejects:?}"
    );
    for line in rejects {
        if !((line.starts_with("reject ") || line.starts_with("decode "))
            && line.ends_with(" refused"))
        {
            failures.push(format!("encoder or decoder case not refused: {line}"));
        }
    }
    assert!(
        rejects.iter().any(|l| l.starts_with("decode ")),
        "expected the decoder cases, got {rejects:?}"
    );
    assert!(
        failures.is_empty(),
        "seed {seed:#x}: {} failure(s):\n{}",
        failures.len(),
        failures
            .iter()
            .take(20)
            .map(|f| f.chars().take(400).collect::<String>())
            .collect::<Vec<_>>()
            .join("\n")
    );
}

/// The runtime's handshake, client side, streams and events against a host
/// faked by hand in the same Node process (tests/typescript/runtime_test.ts):
/// WIRE.md's golden HELLO, WELCOME, plugin-to-host REQUEST and RESPONSE rows,
/// every stream and event row (built by the runtime as caller and as callee),
/// the table of calls to the host, credit accounting and its enforcement,
/// the drop-oldest event queue, and topic and pattern checks.
#[test]
fn typescript_runtime_handshake_and_client_tests_pass() {
    let out = common::node::build(
        "runtime",
        &[
            "examples/host_services/contract.rs",
            "tests/typescript/golden_contracts.rs",
        ],
        &["runtime_test.ts"],
    );
    let result = Command::new(common::node::node())
        .arg(out.join("runtime_test.js"))
        .arg(common::root().join("docs/WIRE.md"))
        .output()
        .expect("running the runtime tests");
    let stdout = String::from_utf8_lossy(&result.stdout);
    assert!(
        result.status.success(),
        "the runtime tests failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&result.stderr)
    );
    let passed = stdout.lines().filter(|l| l.starts_with("ok ")).count();
    assert!(
        passed >= 31 && stdout.contains(&format!("runtime tests: {passed} passed, 0 failed")),
        "{stdout}"
    );
}
