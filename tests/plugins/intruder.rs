//! `test-plugin intruder MODE MARK`: another process of the same user that
//! races a real plugin to its host's socket. It watches `/proc` for the
//! plugin process whose environment holds `MARK` (the test sets it on the
//! plugin's builder), reads `GOPROC_ADDR` and `GOPROC_TOKEN` from its
//! `/proc/<pid>/environ` as any same-user process can, connects before the
//! plugin does, and then, by MODE:
//!
//! - `silent`: says nothing;
//! - `garbage`: sends bytes that are no frame;
//! - `wrong-token`: says hello with a made-up token;
//! - `stolen-token`: says hello with the plugin's own token.
//!
//! It prints one line, `connected` or `no plugin found`, then for the hello
//! modes what the host answered (`welcomed`, `refused: REASON`, `closed`),
//! and stays until it is killed.

use std::collections::HashMap;
use std::io::Write;
use std::time::{Duration, Instant};

use goproc::wire::messages::{Hello, Refuse};
use goproc::wire::stream::{read_frame, write_frame};
use goproc::wire::{codec, Kind};
use goproc::Client;
use tokio::io::AsyncWriteExt;
use tokio::net::UnixStream;

use crate::calculator_contract::CalculatorClient;

pub async fn run() {
    let mut args = std::env::args().skip(2);
    let mode = args.next().unwrap_or_default();
    let mark = args.next().unwrap_or_default();
    let Some(env) = find_plugin(&mark, Duration::from_secs(10)) else {
        say("no plugin found");
        return;
    };
    let address = env.get("GOPROC_ADDR").cloned().unwrap_or_default();
    let stolen = env.get("GOPROC_TOKEN").cloned().unwrap_or_default();
    let Ok(mut stream) = UnixStream::connect(&address).await else {
        say("could not connect");
        return;
    };
    say("connected");
    match mode.as_str() {
        "silent" => {}
        "garbage" => {
            let _ = stream.write_all(b"GET / HTTP/1.1\r\n\r\n").await;
        }
        "wrong-token" | "stolen-token" => {
            let contract = <CalculatorClient as Client>::CONTRACT;
            let hello = Hello {
                protocol_min: 2,
                protocol_max: 2,
                token: if mode == "stolen-token" {
                    stolen
                } else {
                    "0".repeat(64)
                },
                language: "rust".into(),
                runtime: "an intruder".into(),
                pid: std::process::id(),
                contracts: vec![goproc::wire::messages::ContractRef {
                    name: contract.name.into(),
                    fingerprint: contract.fingerprint.into(),
                }],
                requires: Vec::new(),
                schemas: Vec::new(),
            };
            let _ = write_frame(&mut stream, Kind::Hello, &hello).await;
            match read_frame(&mut stream, 1 << 16).await {
                Ok((header, _)) if header.kind == Kind::Welcome => say("welcomed"),
                Ok((header, body)) if header.kind == Kind::Refuse => {
                    let reason = codec::decode::<Refuse>(&body)
                        .map(|r| r.reason)
                        .unwrap_or_default();
                    say(&format!("refused: {reason}"));
                }
                Ok((header, _)) => say(&format!("answered {:?}", header.kind)),
                Err(_) => say("closed"),
            }
        }
        other => say(&format!("unknown mode {other}")),
    }
    tokio::time::sleep(Duration::from_secs(3600)).await;
    drop(stream);
}

fn say(line: &str) {
    println!("{line}");
    let _ = std::io::stdout().flush();
}

/// The environment of the first process (not this one) whose environment
/// holds `mark` and a goproc socket address.
fn find_plugin(mark: &str, within: Duration) -> Option<HashMap<String, String>> {
    let until = Instant::now() + within;
    let me = std::process::id().to_string();
    while Instant::now() < until {
        for entry in std::fs::read_dir("/proc").ok()?.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name == me || !name.bytes().all(|b| b.is_ascii_digit()) {
                continue;
            }
            let Ok(raw) = std::fs::read(entry.path().join("environ")) else {
                continue;
            };
            let env: HashMap<String, String> = raw
                .split(|b| *b == 0)
                .filter_map(|kv| {
                    let kv = String::from_utf8_lossy(kv);
                    let (k, v) = kv.split_once('=')?;
                    Some((k.to_string(), v.to_string()))
                })
                .collect();
            if env.contains_key(mark) && env.contains_key("GOPROC_ADDR") {
                return Some(env);
            }
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    None
}
