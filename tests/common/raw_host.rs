//! A host that speaks the wire by hand (`goproc::wire`) to a real plugin
//! process, so the protocol tests can send what a real host never would.
//! It starts the plugin itself, with no parent-death signal: whatever the
//! plugin does is its own runtime's doing.

use std::process::Stdio;
use std::time::Duration;

use goproc::wire::codec;
use goproc::wire::frame::{FrameBuf, FrameHeader};
use goproc::wire::messages::{ErrorBody, Hello, RequestHead, Welcome};
use goproc::wire::stream::{read_frame, write_frame};
use goproc::wire::Kind;
use tokio::io::AsyncWriteExt;
use tokio::net::{UnixListener, UnixStream};
use tokio::process::{Child, Command};

pub use super::memory::Memory;

/// The maximum frame size the raw host's welcome names.
pub const MAX_FRAME: u32 = 1 << 20;
/// The token the raw host gives every plugin.
pub const TOKEN: &str = "raw-token";

pub struct RawHost {
    pub stream: UnixStream,
    pub child: Child,
    pub hello: Hello,
    _dir: tempfile::TempDir,
}

impl RawHost {
    /// Starts `plugin` with a socket address and [`TOKEN`] in its
    /// environment, accepts its connection and reads its hello, which the
    /// caller answers.
    pub async fn connect(mut plugin: Command) -> RawHost {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("s");
        let listener = UnixListener::bind(&path).expect("bind");
        let child = plugin
            .env("GOPROC_ADDR", &path)
            .env("GOPROC_TOKEN", TOKEN)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("spawn the plugin");
        let (mut stream, _) = tokio::time::timeout(Duration::from_secs(30), listener.accept())
            .await
            .expect("the plugin connects")
            .expect("accept");
        let (header, body) = read_frame(&mut stream, 1 << 16).await.expect("hello");
        assert_eq!((header.kind, header.id), (Kind::Hello, 0));
        let hello = Hello::decode(&body).expect("hello decodes");
        RawHost {
            stream,
            child,
            hello,
            _dir: dir,
        }
    }

    /// [`RawHost::connect`], then a welcome naming [`MAX_FRAME`].
    pub async fn start(plugin: Command) -> RawHost {
        Self::connect(plugin).await.welcome().await
    }

    /// Answers the hello with a welcome naming [`MAX_FRAME`].
    pub async fn welcome(self) -> RawHost {
        self.welcome_with(MAX_FRAME).await
    }

    /// Answers the hello with a welcome naming `max_frame`.
    pub async fn welcome_with(self, max_frame: u32) -> RawHost {
        self.welcome_as(2, max_frame).await
    }

    /// Answers the hello with a welcome choosing protocol `protocol`.
    pub async fn welcome_as(mut self, protocol: u32, max_frame: u32) -> RawHost {
        write_frame(
            &mut self.stream,
            Kind::Welcome,
            &Welcome {
                protocol,
                max_frame,
                host_pid: std::process::id(),
                contracts: Vec::new(),
            },
        )
        .await
        .expect("welcome");
        self
    }

    pub async fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).await.expect("write");
    }

    /// Calls method `method` of contract 0 and reads the next frame.
    pub async fn request(&mut self, id: u64, method: u32, args: &[u8]) -> (FrameHeader, Vec<u8>) {
        self.request_to(id, 0, method, args).await
    }

    pub async fn request_to(
        &mut self,
        id: u64,
        contract: u32,
        method: u32,
        args: &[u8],
    ) -> (FrameHeader, Vec<u8>) {
        self.send(&request_frame(id, contract, method, args)).await;
        self.answer().await
    }

    /// The next frame, within ten seconds.
    pub async fn answer(&mut self) -> (FrameHeader, Vec<u8>) {
        self.answer_up_to(MAX_FRAME).await
    }

    /// The next frame, at most `max_frame` long, within ten seconds.
    pub async fn answer_up_to(&mut self, max_frame: u32) -> (FrameHeader, Vec<u8>) {
        tokio::time::timeout(
            Duration::from_secs(10),
            read_frame(&mut self.stream, max_frame),
        )
        .await
        .expect("the plugin answers")
        .expect("a well-formed answer")
    }

    /// The plugin's resident memory now and at its peak, in bytes (Linux).
    pub fn memory(&self) -> Memory {
        let pid = self.child.id().expect("the plugin runs");
        Memory::of(pid)
    }

    /// Checks an ERROR frame for call `id` with `code`; returns its message.
    pub fn error_body(header: FrameHeader, body: &[u8], id: u64, code: u32) -> String {
        assert_eq!((header.kind, header.id), (Kind::Error, id));
        let err: ErrorBody = codec::decode(body).expect("error body decodes");
        assert_eq!(err.code, code, "{}", err.message);
        err.message
    }

    pub async fn expect_error(&mut self, id: u64, method: u32, args: &[u8], code: u32) -> String {
        let (header, body) = self.request(id, method, args).await;
        Self::error_body(header, &body, id, code)
    }

    /// A calculator's `add(1, 2)` still answers 3.
    pub async fn still_serves(&mut self, id: u64) {
        let args = codec::encode(&(1i64, 2i64)).expect("args");
        let (header, body) = self.request(id, 0, &args).await;
        assert_eq!((header.kind, header.id), (Kind::Response, id));
        assert_eq!(codec::decode::<i64>(&body).expect("i64"), 3);
    }

    /// Waits (ten seconds at most) for the plugin to exit with the
    /// connection still open; its status code and stderr.
    pub async fn exit(self) -> (Option<i32>, String) {
        let RawHost { stream, child, .. } = self;
        let exited = wait(child).await;
        drop(stream);
        exited
    }

    /// Closes the connection, then waits (ten seconds at most) for the
    /// plugin to exit; its status code and stderr.
    pub async fn hang_up(self) -> (Option<i32>, String) {
        let RawHost { stream, child, .. } = self;
        drop(stream);
        wait(child).await
    }
}

async fn wait(child: Child) -> (Option<i32>, String) {
    let out = tokio::time::timeout(Duration::from_secs(10), child.wait_with_output())
        .await
        .expect("the plugin exits")
        .expect("output");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A request frame without a deadline: the head, then `args` as they are.
pub fn request_frame(id: u64, contract: u32, method: u32, args: &[u8]) -> Vec<u8> {
    request_with_deadline(id, contract, method, 0, args)
}

pub fn request_with_deadline(
    id: u64,
    contract: u32,
    method: u32,
    deadline_ms: u64,
    args: &[u8],
) -> Vec<u8> {
    let mut f = FrameBuf::new(Kind::Request, id);
    codec::encode_into(
        &RequestHead {
            contract,
            method,
            deadline_ms,
        },
        f.body_mut(),
    )
    .expect("head");
    f.body_mut().extend_from_slice(args);
    f.finish(u32::MAX).expect("small")
}

/// A frame with an empty body.
pub fn control_frame(kind: Kind, id: u64) -> Vec<u8> {
    FrameBuf::new(kind, id).finish(u32::MAX).expect("small")
}
