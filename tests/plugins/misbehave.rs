//! Plugins that break the rules on purpose, to test the host. Most speak
//! the wire by hand, through `goproc::wire`, so they can say what a real
//! runtime never would.

use std::time::Duration;

use goproc::wire::codec;
use goproc::wire::frame::{read_frame, write_frame, FrameBuf};
use goproc::wire::messages::{ContractRef, Hello};
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
        other => {
            eprintln!("test-plugin: unknown role `{other}`");
            std::process::exit(64);
        }
    }
}

fn hello() -> Hello {
    let contract = <CalculatorClient as Client>::CONTRACT;
    Hello {
        protocol_min: 1,
        protocol_max: 1,
        token: std::env::var("GOPROC_TOKEN").expect("GOPROC_TOKEN"),
        language: "rust".into(),
        runtime: "misbehaving test plugin".into(),
        pid: std::process::id(),
        contracts: vec![ContractRef {
            name: contract.name.into(),
            fingerprint: contract.fingerprint.into(),
        }],
    }
}

async fn connect() -> UnixStream {
    let addr = std::env::var("GOPROC_ADDR").expect("GOPROC_ADDR");
    UnixStream::connect(addr).await.expect("connect")
}

async fn handshake() -> (UnixStream, ()) {
    let mut s = connect().await;
    write_frame(&mut s, Kind::Hello, &hello())
        .await
        .expect("hello");
    let (header, _) = read_frame(&mut s, 1 << 16).await.expect("welcome");
    assert_eq!(header.kind, Kind::Welcome);
    (s, ())
}

async fn answer_first_request(answer: impl FnOnce(u64) -> Vec<u8>) {
    let (mut s, _) = handshake().await;
    let (header, _) = read_frame(&mut s, u32::MAX).await.expect("request");
    s.write_all(&answer(header.id)).await.expect("answer");
    linger(s).await;
}

/// Keeps the connection open until the host closes it.
async fn linger(mut s: UnixStream) {
    while read_frame(&mut s, u32::MAX).await.is_ok() {}
}
