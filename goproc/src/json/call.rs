//! A call by name with JSON arguments, encoded once and sent as often as
//! wanted: what [`crate::Plugin::prepare_json`] returns.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tracing::Instrument;

use crate::schema::{ContractSchema, MethodSchema, Type};

use crate::client::call_encoded;
use crate::driver::Connection;
use crate::metrics::{CallMeter, ContractRecorder};
use crate::{Error, Plugin};

/// One method of a plugin with its arguments already encoded from JSON.
///
/// Cloning is cheap (the clones share the encoded arguments), so that many
/// tasks can send the same call. It keeps the plugin running, as a client
/// does.
#[derive(Clone)]
pub struct PreparedCall {
    /// Keeps the plugin process alive while the call exists, and has the
    /// schema it stated.
    plugin: Plugin,
    /// The schema the caller gave; `None`: the plugin's own.
    given: Option<Arc<ContractSchema>>,
    conn: Arc<Connection>,
    contract: Arc<str>,
    contract_index: u32,
    /// The plugin's counters of the contract, shared with its typed clients.
    metrics: Arc<ContractRecorder>,
    method: u32,
    /// `Contract.method`, for errors.
    method_path: Arc<str>,
    args: Arc<[u8]>,
    timeout: Option<Duration>,
}

/// `Contract.method` split in two.
pub(crate) fn split_path(path: &str) -> Result<(&str, &str), Error> {
    match path.split_once('.') {
        Some((contract, method)) if !contract.is_empty() && !method.is_empty() => {
            Ok((contract, method))
        }
        _ => Err(Error::codec(
            format!("calling `{path}` by name"),
            "a method is named Contract.method, for example Calculator.add",
        )),
    }
}

/// What [`PreparedCall::new`] needs of the plugin.
pub(crate) struct Target {
    pub(crate) plugin: Plugin,
    pub(crate) conn: Arc<Connection>,
    /// The contract's index in the plugin's HELLO.
    pub(crate) contract_index: u32,
    /// The plugin's counters of the contract.
    pub(crate) metrics: Arc<ContractRecorder>,
    pub(crate) timeout: Option<Duration>,
    /// The schema the caller gave, if not the plugin's own.
    pub(crate) given: Option<Arc<ContractSchema>>,
}

impl PreparedCall {
    /// Encodes `args` for method `method` of `schema`.
    pub(crate) fn new(
        target: Target,
        schema: &ContractSchema,
        method: &str,
        args: &Value,
    ) -> Result<PreparedCall, Error> {
        let Some((index, m)) = schema.method(method) else {
            return Err(Error::UnknownMethod {
                plugin: target.plugin.name().to_string(),
                contract: schema.name.clone(),
                method: method.to_string(),
                methods: schema.methods.iter().map(|m| m.name.clone()).collect(),
            });
        };
        if matches!(m.ret, Type::Stream(_)) {
            return Err(Error::codec(
                format!("calling {}.{method} by name", schema.name),
                format!(
                    "{} answers a stream; {}",
                    super::signature(schema, m),
                    super::NO_STREAMS
                ),
            ));
        }
        let args = super::encode_args(schema, m, args).map_err(|e| {
            Error::codec(
                format!("the arguments of {}", super::signature(schema, m)),
                e,
            )
        })?;
        Ok(PreparedCall {
            plugin: target.plugin,
            given: target.given,
            conn: target.conn,
            contract: schema.name.as_str().into(),
            contract_index: target.contract_index,
            metrics: target.metrics,
            method: index,
            method_path: format!("{}.{method}", schema.name).into(),
            args: args.into(),
            timeout: target.timeout,
        })
    }

    /// `Contract.method`.
    pub fn method_path(&self) -> &str {
        &self.method_path
    }

    /// The encoded arguments, as the request carries them.
    pub fn encoded_args(&self) -> &[u8] {
        &self.args
    }

    /// A copy whose calls fail with [`Error::Timeout`] after `timeout`
    /// (`None`: no deadline) instead of the plugin's call timeout.
    pub fn with_timeout(&self, timeout: Option<Duration>) -> PreparedCall {
        PreparedCall {
            timeout,
            ..self.clone()
        }
    }

    /// Sends the call and returns its answer as JSON; a domain error (the
    /// `Err(e)` of a method declared `-> Result<T, E>`) is
    /// [`Error::Domain`], with `e` as JSON.
    pub async fn call(&self) -> Result<Value, Error> {
        self.metered(|body| match self.read(&body)? {
            Ok(value) => Ok(value),
            Err(error) => Err(self.domain(error)),
        })
        .await
    }

    /// Sends the call and returns its answer's bytes, not converted to
    /// JSON: the cheaper call, for measuring the plugin rather than the
    /// conversion. A domain error is still [`Error::Domain`] (only then is
    /// the answer decoded).
    pub async fn call_raw(&self) -> Result<Vec<u8>, Error> {
        self.metered(|body| {
            // A `Result` is its variant index first: 0 is Ok, 1 is Err.
            let is_result = matches!(self.method()?.1.ret, Type::Result(..));
            if is_result && body.first() != Some(&0) {
                if let Err(error) = self.read(&body)? {
                    return Err(self.domain(error));
                }
            }
            Ok(body)
        })
        .await
    }

    /// Sends the call, reads its answer with `read`, and counts it in the
    /// plugin's metrics and a `goproc.call` span as a typed client's call
    /// is counted: an [`Error::Domain`] from `read` is a domain error.
    async fn metered<T>(&self, read: impl FnOnce(Vec<u8>) -> Result<T, Error>) -> Result<T, Error> {
        let recorder = &*self.metrics;
        let meter = CallMeter::start(&recorder.names, self.method, Some(recorder));
        let answer = match meter.span().cloned() {
            None => self.send().await,
            Some(span) => self.send().instrument(span).await,
        };
        let result = answer.and_then(read);
        meter.finish(&result, false);
        result
    }

    /// The contract's schema (looked up each time: the plugin's is kept
    /// parsed, so nothing is copied per call) and the method's.
    fn method(&self) -> Result<(&ContractSchema, &MethodSchema), Error> {
        let schema = match &self.given {
            Some(given) => given,
            None => self.plugin.schema(&self.contract)?,
        };
        let method = schema.methods.get(self.method as usize).ok_or_else(|| {
            Error::codec(
                format!("calling {}", self.method_path),
                "the contract's schema no longer has the method it had when the call was prepared",
            )
        })?;
        Ok((schema, method))
    }

    async fn send(&self) -> Result<Vec<u8>, Error> {
        call_encoded(
            &self.conn,
            self.contract_index,
            self.method,
            &self.method_path,
            &self.args,
            self.timeout,
        )
        .await
    }

    fn read(&self, body: &[u8]) -> Result<Result<Value, Value>, Error> {
        let (schema, method) = self.method()?;
        super::decode_answer(schema, method, body).map_err(|e| {
            Error::codec(
                format!(
                    "the answer of {} does not decode as its return type {}",
                    self.method_path, method.ret
                ),
                format!(
                    "{e}; the plugin's answer disagrees with the schema it announced (a bug in \
                     the plugin's runtime or stubs)"
                ),
            )
        })
    }

    fn domain(&self, error: Value) -> Error {
        Error::Domain {
            method: self.method_path.to_string(),
            error,
        }
    }
}

impl std::fmt::Debug for PreparedCall {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PreparedCall")
            .field("method", &self.method_path)
            .field("args", &self.args.len())
            .field("timeout", &self.timeout)
            .finish()
    }
}
