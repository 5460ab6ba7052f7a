//! Starting the plugin from its command line, and stopping it.

use std::time::Duration;

use goproc::{Plugin, PluginOutput};

use crate::failure::Failure;

/// How long a plugin may take to finish its calls and exit once asked to.
const GRACE: Duration = Duration::from_secs(2);

/// How to start the plugin.
pub struct Options {
    /// The plugin's stdout and stderr on this process's stderr.
    pub verbose: bool,
    /// The deadline of each call (`None`: the runtime's default).
    pub call_timeout: Option<Duration>,
}

impl Options {
    /// Each call with the runtime's default deadline, for the commands that
    /// take no `--timeout`.
    pub fn default_deadline(verbose: bool) -> Options {
        Options {
            verbose,
            call_timeout: None,
        }
    }
}

/// Starts `command` (a program and its arguments) as a host would.
pub async fn start(command: &[String], options: Options) -> Result<Plugin, Failure> {
    let (program, args) = command
        .split_first()
        .ok_or_else(|| Failure::new("no plugin command after `--`"))?;
    // Without a `tracing` subscriber (none is installed), tracing output is
    // dropped: the plugin's lines cannot garble what goproc prints. Its
    // last stderr lines still come with an error that reports its exit.
    let output = if options.verbose {
        PluginOutput::Stderr
    } else {
        PluginOutput::Tracing
    };
    let mut builder = Plugin::builder(program).args(args).output(output);
    if let Some(timeout) = options.call_timeout {
        builder = builder.call_timeout(Some(timeout));
    }
    builder.spawn().await.map_err(|e| Failure::from_error(&e))
}

/// Asks the plugin to exit, and kills it if it does not within a grace.
pub async fn stop(plugin: Plugin) {
    // How it ended does not change what the command already printed.
    let _ = plugin.shutdown(GRACE).await;
}
