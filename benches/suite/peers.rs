//! The baselines: a raw Unix-socket echo (Rust, Python, Node) and tarpc,
//! each in its own process, and the clients the benchmarks drive them with.
//!
//! The benchmark binary plays every Rust peer itself: started with
//! `GOPROC_BENCH_ROLE` set, it serves that role instead of benchmarking.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use futures::StreamExt;
use tarpc::server::Channel;
use tarpc::tokio_serde::formats::Bincode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{UnixListener, UnixStream};

/// The environment variable that selects a child role.
pub const ROLE: &str = "GOPROC_BENCH_ROLE";
/// The socket path a raw or tarpc child uses.
pub const ADDR: &str = "GOPROC_BENCH_ADDR";

/// The tarpc service: the same echo of bytes as the goproc contract.
#[tarpc::service]
pub trait TarpcEcho {
    /// Returns `data` unchanged.
    async fn echo(data: serde_bytes::ByteBuf) -> serde_bytes::ByteBuf;
}

#[derive(Clone)]
struct TarpcServer;

impl TarpcEcho for TarpcServer {
    async fn echo(
        self,
        _: tarpc::context::Context,
        data: serde_bytes::ByteBuf,
    ) -> serde_bytes::ByteBuf {
        data
    }
}

/// Runs a child role; returns `false` when `role` is not one.
pub fn run_role(role: &str) -> bool {
    match role {
        "raw-echo" => {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("raw echo runtime");
            rt.block_on(raw_echo_serve());
        }
        "tarpc" => {
            let rt = tokio::runtime::Runtime::new().expect("tarpc server runtime");
            rt.block_on(tarpc_serve());
        }
        _ => return false,
    }
    true
}

fn addr() -> String {
    std::env::var(ADDR).expect("GOPROC_BENCH_ADDR names the socket")
}

/// Writes back every byte as it arrives: the floor for any protocol.
async fn raw_echo_serve() {
    let mut stream = UnixStream::connect(addr())
        .await
        .expect("connecting to the bench host");
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        if stream.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}

async fn tarpc_serve() {
    let mut listener = tarpc::serde_transport::unix::listen(addr(), Bincode::default)
        .await
        .expect("tarpc listen");
    listener.config_mut().max_frame_length(64 * 1024 * 1024);
    let Some(Ok(transport)) = listener.next().await else {
        return;
    };
    tarpc::server::BaseChannel::with_defaults(transport)
        .execute(TarpcServer.serve())
        .for_each(|answer| async {
            tokio::spawn(answer);
        })
        .await;
}

/// The CPU every child is started on (`taskset -c`), or `usize::MAX`.
static CHILD_CPU: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(usize::MAX);

/// Starts every later child on `cpu` (`None`: wherever the scheduler likes).
pub fn set_child_cpu(cpu: Option<usize>) {
    CHILD_CPU.store(
        cpu.unwrap_or(usize::MAX),
        std::sync::atomic::Ordering::Relaxed,
    );
}

/// The program and leading arguments that start `program` on the child CPU.
pub fn child_program(
    program: impl AsRef<std::ffi::OsStr>,
) -> (std::ffi::OsString, Vec<std::ffi::OsString>) {
    let program = program.as_ref().to_owned();
    match CHILD_CPU.load(std::sync::atomic::Ordering::Relaxed) {
        usize::MAX => (program, Vec::new()),
        cpu => (
            "taskset".into(),
            vec!["-c".into(), cpu.to_string().into(), program],
        ),
    }
}

/// A [`Command`] for `program`, started on the child CPU.
pub fn command(program: impl AsRef<std::ffi::OsStr>) -> Command {
    let (program, args) = child_program(program);
    let mut c = Command::new(program);
    c.args(args);
    c
}

/// A plugin builder for `program`, started on the child CPU.
pub fn plugin_builder(program: impl AsRef<std::ffi::OsStr>) -> goproc::PluginBuilder {
    let (program, args) = child_program(program);
    goproc::Plugin::builder(program).args(args)
}

/// A child process killed when dropped.
pub struct ChildGuard(pub Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A fresh socket path in a private folder.
pub fn socket_path(dir: &tempfile::TempDir, name: &str) -> PathBuf {
    dir.path().join(name)
}

/// Starts `command` (which connects to `path`) and accepts its connection.
pub async fn raw_peer(mut command: Command, path: &Path) -> (RawClient, ChildGuard) {
    let _ = std::fs::remove_file(path);
    let listener = UnixListener::bind(path).expect("binding the raw echo socket");
    let child = command
        .stdin(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("starting {command:?}: {e}"));
    let guard = ChildGuard(child);
    let (stream, _) = tokio::time::timeout(Duration::from_secs(20), listener.accept())
        .await
        .expect("the raw echo peer did not connect within 20 s")
        .expect("accepting the raw echo peer");
    (RawClient::new(stream), guard)
}

/// The Rust raw echo: this binary in role `raw-echo`.
pub fn raw_rust_command(path: &Path) -> Command {
    let mut c = command(std::env::current_exe().expect("current exe"));
    c.env(ROLE, "raw-echo").env(ADDR, path);
    c
}

/// Drives a raw echo with length-prefixed frames (`u32 LE length | payload`).
pub struct RawClient {
    stream: UnixStream,
    out: Vec<u8>,
    back: Vec<u8>,
}

impl RawClient {
    fn new(stream: UnixStream) -> Self {
        RawClient {
            stream,
            out: Vec::new(),
            back: Vec::new(),
        }
    }

    /// Prepares `count` frames of `payload` bytes each, written at once.
    pub fn prepare(&mut self, count: usize, payload: usize) {
        self.out.clear();
        for i in 0..count {
            self.out.extend_from_slice(&(payload as u32).to_le_bytes());
            self.out.extend((0..payload).map(|b| (b + i) as u8));
        }
        self.back = vec![0u8; self.out.len()];
    }

    /// Writes the prepared frames and reads them back (concurrently, so a
    /// large frame cannot fill both socket buffers).
    pub async fn round_trip(&mut self) {
        let (mut r, mut w) = self.stream.split();
        let (a, b) = tokio::join!(w.write_all(&self.out), r.read_exact(&mut self.back));
        a.expect("raw write");
        b.expect("raw read");
        debug_assert_eq!(self.out, self.back);
    }

    /// One small frame written, then read back: the sequential ping-pong.
    pub async fn ping_pong(&mut self) {
        self.stream.write_all(&self.out).await.expect("raw write");
        self.stream
            .read_exact(&mut self.back)
            .await
            .expect("raw read");
    }
}

/// Starts the tarpc server child and connects a client to it.
pub async fn tarpc_peer(path: &Path) -> (TarpcEchoClient, ChildGuard) {
    let _ = std::fs::remove_file(path);
    let child = command(std::env::current_exe().expect("current exe"))
        .env(ROLE, "tarpc")
        .env(ADDR, path)
        .stdin(Stdio::null())
        .spawn()
        .expect("starting the tarpc server");
    let guard = ChildGuard(child);
    let mut tries = 0;
    let transport = loop {
        match tarpc::serde_transport::unix::connect(path, Bincode::default).await {
            Ok(t) => break t,
            Err(e) if tries < 400 => {
                tries += 1;
                let _ = e;
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            Err(e) => panic!("connecting to the tarpc server: {e}"),
        }
    };
    let client = TarpcEchoClient::new(tarpc::client::Config::default(), transport).spawn();
    (client, guard)
}

/// A tarpc context without the default 10 s deadline bookkeeping surprises.
pub fn tarpc_context() -> tarpc::context::Context {
    let mut ctx = tarpc::context::current();
    ctx.deadline = std::time::Instant::now() + Duration::from_secs(60);
    ctx
}
