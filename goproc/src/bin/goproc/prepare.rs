//! A call made ready to send: the contract's schema (a contract file's or
//! the plugin's own), the arguments from `--json` or the words after the
//! method, encoded once. `call` sends it once, `bench` many times.

use std::path::{Path, PathBuf};
use std::time::Duration;

use goproc::schema::ContractSchema;
use goproc::{Plugin, PreparedCall};
use serde_json::Value;

use crate::cmdline::{parse_duration, positional_args, split_at_method, Invocation, Words};
use crate::failure::Failure;
use crate::start::{start, Options};

/// What `call` and `bench` both take: how the arguments and the contract
/// are given, each call's deadline, and the plugin command with the method
/// and its arguments after `--`.
#[derive(Debug, clap::Args)]
pub struct CallArgs {
    /// All the arguments as one JSON array, or an object by argument name.
    #[arg(long, value_name = "JSON")]
    json: Option<String>,

    /// Read the contract from this Rust file (or crate folder) instead of
    /// asking the plugin: for a plugin that cannot state its schema.
    #[arg(long, value_name = "PATH")]
    contract: Option<PathBuf>,

    /// Each call's deadline (`5s`, `500ms`); default 30s.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    timeout: Option<Duration>,

    #[command(flatten)]
    words: Words,
}

/// A started plugin and the call the command line names, with the contract
/// file's schema when `--contract` gives one.
pub struct Started<'a> {
    pub plugin: Plugin,
    pub call: Invocation<'a>,
    from_file: Option<ContractSchema>,
    json: Option<&'a str>,
}

impl CallArgs {
    /// Reads the plugin command, the method and its arguments (`example` is
    /// a whole command line shown when they are missing), refuses arguments
    /// given two ways, loads `--contract`, and starts the plugin.
    pub async fn start(&self, example: &str, verbose: bool) -> Result<Started<'_>, Failure> {
        let words = self.words.after_dashes(example).map_err(Failure::new)?;
        let call = split_at_method(words, example).map_err(Failure::new)?;
        let json = self.json.as_deref();
        one_way(json, &call)?;
        let from_file = from_file(self.contract.as_deref(), &call)?;
        let plugin = start(
            call.command,
            Options {
                verbose,
                call_timeout: self.timeout,
            },
        )
        .await?;
        Ok(Started {
            plugin,
            call,
            from_file,
            json,
        })
    }
}

impl Started<'_> {
    /// The call with its arguments encoded, ready to send.
    pub fn prepare(&self) -> Result<PreparedCall, Failure> {
        prepare(&self.plugin, &self.call, self.json, self.from_file.as_ref())
    }
}

/// Refuses arguments given both with `--json` and as words.
fn one_way(json: Option<&str>, call: &Invocation<'_>) -> Result<(), Failure> {
    if json.is_some() && !call.args.is_empty() {
        return Err(Failure::new(format!(
            "arguments both in --json and after {}; give them one way",
            call.path
        )));
    }
    Ok(())
}

/// The contract named by the method path, from `--contract` when given.
fn from_file(
    contract: Option<&Path>,
    call: &Invocation<'_>,
) -> Result<Option<ContractSchema>, Failure> {
    contract
        .map(|path| crate::contract_file::find(path, &call.path.contract))
        .transpose()
}

/// The call with its arguments encoded through the contract's schema: the
/// contract file's when one is given, otherwise the one the plugin states.
fn prepare(
    plugin: &Plugin,
    call: &Invocation<'_>,
    json: Option<&str>,
    from_file: Option<&ContractSchema>,
) -> Result<PreparedCall, Failure> {
    let schema = match from_file {
        Some(schema) => schema,
        None => served_schema(plugin, &call.path.contract)?,
    };
    let args = arguments(call, json, schema)?;
    let path = call.path.to_string();
    match from_file {
        Some(schema) => plugin.prepare_json_with(schema, &path, args),
        None => plugin.prepare_json(&path, args),
    }
    .map_err(|e| Failure::from_error(&e))
}

/// The JSON arguments of a call: `--json` as given, or the words after the
/// method, read through the method's schema.
fn arguments(
    call: &Invocation<'_>,
    json: Option<&str>,
    schema: &ContractSchema,
) -> Result<Value, Failure> {
    let (_, method) = schema.method(&call.path.method).ok_or_else(|| {
        let names: Vec<&str> = schema.methods.iter().map(|m| m.name.as_str()).collect();
        Failure::new(format!(
            "{} has no method {}; its methods: {}",
            call.path.contract,
            call.path.method,
            names.join(", ")
        ))
    })?;
    if let Some(json) = json {
        let value: Value = serde_json::from_str(json)
            .map_err(|e| Failure::new(format!("--json is not JSON: {e}")))?;
        if !(value.is_array() || value.is_object()) {
            return Err(Failure::new(format!(
                "--json must be an array of the arguments or an object by argument name, not {value}"
            )));
        }
        return Ok(value);
    }
    positional_args(&call.path, method, call.args).map_err(Failure::new)
}

/// The plugin's own schema of `contract`; an error when it does not serve
/// the contract, or cannot state its schema.
fn served_schema<'p>(plugin: &'p Plugin, contract: &str) -> Result<&'p ContractSchema, Failure> {
    plugin.schema(contract).map_err(|e| match e {
        goproc::Error::NoSchema { .. } => Failure::new(format!(
            "{e}; give the contract file with --contract to call it through that"
        )),
        e => Failure::from_error(&e),
    })
}
