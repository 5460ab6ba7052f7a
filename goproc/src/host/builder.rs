//! [`PluginBuilder`]: how to start a plugin process, and the start itself:
//! spawn, handshake, connection, supervisor.

use std::ffi::{OsStr, OsString};
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{oneshot, watch};

use super::handle::{Plugin, Started};
use super::handshake::Expect;
use super::logs::{Output, PluginOutput};
use super::supervise::supervise;
use crate::client::Client;
use crate::driver::{Connection, Setup, Side};
use crate::env::{ENV_ADDR, ENV_BUSY_POLL, ENV_NAME, ENV_TOKEN};
use crate::service::{Service, Services};
use crate::transport::Endpoint;
use crate::wire::DEFAULT_MAX_FRAME;
use crate::{ContractInfo, Error};

/// How long a plugin may take to connect and say hello, unless set.
pub const DEFAULT_START_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a client's call waits for its answer, unless set: long enough
/// for real work, short enough that a hung handler is noticed.
pub const DEFAULT_CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// Configures and starts a plugin process. Made by [`Plugin::builder`].
#[derive(Debug, Clone)]
pub struct PluginBuilder {
    program: OsString,
    args: Vec<OsString>,
    env: Vec<(OsString, OsString)>,
    env_clear: bool,
    env_inherit: Vec<OsString>,
    env_remove: Vec<OsString>,
    current_dir: Option<PathBuf>,
    name: Option<String>,
    start_timeout: Duration,
    call_timeout: Option<Duration>,
    contracts: Vec<&'static ContractInfo>,
    services: Services,
    max_frame: u32,
    outbox_limit: usize,
    stream_window: u32,
    bus: Option<crate::Bus>,
    busy_poll: Option<Duration>,
    output: PluginOutput,
    before_spawn: Option<BeforeSpawn>,
}

/// A check run right before the process is spawned (each start and restart):
/// its error is what `spawn()` returns, and nothing starts.
#[derive(Clone)]
struct BeforeSpawn(Arc<dyn Fn() -> Result<(), Error> + Send + Sync>);

impl std::fmt::Debug for BeforeSpawn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BeforeSpawn(..)")
    }
}

impl PluginBuilder {
    fn new(program: &OsStr) -> PluginBuilder {
        PluginBuilder {
            program: program.to_owned(),
            args: Vec::new(),
            env: Vec::new(),
            env_clear: false,
            env_inherit: Vec::new(),
            env_remove: Vec::new(),
            current_dir: None,
            name: None,
            start_timeout: DEFAULT_START_TIMEOUT,
            call_timeout: Some(DEFAULT_CALL_TIMEOUT),
            contracts: Vec::new(),
            services: Services::default(),
            max_frame: DEFAULT_MAX_FRAME,
            outbox_limit: crate::driver::DEFAULT_OUTBOX_LIMIT,
            stream_window: crate::driver::DEFAULT_STREAM_WINDOW,
            bus: None,
            busy_poll: None,
            output: PluginOutput::default(),
            before_spawn: None,
        }
    }

    /// Adds a command-line argument.
    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Self {
        self.args.push(arg.as_ref().to_owned());
        self
    }

    /// Adds command-line arguments.
    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.args
            .extend(args.into_iter().map(|a| a.as_ref().to_owned()));
        self
    }

    /// Sets an environment variable for the plugin. The plugin inherits the
    /// host's environment unless [`PluginBuilder::env_clear`] says otherwise.
    pub fn env(mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Self {
        self.env
            .push((key.as_ref().to_owned(), value.as_ref().to_owned()));
        self
    }

    /// Starts the plugin with an empty environment instead of the host's
    /// (which may hold secrets): it gets only what [`PluginBuilder::env`]
    /// sets, the host variables named with [`PluginBuilder::env_inherit`],
    /// and goproc's own `GOPROC_*` variables.
    pub fn env_clear(mut self) -> Self {
        self.env_clear = true;
        self
    }

    /// After [`PluginBuilder::env_clear`], passes the host's value of `key`
    /// (if it has one) to the plugin: an allow-list, such as `PATH`, `HOME`
    /// or `LANG`.
    pub fn env_inherit(mut self, key: impl AsRef<OsStr>) -> Self {
        self.env_inherit.push(key.as_ref().to_owned());
        self
    }

    /// Keeps the host's variable `key` from the plugin.
    pub fn env_remove(mut self, key: impl AsRef<OsStr>) -> Self {
        self.env_remove.push(key.as_ref().to_owned());
        self
    }

    /// Runs the plugin in `dir`.
    pub fn current_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.current_dir = Some(dir.into());
        self
    }

    /// The name used in logs and errors (default: the program's file name).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// How long the plugin may take to start, connect and say hello.
    pub fn start_timeout(mut self, timeout: Duration) -> Self {
        self.start_timeout = timeout;
        self
    }

    /// The deadline of every call made through the clients of this plugin
    /// (or pool): 30 s by default ([`DEFAULT_CALL_TIMEOUT`]); `None` waits
    /// as long as the plugin takes. A client can still change it for its
    /// own calls with `with_timeout(d)` or `without_timeout()`.
    pub fn call_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.call_timeout = timeout;
        self
    }

    pub(crate) fn default_call_timeout(&self) -> Option<Duration> {
        self.call_timeout
    }

    /// Requires the plugin to serve `C`'s contract with the same
    /// fingerprint; otherwise the handshake refuses it before any call.
    pub fn contract<C: Client>(mut self) -> Self {
        self.contracts.push(C::CONTRACT);
        self
    }

    /// [`PluginBuilder::contract`] for a contract known at run time (a
    /// registry's, read from a plugin's manifest).
    pub(crate) fn contract_info(mut self, contract: &'static ContractInfo) -> Self {
        self.contracts.push(contract);
        self
    }

    /// Serves a contract the host implements (a store, a logger, a prompt
    /// to the user) to the plugin, which calls it with a client from
    /// [`crate::peer`]; `service` is its generated server, such as
    /// `StoreServer::new(store)`. A plugin that requires a host contract
    /// not served here, or served with another fingerprint, is refused at
    /// the handshake. Inside the service's handlers, [`crate::peer`] gives
    /// a client of the calling plugin, to call it back.
    pub fn serve(mut self, service: impl Service) -> Self {
        self.services.push(service);
        self
    }

    /// Serves every service of `services` (a registry's host services,
    /// shared by all its plugins).
    pub(crate) fn serve_all(mut self, services: &Services) -> Self {
        self.services.extend(services);
        self
    }

    /// The largest frame either side may send (default 16 MiB, at least
    /// 4 KiB: a smaller value is raised to 4096). A call whose arguments or
    /// answer do not fit fails with a clear error; the connection lives.
    pub fn max_frame(mut self, bytes: u32) -> Self {
        self.max_frame = bytes.max(crate::wire::frame::MIN_MAX_FRAME);
        self
    }

    /// How many bytes of calls may wait to be written to a plugin that does
    /// not read them (default 1 MiB): past that, new calls wait for room
    /// within their deadline, and a call whose caller gives up before its
    /// request was written is never sent. The same budget bounds what the
    /// host keeps of its answers to the plugin (pongs, errors): past it, the
    /// host stops reading from the plugin until it reads again. Either way
    /// a plugin that stops reading costs the host a bounded amount of memory.
    pub fn outbox_limit(mut self, bytes: usize) -> Self {
        self.outbox_limit = bytes.max(1);
        self
    }

    /// The credit window, in bytes, the host grants each stream it
    /// receives from this plugin (an answer stream, unless the client sets
    /// its own with `with_stream_window`; the argument stream of a host
    /// service; default 1 MiB): the plugin never sends more than this ahead
    /// of the code that reads it, so a fast producer cannot grow the host.
    pub fn stream_window(mut self, bytes: u32) -> Self {
        self.stream_window = bytes.max(1);
        self
    }

    /// The bus this plugin's events go through (default [`crate::Bus::global`]):
    /// what it publishes reaches the bus's subscribers (the host's, and
    /// other plugins' on the same bus), and its subscriptions get what is
    /// published there. Plugins on different buses never see each other's
    /// events.
    pub fn bus(mut self, bus: &crate::Bus) -> Self {
        self.bus = Some(bus.clone());
        self
    }

    /// Where the plugin's stdout and stderr lines go (default
    /// [`PluginOutput::Auto`]: `tracing` events when a subscriber is
    /// installed, this process's stderr otherwise).
    pub fn output(mut self, output: PluginOutput) -> Self {
        self.output = output;
        self
    }

    /// Low-latency mode: while a call waits for its answer, and while the
    /// plugin waits for the next call, both sides keep polling the socket
    /// for up to `spin` before they sleep. A round trip then wakes no
    /// sleeping thread, at the price of a busy core for up to `spin` after
    /// each call. Off by default; a Rust plugin reads the setting from
    /// `GOPROC_BUSY_POLL_US`, which the host sets.
    pub fn busy_poll(mut self, spin: Duration) -> Self {
        self.busy_poll = (!spin.is_zero()).then_some(spin);
        self
    }

    /// The name the plugin will have (see [`PluginBuilder::name`]).
    pub fn display_name(&self) -> String {
        self.name
            .clone()
            .unwrap_or_else(|| super::program::default_name(&self.program, &self.args))
    }

    /// Runs `check` right before every spawn of this builder (a pool's
    /// restarts too); when it fails, its error is what `spawn()` returns and
    /// no process starts. The registry checks checksums and permissions here.
    pub(crate) fn before_spawn(
        mut self,
        check: Arc<dyn Fn() -> Result<(), Error> + Send + Sync>,
    ) -> Self {
        self.before_spawn = Some(BeforeSpawn(check));
        self
    }

    pub(crate) fn required_contracts(&self) -> Vec<&'static ContractInfo> {
        self.contracts.clone()
    }

    /// Starts the process, waits for its hello and checks it.
    pub async fn spawn(self) -> Result<Plugin, Error> {
        let name = self.display_name();
        let endpoint = Endpoint::create()
            .map_err(|e| Error::transport(format!("creating the socket for plugin `{name}`"), e))?;
        let token = random_token()
            .map_err(|e| Error::transport("drawing a random token from the OS", e))?;

        let mut command = tokio::process::Command::new(&self.program);
        if self.env_clear {
            command.env_clear();
            for key in &self.env_inherit {
                if let Some(value) = std::env::var_os(key) {
                    command.env(key, value);
                }
            }
        }
        for key in &self.env_remove {
            command.env_remove(key);
        }
        command
            .args(&self.args)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .env(ENV_ADDR, endpoint.address())
            .env(ENV_TOKEN, &token)
            .env(ENV_NAME, &name)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        if let Some(dir) = &self.current_dir {
            command.current_dir(dir);
        }
        if let Some(spin) = self.busy_poll {
            command.env(ENV_BUSY_POLL, spin.as_micros().to_string());
        }
        if let Some(BeforeSpawn(check)) = &self.before_spawn {
            run_check(check.clone(), &name, &self.program).await?;
        }
        let mut child = super::spawn::spawn(command).await.map_err(|e| {
            let path_var = self
                .env
                .iter()
                .rev()
                .find(|(k, _)| k == "PATH")
                .map(|(_, v)| v.clone())
                .or_else(|| std::env::var_os("PATH"));
            Error::Spawn {
                plugin: name.clone(),
                program: self.program.to_string_lossy().into_owned(),
                reason: super::program::why_not_started(
                    &self.program,
                    self.current_dir.as_deref(),
                    path_var.as_deref(),
                    &e,
                ),
                source: Arc::new(e),
            }
        })?;
        let pid = child.id().unwrap_or(0);
        let output = Output::new(name.clone(), pid, self.output.clone());
        if let Some(out) = child.stdout.take() {
            output.forward_stdout(out);
        }
        if let Some(err) = child.stderr.take() {
            output.forward_stderr(err);
        }

        let serves = self.services.contracts();
        let expect = Expect {
            plugin: &name,
            token: &token,
            contracts: &self.contracts,
            serves: &serves,
            max_frame: self.max_frame,
        };
        let started = super::accept::accept_plugin(&endpoint, &expect, pid);
        let (stream, hello) = tokio::select! {
            started = started => started?,
            status = child.wait() => {
                output.drained(Duration::from_millis(500)).await;
                let stderr = output.stderr_tail();
                // Silent on stderr: perhaps not a goproc plugin at all.
                let hint = if stderr.is_empty() {
                    "; is it a goproc plugin that calls `goproc::serve` (or its generated \
                     `serve`)?"
                } else {
                    ""
                };
                return Err(Error::PluginExited {
                    plugin: name,
                    pid,
                    status: match status {
                        Ok(s) => format!("{s}, before it connected{hint}"),
                        Err(e) => format!("status unknown: {e}"),
                    },
                    stderr,
                    stdout: output.stdout_tail(),
                });
            }
            _ = tokio::time::sleep(self.start_timeout) => {
                let _ = child.start_kill();
                let _ = child.wait().await;
                output.drained(Duration::from_millis(500)).await;
                return Err(Error::StartTimeout {
                    plugin: name,
                    pid,
                    timeout: self.start_timeout,
                    stderr: output.stderr_tail(),
                    stdout: output.stdout_tail(),
                });
            }
        };
        // The socket file is no longer needed once the plugin is connected.
        drop(endpoint);

        let conn = Connection::start(
            stream,
            Setup {
                side: Side::Host,
                peer: name.clone(),
                max_frame: self.max_frame,
                outbox_limit: self.outbox_limit,
                dispatcher: self.services.dispatcher(),
                protocol: hello.protocol_max.min(crate::wire::PROTOCOL_MAX),
                stream_window: self.stream_window,
                peer_contracts: hello.contracts.clone(),
            },
        );
        conn.set_busy_poll(self.busy_poll);
        conn.join_bus(
            self.bus.as_ref().unwrap_or(&crate::Bus::global()),
            name.clone(),
        );
        let (stop_tx, stop_rx) = oneshot::channel();
        let (exit_tx, exit_rx) = watch::channel(None);
        tokio::spawn(supervise(
            child,
            conn.clone(),
            output,
            stop_rx,
            exit_tx,
            name.clone(),
            pid,
        ));

        Ok(Plugin::new(Started {
            name,
            pid,
            call_timeout: self.call_timeout,
            hello,
            conn,
            exit: exit_rx,
            stop: stop_tx,
        }))
    }
}

impl Plugin {
    /// Starts configuring a plugin that runs `program`.
    pub fn builder(program: impl AsRef<OsStr>) -> PluginBuilder {
        PluginBuilder::new(program.as_ref())
    }
}

/// 32 random bytes from the OS, as hex.
fn random_token() -> std::io::Result<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(std::io::Error::other)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// Runs a before-spawn check off the async threads: it may hash large files.
pub(crate) async fn run_check(
    check: Arc<dyn Fn() -> Result<(), Error> + Send + Sync>,
    name: &str,
    program: &OsStr,
) -> Result<(), Error> {
    match tokio::task::spawn_blocking(move || check()).await {
        Ok(result) => result,
        Err(e) => {
            let reason = format!("the check before starting it failed: {e}");
            Err(Error::Spawn {
                plugin: name.to_string(),
                program: program.to_string_lossy().into_owned(),
                source: Arc::new(std::io::Error::other(reason.clone())),
                reason,
            })
        }
    }
}

#[cfg(all(test, unix))]
mod tests;
