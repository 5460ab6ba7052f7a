//! The one public error type.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Everything that can go wrong when starting a plugin or calling it.
///
/// Variants are meant to be matched: a caller can retry on
/// [`Error::PluginExited`], back off on [`Error::Timeout`], report
/// [`Error::ContractMismatch`] to whoever deploys the plugin, and so on.
/// A domain error that a contract method returns as `Result<T, E>` is not
/// here: it reaches the caller typed, as the inner `Err(E)`; only a call by
/// name with JSON ([`crate::Plugin::call_json`]), which has no `E` to type
/// it with, returns it as [`Error::Domain`].
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The plugin program could not be started at all.
    #[error("could not start plugin `{plugin}` ({program}): {reason}")]
    Spawn {
        /// The plugin's name.
        plugin: String,
        /// The program that was run.
        program: String,
        /// What was wrong and what to do, in a sentence (the OS error in it).
        reason: String,
        /// What the OS said.
        source: Arc<std::io::Error>,
    },

    /// The plugin did not connect and say hello within the start timeout.
    #[error(
        "plugin `{plugin}` (pid {pid}) did not connect within {timeout:?}; is it a goproc plugin \
         that calls `goproc::serve` (or its generated `serve`)?{}{}",
        StderrTail(stderr),
        StdoutTail(stdout)
    )]
    StartTimeout {
        /// The plugin's name.
        plugin: String,
        /// Its process id.
        pid: u32,
        /// The start timeout that ran out.
        timeout: Duration,
        /// The last lines the plugin wrote to stderr.
        stderr: Vec<String>,
        /// The last lines the plugin wrote to stdout.
        stdout: Vec<String>,
    },

    /// The handshake failed: wrong token, unsupported protocol version, a
    /// malformed hello, or a refusal from the host.
    #[error("handshake with plugin `{plugin}` failed: {reason}")]
    Handshake {
        /// The plugin's name.
        plugin: String,
        /// What was wrong, naming both sides.
        reason: String,
    },

    /// The plugin was built or generated from another version of a contract.
    #[error(
        "plugin `{plugin}` was built from contract {contract} fingerprint {plugin_fingerprint}, \
         the host expects {host_fingerprint}; rebuild the plugin or regenerate its stubs from \
         the host's contract"
    )]
    ContractMismatch {
        /// The plugin's name.
        plugin: String,
        /// The contract's name.
        contract: String,
        /// The fingerprint the host was compiled with.
        host_fingerprint: String,
        /// The fingerprint the plugin announced.
        plugin_fingerprint: String,
    },

    /// The plugin's schema of a contract (its methods and the fields and
    /// variants of its types) differs from the host's: one side was built
    /// from an edited copy of the contract. Refused at the handshake, before
    /// any call could misread a value.
    #[error(
        "plugin {plugin} disagrees on {difference}; rebuild the plugin or regenerate its stubs"
    )]
    SchemaMismatch {
        /// The plugin's name.
        plugin: String,
        /// The contract's name.
        contract: String,
        /// The first difference, naming both sides: `Stats: the host has
        /// field 2 bytes_in: u64, the plugin has field 2 bytes_out: u64`.
        difference: String,
    },

    /// The plugin states no usable schema for a contract it serves.
    #[error("plugin `{plugin}` has no schema of contract {contract}: {reason}")]
    NoSchema {
        /// The plugin's name.
        plugin: String,
        /// The contract's name.
        contract: String,
        /// Why: an older protocol, a type its runtime could not trace, a
        /// text that does not read.
        reason: String,
    },

    /// The plugin does not serve a contract the host asked for.
    #[error("plugin `{plugin}` does not serve contract {contract}; it serves: {}", served.join(", "))]
    ContractNotServed {
        /// The plugin's name.
        plugin: String,
        /// The contract asked for.
        contract: String,
        /// The contracts it serves.
        served: Vec<String>,
    },

    /// The other side of a connection does not serve a contract this side
    /// asked [`crate::peer`] for, or serves another version of it.
    #[error("`{peer}` does not serve contract {contract} as this side knows it: {reason}")]
    PeerContract {
        /// The other side: `host`, or the plugin's name.
        peer: String,
        /// The contract asked for.
        contract: &'static str,
        /// What it serves instead.
        reason: String,
    },

    /// [`crate::peer`] was called with no other side to call: outside a
    /// handler in a host (use [`crate::Plugin::client`] there), or in a
    /// process that has not started [`crate::serve`] (or whose connection
    /// to its host ended).
    #[error(
        "no peer to call {contract} on: `goproc::peer` works inside a handler (on either side) \
         and in a plugin once `serve` has started; a host calls its plugins through \
         `Plugin::client`"
    )]
    NoPeer {
        /// The contract asked for.
        contract: &'static str,
    },

    /// The plugin process ended (crashed, was killed, or exited). Every call
    /// in flight on it fails with this error, and so does every later call.
    #[error(
        "plugin `{plugin}` (pid {pid}) exited ({status}){}{}",
        StderrTail(stderr),
        StdoutTail(stdout)
    )]
    PluginExited {
        /// The plugin's name.
        plugin: String,
        /// Its process id.
        pid: u32,
        /// How it ended, for example `exit status: 1`, `signal: 9 (SIGKILL)`
        /// or `killed by the host: ...`.
        status: String,
        /// The last lines the plugin wrote to stderr.
        stderr: Vec<String>,
        /// The last lines it wrote to stdout, when it exited before it
        /// connected (a program that is not a goproc plugin often says why
        /// there); empty otherwise.
        stdout: Vec<String>,
    },

    /// A pool instance crashed more often than its restart policy allows;
    /// the pool stopped restarting it.
    #[error(
        "gave up on instance {instance} of plugin `{plugin}` after {restarts} restarts within \
         {window:?}; it last ended with: {last}"
    )]
    RestartLimit {
        /// The plugin's name.
        plugin: String,
        /// The instance's position in the pool.
        instance: usize,
        /// The restart limit that was reached.
        restarts: u32,
        /// The window the limit counts in.
        window: Duration,
        /// How the instance ended the last time.
        last: Box<Error>,
    },

    /// The call's deadline passed before the answer arrived.
    #[error("call to {method} timed out after {after:?}")]
    Timeout {
        /// `Contract.method`.
        method: String,
        /// The deadline that passed.
        after: Duration,
    },

    /// The peer reported a failure that is not a domain error: an unknown
    /// method, arguments that do not decode, a handler that panicked or
    /// raised, a call refused during shutdown.
    #[error("{method} failed in the plugin: {code}: {message}")]
    Remote {
        /// `Contract.method`.
        method: String,
        /// What kind of failure.
        code: RemoteCode,
        /// The plugin's message.
        message: String,
        /// A traceback or backtrace, when the plugin sent one.
        detail: String,
    },

    /// The source of a stream this side sends failed (an item of
    /// `Stream::from_results` was an error); the receiver's stream ends with it.
    #[error("the stream's source failed: {message}")]
    StreamSource {
        /// What the source said.
        message: String,
    },

    /// A value could not be encoded, or a received body did not decode.
    #[error("{context}: {message}")]
    Codec {
        /// What was being encoded or decoded.
        context: String,
        /// What was wrong with it.
        message: String,
    },

    /// A topic to publish an event on, or a pattern to subscribe with,
    /// breaks the rules of topics (docs/WIRE.md, "Events"): nothing was
    /// published or subscribed.
    #[error("{event}: {reason}")]
    InvalidTopic {
        /// The event: `Contract.event`.
        event: String,
        /// The topic or pattern, and the rule it breaks.
        reason: String,
    },

    /// The peer broke the wire protocol; the connection was closed.
    #[error("protocol error on the connection to `{peer}`: {reason}")]
    Protocol {
        /// The other side.
        peer: String,
        /// What rule was broken.
        reason: String,
    },

    /// The connection is closed (by this side, the peer, or a shutdown).
    #[error("the connection to `{peer}` is closed: {reason}")]
    Closed {
        /// The other side.
        peer: String,
        /// Why.
        reason: String,
    },

    /// A local socket or pipe failed.
    #[error("{context}: {source}")]
    Transport {
        /// What was being done.
        context: String,
        /// What the OS said.
        source: Arc<std::io::Error>,
    },

    /// A method called by name with JSON ([`crate::Plugin::call_json`])
    /// answered its own domain error: the `Err(e)` of a method declared
    /// `-> Result<T, E>`, as JSON. The call itself worked.
    #[error("{method} answered the domain error {error}")]
    Domain {
        /// `Contract.method`.
        method: String,
        /// The error the method returned, as JSON (`{"Refused": {"reason": "..."}}`).
        error: serde_json::Value,
    },

    /// A call by name ([`crate::Plugin::call_json`]) named a method the
    /// contract does not have.
    #[error(
        "plugin `{plugin}` has no method {contract}.{method}; {contract}'s methods are: {}",
        methods.join(", ")
    )]
    UnknownMethod {
        /// The plugin's name.
        plugin: String,
        /// The contract.
        contract: String,
        /// The method asked for.
        method: String,
        /// The methods the contract has.
        methods: Vec<String>,
    },

    /// A plugin manifest (`plugin.toml`) does not read or breaks a rule:
    /// a TOML syntax error, an unknown key, a bad name or fingerprint, a
    /// checksum path that leaves the plugin's folder. The plugin is not
    /// loaded; the other plugins are.
    #[error("{}:{line}:{column}: {reason}", file.display())]
    Manifest {
        /// The manifest file.
        file: PathBuf,
        /// The line (1-based) of the key or value that is wrong; 0 when the
        /// file could not be read at all.
        line: usize,
        /// The column (1-based, in characters); 0 with `line` 0.
        column: usize,
        /// What is wrong and what to write instead.
        reason: String,
    },

    /// A file listed in a manifest's `[checksums]` does not have the
    /// sha256 the manifest gives: the plugin was not started.
    #[error(
        "plugin `{plugin}`: {} has sha256 {actual} but its manifest says {expected}; reinstall \
         the plugin or update the manifest's [checksums]",
        file.display()
    )]
    Checksum {
        /// The plugin's id (`namespace/name`).
        plugin: String,
        /// The file, relative to the plugin's folder.
        file: PathBuf,
        /// The sha256 the manifest gives.
        expected: String,
        /// The sha256 the file has.
        actual: String,
    },

    /// A plugin's file or folder could be changed by someone other than
    /// the host's user, or lies outside the allowed folders: the plugin
    /// was not started.
    #[error("plugin `{plugin}` was not started: {}: {reason}", path.display())]
    UnsafePlugin {
        /// The plugin's id (`namespace/name`).
        plugin: String,
        /// The file or folder that is unsafe.
        path: PathBuf,
        /// Why, and what to do (`chmod o-w ...`).
        reason: String,
    },

    /// No plugin has this name, or a bare name is in several namespaces.
    #[error("{}", unknown_plugin(name, known))]
    UnknownPlugin {
        /// The name asked for: `namespace/name` or a bare `name`.
        name: String,
        /// The ids of the plugins that are known.
        known: Vec<String>,
    },

    /// A manifest does not list a contract the host asked for, or lists it
    /// with another fingerprint than the host's, or requires a host
    /// contract this host does not serve: refused before any spawn.
    #[error("plugin `{plugin}` does not match this host on contract {contract}: {reason}")]
    ManifestContract {
        /// The plugin's id (`namespace/name`).
        plugin: String,
        /// The contract asked for.
        contract: String,
        /// What the manifest says and what to do.
        reason: String,
    },

    /// The plugin was unloaded; it takes no calls until it is loaded or
    /// reloaded.
    #[error("plugin `{plugin}` was unloaded; load or reload it before calling")]
    Unloaded {
        /// The plugin's id (`namespace/name`).
        plugin: String,
    },

    /// A blocking client, plugin or pool (`goproc::blocking`) was used from
    /// inside an async runtime, where blocking the thread would stall the
    /// runtime or deadlock it. Refused at once, before anything is sent.
    #[error(
        "{what} blocks its thread, and was called from inside an async runtime, where that \
         would stall the runtime; {instead} there (and `.await` it), or call from \
         `tokio::task::spawn_blocking` or a thread of your own"
    )]
    BlockingInAsync {
        /// What was called (`Calculator.add through CalculatorBlockingClient`).
        what: String,
        /// The async counterpart to use instead (`use the async client
        /// `CalculatorClient``).
        instead: &'static str,
    },

    /// `goproc::serve` was called in a process that no host started.
    #[error(
        "this program is a goproc plugin; it is meant to be started by a host program, not run \
         directly (missing environment variable {missing})"
    )]
    NotStartedByHost {
        /// The environment variable that was missing.
        missing: &'static str,
    },
}

impl Error {
    /// The error a stream's source ends with: the receiver gets it as the
    /// stream's last item.
    pub fn stream_source(message: impl fmt::Display) -> Self {
        Error::StreamSource {
            message: message.to_string(),
        }
    }

    pub(crate) fn transport(context: impl Into<String>, source: std::io::Error) -> Self {
        Error::Transport {
            context: context.into(),
            source: Arc::new(source),
        }
    }

    pub(crate) fn codec(context: impl Into<String>, message: impl fmt::Display) -> Self {
        Error::Codec {
            context: context.into(),
            message: message.to_string(),
        }
    }
}

/// Why a remote call failed on the plugin's side (the `code` of an error frame).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RemoteCode {
    /// The request named a contract the plugin does not serve.
    UnknownContract,
    /// The request named a method the contract does not have.
    UnknownMethod,
    /// The arguments did not decode as the method's argument types.
    BadRequest,
    /// The handler panicked (Rust) or raised (Python, TypeScript).
    HandlerFailed,
    /// The call was cancelled before it finished.
    Cancelled,
    /// The plugin gave up because the call's deadline passed.
    DeadlineExceeded,
    /// The plugin is shutting down and takes no new calls.
    ShuttingDown,
    /// A code this version of goproc does not know.
    Other(u32),
}

impl RemoteCode {
    /// The number on the wire.
    pub fn to_wire(self) -> u32 {
        match self {
            RemoteCode::UnknownContract => 1,
            RemoteCode::UnknownMethod => 2,
            RemoteCode::BadRequest => 3,
            RemoteCode::HandlerFailed => 4,
            RemoteCode::Cancelled => 5,
            RemoteCode::DeadlineExceeded => 6,
            RemoteCode::ShuttingDown => 7,
            RemoteCode::Other(n) => n,
        }
    }

    /// The code for a number on the wire.
    pub fn from_wire(n: u32) -> Self {
        match n {
            1 => RemoteCode::UnknownContract,
            2 => RemoteCode::UnknownMethod,
            3 => RemoteCode::BadRequest,
            4 => RemoteCode::HandlerFailed,
            5 => RemoteCode::Cancelled,
            6 => RemoteCode::DeadlineExceeded,
            7 => RemoteCode::ShuttingDown,
            n => RemoteCode::Other(n),
        }
    }
}

impl fmt::Display for RemoteCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RemoteCode::UnknownContract => f.write_str("unknown contract"),
            RemoteCode::UnknownMethod => f.write_str("unknown method"),
            RemoteCode::BadRequest => f.write_str("bad request"),
            RemoteCode::HandlerFailed => f.write_str("handler failed"),
            RemoteCode::Cancelled => f.write_str("cancelled"),
            RemoteCode::DeadlineExceeded => f.write_str("deadline exceeded"),
            RemoteCode::ShuttingDown => f.write_str("shutting down"),
            RemoteCode::Other(n) => write!(f, "error code {n}"),
        }
    }
}

/// The message of [`Error::UnknownPlugin`]: a bare name in several
/// namespaces says which; an unknown one lists what is known.
fn unknown_plugin(name: &str, known: &[String]) -> String {
    if !name.contains('/') {
        let namespaces: Vec<&str> = known
            .iter()
            .filter_map(|id| id.split_once('/'))
            .filter(|(_, n)| *n == name)
            .map(|(ns, _)| ns)
            .collect();
        if namespaces.len() > 1 {
            return format!(
                "plugin name `{name}` is ambiguous: {name} is in namespaces {}; say which, as \
                 `{}/{name}`",
                namespaces.join(" and "),
                namespaces[0]
            );
        }
    }
    if known.is_empty() {
        format!("no plugin `{name}`: no plugins are loaded; check the registry's folders")
    } else {
        format!(
            "no plugin `{name}`; the known plugins are: {}",
            known.join(", ")
        )
    }
}

/// Formats the last stdout lines after an error message, or nothing.
struct StdoutTail<'a>(&'a [String]);

impl fmt::Display for StdoutTail<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return Ok(());
        }
        f.write_str("; last stdout lines:")?;
        for line in self.0 {
            write!(f, "\n  | {line}")?;
        }
        Ok(())
    }
}

/// Formats the last stderr lines after an error message, or nothing.
struct StderrTail<'a>(&'a [String]);

impl fmt::Display for StderrTail<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("; it wrote nothing to stderr");
        }
        f.write_str("; last stderr lines:")?;
        for line in self.0 {
            write!(f, "\n  | {line}")?;
        }
        Ok(())
    }
}
