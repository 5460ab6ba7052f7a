//! The baselines: a raw Unix-socket server (Rust, Python, Node) that parses
//! every call's frame and answers it, and tarpc, each in its own process,
//! and the clients the benchmarks drive them with.
//!
//! The benchmark binary plays every Rust peer itself: started with
//! `GOPROC_BENCH_ROLE` set, it serves that role instead of benchmarking.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures::StreamExt;
use tarpc::server::Channel;
use tarpc::tokio_serde::formats::Bincode;
use tokio::net::{UnixListener, UnixStream};

use crate::floor_socket::FloorStream;

/// The environment variable that selects a child role.
pub const ROLE: &str = "GOPROC_BENCH_ROLE";
/// The socket path a raw or tarpc child uses.
pub const ADDR: &str = "GOPROC_BENCH_ADDR";
/// Set to `1` for a raw child whose socket wakes early (see
/// `floor_socket`).
pub const WAKE_EARLY: &str = "GOPROC_BENCH_WAKE_EARLY";

/// Whether the floors' sockets wake early: not when the processes share a
/// CPU, where it costs more than it gives.
static FLOOR_WAKES_EARLY: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(true);

/// Sets whether the floors started from now on wake early.
pub fn set_floor_wakes_early(on: bool) {
    FLOOR_WAKES_EARLY.store(on, std::sync::atomic::Ordering::Relaxed);
}

/// Whether the floors wake early on this placement.
pub fn floor_wakes_early() -> bool {
    FLOOR_WAKES_EARLY.load(std::sync::atomic::Ordering::Relaxed)
}

/// A floor's socket, in this process or a raw child (which learns from
/// [`WAKE_EARLY`]).
pub fn floor_stream(stream: UnixStream, in_child: bool) -> FloorStream {
    let wake_early = if in_child {
        std::env::var(WAKE_EARLY).is_ok_and(|v| v == "1")
    } else {
        floor_wakes_early()
    };
    FloorStream::new(stream, wake_early).expect("registering the raw socket")
}

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
        // The raw server runs the runtime flavour of the plugin it stands
        // beside: multi-thread for `plugin`, current-thread for `plugin-ct`.
        "raw-echo" => {
            let rt = tokio::runtime::Runtime::new().expect("raw echo runtime");
            // On a worker, as a server's connection task runs.
            rt.block_on(async { tokio::spawn(raw_echo_serve()).await })
                .expect("the raw echo task");
        }
        "raw-echo-ct" => {
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

/// The raw frame: `u32 LE length of the rest | u64 LE call id | payload`.
pub const HEAD: usize = 12;
/// Bodies this large are written from where they lie, not copied into the
/// answer buffer (as goproc writes a large `Vec<u8>`).
const LARGE_BODY: usize = 64 * 1024;

/// An RPC server minus the framework: parses every frame, answers each
/// with its call id and its bytes, all answers to one read in one write.
async fn raw_echo_serve() {
    let stream = UnixStream::connect(addr())
        .await
        .expect("connecting to the bench host");
    let stream = floor_stream(stream, true);
    let mut buf = vec![0u8; 64 * 1024];
    let mut have = 0;
    let mut out = Vec::with_capacity(64 * 1024);
    loop {
        let n = match stream.read(&mut buf[have..]).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        have += n;
        let mut at = 0;
        while have - at >= HEAD {
            let len = u32::from_le_bytes(buf[at..at + 4].try_into().unwrap()) as usize;
            assert!(len >= HEAD - 4, "a raw frame without its call id");
            if have - at < 4 + len {
                break;
            }
            let id = u64::from_le_bytes(buf[at + 4..at + HEAD].try_into().unwrap());
            let body = &buf[at + HEAD..at + 4 + len];
            out.extend_from_slice(&(len as u32).to_le_bytes());
            out.extend_from_slice(&id.to_le_bytes());
            if body.len() >= LARGE_BODY {
                if stream.write_all(&out).await.is_err() || stream.write_all(body).await.is_err() {
                    return;
                }
                out.clear();
            } else {
                out.extend_from_slice(body);
            }
            at += 4 + len;
        }
        if !out.is_empty() {
            if stream.write_all(&out).await.is_err() {
                return;
            }
            out.clear();
        }
        buf.copy_within(at..have, 0);
        have -= at;
        // The buffer is kept and only grows: room for the next whole frame.
        let need = if have >= 4 {
            4 + u32::from_le_bytes(buf[..4].try_into().unwrap()) as usize
        } else {
            0
        };
        if need > buf.len() || have == buf.len() {
            buf.resize(need.max(2 * buf.len()), 0);
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

/// Starts `command` (which connects to `path`) and drives it with a
/// [`RawClient`].
pub async fn raw_peer(command: Command, path: &Path) -> (RawClient, ChildGuard) {
    let (stream, guard) = raw_connection(command, path).await;
    (RawClient::new(floor_stream(stream, false)), guard)
}

/// Starts `command` (which connects to `path`) and accepts its connection.
pub async fn raw_connection(mut command: Command, path: &Path) -> (UnixStream, ChildGuard) {
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
    (stream, guard)
}

/// The Rust raw server in `role`: `raw-echo` (multi-thread runtime) or
/// `raw-echo-ct` (current-thread), this binary.
pub fn raw_rust_command(role: &str, path: &Path) -> Command {
    let mut c = command(std::env::current_exe().expect("current exe"));
    c.env(ROLE, role)
        .env(ADDR, path)
        .env(WAKE_EARLY, if floor_wakes_early() { "1" } else { "0" });
    c
}

/// The raw server beside the plugin started in `plugin_role`.
pub fn raw_role_for(plugin_role: &str) -> &'static str {
    match plugin_role {
        "plugin-ct" => "raw-echo-ct",
        _ => "raw-echo",
    }
}

/// Drives a raw server with [`HEAD`]-framed calls: encodes each round's
/// frames with fresh call ids, and parses every answer, checking its id.
pub struct RawClient {
    stream: FloorStream,
    payload: Vec<u8>,
    count: usize,
    next_id: u64,
    out: Vec<u8>,
    back: Vec<u8>,
}

impl RawClient {
    fn new(stream: FloorStream) -> Self {
        RawClient {
            stream,
            payload: Vec::new(),
            count: 0,
            next_id: 1,
            out: Vec::new(),
            back: Vec::new(),
        }
    }

    /// Each round sends `count` calls of `payload` bytes each, in one write.
    pub fn prepare(&mut self, count: usize, payload: usize) {
        assert!(
            count == 1 || payload < LARGE_BODY,
            "large bodies go one call a round"
        );
        self.count = count;
        self.payload = (0..payload).map(|b| b as u8).collect();
        self.out = Vec::with_capacity(count * (HEAD + payload));
        self.back = vec![0u8; (HEAD + payload).max(64 * 1024)];
    }

    /// One round: writes the calls and reads every answer (concurrently, so
    /// a large frame cannot fill both socket buffers).
    pub async fn round_trip(&mut self) {
        self.exchange(None).await;
    }

    /// [`Self::round_trip`], adding each call's time (from the write of the
    /// round to its answer parsed) to `times`.
    pub async fn round_trip_timed(&mut self, times: &mut Vec<Duration>) {
        self.exchange(Some(times)).await;
    }

    async fn exchange(&mut self, times: Option<&mut Vec<Duration>>) {
        let first = self.next_id;
        self.next_id += self.count as u64;
        let len = (HEAD - 4 + self.payload.len()) as u32;
        let large = self.payload.len() >= LARGE_BODY;
        self.out.clear();
        for id in first..self.next_id {
            self.out.extend_from_slice(&len.to_le_bytes());
            self.out.extend_from_slice(&id.to_le_bytes());
            if !large {
                self.out.extend_from_slice(&self.payload);
            }
        }
        let start = Instant::now();
        let stream = &self.stream;
        let (out, payload) = (&self.out, &self.payload);
        let write = async move {
            stream.write_all(out).await?;
            if large {
                stream.write_all(payload).await?;
            }
            std::io::Result::Ok(())
        };
        let read = read_answers(
            stream,
            &mut self.back,
            first,
            self.count,
            payload.len(),
            times.map(|t| (t, start)),
        );
        let (a, b) = tokio::join!(write, read);
        a.expect("raw write");
        b.expect("raw read");
    }
}

/// Reads `count` answers of `size`-byte bodies, the first with call id
/// `first`, parsing each one (into `buf`, which holds a whole frame).
async fn read_answers(
    r: &FloorStream,
    buf: &mut [u8],
    first: u64,
    count: usize,
    size: usize,
    mut times: Option<(&mut Vec<Duration>, Instant)>,
) -> std::io::Result<()> {
    let (mut have, mut seen) = (0usize, 0usize);
    while seen < count {
        let n = r.read(&mut buf[have..]).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        have += n;
        let mut at = 0;
        while have - at >= HEAD {
            let len = u32::from_le_bytes(buf[at..at + 4].try_into().unwrap()) as usize;
            if have - at < 4 + len {
                break;
            }
            let id = u64::from_le_bytes(buf[at + 4..at + HEAD].try_into().unwrap());
            assert_eq!(id, first + seen as u64, "the raw answers' call ids");
            assert_eq!(len, HEAD - 4 + size, "the raw answer's length");
            if let Some((times, start)) = times.as_mut() {
                times.push(start.elapsed());
            }
            at += 4 + len;
            seen += 1;
        }
        buf.copy_within(at..have, 0);
        have -= at;
    }
    Ok(())
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
