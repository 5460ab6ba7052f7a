//! [`Plugin`] and [`PluginBuilder`]: `crate::Plugin` for hosts without an
//! async runtime.

use std::ffi::OsStr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use super::client::{BlockingClient, BlockingHandle};
use super::owned::Owned;
use super::runtime::{refuse_inside_async, Runtime};
use crate::schema::ContractSchema;
use crate::{Client, Error, PluginMetrics, PluginOutput, Service};

const INSTEAD_SPAWN: &str = "use `goproc::Plugin::builder(..).spawn()`";

/// A running plugin process, for a host without an async runtime: the
/// blocking twin of [`crate::Plugin`], with a runtime of its own on a
/// dedicated thread.
///
/// Clients made from it keep it alive; when the `Plugin` and every client
/// are dropped (from any thread, inside an async runtime too), the process
/// is killed, and, when dropped on a plain thread, reaped before `drop`
/// returns. Every method blocks, and fails with [`Error::BlockingInAsync`]
/// when called from inside an async runtime.
#[derive(Clone)]
pub struct Plugin {
    inner: Arc<Owned<crate::Plugin>>,
}

impl Plugin {
    /// Starts configuring a plugin that runs `program`.
    pub fn builder(program: impl AsRef<OsStr>) -> PluginBuilder {
        PluginBuilder(crate::Plugin::builder(program))
    }

    fn plugin(&self) -> &crate::Plugin {
        self.inner.get()
    }

    /// Runs `future` on the calling thread in the plugin's runtime.
    fn block_on<T>(
        &self,
        what: &str,
        future: impl std::future::Future<Output = Result<T, Error>>,
    ) -> Result<T, Error> {
        let what = || format!("goproc::blocking::Plugin::{what}");
        let instead = "use the async `goproc::Plugin`";
        self.inner.runtime.block_on(what, instead, future)?
    }

    /// A blocking client for contract `B`, checked against what the plugin
    /// announced as [`crate::Plugin::client`] does.
    ///
    /// ```no_run
    /// # #[goproc::plugin_interface]
    /// # pub trait Calculator { async fn add(&self, a: i64, b: i64) -> i64; }
    /// # fn f(plugin: goproc::blocking::Plugin) -> Result<(), goproc::Error> {
    /// let calc: CalculatorBlockingClient = plugin.client()?;
    /// assert_eq!(calc.add(1, 2)?, 3);
    /// # Ok(()) }
    /// ```
    pub fn client<B: BlockingClient>(&self) -> Result<B, Error> {
        let client = self.plugin().client::<B::Async>()?;
        let owner: Arc<dyn std::any::Any + Send + Sync> = self.inner.clone();
        Ok(B::from_parts(
            client,
            BlockingHandle::new(self.inner.runtime.clone(), owner),
        ))
    }

    /// The plugin's name, as used in logs and errors.
    pub fn name(&self) -> &str {
        self.plugin().name()
    }

    /// The plugin's process id.
    pub fn pid(&self) -> u32 {
        self.plugin().pid()
    }

    /// The language the plugin said it is written in.
    pub fn language(&self) -> &str {
        self.plugin().language()
    }

    /// The plugin's runtime and version, as it announced them.
    pub fn runtime(&self) -> &str {
        self.plugin().runtime()
    }

    /// The plugin's own schema of `contract` (see [`crate::Plugin::schema`]).
    pub fn schema(&self, contract: &str) -> Result<&ContractSchema, Error> {
        self.plugin().schema(contract)
    }

    /// The names and fingerprints of the contracts the plugin serves.
    pub fn contracts(&self) -> impl Iterator<Item = (&str, &str)> {
        self.plugin().contracts()
    }

    /// The calls made so far (see [`crate::Plugin::metrics`]).
    pub fn metrics(&self) -> PluginMetrics {
        self.plugin().metrics()
    }

    /// Whether the process has ended.
    pub fn has_exited(&self) -> bool {
        self.plugin().has_exited()
    }

    /// Sends a ping and waits for the answer; returns the round-trip time.
    pub fn ping(&self, timeout: Duration) -> Result<Duration, Error> {
        self.block_on("ping", self.plugin().ping(timeout))
    }

    /// Asks the plugin to describe its contracts (see [`crate::Plugin::describe`]).
    pub fn describe(&self) -> Result<Vec<ContractSchema>, Error> {
        self.block_on("describe", self.plugin().describe())
    }

    /// Calls a method by name with JSON (see [`crate::Plugin::call_json`]).
    pub fn call_json(
        &self,
        path: &str,
        args: serde_json::Value,
    ) -> Result<serde_json::Value, Error> {
        self.block_on("call_json", self.plugin().call_json(path, args))
    }

    /// Stops the plugin gracefully (see [`crate::Plugin::shutdown`]).
    pub fn shutdown(&self, grace: Duration) -> Result<std::process::ExitStatus, Error> {
        self.block_on("shutdown", self.plugin().shutdown(grace))
    }

    /// Kills the process at once; returns without waiting.
    pub fn kill(&self) {
        self.plugin().kill()
    }

    /// Waits until the process ends and returns how it ended (see
    /// [`crate::Plugin::exited`]); the outer error is the refusal inside an
    /// async runtime.
    pub fn exited(&self) -> Result<Error, Error> {
        self.block_on("exited", async { Ok(self.plugin().exited().await) })
    }
}

impl std::fmt::Debug for Plugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("blocking::Plugin")
            .field("name", &self.name())
            .field("pid", &self.pid())
            .finish()
    }
}

/// Configures and starts a blocking [`Plugin`]; the same settings as
/// [`crate::PluginBuilder`] (one converts into the other with `From`, for
/// configuration shared by async and blocking hosts).
#[derive(Debug, Clone)]
pub struct PluginBuilder(pub(crate) crate::PluginBuilder);

impl From<crate::PluginBuilder> for PluginBuilder {
    fn from(builder: crate::PluginBuilder) -> Self {
        PluginBuilder(builder)
    }
}

/// Each setting is [`crate::PluginBuilder`]'s of the same name.
macro_rules! forward {
    ($($(#[$doc:meta])* fn $name:ident($($arg:ident: $ty:ty),*) $(<$($g:ident: $b:path),*>)?;)*) => {
        $(
            $(#[$doc])*
            pub fn $name$(<$($g: $b),*>)?(self, $($arg: $ty),*) -> Self {
                PluginBuilder(self.0.$name$(::<$($g),*>)?($($arg),*))
            }
        )*
    };
}

impl PluginBuilder {
    forward! {
        /// Adds a command-line argument.
        fn arg(arg: impl AsRef<OsStr>);
        /// Sets an environment variable for the plugin.
        fn env(key: impl AsRef<OsStr>, value: impl AsRef<OsStr>);
        /// Starts the plugin with an empty environment (see [`crate::PluginBuilder::env_clear`]).
        fn env_clear();
        /// After `env_clear`, passes the host's value of `key` to the plugin.
        fn env_inherit(key: impl AsRef<OsStr>);
        /// Keeps the host's variable `key` from the plugin.
        fn env_remove(key: impl AsRef<OsStr>);
        /// Runs the plugin in `dir`.
        fn current_dir(dir: impl Into<PathBuf>);
        /// The name used in logs and errors.
        fn name(name: impl Into<String>);
        /// How long the plugin may take to start, connect and say hello.
        fn start_timeout(timeout: Duration);
        /// The deadline of every call through this plugin's clients (default 30 s).
        fn call_timeout(timeout: Option<Duration>);
        /// Requires the plugin to serve `C`'s contract (the async client, `CalculatorClient`).
        fn contract() <C: Client>;
        /// Serves a contract the host implements to the plugin.
        fn serve(service: impl Service);
        /// The largest frame either side may send.
        fn max_frame(bytes: u32);
        /// How many bytes of calls may wait to be written to the plugin.
        fn outbox_limit(bytes: usize);
        /// The credit window of the streams the host receives.
        fn stream_window(bytes: u32);
        /// The bus this plugin's events go through.
        fn bus(bus: &crate::Bus);
        /// Where the plugin's stdout and stderr lines go.
        fn output(output: PluginOutput);
        /// Low-latency mode (see [`crate::PluginBuilder::busy_poll`]).
        fn busy_poll(spin: Duration);
    }

    /// Adds command-line arguments.
    pub fn args<I, S>(self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        PluginBuilder(self.0.args(args))
    }

    /// Starts the process on a runtime of its own, waits for its hello
    /// and checks it.
    pub fn spawn(self) -> Result<Plugin, Error> {
        let name = self.0.display_name();
        let what = || format!("starting plugin `{name}` with goproc::blocking::Plugin");
        refuse_inside_async(what, INSTEAD_SPAWN)?;
        let runtime = Runtime::start(&name)?;
        let builder = self.0;
        let plugin = runtime.run(what, INSTEAD_SPAWN, async move { builder.spawn().await })?;
        Ok(Plugin {
            inner: Owned::new(plugin, runtime),
        })
    }
}
