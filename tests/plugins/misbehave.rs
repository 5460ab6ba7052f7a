//! Plugins that break the rules on purpose, to test the host. Most speak
//! the wire by hand, through `goproc::wire`, so they can say what a real
//! runtime never would.

use std::time::Duration;

use goproc::wire::codec;
use goproc::wire::frame::FrameBuf;
use goproc::wire::messages::{ContractRef, ErrorBody, Hello, RequestHead};
use goproc::wire::stream::{read_frame, write_frame};
use goproc::wire::Kind;
use goproc::Client;
use tokio::io::AsyncWriteExt;
use tokio::net::UnixStream;

use crate::calculator_contract::CalculatorClient;

pub async fn run(role: &str) {
    match role {
        // Dies before connecting, with a reason on stderr.
        "exit-at-once" => {
            eprintln!("fatal: the configuration file is missing");
            std::process::exit(3);
        }
        // Never connects; prints noise instead.
        "garbage" => {
            println!("\x01\x02 not a goproc plugin");
            eprintln!("listening on port 8080 (not really)");
            tokio::time::sleep(Duration::from_secs(3600)).await;
        }
        "wrong-token" => {
            let mut s = connect().await;
            let mut hello = hello();
            hello.token = "not-the-token".into();
            write_frame(&mut s, Kind::Hello, &hello)
                .await
                .expect("hello");
            linger(s).await;
        }
        "wrong-fingerprint" => {
            let mut s = connect().await;
            let mut hello = hello();
            hello.contracts[0].fingerprint = "0123456789abcdef".into();
            write_frame(&mut s, Kind::Hello, &hello)
                .await
                .expect("hello");
            linger(s).await;
        }
        // Protocol 4 hellos whose schemas are wrong: one short (none for
        // its one contract), or one that does not read.
        "schemas-missing" | "schema-unreadable" => {
            let mut s = connect().await;
            let mut hello = Hello {
                protocol_max: 4,
                ..hello()
            };
            if role == "schema-unreadable" {
                hello.schemas = vec!["contract Calculator {\n    fn add(".into()];
            }
            write_frame(&mut s, Kind::Hello, &hello)
                .await
                .expect("hello");
            linger(s).await;
        }
        // A protocol 4 hello that states no schema (an empty text): the
        // host compares fingerprints only, and serves it.
        "schema-empty" => {
            answer_first_request_as(
                Hello {
                    protocol_max: 4,
                    schemas: vec![String::new()],
                    ..hello()
                },
                |id| {
                    let mut f = FrameBuf::new(Kind::Response, id);
                    codec::encode_into(&3i64, f.body_mut()).expect("an answer");
                    f.finish(u32::MAX).expect("small")
                },
            )
            .await
        }
        // Answers the first request with a frame header claiming 2 GiB.
        "huge-frame" => {
            answer_first_request(|_id| {
                let mut f = Vec::new();
                f.extend_from_slice(&(2u32 << 30).to_le_bytes());
                f.push(Kind::Response as u8);
                f.extend_from_slice(&1u64.to_le_bytes());
                f
            })
            .await
        }
        // Answers with the right value followed by junk.
        "trailing-bytes" => {
            answer_first_request(|id| {
                let mut f = FrameBuf::new(Kind::Response, id);
                codec::encode_into(&3i64, f.body_mut()).expect("encode");
                f.body_mut().extend_from_slice(&[0xde, 0xad]);
                f.finish(u32::MAX).expect("small")
            })
            .await
        }
        // Answers a `String` call with a length prefix claiming 64 GiB.
        "string-bomb" => {
            answer_first_request(|id| {
                let mut f = FrameBuf::new(Kind::Response, id);
                f.body_mut().push(0xfd);
                f.body_mut().extend_from_slice(&(64u64 << 30).to_le_bytes());
                f.finish(u32::MAX).expect("small")
            })
            .await
        }
        // Answers with a frame kind no version defines.
        "unknown-kind" => {
            answer_first_request(|id| {
                let mut f = FrameBuf::new(Kind::Response, id)
                    .finish(u32::MAX)
                    .expect("small");
                f[4] = 0x7f;
                f
            })
            .await
        }
        // Takes calls and never answers (killed by the test).
        "silent" => {
            let (s, _) = handshake().await;
            linger(s).await;
        }
        // Dies on the first call, with a last word on stderr.
        "die-on-call" => {
            let (mut s, _) = handshake().await;
            let _ = read_frame(&mut s, u32::MAX).await;
            eprintln!("about to crash: the handler hit a bug");
            std::process::exit(7);
        }
        // Answers `echo_shape` with a value nested 20,000 deep (a 40 KB frame).
        "deep-answer" => {
            let (mut s, _) = handshake_as(everything_hello()).await;
            while let Ok((header, _)) = read_frame(&mut s, u32::MAX).await {
                let mut f = FrameBuf::new(Kind::Response, header.id);
                f.body_mut().extend(std::iter::repeat_n(4u8, 19_999)); // Labeled(
                f.body_mut().push(0); // Empty
                f.body_mut().extend(std::iter::repeat_n(0u8, 19_999)); // , "")
                s.write_all(&f.finish(u32::MAX).expect("40 KB"))
                    .await
                    .expect("answer");
            }
        }
        // Answers every call three times: 42, then 43, then an error.
        "answers-thrice" => {
            let (mut s, _) = handshake().await;
            while let Ok((header, _)) = read_frame(&mut s, u32::MAX).await {
                if header.kind != Kind::Request {
                    continue;
                }
                let mut out = Vec::new();
                for answer in [42i64, 43] {
                    let mut f = FrameBuf::new(Kind::Response, header.id);
                    codec::encode_into(&answer, f.body_mut()).expect("encode");
                    out.extend(f.finish(u32::MAX).expect("small"));
                }
                let mut f = FrameBuf::new(Kind::Error, header.id);
                codec::encode_into(
                    &ErrorBody {
                        code: 4,
                        message: "a late error".into(),
                        detail: String::new(),
                    },
                    f.body_mut(),
                )
                .expect("encode");
                out.extend(f.finish(u32::MAX).expect("small"));
                s.write_all(&out).await.expect("answers");
            }
        }
        // Never reads after the handshake, and floods the host with
        // requests, pings or answers to calls it never made.
        "flood-requests" | "flood-pings" | "flood-answers" => {
            let (mut s, _) = handshake().await;
            let args = codec::encode(&(1i64, 2i64)).expect("args");
            let mut burst = Vec::new();
            for id in 1..=1_000u64 {
                let frame = match role {
                    "flood-requests" => {
                        let mut f = FrameBuf::new(Kind::Request, id);
                        codec::encode_into(
                            &RequestHead {
                                contract: 0,
                                method: 0,
                                deadline_ms: 0,
                            },
                            f.body_mut(),
                        )
                        .expect("head");
                        f.body_mut().extend_from_slice(&args);
                        f
                    }
                    "flood-pings" => FrameBuf::new(Kind::Ping, id),
                    _ => {
                        let mut f = FrameBuf::new(Kind::Response, u64::MAX - id);
                        f.body_mut().extend_from_slice(&args);
                        f
                    }
                };
                burst.extend(frame.finish(u32::MAX).expect("small"));
            }
            while s.write_all(&burst).await.is_ok() {}
            tokio::time::sleep(Duration::from_secs(3600)).await;
        }
        // Serves `Streams` by hand, and answers a stream call with 100,000
        // items of 1 KiB at once, ignoring the credit the host granted.
        "stream-overdraw" => {
            let contract = <crate::streams::StreamsClient as Client>::CONTRACT;
            let (mut s, _) = handshake_as(Hello {
                protocol_max: 3,
                contracts: vec![ContractRef {
                    name: contract.name.into(),
                    fingerprint: contract.fingerprint.into(),
                }],
                ..hello()
            })
            .await;
            let (header, _) = read_frame(&mut s, u32::MAX).await.expect("request");
            let mut item = FrameBuf::new(Kind::StreamItem, header.id);
            codec::encode_into(&vec![7u8; 1024], item.body_mut()).expect("an item");
            let item = item.finish(u32::MAX).expect("small");
            let mut burst = Vec::new();
            for _ in 0..1_000 {
                burst.extend_from_slice(&item);
            }
            for _ in 0..100 {
                if s.write_all(&burst).await.is_err() {
                    break;
                }
            }
            linger(s).await;
        }
        // Publishes 2,000 `Telemetry.alarm` events of 1 MiB each, as fast
        // as the host reads them, then waits.
        "event-flood" => {
            let (mut s, _) = handshake_as(Hello {
                protocol_max: 3,
                ..hello()
            })
            .await;
            let head = goproc::wire::messages::Publish {
                channel: <crate::streams::TelemetryEvents as goproc::EventContract>::CHANNEL,
                event: 1,
                topic: "alarms/flood".into(),
            };
            let mut frame = FrameBuf::new(Kind::Publish, 0);
            codec::encode_into(&head, frame.body_mut()).expect("head");
            codec::encode_into(&"x".repeat(1 << 20), frame.body_mut()).expect("payload");
            let frame = frame.finish(u32::MAX).expect("2 MiB at most");
            for _ in 0..2_000 {
                if s.write_all(&frame).await.is_err() {
                    break;
                }
            }
            linger(s).await;
        }
        // Says hello, then never reads a byte.
        "never-reads" => {
            let (_s, _) = handshake().await;
            tokio::time::sleep(Duration::from_secs(3600)).await;
        }
        // The calculator, after a pause before it connects (the socket
        // race tests let an intruder connect first).
        "slow-calculator" => {
            tokio::time::sleep(Duration::from_millis(400)).await;
            if let Err(e) = crate::calculator_plugin::run().await {
                eprintln!("test-plugin slow-calculator: {e}");
                std::process::exit(1);
            }
        }
        // On the first call, closes its socket and takes most of a second to
        // write its dying words to stderr, as a long traceback does.
        "dies-slowly" => {
            let (mut s, _) = handshake().await;
            let _ = read_frame(&mut s, u32::MAX).await;
            drop(s);
            for i in 0..40 {
                eprintln!("  File \"plugin.py\", line {i}, in recurse");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            eprintln!("RecursionError: maximum recursion depth exceeded");
            std::process::exit(1);
        }
        // Says something on both streams, then serves the calculator.
        "chatty" => {
            eprintln!("chatty: to stderr");
            println!("chatty: to stdout");
            if let Err(e) = crate::calculator_plugin::run().await {
                eprintln!("test-plugin chatty: {e}");
                std::process::exit(1);
            }
        }
        // `intruder MODE MARK`: finds the plugin whose environment holds
        // `MARK`, reads its socket address and token from
        // /proc/<pid>/environ, connects first, and prints what happened.
        "intruder" => crate::intruder::run().await,
        other => {
            eprintln!("test-plugin: unknown role `{other}`");
            std::process::exit(64);
        }
    }
}

fn everything_hello() -> Hello {
    let contract = <crate::everything::EverythingClient as Client>::CONTRACT;
    Hello {
        contracts: vec![ContractRef {
            name: contract.name.into(),
            fingerprint: contract.fingerprint.into(),
        }],
        ..hello()
    }
}

fn hello() -> Hello {
    let contract = <CalculatorClient as Client>::CONTRACT;
    Hello {
        protocol_min: 2,
        protocol_max: 2,
        token: std::env::var("GOPROC_TOKEN").expect("GOPROC_TOKEN"),
        language: "rust".into(),
        runtime: "misbehaving test plugin".into(),
        pid: std::process::id(),
        contracts: vec![ContractRef {
            name: contract.name.into(),
            fingerprint: contract.fingerprint.into(),
        }],
        requires: Vec::new(),
        schemas: Vec::new(),
    }
}

async fn connect() -> UnixStream {
    let addr = std::env::var("GOPROC_ADDR").expect("GOPROC_ADDR");
    UnixStream::connect(addr).await.expect("connect")
}

async fn handshake() -> (UnixStream, ()) {
    handshake_as(hello()).await
}

async fn handshake_as(hello: Hello) -> (UnixStream, ()) {
    let mut s = connect().await;
    write_frame(&mut s, Kind::Hello, &hello)
        .await
        .expect("hello");
    let (header, _) = read_frame(&mut s, 1 << 16).await.expect("welcome");
    assert_eq!(header.kind, Kind::Welcome);
    (s, ())
}

async fn answer_first_request(answer: impl FnOnce(u64) -> Vec<u8>) {
    answer_first_request_as(hello(), answer).await
}

async fn answer_first_request_as(hello: Hello, answer: impl FnOnce(u64) -> Vec<u8>) {
    let (mut s, _) = handshake_as(hello).await;
    let (header, _) = read_frame(&mut s, u32::MAX).await.expect("request");
    s.write_all(&answer(header.id)).await.expect("answer");
    linger(s).await;
}

/// Keeps the connection open until the host closes it.
async fn linger(mut s: UnixStream) {
    while read_frame(&mut s, u32::MAX).await.is_ok() {}
}
