//! [`Plugin`]: one running plugin process, as its host holds it: clients,
//! ping, shutdown, kill, how it ended.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use tokio::sync::{oneshot, watch};

use super::supervise::{Exit, Stop};
use crate::client::{Client, ClientHandle};
use crate::contract::{check_contract, check_schema};
use crate::driver::Connection;
use crate::json::{self, PreparedCall};
use crate::metrics::{ContractNames, PluginMetrics, Recorder};
use crate::schema::{parse_schemas, ContractSchema};
use crate::wire::messages::{ContractRef, Hello, HelloList};
use crate::wire::{INTROSPECTION_CONTRACT, PROTOCOL_MAX, SCHEMAS_SINCE};
use crate::{ContractInfo, Error};

/// A running plugin process.
///
/// Clients made from it keep it alive; when the `Plugin` and every client
/// are dropped, the process is killed. When the process ends on its own,
/// every call in flight fails with [`Error::PluginExited`], which carries
/// the exit status and the last lines of its stderr.
#[derive(Clone)]
pub struct Plugin {
    inner: Arc<Inner>,
}

struct Inner {
    name: String,
    pid: u32,
    call_timeout: Option<Duration>,
    hello_language: String,
    hello_runtime: String,
    contracts: Vec<ContractRef>,
    /// The protocol version the connection speaks.
    protocol: u32,
    /// The canonical schema text the plugin stated for each contract it
    /// serves (empty: none), in `contracts` order.
    schemas: Vec<String>,
    /// `schemas`, read back the first time one is asked for.
    parsed: OnceLock<Vec<Result<ContractSchema, String>>>,
    conn: Arc<Connection>,
    /// The calls made through its clients and by name, by contract
    /// (announced order).
    metrics: Recorder,
    exit: watch::Receiver<Option<Exit>>,
    /// Dropped with the last handle: the supervisor kills the process.
    stop: std::sync::Mutex<Option<oneshot::Sender<Stop>>>,
}

/// What a successful start hands to the [`Plugin`].
pub(super) struct Started {
    pub(super) name: String,
    pub(super) pid: u32,
    pub(super) call_timeout: Option<Duration>,
    pub(super) hello: Hello,
    pub(super) conn: Arc<Connection>,
    pub(super) exit: watch::Receiver<Option<Exit>>,
    pub(super) stop: oneshot::Sender<Stop>,
}

impl Plugin {
    pub(super) fn new(started: Started) -> Plugin {
        let metrics = Recorder::new(
            started.name.clone(),
            started.pid,
            started.hello.contracts.len(),
        );
        let hello = &started.hello;
        let schemas = (0..hello.contracts.len())
            .map(|i| {
                hello
                    .schema_of(HelloList::Contracts, i)
                    .unwrap_or_default()
                    .to_string()
            })
            .collect();
        let protocol = hello.protocol_max.min(PROTOCOL_MAX);
        Plugin {
            inner: Arc::new(Inner {
                name: started.name,
                pid: started.pid,
                call_timeout: started.call_timeout,
                hello_language: started.hello.language,
                hello_runtime: started.hello.runtime,
                contracts: started.hello.contracts,
                protocol,
                schemas,
                parsed: OnceLock::new(),
                conn: started.conn,
                metrics,
                exit: started.exit,
                stop: std::sync::Mutex::new(Some(started.stop)),
            }),
        }
    }

    /// A typed client for contract `C`, checked against what the plugin
    /// announced: its schema where both sides have one (the error names the
    /// first difference), then its name and fingerprint.
    pub fn client<C: Client>(&self) -> Result<C, Error> {
        let index = self.contract_index(C::CONTRACT)?;
        let owner: Arc<dyn std::any::Any + Send + Sync> = self.inner.clone();
        let recorder =
            (self.inner.metrics).contract(index as usize, || ContractNames::Typed(C::CONTRACT));
        let handle =
            ClientHandle::new(self.inner.conn.clone(), index, C::CONTRACT, owner).metered(recorder);
        Ok(C::from_handle(handle.with_timeout(self.inner.call_timeout)))
    }

    /// The calls made so far to this plugin, through its clients and by
    /// name with JSON ([`Plugin::call_json`], [`PreparedCall`]): finished,
    /// in flight, failed by why, and latencies, by contract and method. A
    /// snapshot to export; counting goes on meanwhile. ([`Plugin::describe`]
    /// is not counted: it asks the runtime, not a contract the plugin serves.)
    ///
    /// ```no_run
    /// # fn run(plugin: &goproc::Plugin) {
    /// let m = plugin.metrics();
    /// for method in &m.methods {
    ///     println!("{}.{}: {} calls, p99 {:?}", method.contract, method.method, method.calls, method.latency.p99);
    /// }
    /// # }
    /// ```
    pub fn metrics(&self) -> PluginMetrics {
        PluginMetrics::from_recorder(&self.inner.metrics)
    }

    /// Where `contract` is in the plugin's list, once its schema and
    /// fingerprint match this program's.
    pub(crate) fn contract_index(&self, contract: &ContractInfo) -> Result<u32, Error> {
        if let Some(i) = self
            .inner
            .contracts
            .iter()
            .position(|c| c.name == contract.name)
        {
            let stated = Some(self.inner.schemas[i].as_str()).filter(|s| !s.is_empty());
            check_schema(contract, stated, &self.inner.name)?;
        }
        check_contract(&self.inner.contracts, contract, &self.inner.name)
    }

    /// The plugin's own schema of `contract`, one it serves, as its HELLO
    /// stated it (canonical: without docs; [`Plugin::describe`] asks for the
    /// documented one). Fails when it serves no such contract, or stated no
    /// schema for it: a plugin of protocol 3 or older, or a runtime that
    /// could not trace the contract's types.
    pub fn schema(&self, contract: &str) -> Result<&ContractSchema, Error> {
        let inner = &self.inner;
        let Some(i) = inner.contracts.iter().position(|c| c.name == contract) else {
            return Err(Error::ContractNotServed {
                plugin: inner.name.clone(),
                contract: contract.to_string(),
                served: inner.contracts.iter().map(|c| c.name.clone()).collect(),
            });
        };
        let parsed = inner.parsed.get_or_init(|| {
            inner
                .schemas
                .iter()
                .map(|text| read_stated(text, inner.protocol))
                .collect()
        });
        parsed[i].as_ref().map_err(|reason| Error::NoSchema {
            plugin: inner.name.clone(),
            contract: contract.to_string(),
            reason: reason.clone(),
        })
    }

    /// Asks the running plugin to describe the contracts it serves: their
    /// schemas with doc comments, in the order it lists them. Any plugin of
    /// protocol 4 answers (Rust, Python, TypeScript); a Rust plugin's types
    /// carry no docs (Rust keeps none at run time). The call has the
    /// plugin's call timeout.
    pub async fn describe(&self) -> Result<Vec<ContractSchema>, Error> {
        let inner = &self.inner;
        if inner.protocol < SCHEMAS_SINCE {
            return Err(Error::NoSchema {
                plugin: inner.name.clone(),
                contract: crate::schema::describe::INTROSPECTION.name.to_string(),
                reason: format!(
                    "it speaks protocol {}; describe needs version {SCHEMAS_SINCE} (rebuild it \
                     with a newer goproc, or regenerate its stubs)",
                    inner.protocol
                ),
            });
        }
        let owner: Arc<dyn std::any::Any + Send + Sync> = inner.clone();
        let handle = ClientHandle::new(
            inner.conn.clone(),
            INTROSPECTION_CONTRACT,
            &crate::schema::describe::INTROSPECTION,
            owner,
        )
        .with_timeout(inner.call_timeout);
        let texts: Vec<String> = handle.call(crate::wire::DESCRIBE_METHOD, &()).await?;
        let served: Vec<&str> = inner.contracts.iter().map(|c| c.name.as_str()).collect();
        crate::schema::describe::read_answer(&inner.name, &served, texts)
    }

    pub(crate) fn connection(&self) -> Arc<Connection> {
        self.inner.conn.clone()
    }

    /// The plugin's name, as used in logs and errors.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// The plugin's process id.
    pub fn pid(&self) -> u32 {
        self.inner.pid
    }

    /// The language the plugin said it is written in (`rust`, `python`, `typescript`).
    pub fn language(&self) -> &str {
        &self.inner.hello_language
    }

    /// The plugin's runtime and version, as it announced them.
    pub fn runtime(&self) -> &str {
        &self.inner.hello_runtime
    }

    /// The names and fingerprints of the contracts the plugin serves.
    pub fn contracts(&self) -> impl Iterator<Item = (&str, &str)> {
        self.inner
            .contracts
            .iter()
            .map(|c| (c.name.as_str(), c.fingerprint.as_str()))
    }

    /// Sends a ping and waits for the answer; returns the round-trip time.
    pub async fn ping(&self, timeout: Duration) -> Result<Duration, Error> {
        let start = std::time::Instant::now();
        self.inner.conn.ping(timeout).await.map_err(|f| match f {
            crate::driver::CallFailure::Timeout(after) => Error::Timeout {
                method: "ping".into(),
                after,
            },
            crate::driver::CallFailure::Connection(e) => e,
            crate::driver::CallFailure::NotSent(unsent) => unsent.error,
            other => Error::Protocol {
                peer: self.inner.name.clone(),
                reason: format!("unexpected answer to a ping: {other:?}"),
            },
        })?;
        Ok(start.elapsed())
    }

    /// Whether the process has ended.
    pub fn has_exited(&self) -> bool {
        self.inner.exit.borrow().is_some()
    }

    /// Waits until the process ends and returns how it ended (an
    /// [`Error::PluginExited`], or the protocol error that closed it).
    pub async fn exited(&self) -> Error {
        let mut exit = self.inner.exit.clone();
        let error = match exit.wait_for(Option::is_some).await {
            Ok(e) => e.as_ref().map(|e| e.error.clone()),
            Err(_) => None,
        };
        error.unwrap_or_else(|| self.gone())
    }

    /// Stops the plugin gracefully: new calls are refused at once with a
    /// clear error, calls in flight may finish within `grace`, then the
    /// process is killed if it has not exited by itself.
    ///
    /// Returns the plugin's exit status when it exited by itself within the
    /// grace; otherwise the error its calls failed with (killed at the end
    /// of the grace, or it had ended before). Later calls fail with
    /// [`Error::Closed`], saying the plugin was shut down by this host.
    pub async fn shutdown(&self, grace: Duration) -> Result<std::process::ExitStatus, Error> {
        self.inner.conn.refuse_new_calls(Error::Closed {
            peer: self.inner.name.clone(),
            reason: "the plugin is shutting down".into(),
        });
        self.stop(Stop::Graceful(grace));
        let mut exit = self.inner.exit.clone();
        let exit = match exit.wait_for(Option::is_some).await {
            Ok(e) => e.clone(),
            Err(_) => None,
        };
        match exit {
            Some(Exit {
                status: Some(status),
                ..
            }) => Ok(status),
            Some(Exit { error, .. }) => Err(error),
            None => Err(self.gone()),
        }
    }

    /// Kills the process at once; calls in flight fail with
    /// [`Error::PluginExited`]. Returns without waiting (see [`Plugin::exited`]).
    pub fn kill(&self) {
        self.stop(Stop::Kill);
    }

    /// Tells the supervisor how to stop; only the first request counts.
    fn stop(&self, how: Stop) {
        let stop = self
            .inner
            .stop
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        if let Some(stop) = stop {
            let _ = stop.send(how);
        }
    }

    fn gone(&self) -> Error {
        Error::Closed {
            peer: self.inner.name.clone(),
            reason: "the plugin's supervisor stopped".into(),
        }
    }

    /// Calls a method by name, `"Contract.method"`, with JSON arguments
    /// (an array in order, or an object by argument name) and returns the
    /// answer as JSON, both converted through the schema the plugin stated
    /// for the contract ([`Plugin::schema`]): the bytes sent are those the
    /// typed client sends for the same values. docs/CONTRACTS.md, "Calls by
    /// name with JSON", gives each type's JSON form (64-bit integers keep
    /// every digit, 128-bit ones are strings of digits, bytes are base64).
    ///
    /// ```no_run
    /// # async fn f(plugin: goproc::Plugin) -> Result<(), goproc::Error> {
    /// let sum = plugin.call_json("Calculator.add", serde_json::json!([40, 2])).await?;
    /// assert_eq!(sum, serde_json::json!(42));
    /// # Ok(()) }
    /// ```
    ///
    /// A value that does not fit its type fails before sending, naming
    /// where (`args[1].center.x: expected f64, found "a"`). A method's domain
    /// error (the `Err(e)` of `-> Result<T, E>`) is [`Error::Domain`] with
    /// `e` as JSON; a method the contract lacks is [`Error::UnknownMethod`],
    /// a contract the plugin does not serve [`Error::ContractNotServed`], a
    /// plugin that stated no schema for it [`Error::NoSchema`] (see
    /// [`Plugin::prepare_json_with`]). Methods with streams are refused. The
    /// call has the plugin's call timeout.
    pub async fn call_json(
        &self,
        path: &str,
        args: serde_json::Value,
    ) -> Result<serde_json::Value, Error> {
        self.prepare_json(path, args)?.call().await
    }

    /// [`Plugin::call_json`]'s arguments encoded once, for a call sent as
    /// often as wanted ([`PreparedCall::call`], or [`PreparedCall::call_raw`]
    /// for the answer's bytes unconverted).
    pub fn prepare_json(&self, path: &str, args: serde_json::Value) -> Result<PreparedCall, Error> {
        let (contract, method) = json::split_path(path)?;
        let schema = self.schema(contract)?;
        self.prepared(schema, None, method, &args)
    }

    /// [`Plugin::prepare_json`] with the arguments and the answer converted
    /// through `schema`, the schema of the contract `path` names
    /// (`"Calculator.add"`), rather than the plugin's own: for a plugin
    /// that states none ([`Error::NoSchema`]), or to call it as a contract
    /// file describes it. [`Plugin::call_json`] says the rest.
    pub fn prepare_json_with(
        &self,
        schema: &ContractSchema,
        path: &str,
        args: serde_json::Value,
    ) -> Result<PreparedCall, Error> {
        let (contract, method) = json::split_path(path)?;
        if contract != schema.name {
            return Err(Error::codec(
                format!("calling {path} by name"),
                format!(
                    "the schema given is contract {}'s, not {contract}'s",
                    schema.name
                ),
            ));
        }
        self.prepared(schema, Some(Arc::new(schema.clone())), method, &args)
    }

    /// A call of `method` of `schema`'s contract; `given` is the schema
    /// when the caller gave it (otherwise the call reads the plugin's own).
    fn prepared(
        &self,
        schema: &ContractSchema,
        given: Option<Arc<ContractSchema>>,
        method: &str,
        args: &serde_json::Value,
    ) -> Result<PreparedCall, Error> {
        let inner = &self.inner;
        let index = inner
            .contracts
            .iter()
            .position(|c| c.name == schema.name)
            .ok_or_else(|| Error::ContractNotServed {
                plugin: inner.name.clone(),
                contract: schema.name.clone(),
                served: inner.contracts.iter().map(|c| c.name.clone()).collect(),
            })?;
        // Counted with the typed clients of the same contract, under the
        // names the plugin stated when it stated any (they are the typed
        // client's too: `Plugin::client` checks them), else the given
        // schema's. A method a given schema has past the plugin's own is
        // traced but not counted (the plugin answers it has no such method).
        let metrics = inner.metrics.contract(index, || {
            ContractNames::of_schema(self.schema(&schema.name).unwrap_or(schema))
        });
        let target = json::Target {
            plugin: self.clone(),
            conn: inner.conn.clone(),
            contract_index: index as u32,
            metrics,
            timeout: inner.call_timeout,
            given,
        };
        PreparedCall::new(target, schema, method, args)
    }
}

impl std::fmt::Debug for Plugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Plugin")
            .field("name", &self.inner.name)
            .field("pid", &self.inner.pid)
            .field("language", &self.inner.hello_language)
            .finish()
    }
}

/// One schema text of a HELLO, read back; or why there is none.
fn read_stated(text: &str, protocol: u32) -> Result<ContractSchema, String> {
    if protocol < SCHEMAS_SINCE {
        return Err(format!(
            "it speaks protocol {protocol}; schemas came in version {SCHEMAS_SINCE} (rebuild it \
             with a newer goproc, or regenerate its stubs)"
        ));
    }
    if text.is_empty() {
        return Err("its runtime could not state it (a type it could not trace)".into());
    }
    let mut list =
        parse_schemas(text).map_err(|e| format!("the schema it stated does not read: {e}"))?;
    match list.pop() {
        Some(s) if list.is_empty() => Ok(s),
        _ => Err("the schema it stated is not one contract".into()),
    }
}
