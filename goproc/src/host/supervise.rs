//! The task that owns a plugin's process: it notices the end (exit, closed
//! socket, broken protocol, or the host letting go), kills what is left,
//! and fails every call in flight with an error that says how it ended.

use std::sync::Arc;
use std::time::Duration;

use tokio::process::Child;
use tokio::sync::{oneshot, watch};

use super::logs::Output;
use crate::driver::{Connection, Ended};
use crate::Error;

/// What the supervisor is asked to do.
pub(crate) enum Stop {
    /// Ask the plugin to finish its calls, wait up to the grace period, then kill.
    Graceful(Duration),
    /// Kill at once.
    Kill,
}

/// How a plugin ended.
#[derive(Clone)]
pub(crate) struct Exit {
    /// What its calls fail with.
    pub(crate) error: Error,
    /// Its exit status, when it exited by itself within a shutdown's grace.
    pub(crate) status: Option<std::process::ExitStatus>,
}

/// After the socket closes, how long the process gets to exit by itself:
/// one that is dying may still be writing a long traceback, which its
/// calls' error should end with.
const EXIT_AFTER_CLOSE: Duration = Duration::from_secs(3);
/// After the process exits, how long the reader gets to take what it wrote.
const READ_AFTER_EXIT: Duration = Duration::from_millis(500);
/// How long to wait for the last stderr lines after the process ended.
const DRAIN_OUTPUT: Duration = Duration::from_millis(250);

pub(super) async fn supervise(
    mut child: Child,
    conn: Arc<Connection>,
    output: Arc<Output>,
    stop: oneshot::Receiver<Stop>,
    exit: watch::Sender<Option<Exit>>,
    name: String,
    pid: u32,
) {
    let mut broken: Option<Error> = None;
    // Whether the host ended the plugin, and how: its calls then say so,
    // instead of reading like a crash.
    let mut ended_by_host: Option<ByHost> = None;
    let status = tokio::select! {
        status = child.wait() => status,
        ended = conn.ended() => {
            // A broken rule is the plugin's fault and its calls fail with it;
            // a failed read or write usually means the process died, so the
            // exit status tells more.
            if let Ended::Failed(err @ Error::Protocol { .. }) = ended {
                tracing::error!(target: "goproc::plugin", plugin = %name, pid, "{err}");
                broken = Some(err);
                let _ = child.start_kill();
            }
            match tokio::time::timeout(EXIT_AFTER_CLOSE, child.wait()).await {
                Ok(status) => status,
                Err(_) => {
                    let _ = child.start_kill();
                    child.wait().await
                }
            }
        }
        request = stop => {
            match request {
                Ok(Stop::Graceful(grace)) => {
                    let _ = conn.send_shutdown();
                    match tokio::time::timeout(grace, child.wait()).await {
                        Ok(status) => {
                            ended_by_host = Some(ByHost::ShutDown);
                            status
                        }
                        Err(_) => {
                            ended_by_host = Some(ByHost::KilledAfterGrace(grace));
                            let _ = child.start_kill();
                            child.wait().await
                        }
                    }
                }
                // Asked to, or every handle is gone: kill at once.
                Ok(Stop::Kill) | Err(_) => {
                    ended_by_host = Some(ByHost::Killed);
                    conn.close();
                    let _ = child.start_kill();
                    child.wait().await
                }
            }
        }
    };
    // What the plugin wrote before it exited is still in the socket: let
    // the reader take it, so no answer it sent is lost, before the calls
    // left fail with the exit. (At once when this side closed it.)
    let _ = tokio::time::timeout(READ_AFTER_EXIT, conn.ended()).await;
    output.drained(DRAIN_OUTPUT).await;
    let status_text = match &status {
        Ok(s) => s.to_string(),
        Err(e) => format!("status unknown: {e}"),
    };
    let exited = |status: String| Error::PluginExited {
        plugin: name.clone(),
        pid,
        status,
        stderr: output.stderr_tail(),
        stdout: Vec::new(),
    };
    let error = match (broken, ended_by_host) {
        (Some(err), _) => err,
        (None, Some(ByHost::ShutDown)) => Error::Closed {
            peer: name.clone(),
            reason: format!("the plugin was shut down by this host (it exited: {status_text})"),
        },
        (None, Some(ByHost::KilledAfterGrace(grace))) => exited(format!(
            "killed by the host: still running when the {grace:?} shutdown grace ended"
        )),
        (None, Some(ByHost::Killed)) => exited("killed by the host (Plugin::kill)".into()),
        (None, None) => exited(status_text),
    };
    conn.fail_all(error.clone());
    conn.close();
    let clean = matches!(ended_by_host, Some(ByHost::ShutDown));
    let _ = exit.send(Some(Exit {
        error,
        status: status.ok().filter(|_| clean),
    }));
}

/// How the host ended a plugin.
#[derive(Clone, Copy)]
enum ByHost {
    /// It exited by itself within the shutdown grace.
    ShutDown,
    /// The grace ended first.
    KilledAfterGrace(Duration),
    /// `kill`, or the last handle dropped.
    Killed,
}
