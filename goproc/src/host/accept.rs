//! Waiting for the started plugin to connect. Another process may connect
//! to the socket first (the folder is private, but a process of the same
//! user can reach it, and can read the token from `/proc/<pid>/environ`):
//! the host keeps accepting until one connection passes, checks who is on
//! the other end where the OS says, and runs the handshakes side by side
//! so that a silent connection cannot hold up the real one.

use futures::stream::{FuturesUnordered, StreamExt};

use super::handshake::{self, Expect, Failed};
use crate::transport::{Endpoint, SharedStream};
use crate::wire::messages::Hello;
use crate::Error;

/// Handshakes in progress at most; more connections wait to be accepted.
const MAX_PENDING: usize = 64;

/// Who is on the other end of a connection.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Origin {
    /// The OS says: the process the host started, or one of its
    /// descendants, running as the host's user.
    Plugin,
    /// The OS does not say.
    Unknown,
    /// The OS says: someone else (why, in a sentence).
    Other(String),
}

/// Accepts connections until the plugin, started as process `child`, has
/// passed the handshake; returns its stream and hello. Fails when the
/// plugin itself fails the handshake; strangers are closed and logged.
pub(super) async fn accept_plugin(
    endpoint: &Endpoint,
    expect: &Expect<'_>,
    child: u32,
) -> Result<(SharedStream, Hello), Error> {
    let mut pending = FuturesUnordered::new();
    loop {
        tokio::select! {
            accepted = endpoint.accept(), if pending.len() < MAX_PENDING => {
                let mut stream = accepted.map_err(|e| {
                    Error::transport(format!("accepting plugin `{}`", expect.plugin), e)
                })?;
                let origin = origin(&stream, child);
                if let Origin::Other(why) = &origin {
                    stranger(expect.plugin, why);
                    continue;
                }
                pending.push(async move {
                    let result = handshake::accept(&mut stream, expect).await;
                    (origin, stream, result)
                });
            }
            Some((origin, stream, result)) = pending.next(), if !pending.is_empty() => {
                match result {
                    Ok(hello) => return Ok((stream, hello)),
                    Err(Failed::Plugin(err)) => return Err(err),
                    // The plugin itself did not say hello properly.
                    Err(Failed::Stranger(err)) if origin == Origin::Plugin => return Err(err),
                    Err(Failed::Stranger(err)) => stranger(expect.plugin, &err.to_string()),
                }
            }
        }
    }
}

fn stranger(plugin: &str, why: &str) {
    tracing::warn!(
        target: "goproc::plugin",
        plugin,
        "closed a connection to the plugin's socket that did not come from the plugin: {why}"
    );
}

/// Who `stream` comes from, as far as the OS tells.
fn origin(stream: &SharedStream, child: u32) -> Origin {
    let Ok(peer) = stream.peer() else {
        return Origin::Unknown;
    };
    #[cfg(unix)]
    if let Some(uid) = peer.uid {
        // SAFETY: geteuid cannot fail and touches no memory.
        let host = unsafe { libc::geteuid() };
        if uid != host {
            return Origin::Other(format!("it runs as user {uid}, the host as user {host}"));
        }
    }
    match peer.pid {
        Some(pid) if descends_from(pid, child) => Origin::Plugin,
        Some(pid) => Origin::Other(format!(
            "it comes from process {pid}, which is neither the plugin (pid {child}) nor one of \
             its descendants"
        )),
        None => Origin::Unknown,
    }
}

/// Whether process `pid` is `ancestor` or one of its descendants.
#[cfg(target_os = "linux")]
fn descends_from(mut pid: u32, ancestor: u32) -> bool {
    // A chain of parents is short; the bound only guards against a loop.
    for _ in 0..256 {
        if pid == ancestor {
            return true;
        }
        match parent_of(pid) {
            Some(parent) if parent > 1 => pid = parent,
            _ => return false,
        }
    }
    false
}

/// The parent of `pid`, from `/proc/<pid>/stat`.
#[cfg(target_os = "linux")]
fn parent_of(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // `pid (comm) state ppid ...`; comm may hold spaces and parentheses.
    let after_comm = &stat[stat.rfind(')')? + 1..];
    after_comm.split_whitespace().nth(1)?.parse().ok()
}

/// Without a portable way to walk parents, only the plugin itself counts.
#[cfg(not(target_os = "linux"))]
fn descends_from(pid: u32, ancestor: u32) -> bool {
    pid == ancestor
}
