//! A plugin's stdout and stderr as `tracing` events (target
//! `goproc::plugin`, with the plugin's name and pid), at the level each line
//! states; multi-line crash reports arrive as one error event. The last
//! stderr lines are kept for the error that reports the plugin's exit.

mod group;
mod level;

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, BufReader};
use tokio::task::JoinHandle;

use group::{Event, Grouper};
use level::Level;

/// How many stderr lines an exit error carries.
const TAIL_LINES: usize = 20;
/// A longer line is cut into pieces of this size, so a plugin that never
/// writes a newline cannot make the host buffer without bound.
const MAX_LINE: u64 = 16 * 1024;
/// A report (panic, traceback) still open after this much quiet is complete.
const REPORT_IDLE: Duration = Duration::from_millis(100);
/// A report longer than this is cut into several events.
const MAX_REPORT_LINES: usize = 200;

/// Where a plugin's stdout and stderr lines go. Set with
/// [`crate::PluginBuilder::output`].
#[derive(Clone, Default)]
#[non_exhaustive]
pub enum PluginOutput {
    /// `tracing` events (target `goproc::plugin`) when a `tracing`
    /// subscriber is installed, otherwise this process's stderr: a plugin's
    /// output, its panics and tracebacks included, is never dropped
    /// silently. The default.
    #[default]
    Auto,
    /// `tracing` events (target `goproc::plugin`, with the plugin's name,
    /// pid and stream, at the level each line states), whether or not a
    /// subscriber listens.
    Tracing,
    /// This process's stderr, each line as `[name pid] line`.
    Stderr,
    /// A writer of yours (a log file, a buffer in a test), each line as
    /// `[name pid] line`. See [`PluginOutput::writer`].
    Writer(Arc<Mutex<dyn std::io::Write + Send>>),
}

impl PluginOutput {
    /// Lines go to `writer`, each as `[name pid] line`.
    pub fn writer(writer: impl std::io::Write + Send + 'static) -> Self {
        PluginOutput::Writer(Arc::new(Mutex::new(writer)))
    }
}

impl std::fmt::Debug for PluginOutput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            PluginOutput::Auto => "Auto",
            PluginOutput::Tracing => "Tracing",
            PluginOutput::Stderr => "Stderr",
            PluginOutput::Writer(_) => "Writer(..)",
        })
    }
}

/// The output of one plugin process.
pub(crate) struct Output {
    plugin: String,
    pid: u32,
    sink: PluginOutput,
    tail: Mutex<VecDeque<String>>,
    stdout_tail: Mutex<VecDeque<String>>,
    readers: Mutex<Vec<JoinHandle<()>>>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Stream {
    Stdout,
    Stderr,
}

impl Output {
    pub(crate) fn new(plugin: String, pid: u32, sink: PluginOutput) -> Arc<Output> {
        Arc::new(Output {
            plugin,
            pid,
            sink,
            tail: Mutex::new(VecDeque::with_capacity(TAIL_LINES)),
            stdout_tail: Mutex::new(VecDeque::with_capacity(TAIL_LINES)),
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
            let mut grouper = Grouper::default();
            // Kept across an idle timeout: `read_until` appends what it read.
            let mut line = Vec::new();
            loop {
                // What is left of this line's allowance (a timeout may have cut it).
                let allowance = MAX_LINE.saturating_sub(line.len() as u64).max(1);
                let mut limited = (&mut reader).take(allowance);
                let read = limited.read_until(b'\n', &mut line);
                let read = if grouper.is_open() {
                    match tokio::time::timeout(REPORT_IDLE, read).await {
                        Ok(read) => read,
                        Err(_) => {
                            if let Some(event) = grouper.flush() {
                                this.emit(stream, event);
                            }
                            continue;
                        }
                    }
                } else {
                    read.await
                };
                let at_end = matches!(read, Ok(0) | Err(_));
                if !line.is_empty() {
                    let text = String::from_utf8_lossy(&line)
                        .trim_end_matches(['\n', '\r'])
                        .to_string();
                    line.clear();
                    this.keep(stream, &text);
                    for event in grouper.push(text) {
                        this.emit(stream, event);
                    }
                    if grouper.open_len() >= MAX_REPORT_LINES {
                        if let Some(event) = grouper.flush() {
                            this.emit(stream, event);
                        }
                    }
                }
                if at_end {
                    break;
                }
            }
            if let Some(event) = grouper.flush() {
                this.emit(stream, event);
            }
        });
        self.readers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(task);
    }

    /// Remembers a line for the exit error.
    fn keep(&self, stream: Stream, line: &str) {
        let tail = match stream {
            Stream::Stderr => &self.tail,
            Stream::Stdout => &self.stdout_tail,
        };
        let mut tail = tail.lock().unwrap_or_else(|p| p.into_inner());
        if tail.len() == TAIL_LINES {
            tail.pop_front();
        }
        tail.push_back(line.to_string());
    }

    fn emit(&self, stream: Stream, event: Event) {
        let (level, message) = match event {
            Event::Report(lines) => (Level::Error, lines.join("\n")),
            Event::Line(line) => match level::parse(&line) {
                Some((level, message)) => (level, message),
                None if stream == Stream::Stderr => (Level::Warn, line),
                None => (Level::Info, line),
            },
        };
        let (plugin, pid) = (self.plugin.as_str(), self.pid);
        let to_tracing = match &self.sink {
            PluginOutput::Auto => {
                tracing::dispatcher::get_default(|d| !d.is::<tracing::subscriber::NoSubscriber>())
            }
            PluginOutput::Tracing => true,
            PluginOutput::Stderr | PluginOutput::Writer(_) => false,
        };
        if !to_tracing {
            let mut text = String::with_capacity(message.len() + 32);
            for line in message.lines() {
                let _ = writeln!(text, "[{plugin} {pid}] {line}");
            }
            match &self.sink {
                PluginOutput::Writer(writer) => {
                    let mut writer = writer.lock().unwrap_or_else(|p| p.into_inner());
                    let _ = writer.write_all(text.as_bytes());
                    let _ = writer.flush();
                }
                _ => {
                    let _ = std::io::stderr().lock().write_all(text.as_bytes());
                }
            }
            return;
        }
        let stream = match stream {
            Stream::Stdout => "stdout",
            Stream::Stderr => "stderr",
        };
        // tracing needs the level at compile time.
        match level {
            Level::Error => {
                tracing::error!(target: "goproc::plugin", plugin, pid, stream, "{message}")
            }
            Level::Warn => {
                tracing::warn!(target: "goproc::plugin", plugin, pid, stream, "{message}")
            }
            Level::Info => {
                tracing::info!(target: "goproc::plugin", plugin, pid, stream, "{message}")
            }
            Level::Debug => {
                tracing::debug!(target: "goproc::plugin", plugin, pid, stream, "{message}")
            }
            Level::Trace => {
                tracing::trace!(target: "goproc::plugin", plugin, pid, stream, "{message}")
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
        Self::lines(&self.tail)
    }

    /// The last stdout lines, oldest first.
    pub(crate) fn stdout_tail(&self) -> Vec<String> {
        Self::lines(&self.stdout_tail)
    }

    fn lines(tail: &Mutex<VecDeque<String>>) -> Vec<String> {
        tail.lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .cloned()
            .collect()
    }
}
