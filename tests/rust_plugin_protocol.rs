//! The plugin side under a host that breaks the rules: a raw host speaks
//! the wire by hand to a real Rust plugin. The plugin answers what it can
//! with a clear ERROR frame and keeps serving; a frame that breaks the
//! framing rules ends it with a clear message, never a panic.

use std::process::Stdio;
use std::time::Duration;

use goproc::wire::codec;
use goproc::wire::frame::{read_frame, write_frame, FrameBuf, FrameHeader};
use goproc::wire::messages::{ErrorBody, Hello, RequestHead, Welcome};
use goproc::wire::Kind;
use tokio::io::AsyncWriteExt;
use tokio::net::{UnixListener, UnixStream};
use tokio::process::{Child, Command};

struct RawHost {
    stream: UnixStream,
    child: Child,
    hello: Hello,
    _dir: tempfile::TempDir,
}

async fn raw_host(role: &str) -> RawHost {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("s");
    let listener = UnixListener::bind(&path).expect("bind");
    let child = Command::new(env!("CARGO_BIN_EXE_test-plugin"))
        .arg(role)
        .env("GOPROC_ADDR", &path)
        .env("GOPROC_TOKEN", "raw-token")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn");
    let (mut stream, _) = tokio::time::timeout(Duration::from_secs(20), listener.accept())
        .await
        .expect("the plugin connects")
        .expect("accept");
    let (header, body) = read_frame(&mut stream, 1 << 16).await.expect("hello");
    assert_eq!(header.kind, Kind::Hello);
    let hello: Hello = codec::decode(&body).expect("hello decodes");
    assert_eq!(hello.token, "raw-token");
    write_frame(
        &mut stream,
        Kind::Welcome,
        &Welcome {
            protocol: 1,
            max_frame: 1 << 20,
            host_pid: std::process::id(),
        },
    )
    .await
    .expect("welcome");
    RawHost {
        stream,
        child,
        hello,
        _dir: dir,
    }
}

impl RawHost {
    async fn request(&mut self, id: u64, method: u32, args: &[u8]) -> (FrameHeader, Vec<u8>) {
        self.request_to(id, 0, method, args).await
    }

    async fn request_to(
        &mut self,
        id: u64,
        service: u32,
        method: u32,
        args: &[u8],
    ) -> (FrameHeader, Vec<u8>) {
        let mut f = FrameBuf::new(Kind::Request, id);
        codec::encode_into(
            &RequestHead {
                service,
                method,
                deadline_ms: 0,
            },
            f.body_mut(),
        )
        .expect("head");
        f.body_mut().extend_from_slice(args);
        self.stream
            .write_all(&f.finish(u32::MAX).expect("small"))
            .await
            .expect("write");
        self.answer().await
    }

    async fn answer(&mut self) -> (FrameHeader, Vec<u8>) {
        tokio::time::timeout(
            Duration::from_secs(10),
            read_frame(&mut self.stream, 1 << 20),
        )
        .await
        .expect("the plugin answers")
        .expect("a well-formed answer")
    }

    async fn expect_error(&mut self, id: u64, method: u32, args: &[u8], code: u32) -> String {
        let (header, body) = self.request(id, method, args).await;
        assert_eq!((header.kind, header.id), (Kind::Error, id));
        let err: ErrorBody = codec::decode(&body).expect("error body decodes");
        assert_eq!(err.code, code, "{}", err.message);
        err.message
    }

    /// `add(1, 2)` still answers 3.
    async fn still_serves(&mut self, id: u64) {
        let args = codec::encode(&(1i64, 2i64)).expect("args");
        let (header, body) = self.request(id, 0, &args).await;
        assert_eq!((header.kind, header.id), (Kind::Response, id));
        assert_eq!(codec::decode::<i64>(&body).expect("i64"), 3);
    }
}

#[tokio::test]
async fn an_unknown_method_is_answered_with_error_code_2_naming_the_contract() {
    let mut host = raw_host("calculator").await;
    assert_eq!(host.hello.language, "rust");
    let message = host.expect_error(1, 99, &[], 2).await;
    assert!(
        message.contains("contract Calculator has 4 method(s); there is no method number 99"),
        "{message}"
    );
    host.still_serves(2).await;
}

#[tokio::test]
async fn an_unknown_contract_is_answered_with_error_code_1() {
    let mut host = raw_host("calculator").await;
    let (header, body) = host.request_to(1, 5, 0, &[]).await;
    assert_eq!(header.kind, Kind::Error);
    let err: ErrorBody = codec::decode(&body).expect("error body");
    assert_eq!(err.code, 1, "{}", err.message);
    host.still_serves(2).await;
}

#[tokio::test]
async fn arguments_that_do_not_decode_are_a_bad_request() {
    let mut host = raw_host("calculator").await;
    // add(a: i64, b: i64) with one byte: the second argument is missing.
    let message = host.expect_error(1, 0, &[0x02], 3).await;
    assert!(
        message.contains("the arguments of Calculator.add do not decode"),
        "{message}"
    );
    host.still_serves(2).await;
}

#[tokio::test]
async fn trailing_bytes_after_the_arguments_are_a_bad_request() {
    let mut host = raw_host("calculator").await;
    let mut args = codec::encode(&(1i64, 2i64)).expect("args");
    args.push(0);
    let message = host.expect_error(1, 0, &args, 3).await;
    assert!(message.contains("trailing"), "{message}");
    host.still_serves(2).await;
}

#[tokio::test]
async fn a_string_claiming_gigabytes_is_refused_without_allocating() {
    let mut host = raw_host("calculator").await;
    // greet(name: String) whose length prefix claims 64 GiB.
    let mut args = vec![0xfd];
    args.extend_from_slice(&(64u64 << 30).to_le_bytes());
    let message = host.expect_error(1, 3, &args, 3).await;
    assert!(message.contains("Calculator.greet"), "{message}");
    host.still_serves(2).await;
}

#[tokio::test]
async fn pings_are_answered_with_pongs_of_the_same_id() {
    let mut host = raw_host("calculator").await;
    let ping = FrameBuf::new(Kind::Ping, 77)
        .finish(u32::MAX)
        .expect("small");
    host.stream.write_all(&ping).await.expect("write");
    let (header, body) = host.answer().await;
    assert_eq!((header.kind, header.id, body.len()), (Kind::Pong, 77, 0));
}

#[tokio::test]
async fn a_frame_over_the_maximum_ends_the_plugin_with_a_clear_message() {
    let mut host = raw_host("calculator").await;
    // The welcome set the maximum to 1 MiB; claim 2 MiB.
    let mut frame = Vec::new();
    frame.extend_from_slice(&(2u32 << 20).to_le_bytes());
    frame.push(Kind::Request as u8);
    frame.extend_from_slice(&1u64.to_le_bytes());
    host.stream.write_all(&frame).await.expect("write");
    let out = tokio::time::timeout(Duration::from_secs(10), host.child.wait_with_output())
        .await
        .expect("the plugin exits")
        .expect("output");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("exceeds the maximum frame size 1048576"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[tokio::test]
async fn the_plugin_exits_cleanly_when_the_host_closes_the_connection() {
    let host = raw_host("calculator").await;
    let RawHost { stream, child, .. } = host;
    drop(stream);
    let out = tokio::time::timeout(Duration::from_secs(10), child.wait_with_output())
        .await
        .expect("the plugin exits")
        .expect("output");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
