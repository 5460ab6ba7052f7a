//! A plugin's stdout and stderr, line by line, as `tracing` events; the last
//! stderr lines are kept for the error that reports its exit.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, BufReader};
use tokio::task::JoinHandle;

/// How many stderr lines an exit error carries.
const TAIL_LINES: usize = 20;
/// A longer line is cut into pieces of this size, so a plugin that never
/// writes a newline cannot make the host buffer without bound.
const MAX_LINE: u64 = 16 * 1024;

/// The output of one plugin process.
pub(crate) struct Output {
    plugin: String,
    pid: u32,
    tail: Mutex<VecDeque<String>>,
    readers: Mutex<Vec<JoinHandle<()>>>,
}

#[derive(Clone, Copy)]
enum Stream {
    Stdout,
    Stderr,
}

impl Output {
    pub(crate) fn new(plugin: String, pid: u32) -> Arc<Output> {
        Arc::new(Output {
            plugin,
            pid,
            tail: Mutex::new(VecDeque::with_capacity(TAIL_LINES)),
            readers: Mutex::new(Vec::new()),
        })
    }

    /// Starts forwarding the plugin's stdout.
    pub(crate) fn forward_stdout(self: &Arc<Self>, out: impl AsyncRead + Unpin + Send + 'static) {
        self.forward(out, Stream::Stdout);
    }

    /// Starts forwarding the plugin's stderr.
    pub(crate) fn forward_stderr(self: &Arc<Self>, err: impl AsyncRead + Unpin + Send + 'static) {
        self.forward(err, Stream::Stderr);
    }

    fn forward(self: &Arc<Self>, pipe: impl AsyncRead + Unpin + Send + 'static, stream: Stream) {
        let this = self.clone();
        let task = tokio::spawn(async move {
            let mut reader = BufReader::new(pipe);
            let mut line = Vec::new();
            loop {
                line.clear();
                match (&mut reader)
                    .take(MAX_LINE)
                    .read_until(b'\n', &mut line)
                    .await
                {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {
                        let text = String::from_utf8_lossy(&line);
                        this.emit(stream, text.trim_end_matches(['\n', '\r']));
                    }
                }
            }
        });
        self.readers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(task);
    }

    fn emit(&self, stream: Stream, line: &str) {
        let (plugin, pid) = (self.plugin.as_str(), self.pid);
        match stream {
            Stream::Stdout => {
                tracing::info!(target: "goproc::plugin", plugin, pid, stream = "stdout", "{line}")
            }
            Stream::Stderr => {
                tracing::warn!(target: "goproc::plugin", plugin, pid, stream = "stderr", "{line}");
                let mut tail = self.tail.lock().unwrap_or_else(|p| p.into_inner());
                if tail.len() == TAIL_LINES {
                    tail.pop_front();
                }
                tail.push_back(line.to_string());
            }
        }
    }

    /// Waits (up to `limit`) until both pipes reached end-of-file, so that
    /// an exit error carries the plugin's very last lines.
    pub(crate) async fn drained(&self, limit: Duration) {
        let readers = std::mem::take(&mut *self.readers.lock().unwrap_or_else(|p| p.into_inner()));
        let _ = tokio::time::timeout(limit, futures::future::join_all(readers)).await;
    }

    /// The last stderr lines, oldest first.
    pub(crate) fn stderr_tail(&self) -> Vec<String> {
        self.tail
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .cloned()
            .collect()
    }
}
