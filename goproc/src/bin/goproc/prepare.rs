//! A call made ready to send: the contract's schema (a contract file's or
//! the plugin's own), the arguments from `--json` or the words after the
//! method, encoded once. `call` sends it once, `bench` many times.

use std::path::Path;

use goproc::schema::ContractSchema;
use goproc::{Plugin, PreparedCall};
use serde_json::Value;

use crate::cmdline::{positional_args, Invocation};
use crate::failure::Failure;

/// Refuses arguments given both with `--json` and as words.
pub fn one_way(json: Option<&str>, call: &Invocation<'_>) -> Result<(), Failure> {
    if json.is_some() && !call.args.is_empty() {
        return Err(Failure::new(format!(
            "arguments both in --json and after {}; give them one way",
            call.path
        )));
    }
    Ok(())
}

/// The contract named by the method path, from `--contract` when given.
pub fn from_file(
    contract: Option<&Path>,
    call: &Invocation<'_>,
) -> Result<Option<ContractSchema>, Failure> {
    contract
        .map(|path| crate::contract_file::find(path, &call.path.contract))
        .transpose()
}

/// The call with its arguments encoded through the contract's schema: the
/// contract file's when one is given, otherwise the one the plugin states.
pub fn prepare(
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
